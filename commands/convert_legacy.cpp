// pgsplit convert-legacy: the legacy runner's plain signal tables into the partitioned layout of
// migration 0003, online and resumable (SPEC §6c, issue 16). Flags, wiring and rendering; the steps
// live in legacy/convert.*.
#include "commands/command.h"
#include "core/duration.h"
#include "core/error.h"
#include "legacy/convert.h"
#include "output/github.h"
#include "output/numbers.h"
#include "output/table.h"
#include "pg/connection.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit {
namespace {

struct ConvertOpts {
    std::vector<std::string> tables;
    bool dry_run = false;
    bool drop_legacy = false;
    bool rollback = false;
    std::string swap_lock_timeout = "2s";
    int swap_retries = 5;
};

std::string Bytes(int64_t b) {
    if (b >= (int64_t{1} << 30)) {
        return fmt::format("{:.1f} GiB", static_cast<double>(b) / (1 << 30));
    }
    if (b >= (1 << 20)) {
        return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1 << 20));
    }
    return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
}

std::string RenderText(const legacy::Report& report, bool color, size_t width) {
    std::string out;
    if (report.action == legacy::Action::DryRun) {
        for (const auto& t : report.tables) {
            if (t.outcome != "planned") {
                out += fmt::format("{}: {}, nothing to do\n\n", t.table, t.outcome);
                continue;
            }
            out += fmt::format("{}: plain table, {} month(s), {} rows, {}\n", t.table, t.months.size(),
                               GroupDigits(t.rows), Bytes(t.bytes));
            TextTable months({"month", "rows", "bytes"});
            for (const auto& m : t.months) {
                months.AddRow({m.month, GroupDigits(m.rows), Bytes(m.bytes)});
            }
            out += months.Render(color, width);
            out += fmt::format("copy rate measured on a sample: {} rows/s; estimated time: {}\n",
                               GroupDigits(static_cast<int64_t>(t.copy_rows_per_s)),
                               HumanDuration(t.estimated_s * 1000));
            for (const auto& v : t.views) {
                out += fmt::format("dependent view moved by the final step: {}\n", v);
            }
            out += "\n";
        }
        TextTable locks({"step", "locks"});
        for (const auto& [step, lock] : legacy::LockPlan()) {
            locks.AddRow({step, lock});
        }
        out += locks.Render(color, width);
        out += "dry run: nothing was changed\n";
        return out;
    }
    TextTable table(
        {"table", "outcome", "months", "rows", "copied", "copied again", "readers locked out", "time"});
    for (const auto& t : report.tables) {
        bool converted = t.outcome == "converted";
        table.AddRow({t.table, t.outcome, std::to_string(t.months.size()), GroupDigits(t.rows),
                      converted ? std::to_string(t.months_copied) : "",
                      converted ? std::to_string(t.months_recopied) : "",
                      converted ? HumanDuration(t.final_lock_ms) : "", HumanDuration(t.seconds * 1000)},
                     {TextTable::Tone::Plain, converted ? TextTable::Tone::Good : TextTable::Tone::Plain});
    }
    return table.Render(color, width);
}

nlohmann::ordered_json RenderJson(const legacy::Report& report) {
    auto tables = nlohmann::ordered_json::array();
    for (const auto& t : report.tables) {
        auto months = nlohmann::ordered_json::array();
        for (const auto& m : t.months) {
            months.push_back({{"month", m.month}, {"rows", m.rows}, {"bytes", m.bytes}});
        }
        nlohmann::ordered_json j = {{"table", t.table},
                                    {"state_before", legacy::TableStateName(t.before)},
                                    {"outcome", t.outcome},
                                    {"rows", t.rows},
                                    {"bytes", t.bytes},
                                    {"months", months},
                                    {"months_copied", t.months_copied},
                                    {"months_copied_again", t.months_recopied},
                                    {"final_attempts", t.final_attempts},
                                    {"readers_locked_out_ms", t.final_lock_ms},
                                    {"seconds", t.seconds},
                                    {"views_moved", t.views},
                                    {"months_differing", t.differing}};
        if (report.action == legacy::Action::DryRun) {
            j["copy_rows_per_s"] = t.copy_rows_per_s;
            j["estimated_s"] = t.estimated_s;
        }
        tables.push_back(j);
    }
    nlohmann::ordered_json out = {{"ok", true}, {"tables", tables}};
    if (report.action == legacy::Action::DryRun) {
        auto locks = nlohmann::ordered_json::array();
        for (const auto& [step, lock] : legacy::LockPlan()) {
            locks.push_back({{"step", step}, {"locks", lock}});
        }
        out["locks"] = locks;
        out["dry_run"] = true;
    }
    return out;
}

std::string RenderMarkdown(const legacy::Report& report) {
    std::string md =
        "### pgsplit convert-legacy\n\n| table | outcome | months | rows |\n|---|---|---:|---:|\n";
    for (const auto& t : report.tables) {
        md += fmt::format("| {} | {} | {} | {} |\n", t.table, t.outcome, t.months.size(), t.rows);
    }
    return md;
}

} // namespace

