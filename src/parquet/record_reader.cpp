#include "parquet/record_reader.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "parquet/values.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit::parquet {
namespace {

// Reads records top-down over the schema tree, Dremel style: an optional node whose first leaf's
// definition level is below the node's level is null (or an empty list for a repeated node), and
// then every leaf under it holds exactly one entry for that absence; a repeated node continues while
// the next repetition level equals its own.
template <class Json>
class Assembler {
public:
    Assembler(const std::string& file, int row_group, std::vector<LeafStream*>& leaves)
        : file_(file), row_group_(row_group), leaves_(leaves) {}

    [[noreturn]] void Fail(const std::string& detail) const {
        throw Error(ExitCode::Source,
                    fmt::format("corrupt nested data in '{}' (row group {}): {}", file_, row_group_, detail));
    }

    LeafStream& Leaf(int column) {
        LeafStream* s = leaves_[static_cast<size_t>(column)];
        if (!s) {
            Fail("leaf not loaded");
        }
        return *s;
    }

    static int FirstLeaf(const Field& f) {
        if (f.IsLeaf()) {
            return f.column;
        }
        for (const auto& c : f.children) {
            int l = FirstLeaf(c);
            if (l >= 0) {
                return l;
            }
        }
        return -1;
    }

    LeafStream& Probe(const Field& f) {
        int l = FirstLeaf(f);
        LeafStream& s = Leaf(l);
        if (s.pos >= s.count) {
            Fail(fmt::format("column '{}' runs out of levels before the other columns",
                             s.column->DottedPath()));
        }
        return s;
    }

    int16_t PeekDef(const Field& f) {
        LeafStream& s = Probe(f);
        return s.column->max_def > 0 ? s.def[s.pos] : 0;
    }

    bool MoreInList(const Field& f, int16_t r) {
        LeafStream& s = Leaf(FirstLeaf(f));
        if (s.pos >= s.count) {
            return false;
        }
        return s.column->max_rep > 0 && s.rep[s.pos] == r;
    }

    // One absent entry in every leaf under `f`.
    void Skip(const Field& f) {
        if (f.IsLeaf()) {
            LeafStream& s = Leaf(f.column);
            if (s.pos >= s.count) {
                Fail(fmt::format("column '{}' runs out of levels before the other columns",
                                 s.column->DottedPath()));
            }
            if (s.column->max_def == 0 || s.def[s.pos] == s.column->max_def) {
                Fail(fmt::format("column '{}' has a value where its parent is absent",
                                 s.column->DottedPath()));
            }
            ++s.pos;
            return;
        }
        for (const auto& c : f.children) {
            Skip(c);
        }
    }

    Json ReadNode(const Field& f, int16_t d_parent, int16_t r_parent) {
        int16_t d = d_parent + (f.repetition != Repetition::Required ? 1 : 0);
        int16_t r = r_parent + (f.repetition == Repetition::Repeated ? 1 : 0);
        if (FirstLeaf(f) < 0) {
            return Json(nullptr);
        }
        if (f.repetition == Repetition::Repeated) {
            Json arr = Json::array();
            ReadRepeated(f, d, r, [&] { arr.push_back(ReadContent(f, d, r)); });
            return arr;
        }
        if (f.repetition == Repetition::Optional && PeekDef(f) < d) {
            Skip(f);
            return Json(nullptr);
        }
        return ReadContent(f, d, r);
    }

    template <class Fn>
    void ReadRepeated(const Field& f, int16_t d, int16_t r, const Fn& element) {
        if (PeekDef(f) < d) {
            Skip(f); // empty list
            return;
        }
        do {
            element();
        } while (MoreInList(f, r));
    }

    static std::string KeyString(const Json& k) {
        if (k.is_string()) {
            return k.template get<std::string>();
        }
        return k.dump();
    }

