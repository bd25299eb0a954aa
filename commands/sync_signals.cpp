// pgsplit sync-signals: replace months of the ranking signal tables in PostgreSQL from Delta (SPEC §6).
#include "commands/command.h"
#include "commands/sync_flags.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "output/github.h"
#include "pg/connection.h"
#include "signals/ledger.h"
#include "signals/months.h"
#include "signals/render.h"
#include "signals/sources.h"
#include "sync/partition_sync.h"
#include "sync/runner.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit {
namespace {

struct SyncSignalsOpts {
    std::vector<std::string> months;
    std::string from, to;
    std::string signals_table, composite_table;
    SyncFlags sync;
};

} // namespace

Runner SetupSyncSignals(CLI::App& app) {
    auto o = std::make_shared<SyncSignalsOpts>();
    app.footer(
        R"(Replaces each month of ranking.ranking_signal and ranking.composite_signal_daily with the rows
of the Delta tables, in one transaction per month: the rows are COPYed (binary) into a stage table,
indexed, then swapped in for the old partition. Readers see the old month until the commit. The
month's row in ranking.signal_sync_state records counts, Delta versions, duration and strategy.

Environment: POSTGRES_DSN (unset = replication disabled, exit 0), POSTGRES_SIGNALS_WRITE_REQUIRED
(default true; false = a failure is logged and recorded but exits 0), POSTGRES_SIGNALS_VERIFY_COUNTS
(default false; true = count the month in Postgres before commit), PGSPLIT_SIGNALS_TABLE,
PGSPLIT_COMPOSITE_TABLE.

Examples:
  pgsplit sync-signals --month 2024-03 \
      --signals-table abfss://gold@acct.dfs.core.windows.net/ranking/signals \
      --composite-table abfss://gold@acct.dfs.core.windows.net/ranking/composite
  pgsplit sync-signals --from 2023-01 --to 2023-12 --jobs 4     backfill a year, 4 months at a time
  pgsplit sync-signals --month 2024-03 --skip-invalid           drop (and count) rows Postgres rejects

Exit codes: 0 synced (or replication disabled); 1 a month failed; 2 usage; 3 configuration;
4 cannot connect; 6 a month's lock not obtained; 7 source data error (unreadable Delta table, a
month Delta has no rows for).
)");
    app.add_option("--month", o->months, "month to replace, YYYY-MM (repeatable)")->type_name("YYYY-MM");
    app.add_option("--from", o->from, "first month of a range (with --to)")->type_name("YYYY-MM");
    app.add_option("--to", o->to, "last month of a range (with --from)")->type_name("YYYY-MM");
    app.add_option("--signals-table", o->signals_table, "Delta table of ranking signals")->type_name("URI");
    app.add_option("--composite-table", o->composite_table, "Delta table of composite signals")
        ->type_name("URI");
    AddSyncFlags(app, o->sync, "months");

    return [o](Context& ctx) {
        // Configuration errors first, whatever else is set (exit 3).
        bool write_required = ctx.config.SignalsWriteRequired();
        sync::SyncOptions options = ToSyncOptions(ctx, o->sync);
        auto months = signals::ResolveMonths(o->months, o->from, o->to);
        if (!ctx.config.dsn || ctx.config.dsn->empty()) {
            ctx.log.Info("POSTGRES_DSN is not set: replication to PostgreSQL is disabled, nothing to do");
            if (ctx.config.json) {
                ctx.Print(nlohmann::ordered_json(
                              {{"ok", true}, {"disabled", true}, {"months", nlohmann::ordered_json::array()}})
                              .dump(2) +
                          "\n");
            }
            return 0;
        }
        std::string dsn = *ctx.config.dsn;
        std::vector<sync::TableJob> jobs = {
            {signals::kSignalsLabel, signals::SignalsSource(ctx.config, o->signals_table),
             signals::kSignalsTarget, "year_month"},
            {signals::kCompositeLabel, signals::CompositeSource(ctx.config, o->composite_table),
             signals::kCompositeTarget, "year_month"},
        };

        sync::RunnerHooks hooks;
        hooks.before_commit = signals::RecordSignalSuccess;
        hooks.record_failure = signals::RecordSignalFailure;
        hooks.already_synced = [](pg::Connection& conn, const std::string& month,
                                  const std::vector<sync::Source>& sources) {
            return signals::SyncedAtVersions(conn, month, sources[0].GetSnapshot().Version(),
                                             sources[1].GetSnapshot().Version());
        };
        ctx.interrupt = {InterruptPolicy::Kind::Transactional, "month", "months",
                         "ranking_signal and composite_signal_daily keep their previous rows", ""};
        sync::RunPlan plan{dsn, jobs, months, options, o->sync.jobs, "sync-signals", "pgsplit sync-signals"};
        plan.claim = o->sync.claim;
        auto outcomes = sync::RunPartitions(ctx.config, ctx.log, plan, hooks);

        auto rows = signals::SyncRows(outcomes);
        ctx.Print(ctx.config.json
                      ? signals::RenderSyncJson(rows).dump(2) + "\n"
                      : signals::RenderSyncText(rows, ctx.config.color_stdout, ctx.config.table_width));
        const sync::PartitionOutcome* first_failure = nullptr;
        int synced = 0, failed = 0, skipped = 0;
        for (const auto& oc : outcomes) {
            if (oc.error && !first_failure) {
                first_failure = &oc;
            }
            synced += oc.result ? 1 : 0;
            failed += oc.error ? 1 : 0;
            skipped += oc.skipped.empty() ? 0 : 1;
        }
        if (plan.claim) {
            ctx.log.Info(fmt::format("this process synced {} month(s), skipped {} already synced, {} failed",
                                     synced, skipped, failed),
                         {{"months_synced", synced}, {"months_skipped", skipped}, {"months_failed", failed}});
        }
        if (ctx.config.github_actions) {
            AppendStepSummary(ctx.config.github_step_summary, signals::RenderSyncMarkdown(rows));
            SetStepOutput(ctx.config.github_output, "months_synced", std::to_string(synced));
            SetStepOutput(ctx.config.github_output, "months_failed", std::to_string(failed));
        }
        if (int code = InterruptExitCode()) {
            return code;
        }
        if (!first_failure) {
            return 0;
        }
        if (!write_required) {
            ctx.log.Warn(
                fmt::format("{} of {} month(s) failed; POSTGRES_SIGNALS_WRITE_REQUIRED=false, so the exit "
                            "code is 0 (the failures are recorded in ranking.signal_sync_state)",
                            failed, months.size()));
            return 0;
        }
        return ToInt(first_failure->error->code());
    };
}

} // namespace pgsplit
