#include "inspect/parquet_summary.h"

#include "output/table.h"
#include "parquet/metadata.h"
#include "parquet/values.h"

#include <fmt/format.h>

namespace pgsplit::inspect {
namespace {

std::string StatText(const parquet::Column& col, const std::optional<std::string>& v) {
    if (!v) {
        return "";
    }
    parquet::Cell cell;
    if (!parquet::RenderStat(col, *v, cell)) {
        return "0x" + parquet::Base64(*v);
    }
    switch (cell.kind) {
    case parquet::CellKind::Null:
        return "null";
    case parquet::CellKind::Boolean:
        return cell.boolean ? "true" : "false";
    case parquet::CellKind::Integer:
        return std::to_string(cell.integer);
    case parquet::CellKind::Unsigned:
        return std::to_string(cell.unsigned_integer);
    case parquet::CellKind::Real:
    case parquet::CellKind::String:
        return cell.text;
    }
    return "";
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const auto& x : v) {
        if (!s.empty()) {
            s += sep;
        }
        s += x;
    }
    return s;
}

void SchemaLines(const parquet::FileReader& r, const parquet::Field& f, int depth,
                 std::vector<std::vector<std::string>>& rows) {
    for (const auto& c : f.children) {
        std::string name = std::string(static_cast<size_t>(depth) * 2, ' ') + c.name;
        if (c.IsLeaf()) {
            const auto& col = r.Columns()[static_cast<size_t>(c.column)];
            std::string phys = parquet::PhysicalName(col.physical);
            if (col.physical == parquet::Physical::FixedLenByteArray) {
                phys += fmt::format("({})", col.type_length);
            }
            rows.push_back(
                {name, parquet::RepetitionName(c.repetition), phys, parquet::LogicalName(col.logical)});
        } else {
            rows.push_back({name, parquet::RepetitionName(c.repetition), "group", c.annotation});
            SchemaLines(r, c, depth + 1, rows);
        }
    }
}

nlohmann::ordered_json FieldJson(const parquet::FileReader& r, const parquet::Field& f) {
    nlohmann::ordered_json j;
    j["name"] = f.name;
    j["repetition"] = parquet::RepetitionName(f.repetition);
    if (f.IsLeaf()) {
        const auto& col = r.Columns()[static_cast<size_t>(f.column)];
        j["column"] = f.column;
        j["physical"] = parquet::PhysicalName(col.physical);
        if (col.physical == parquet::Physical::FixedLenByteArray) {
            j["type_length"] = col.type_length;
        }
        j["logical"] = col.logical.kind == parquet::Logical::None
                           ? nlohmann::ordered_json(nullptr)
                           : nlohmann::ordered_json(parquet::LogicalName(col.logical));
        j["max_definition_level"] = col.max_def;
        j["max_repetition_level"] = col.max_rep;
    } else {
        if (!f.annotation.empty()) {
            j["annotation"] = f.annotation;
        }
        j["children"] = nlohmann::ordered_json::array();
        for (const auto& c : f.children) {
            j["children"].push_back(FieldJson(r, c));
        }
    }
    return j;
}

} // namespace

nlohmann::ordered_json RenderParquetJson(const parquet::FileReader& r) {
    const auto& info = r.Info();
    nlohmann::ordered_json j;
    j["file"] = r.Name();
    j["version"] = info.version;
    j["num_rows"] = info.num_rows;
    j["created_by"] = info.created_by;
    j["key_value_metadata"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : info.key_value_metadata) {
        j["key_value_metadata"][k] = v;
    }
    j["schema"] = FieldJson(r, r.Root());
    j["row_groups"] = nlohmann::ordered_json::array();
    for (const auto& rg : info.row_groups) {
        nlohmann::ordered_json g;
        g["num_rows"] = rg.num_rows;
        g["total_byte_size"] = rg.total_byte_size;
        g["chunks"] = nlohmann::ordered_json::array();
        for (const auto& ch : rg.chunks) {
            const auto& col = r.Columns()[static_cast<size_t>(ch.column)];
            nlohmann::ordered_json c;
            c["column"] = col.DottedPath();
            c["codec"] = ch.codec;
            c["encodings"] = ch.encodings;
            c["num_values"] = ch.num_values;
            c["compressed_size"] = ch.compressed_size;
            c["uncompressed_size"] = ch.uncompressed_size;
            c["data_page_offset"] = ch.data_page_offset;
            c["dictionary_page_offset"] = ch.dictionary_page_offset
                                              ? nlohmann::ordered_json(*ch.dictionary_page_offset)
                                              : nlohmann::ordered_json(nullptr);
            nlohmann::ordered_json s;
            s["min"] = ch.stats.min ? nlohmann::ordered_json(StatText(col, ch.stats.min))
                                    : nlohmann::ordered_json(nullptr);
            s["max"] = ch.stats.max ? nlohmann::ordered_json(StatText(col, ch.stats.max))
                                    : nlohmann::ordered_json(nullptr);
            s["null_count"] = ch.stats.null_count ? nlohmann::ordered_json(*ch.stats.null_count)
                                                  : nlohmann::ordered_json(nullptr);
            s["distinct_count"] = ch.stats.distinct_count ? nlohmann::ordered_json(*ch.stats.distinct_count)
                                                          : nlohmann::ordered_json(nullptr);
            c["statistics"] = s;
            g["chunks"].push_back(c);
        }
        j["row_groups"].push_back(g);
    }
    return j;
}

std::string RenderParquetText(const parquet::FileReader& r) {
    const auto& info = r.Info();
    std::string out = fmt::format(
        "file        {}\nformat      parquet version {}\ncreated by  {}\nrows        {}\nrow groups  {}\n",
        r.Name(), info.version, info.created_by.empty() ? "-" : info.created_by, info.num_rows,
        info.row_groups.size());
    out += "\nschema\n";
    std::vector<std::vector<std::string>> rows;
    SchemaLines(r, r.Root(), 0, rows);
    out += RenderColumns(rows, "  ");
    for (size_t g = 0; g < info.row_groups.size(); ++g) {
        const auto& rg = info.row_groups[g];
        out += fmt::format("\nrow group {}: {} rows, {} bytes\n", g, rg.num_rows, rg.total_byte_size);
        std::vector<std::vector<std::string>> t{
            {"column", "codec", "encodings", "values", "compressed", "uncompressed", "nulls", "min", "max"}};
        for (const auto& ch : rg.chunks) {
            const auto& col = r.Columns()[static_cast<size_t>(ch.column)];
            auto clip = [](std::string s) { return s.size() > 40 ? s.substr(0, 37) + "..." : s; };
            t.push_back({col.DottedPath(), ch.codec, Join(ch.encodings, ","), std::to_string(ch.num_values),
                         std::to_string(ch.compressed_size), std::to_string(ch.uncompressed_size),
                         ch.stats.null_count ? std::to_string(*ch.stats.null_count) : "",
                         clip(StatText(col, ch.stats.min)), clip(StatText(col, ch.stats.max))});
        }
        out += RenderColumns(t, "  ");
    }
    return out;
}

} // namespace pgsplit::inspect