    Json ReadContent(const Field& f, int16_t d, int16_t r) {
        if (f.IsLeaf()) {
            LeafStream& s = Leaf(f.column);
            if (s.pos >= s.count) {
                Fail(fmt::format("column '{}' runs out of levels before the other columns",
                                 s.column->DottedPath()));
            }
            if (s.column->max_def > 0 && s.def[s.pos] != s.column->max_def) {
                Fail(fmt::format("column '{}' has definition level {} where {} was expected",
                                 s.column->DottedPath(), s.def[s.pos], s.column->max_def));
            }
            if (s.vpos >= s.values.size) {
                Fail(fmt::format("column '{}' has fewer values than its levels say", s.column->DottedPath()));
            }
            ++s.pos;
            RenderCell(*s.column, s.values, s.vpos++, cell_);
            return CellToJson<Json>(cell_);
        }
        const bool list_like = f.children.size() == 1 && f.children[0].repetition == Repetition::Repeated;
        if (f.annotation == "LIST" && list_like) {
            const Field& rep = f.children[0];
            int16_t d2 = d + 1;
            int16_t r2 = r + 1;
            // Three-level lists wrap the element in a one-field repeated group; the legacy two-level
            // forms repeat the element itself (named "array" or "<list>_tuple" when it is a group).
            bool three_level = !rep.IsLeaf() && rep.children.size() == 1 && rep.name != "array" &&
                               rep.name != f.name + "_tuple";
            Json arr = Json::array();
            ReadRepeated(rep, d2, r2, [&] {
                arr.push_back(three_level ? ReadNode(rep.children[0], d2, r2) : ReadContent(rep, d2, r2));
            });
            return arr;
        }
        if ((f.annotation == "MAP" || f.annotation == "MAP_KEY_VALUE") && list_like &&
            !f.children[0].IsLeaf() && !f.children[0].children.empty()) {
            const Field& kv = f.children[0];
            int16_t d2 = d + 1;
            int16_t r2 = r + 1;
            Json obj = Json::object();
            ReadRepeated(kv, d2, r2, [&] {
                Json key = ReadNode(kv.children[0], d2, r2);
                Json value(nullptr);
                for (size_t c = 1; c < kv.children.size(); ++c) {
                    Json v = ReadNode(kv.children[c], d2, r2);
                    if (c == 1) {
                        value = std::move(v);
                    }
                }
                obj[KeyString(key)] = std::move(value);
            });
            return obj;
        }
        Json obj = Json::object();
        for (const auto& c : f.children) {
            obj[c.name] = ReadNode(c, d, r);
        }
        return obj;
    }

    bool Run(const std::vector<const Field*>& fields, const std::function<bool(Json&)>& on_record) {
        int probe = -1;
        for (const Field* f : fields) {
            probe = FirstLeaf(*f);
            if (probe >= 0) {
                break;
            }
        }
        if (probe < 0) {
            return true;
        }
        LeafStream& first = Leaf(probe);
        size_t records = 0;
        while (first.pos < first.count) {
            // A row group may claim tens of millions of (empty) records for a few bytes of levels.
            if ((++records & 1023) == 0) {
                CheckInterrupt();
            }
            for (LeafStream* s : leaves_) {
                if (s && s->pos < s->count && s->column->max_rep > 0 && s->rep[s->pos] != 0) {
                    Fail(fmt::format("column '{}' starts a record with repetition level {} instead of 0",
                                     s->column->DottedPath(), s->rep[s->pos]));
                }
            }
            Json record = Json::object();
            for (const Field* f : fields) {
                record[f->name] = ReadNode(*f, 0, 0);
            }
            if (!on_record(record)) {
                return false;
            }
        }
        for (LeafStream* s : leaves_) {
            if (s && s->pos != s->count) {
                Fail(fmt::format("column '{}' has {} level entries left after the last record",
                                 s->column->DottedPath(), s->count - s->pos));
            }
        }
        return true;
    }

private:
    const std::string& file_;
    int row_group_;
    std::vector<LeafStream*>& leaves_;
    Cell cell_;
};

} // namespace

template <class Json>
bool AssembleRecords(const std::string& file, int row_group, const std::vector<const Field*>& fields,
                     std::vector<LeafStream*>& leaves, const std::function<bool(Json&)>& on_record) {
    Assembler<Json> a(file, row_group, leaves);
    return a.Run(fields, on_record);
}

template bool AssembleRecords<nlohmann::json>(const std::string&, int, const std::vector<const Field*>&,
                                              std::vector<LeafStream*>&,
                                              const std::function<bool(nlohmann::json&)>&);
template bool AssembleRecords<nlohmann::ordered_json>(const std::string&, int,
                                                      const std::vector<const Field*>&,
                                                      std::vector<LeafStream*>&,
                                                      const std::function<bool(nlohmann::ordered_json&)>&);

} // namespace pgsplit::parquet
