// `pgsplit inspect delta URI`: what a Delta table holds at a version, read from its log alone
// (partitions, file counts, stats.numRecords and bytes), and optionally its decoded rows.

#include "commands/command.h"
#include "core/error.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "output/rows.h"
#include "output/table.h"
#include "storage/storage.h"

#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

namespace pgsplit {
namespace {

struct InspectDeltaOptions {
    std::string uri;
    std::string month;
    int64_t version = -1;
    bool files = false;
    bool rows = false;
    int64_t limit = 0;
    std::string format = "jsonl";
};

// The column `--month` refers to (SPEC §6: the signal tables are partitioned by it).
constexpr const char* kMonthColumn = "year_month";

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

struct PartitionSummary {
    nlohmann::json values = nlohmann::json::object();
    int64_t files = 0;
    int64_t bytes = 0;
    int64_t records = 0;
    bool records_known = true;
};

int RunRows(Context& ctx, delta::Table& table, const delta::Snapshot& snap,
            const std::vector<const delta::AddFile*>& files, const std::optional<delta::Predicate>& predicate,
            const InspectDeltaOptions& opts) {
    // Same rendering as `inspect parquet --rows` (SPEC §6b), so both commands print values alike.
    std::vector<std::string> names;
    for (const auto& f : snap.GetSchema().fields) {
        names.push_back(f.name);
    }
    RowWriter writer(ParseRowFormat(opts.format), names);
    std::string out = writer.Header();
    int64_t count = 0;
    delta::ReadRows(snap, table.GetStorage(), files, predicate, [&](nlohmann::ordered_json& row) {
        writer.AddRecord(row, out);
        ++count;
        if (out.size() > (1 << 20)) {
            ctx.Print(out);
            out.clear();
        }
        return opts.limit <= 0 || count < opts.limit;
    });
    ctx.Print(out);
    return 0;
}

int Run(Context& ctx, const InspectDeltaOptions& opts) {
    std::optional<delta::Predicate> predicate;
    if (!opts.month.empty()) {
        static const std::regex month_re(R"(\d{4}-(0[1-9]|1[0-2]))");
        if (!std::regex_match(opts.month, month_re)) {
            throw Error(ExitCode::Usage, fmt::format("--month '{}' is not a month", opts.month),
                        "write the month as YYYY-MM, e.g. --month 2024-03");
        }
        predicate = delta::Predicate{kMonthColumn, opts.month};
    }
    delta::Table table(storage::OpenStorage(opts.uri, ctx.config.Storage()));
    delta::Snapshot snap =
        table.LoadSnapshot(opts.version >= 0 ? std::optional<int64_t>(opts.version) : std::nullopt);
    if (predicate && !snap.GetSchema().Find(kMonthColumn)) {
        throw Error(ExitCode::Usage,
                    fmt::format("table '{}' has no column '{}' to select --month by", opts.uri, kMonthColumn),
                    "drop --month, or inspect a table with a year_month column");
    }
    std::vector<const delta::AddFile*> files = snap.SelectFiles(predicate ? &*predicate : nullptr);
    for (const auto& note : snap.Notes()) {
        ctx.log.Warn(note, {{"table", opts.uri}});
    }
    if (opts.rows) {
        return RunRows(ctx, table, snap, files, predicate, opts);
    }

    // Partitions, from the log alone: no data file is opened.
    std::map<std::string, PartitionSummary> parts;
    PartitionSummary total;
    for (const auto* f : files) {
        auto& p = parts[PartitionLabel(snap, *f)];
        for (const auto& c : snap.PartitionColumns()) {
            auto v = f->PartitionValue(c);
            p.values[c] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        }
        for (auto* s : {&p, &total}) {
            ++s->files;
            s->bytes += f->size;
            if (f->num_records) {
                s->records += *f->num_records;
            } else {
                s->records_known = false;
            }
        }
    }
    bool filtered_by_stats = predicate && !snap.IsPartitionColumn(kMonthColumn);
    const auto& proto = snap.GetProtocol();

    if (ctx.config.json) {
        nlohmann::ordered_json j;
        j["ok"] = true;
        j["table"] = opts.uri;
        j["version"] = snap.Version();
        j["checkpoint_version"] = snap.CheckpointVersion() ? nlohmann::ordered_json(*snap.CheckpointVersion())
                                                           : nlohmann::ordered_json(nullptr);
        j["protocol"] = {{"min_reader_version", proto.min_reader_version},
                         {"min_writer_version", proto.min_writer_version},
                         {"reader_features", proto.reader_features.value_or(std::vector<std::string>{})},
                         {"writer_features", proto.writer_features.value_or(std::vector<std::string>{})}};
        j["schema"] = nlohmann::ordered_json::array();
        for (const auto& f : snap.GetSchema().fields) {
            j["schema"].push_back({{"name", f.name},
                                   {"type", TypeName(f.type)},
                                   {"nullable", f.nullable},
                                   {"partition", snap.IsPartitionColumn(f.name)}});
        }
        j["partition_columns"] = snap.PartitionColumns();
        j["configuration"] = snap.GetMetadata().configuration;
        if (predicate) {
            j["month"] = opts.month;
            j["month_selection"] = filtered_by_stats ? "file statistics (upper bound)" : "partition";
        }
        j["partitions"] = nlohmann::ordered_json::array();
        for (const auto& [label, p] : parts) {
            j["partitions"].push_back({{"partition", label},
                                       {"values", nlohmann::ordered_json::parse(p.values.dump())},
                                       {"files", p.files},
                                       {"num_records", p.records_known ? nlohmann::ordered_json(p.records)
                                                                       : nlohmann::ordered_json(nullptr)},
                                       {"bytes", p.bytes}});
        }
        j["totals"] = {{"files", total.files},
                       {"num_records", total.records_known ? nlohmann::ordered_json(total.records)
                                                           : nlohmann::ordered_json(nullptr)},
                       {"bytes", total.bytes}};
        if (opts.files) {
            j["files"] = nlohmann::ordered_json::array();
            for (const auto* f : files) {
                nlohmann::ordered_json pv = nlohmann::ordered_json::object();
                for (const auto& [k, v] : f->partition_values) {
                    pv[k] = v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
                }
                j["files"].push_back({{"path", f->path},
                                      {"partition_values", pv},
                                      {"num_records", f->num_records ? nlohmann::ordered_json(*f->num_records)
                                                                     : nlohmann::ordered_json(nullptr)},
                                      {"bytes", f->size},
                                      {"version", f->version}});
            }
        }
        j["notes"] = snap.Notes();
        ctx.Print(j.dump(2) + "\n");
        return 0;
    }

    std::string out;
    out += fmt::format("table     {}\n", opts.uri);
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
    out += fmt::format("\npartitions{}{}: {}, {}, {} records, {} bytes\n",
                       by.empty() ? " (table not partitioned)" : " by " + by,
                       predicate
                           ? fmt::format(" (--month {}{})", opts.month,
                                         filtered_by_stats ? ", selected by file stats: an upper bound" : "")
                           : "",
                       Plural(static_cast<int64_t>(parts.size()), "partition", "partitions"),
                       Plural(total.files, "file", "files"),
                       total.records_known ? std::to_string(total.records) : "?", total.bytes);
    std::vector<std::vector<std::string>> part_rows = {{"PARTITION", "FILES", "RECORDS", "BYTES"}};
    for (const auto& [label, p] : parts) {
        part_rows.push_back({label.empty() ? "(all)" : label, std::to_string(p.files),
                             p.records_known ? std::to_string(p.records) : "?", std::to_string(p.bytes)});
    }
    out += RenderColumns(part_rows, "  ");
    if (!total.records_known) {
        out += "  (? = some files have no stats.numRecords; count them with --rows)\n";
    }
    if (opts.files) {
        out += "\nfiles\n";
        std::vector<std::vector<std::string>> file_rows = {
            {"PATH", "PARTITION", "RECORDS", "BYTES", "VERSION"}};
        for (const auto* f : files) {
            file_rows.push_back({f->path, PartitionLabel(snap, *f),
                                 f->num_records ? std::to_string(*f->num_records) : "?",
                                 std::to_string(f->size), std::to_string(f->version)});
        }
        out += RenderColumns(file_rows, "  ");
    }
    ctx.Print(out);
    return 0;
}

} // namespace

Runner SetupInspectDelta(CLI::App& app) {
    auto opts = std::make_shared<InspectDeltaOptions>();
    app.add_option("uri", opts->uri, "table root: local path, file://, abfss:// or https:// URI")->required();
    app.add_option("--month", opts->month, "only the year_month partition M (YYYY-MM)")->type_name("M");
    app.add_option("--version", opts->version, "read the snapshot at this version (default: latest)")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--files", opts->files, "list the active data files");
    app.add_flag("--rows", opts->rows, "print decoded rows instead of the summary");
    app.add_option("--limit", opts->limit, "with --rows: at most N rows (default: all)")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--format", opts->format, "with --rows: jsonl (default) or csv")
        ->check(CLI::IsMember({"jsonl", "csv"}));
    app.footer("Example:\n  pgsplit inspect delta /data/ranking_signal --month 2024-03 --files\n"
               "  pgsplit inspect delta /data/ranking_signal --month 2024-03 --rows --limit 5\n\n"
               "Exit codes: 0 shown; 2 usage; 3 configuration; 4 storage refused the credentials;\n"
               "7 source data error (no Delta table there, unreadable log or file, unsupported feature).\n");
    return [opts](Context& ctx) { return Run(ctx, *opts); };
}

} // namespace pgsplit
