// pgsplit sync NAME --partition VALUE: the sync-signals mechanism for any table declared in
// pgsplit.yaml (same stage + swap or delete strategy, same one-transaction guarantee, no ledger).
#include "commands/command.h"
#include "commands/sync_flags.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "sync/partition_sync.h"
#include "sync/render.h"
#include "sync/runner.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit {
namespace {

struct SyncOpts {
    std::string name;
    std::vector<std::string> partitions;
    SyncFlags sync;
};

std::string Required(const Context& ctx, const std::string& name, const std::optional<std::string>& value,
                     const char* key) {
    if (!value) {
        throw Error(ExitCode::Config,
                    fmt::format("table '{}' has no '{}' in {}", name, key,
                                ctx.config.config_path.empty() ? "the config (no pgsplit.yaml found)"
                                                               : ctx.config.config_path),
                    fmt::format("declare it:\n  tables:\n    {}:\n      source: <Delta URI>\n      target: "
                                "schema.table\n      partition_column: year_month",
                                name));
    }
    return *value;
}

} // namespace

Runner SetupSync(CLI::App& app) {
    auto o = std::make_shared<SyncOpts>();
    app.footer(
        "Replicates partitions of a Delta table declared in pgsplit.yaml:\n\n"
        "  tables:\n"
        "    prices:\n"
        "      source: abfss://gold@acct.dfs.core.windows.net/prices\n"
        "      target: gold.prices\n"
        "      partition_column: year_month\n\n"
        "Each value is replaced in one transaction (stage + partition swap when the target is LIST-\n"
        "partitioned by the column, else DELETE + COPY), exactly as sync-signals does; no ledger row is\n"
        "written.\n\n"
        "Examples:\n"
        "  pgsplit sync prices --partition 2024-03\n"
        "  pgsplit sync prices --partition 2024-01 --partition 2024-02 --jobs 2\n\n"
        "Exit codes: 0 synced; 1 a partition failed; 2 usage; 3 configuration (no such table in\n"
        "pgsplit.yaml); 4 cannot connect; 6 lock not obtained; 7 source data error.\n");
    app.add_option("name", o->name, "table name under 'tables:' in pgsplit.yaml")->required();
    app.add_option("--partition", o->partitions, "partition value to replace (repeatable)")->required();
    AddSyncFlags(app, o->sync, "partitions");

    return [o](Context& ctx) {
        TableSettings table = ctx.config.Table(o->name);
        sync::TableJob job{o->name, Required(ctx, o->name, table.source, "source"),
                           Required(ctx, o->name, table.target, "target"),
                           Required(ctx, o->name, table.partition_column, "partition_column")};
        std::string dsn = ctx.config.RequireDsn("sync");
        sync::SyncOptions options = ToSyncOptions(ctx, o->sync);
        options.value_flag = "--partition";
        ctx.interrupt = {InterruptPolicy::Kind::Transactional, "partition", "partitions",
                         job.target + " keeps its previous rows", ""};
        sync::RunPlan plan{dsn,           {job}, o->partitions, options, o->sync.jobs, "sync " + o->name,
                           "pgsplit sync"};
        plan.claim = o->sync.claim;
        sync::RunnerHooks hooks;
        hooks.already_synced = [](pg::Connection& conn, const std::string& value,
                                  const std::vector<sync::Source>& sources) {
            return sync::PartitionSyncedAtVersion(conn, sources.front(), value);
        };
        auto outcomes = sync::RunPartitions(ctx.config, ctx.log, plan, hooks);
        ctx.Print(ctx.config.json ? sync::RenderPartitionsJson(o->name, outcomes).dump(2) + "\n"
                                  : sync::RenderPartitionsText(outcomes, ctx.config.color_stdout,
                                                               ctx.config.table_width));
        const sync::PartitionOutcome* failed = nullptr;
        for (const auto& oc : outcomes) {
            if (oc.error && !failed) {
                failed = &oc;
            }
        }
        if (int code = InterruptExitCode()) {
            return code;
        }
        return failed ? ToInt(failed->error->code()) : 0;
    };
}

} // namespace pgsplit