Runner SetupConvertLegacy(CLI::App& app) {
    auto o = std::make_shared<ConvertOpts>();
    app.description("Convert the legacy runner's plain signal tables into the partitioned layout of\n"
                    "migration 0003, online, month by month, resumable.");
    app.footer(
        R"(Converts ranking.ranking_signal and ranking.composite_signal_daily (or each --table) from plain
tables into tables PARTITION BY LIST (year_month) with the primary keys plus year_month, the same
secondary indexes, owner ranking_owner and the grants the legacy table had; sync-signals then uses
its partition swap. Each month is copied in its own transaction under the advisory lock sync-signals
takes for it (stage table, INSERT ... SELECT, indexes after the load, ATTACH). Then every month is
compared on both sides by row count and an order-independent content hash; a month a writer changed
without taking the lock is copied again. The final step is one short transaction: the legacy table
becomes <name>_legacy and the partitioned one takes its name, with its grants and dependent views.
Readers wait at most --swap-lock-timeout per attempt; writers wait during the final comparison.

The legacy table is only read until the final step, so an interrupt, a killed backend or a lost
connection leaves it serving and unchanged; running the command again continues. Rows whose
year_month is NULL or not the month of their date are listed and refused before anything changes
(conversion never drops rows); so are objects that depend on the table and cannot be moved
(materialized views, foreign keys, triggers, rules, policies).

--dry-run prints the plan: months, rows and bytes, the copy rate measured on a sample and the
estimated time, and the locks each step takes. --drop-legacy drops <name>_legacy after checking
every month of it is still equal in the serving table. --rollback swaps the legacy table back
(months changed since are listed: re-sync them from Delta).

Environment: POSTGRES_DSN.

Examples:
  pgsplit convert-legacy --dry-run                  the plan, nothing changes
  pgsplit convert-legacy                            convert both signal tables
  pgsplit convert-legacy --table ranking.ranking_signal --swap-lock-timeout 500ms
  pgsplit convert-legacy --drop-legacy              after verify and a sync ran fine
  pgsplit convert-legacy --rollback                 back to the plain tables

Exit codes: 0 converted, or nothing to do (already partitioned); 1 unexpected failure; 2 usage;
3 configuration (no DSN, no ranking_owner role: run migrate); 4 cannot connect; 5 --drop-legacy found
months that differ; 6 the final step's locks not obtained in time (nothing changed, run again);
7 refused: invalid rows or dependents that cannot be moved (nothing changed); 130/143 interrupted
(the month in flight rolled back; run again to continue).
)");
    app.add_option("--table", o->tables,
                   "table to convert, schema.name (repeatable; default both signal tables)")
        ->type_name("TABLE");
    auto* dry = app.add_flag("--dry-run", o->dry_run,
                             "print the plan (months, rows, bytes, time, locks); change nothing");
    auto* drop = app.add_flag("--drop-legacy", o->drop_legacy,
                              "drop <name>_legacy after a fresh check that every month of it is equal");
    auto* back =
        app.add_flag("--rollback", o->rollback, "swap the legacy table back in (until --drop-legacy)");
    dry->excludes(drop)->excludes(back);
    drop->excludes(back);
    app.add_option("--swap-lock-timeout", o->swap_lock_timeout,
                   "lock_timeout of each final-step attempt: the longest readers wait (default 2s)")
        ->type_name("DURATION");
    app.add_option("--swap-retries", o->swap_retries, "final-step attempts after the first (default 5)")
        ->check(CLI::Range(0, 50));

    return [o](Context& ctx) {
        legacy::Options options;
        options.tables = o->tables;
        options.action = o->dry_run       ? legacy::Action::DryRun
                         : o->drop_legacy ? legacy::Action::DropLegacy
                         : o->rollback    ? legacy::Action::Rollback
                                          : legacy::Action::Convert;
        options.swap_lock_timeout = RequireDuration("--swap-lock-timeout", o->swap_lock_timeout);
        options.swap_retries = o->swap_retries;
        options.progress =
            ctx.config.stderr_tty && ctx.log.Format() == LogFormat::Text && ctx.log.Enabled(LogLevel::Info);
        std::string dsn = ctx.config.RequireDsn("convert-legacy");
        if (options.action == legacy::Action::DryRun) {
            ctx.interrupt.kind = InterruptPolicy::Kind::ReadOnly;
        } else {
            ctx.interrupt = {InterruptPolicy::Kind::Steps, "step", "steps", "",
                             "the legacy table keeps serving, unchanged; running convert-legacy again "
                             "continues with the months not yet copied"};
        }
        auto conn = pg::Connection::Open(dsn, "pgsplit convert-legacy");
        legacy::Report report = legacy::Run(ctx.log, conn, options);
        ctx.Print(ctx.config.json ? RenderJson(report).dump(2) + "\n"
                                  : RenderText(report, ctx.config.color_stdout, ctx.config.table_width));
        if (ctx.config.github_actions) {
            AppendStepSummary(ctx.config.github_step_summary, RenderMarkdown(report));
        }
        return 0;
    };
}

} // namespace pgsplit
