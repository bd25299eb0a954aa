// `pgsplit inspect delta URI`: what a Delta table holds at a version, read from its log alone
// (partitions, file counts, stats.numRecords and bytes), and optionally its decoded rows.

#include "commands/command.h"
#include "core/error.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "inspect/delta_summary.h"
#include "output/rows.h"
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

    inspect::DeltaSummary summary = inspect::Summarise(snap, files);
    inspect::DeltaView view{opts.uri,
                            snap,
                            files,
                            summary,
                            predicate ? std::optional<std::string>(opts.month) : std::nullopt,
                            predicate && !snap.IsPartitionColumn(kMonthColumn),
                            opts.files};
    ctx.Print(ctx.config.json ? inspect::RenderDeltaJson(view).dump(2) + "\n"
                              : inspect::RenderDeltaText(view));
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
