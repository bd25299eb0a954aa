// pgsplit verify: Delta vs Postgres count parity and sync freshness (SPEC §7). Flags and wiring only;
// the checks live in verify/verify.*, the rendering in verify/render.*.
#include "verify/verify.h"

#include "commands/command.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "legacy/convert.h"
#include "output/github.h"
#include "pg/connection.h"
#include "signals/months.h"
#include "signals/sources.h"
#include "verify/render.h"

#include <algorithm>
#include <fmt/format.h>
#include <unistd.h>

namespace pgsplit {
namespace {

struct VerifyOpts {
    std::vector<std::string> months;
    std::string from, to;
    int last = 0;
    std::string max_age = "36h";
    bool freshness_only = false;
    std::string signals_table, composite_table;
    bool content = false;
    int show = 10;
    std::vector<std::string> replica_dsns;
    std::string max_replica_lag = "5m";
};

} // namespace

Runner SetupVerify(CLI::App& app) {
    auto o = std::make_shared<VerifyOpts>();
    app.description("Check that PostgreSQL holds what the Delta tables hold, month by month, and that the\n"
                    "phase-2 signals sync ran recently. Every problem is listed; exit 5 when there is any.");
    app.footer(
        "Per month: Delta rows (stats.numRecords, else by reading the files) against count(*) in\n"
        "ranking.ranking_signal and ranking.composite_signal_daily; the month's row in\n"
        "ranking.signal_sync_state is present, 'success', records the same counts, and the Delta version it\n"
        "read still holds the month (else \"Delta changed since the last sync\"). Months in Postgres that\n"
        "Delta no longer has are reported too. Freshness: the newest successful sync is younger than\n"
        "--max-age. --freshness-only reads Postgres alone (no Delta, no table locations needed).\n"
        "--content also compares every row: an order-independent digest of each month and table, computed\n"
        "by the server on its side and from the Delta files (as sync-signals would write them) on the\n"
        "other; when they differ, the differing rows are found by bucket and up to --show of them named by\n"
        "primary key (missing in Postgres, extra in Postgres, or which columns differ). With\n"
        "--postgres-only, the server's digest is compared with the one sync-signals recorded (migration\n"
        "0005), so a changed serving copy shows without reading the lake.\n"
        "--replica-dsn (or PGSPLIT_REPLICA_DSNS, separated by newlines or ';'): each read replica's counts,\n"
        "and digests with --content, against the primary's, and its replay lag; a month that differs\n"
        "because the replica is behind is reported as lag, and a lag over --max-replica-lag fails.\n"
        "In GitHub Actions a Markdown table goes to $GITHUB_STEP_SUMMARY and each failing month gets an\n"
        "::error line.\n\n"
        "Environment: POSTGRES_DSN, PGSPLIT_REPLICA_DSNS, PGSPLIT_SIGNALS_TABLE, PGSPLIT_COMPOSITE_TABLE\n"
        "(or signals.signals_table, signals.composite_table in pgsplit.yaml).\n\n"
        "Examples:\n"
        "  pgsplit verify                                  every month in Delta\n"
        "  pgsplit verify --last 3 --max-age 26h           the three newest months, daily job\n"
        "  pgsplit verify --from 2023-01 --to 2023-12 --json\n"
        "  pgsplit verify --freshness-only --max-age 36h   alerting without access to the lake\n"
        "  pgsplit verify --month 2024-06 --content        every row of the month just synced\n"
        "  pgsplit verify --last 3 --content --postgres-only   drift of the serving copy, lake not read\n"
        "  pgsplit verify --last 1 --replica-dsn \"$REPLICA_DSN\" --max-replica-lag 1m\n\n"
        "Exit codes: 0 all good; 2 usage; 3 configuration (no DSN, no table location, schema missing);\n"
        "4 cannot connect; 5 verification failed; 7 unreadable Delta table.\n");
    app.add_option("--month", o->months, "month to verify, YYYY-MM (repeatable)")->type_name("YYYY-MM");
    app.add_option("--from", o->from, "first month of a range (with --to)")->type_name("YYYY-MM");
    app.add_option("--to", o->to, "last month of a range (with --from)")->type_name("YYYY-MM");
    app.add_option("--last", o->last,
                   "the N newest months present in Delta (in the ledger with --freshness-only)")
        ->check(CLI::PositiveNumber)
        ->type_name("N");
    app.add_option("--max-age", o->max_age, "the newest successful sync must be younger (default 36h)")
        ->type_name("DURATION");
    app.add_flag(
        "--freshness-only,--postgres-only", o->freshness_only,
        "check Postgres alone: the sync ledger and freshness (with --content: the recorded digests)");
    app.add_flag("--content", o->content, "compare every row by digest, not only the counts");
    app.add_option("--show", o->show,
                   "differing rows to name per month and table with --content (default 10)")
        ->check(CLI::Range(0, 1000))
        ->type_name("N");
    app.add_option("--replica-dsn", o->replica_dsns, "a read replica to check too (repeatable)")
        ->type_name("DSN");
    app.add_option("--max-replica-lag", o->max_replica_lag, "a replica further behind fails (default 5m)")
        ->type_name("DURATION");
    app.add_option("--signals-table", o->signals_table, "Delta table of ranking signals")->type_name("URI");
    app.add_option("--composite-table", o->composite_table, "Delta table of composite signals")
        ->type_name("URI");

    return [o](Context& ctx) {
        // Usage and configuration first, so a typo never waits on the lake or the server.
        verify::Options options;
        bool explicit_months = !o->months.empty() || !o->from.empty() || !o->to.empty();
        if (explicit_months && o->last > 0) {
            throw Error(ExitCode::Usage, "--last does not go with --month or --from/--to",
                        "pass one of them");
        }
        if (explicit_months) {
            options.months = signals::ResolveMonths(o->months, o->from, o->to);
        }
        options.last = o->last;
        options.max_age = RequireDuration("--max-age", o->max_age);
        options.max_age_text = o->max_age;
        options.freshness_only = o->freshness_only;
        options.content = o->content;
        options.show = static_cast<size_t>(o->show);
        options.replica_dsns = o->replica_dsns.empty() ? ctx.config.ReplicaDsns() : o->replica_dsns;
        options.max_replica_lag = RequireDuration("--max-replica-lag", o->max_replica_lag);
        options.max_replica_lag_text = o->max_replica_lag;
        if (!o->freshness_only) {
            options.signals_uri = signals::SignalsSource(ctx.config, o->signals_table);
            options.composite_uri = signals::CompositeSource(ctx.config, o->composite_table);
        }
        ctx.interrupt.kind = InterruptPolicy::Kind::ReadOnly;
        auto conn = pg::Connection::Open(ctx.config.RequireDsn("verify"), "pgsplit verify");
        if (auto tables = legacy::LegacyTables(conn); !tables.empty()) {
            ctx.log.Warn(legacy::LegacyHint(tables), {{"legacy_tables", tables}});
        }

        std::optional<verify::Report> checked;
        {
            LogPhase phase(ctx.log, "checks",
                           o->freshness_only ? "verify: sync ledger and freshness"
                           : o->content      ? "verify: Delta vs PostgreSQL content per month and table, "
                                               "sync ledger, freshness"
                                             : "verify: Delta vs PostgreSQL counts per month and table, "
                                               "sync ledger, freshness");
            checked = verify::Run(ctx.config, conn, options, ctx.log);
        }
        const verify::Report& report = *checked;

        if (ctx.config.json) {
            ctx.Print(verify::RenderJson(report).dump(2, ' ', false,
                                                      nlohmann::ordered_json::error_handler_t::replace) +
                      "\n");
        } else {
            ctx.Print(verify::RenderText(report, ctx.config.color_stdout, ctx.config.table_width));
        }
        if (ctx.config.github_actions) {
            AppendStepSummary(ctx.config.github_step_summary, verify::RenderMarkdown(report));
            // One annotation per failing month (and freshness), within GitHub's 10 per step; the rest
            // are counted in the closing notice.
            for (const auto& a : verify::Annotations(report)) {
                ctx.log.Annotate(LogLevel::Error, a.title, a.message);
            }
            std::string problems;
            for (const auto& p : report.AllProblems()) {
                problems += (problems.empty() ? "" : "\n") + p;
            }
            SetStepOutput(ctx.config.github_output, "verify_ok", report.Ok() ? "true" : "false");
            SetStepOutput(ctx.config.github_output, "months_checked", std::to_string(report.months.size()));
            SetStepOutput(ctx.config.github_output, "months_failed", std::to_string(report.FailedMonths()));
            SetStepOutput(ctx.config.github_output, "problems", problems);
        }
        if (!report.Ok()) {
            size_t replicas_failed = static_cast<size_t>(std::count_if(
                report.replicas.begin(), report.replicas.end(), [](const auto& r) { return !r.Ok(); }));
            std::string msg =
                fmt::format("verify failed: {} of {} month(s), freshness {}{}", report.FailedMonths(),
                            report.months.size(), report.freshness.Ok() ? "ok" : "failed",
                            report.replicas.empty() ? ""
                                                    : fmt::format(", {} of {} replica(s)", replicas_failed,
                                                                  report.replicas.size()));
            // In GitHub Actions each failing month already has its annotation; do not add one more.
            if (ctx.config.github_actions) {
                ctx.log.Info(msg);
            } else {
                ctx.log.Error(msg);
            }
            return ToInt(ExitCode::Verify);
        }
        return 0;
    };
}

} // namespace pgsplit
