#include "inspect/delta_summary.h"

#include "output/table.h"

#include <fmt/format.h>

namespace pgsplit::inspect {
namespace {

std::string TypeName(const delta::DataType& t) {
    return t.name;
}

std::string Plural(int64_t n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string PartitionLabel(const delta::Snapshot& snap, const delta::AddFile& f) {
    std::string label;
    for (const auto& c : snap.PartitionColumns()) {
        auto v = f.PartitionValue(c);
        if (!label.empty()) {
            label += "/";
        }
        label += snap.PartitionColumns().size() == 1 ? (v ? *v : "NULL")
                                                     : fmt::format("{}={}", c, v ? *v : "NULL");
    }
    return label;
}

} // namespace

DeltaSummary Summarise(const delta::Snapshot& snap, const std::vector<const delta::AddFile*>& files) {
    // Partitions, from the log alone: no data file is opened.
    DeltaSummary out;
    for (const auto* f : files) {
        auto& p = out.partitions[PartitionLabel(snap, *f)];
        for (const auto& c : snap.PartitionColumns()) {
            auto v = f->PartitionValue(c);
            p.values[c] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        }
        for (auto* s : {&p, &out.total}) {
            ++s->files;
            s->bytes += f->size;
            if (auto live = f->LiveRecords()) {
                s->records += *live;
            } else {
                s->records_known = false;
            }
            s->deleted += f->dv ? f->dv->cardinality : 0;
        }
    }
    return out;
}

nlohmann::ordered_json RenderDeltaJson(const DeltaView& v) {
    const delta::Snapshot& snap = v.snap;
    const auto& proto = snap.GetProtocol();
    nlohmann::ordered_json j;
    j["ok"] = true;
    j["table"] = v.uri;
    j["version"] = snap.Version();
    j["checkpoint_version"] = snap.CheckpointVersion() ? nlohmann::ordered_json(*snap.CheckpointVersion())
                                                       : nlohmann::ordered_json(nullptr);
    j["protocol"] = {{"min_reader_version", proto.min_reader_version},
                     {"min_writer_version", proto.min_writer_version},
                     {"reader_features", proto.reader_features.value_or(std::vector<std::string>{})},
                     {"writer_features", proto.writer_features.value_or(std::vector<std::string>{})}};
    j["features_in_use"] = snap.FeaturesInUse();
    j["schema"] = nlohmann::ordered_json::array();
    for (const auto& f : snap.GetSchema().fields) {
        j["schema"].push_back({{"name", f.name},
                               {"type", TypeName(f.type)},
                               {"nullable", f.nullable},
                               {"partition", snap.IsPartitionColumn(f.name)}});
    }
    j["partition_columns"] = snap.PartitionColumns();
    j["configuration"] = snap.GetMetadata().configuration;
    if (v.month) {
        j["month"] = *v.month;
        j["month_selection"] = v.by_stats ? "file statistics (upper bound)" : "partition";
    }
    j["partitions"] = nlohmann::ordered_json::array();
    for (const auto& [label, p] : v.summary.partitions) {
        j["partitions"].push_back({{"partition", label},
                                   {"values", nlohmann::ordered_json::parse(p.values.dump())},
                                   {"files", p.files},
                                   {"num_records", p.records_known ? nlohmann::ordered_json(p.records)
                                                                   : nlohmann::ordered_json(nullptr)},
                                   {"deleted_rows", p.deleted},
                                   {"bytes", p.bytes}});
    }
    j["totals"] = {{"files", v.summary.total.files},
                   {"num_records", v.summary.total.records_known
                                       ? nlohmann::ordered_json(v.summary.total.records)
                                       : nlohmann::ordered_json(nullptr)},
                   {"deleted_rows", v.summary.total.deleted},
                   {"bytes", v.summary.total.bytes}};
    if (v.show_files) {
        j["files"] = nlohmann::ordered_json::array();
        for (const auto* f : v.files) {
            nlohmann::ordered_json pv = nlohmann::ordered_json::object();
            for (const auto& [k, v] : f->partition_values) {
                pv[k] = v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
            }
            j["files"].push_back({{"path", f->path},
                                  {"partition_values", pv},
                                  {"num_records", f->num_records ? nlohmann::ordered_json(*f->num_records)
                                                                 : nlohmann::ordered_json(nullptr)},
                                  {"deleted_rows", f->dv ? f->dv->cardinality : 0},
                                  {"bytes", f->size},
                                  {"version", f->version}});
        }
    }
    j["notes"] = snap.Notes();
    return j;
}

std::string RenderDeltaText(const DeltaView& v) {
    const delta::Snapshot& snap = v.snap;
    const auto& proto = snap.GetProtocol();
    std::string out;
    out += fmt::format("table     {}\n", v.uri);
    out += fmt::format("version   {}", snap.Version());
    if (snap.CheckpointVersion()) {
        out += fmt::format("  (checkpoint {} + {})", *snap.CheckpointVersion(),
                           Plural(snap.CommitsRead(), "commit", "commits"));
    } else {
        out += fmt::format("  ({})", Plural(snap.CommitsRead(), "commit", "commits"));
    }
    out += "\n";
    auto join = [](const std::optional<std::vector<std::string>>& v) {
        if (!v || v->empty()) {
            return std::string("none");
        }
        std::string s;
        for (const auto& x : *v) {
            s += (s.empty() ? "" : ", ") + x;
        }
        return s;
    };
    out += fmt::format("protocol  reader {}, writer {}", proto.min_reader_version, proto.min_writer_version);
    if (proto.reader_features || proto.writer_features) {
        out += fmt::format("; reader features: {}; writer features: {}", join(proto.reader_features),
                           join(proto.writer_features));
    }
    auto features = snap.FeaturesInUse();
    out += fmt::format("\nfeatures  {}", features.empty() ? std::string("none") : join(features));
    out += "\n\nschema\n";
    std::vector<std::vector<std::string>> schema_rows = {{"COLUMN", "TYPE", "NULLABLE", "PARTITION"}};
    for (const auto& f : snap.GetSchema().fields) {
        schema_rows.push_back({f.name, TypeName(f.type), f.nullable ? "yes" : "no",
                               snap.IsPartitionColumn(f.name) ? "yes" : ""});
    }
    out += RenderColumns(schema_rows, "  ");
    std::string by;
    for (const auto& c : snap.PartitionColumns()) {
        by += (by.empty() ? "" : ", ") + c;
    }
    out += fmt::format("\npartitions{}{}: {}, {}, {} records{}, {} bytes\n",
                       by.empty() ? " (table not partitioned)" : " by " + by,
                       v.month ? fmt::format(" (--month {}{})", *v.month,
                                             v.by_stats ? ", selected by file stats: an upper bound" : "")
                               : "",
                       Plural(static_cast<int64_t>(v.summary.partitions.size()), "partition", "partitions"),
                       Plural(v.summary.total.files, "file", "files"),
                       v.summary.total.records_known ? std::to_string(v.summary.total.records) : "?",
                       v.summary.total.deleted > 0
                           ? fmt::format(" ({} more deleted by deletion vectors)", v.summary.total.deleted)
                           : "",
                       v.summary.total.bytes);
    std::vector<std::vector<std::string>> part_rows = {{"PARTITION", "FILES", "RECORDS", "BYTES"}};
    for (const auto& [label, p] : v.summary.partitions) {
        part_rows.push_back({label.empty() ? "(all)" : label, std::to_string(p.files),
                             p.records_known ? std::to_string(p.records) : "?", std::to_string(p.bytes)});
    }
    out += RenderColumns(part_rows, "  ");
    if (!v.summary.total.records_known) {
        out += "  (? = some files have no stats.numRecords; count them with --rows)\n";
    }
    if (v.show_files) {
        out += "\nfiles\n";
        std::vector<std::vector<std::string>> file_rows = {
            {"PATH", "PARTITION", "RECORDS", "BYTES", "VERSION"}};
        for (const auto* f : v.files) {
            file_rows.push_back({f->path, PartitionLabel(snap, *f),
                                 f->num_records ? std::to_string(*f->num_records) : "?",
                                 std::to_string(f->size), std::to_string(f->version)});
        }
        out += RenderColumns(file_rows, "  ");
    }
    return out;
}

} // namespace pgsplit::inspect
