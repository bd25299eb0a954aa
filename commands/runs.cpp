// pgsplit runs: the phase-3 backtest run store in backtest.runs (SPEC §7). Flags and dispatch only;
// the queries live in runs/run_store.*, the rendering in runs/render.*.
#include "commands/command.h"
#include "core/duration.h"
#include "core/error.h"
#include "output/github.h"
#include "pg/connection.h"
#include "runs/render.h"
#include "runs/run_store.h"

#include <fmt/format.h>

namespace pgsplit {
namespace {

struct RunsOpts {
    // list
    std::string status;
    std::string list_since;
    int64_t limit = 50;
    // show / fail
    std::string run_id;
    // stats
    std::string stats_since;
    // stale
    std::string older_than = "6h";
    // fail
    std::string reason;
    bool yes = false;

    CLI::App* list = nullptr;
    CLI::App* show = nullptr;
    CLI::App* stats = nullptr;
    CLI::App* stale = nullptr;
    CLI::App* fail = nullptr;
};

bool Color(const Context& ctx) {
    return ctx.config.color_stdout;
}

void PrintJson(Context& ctx, const nlohmann::ordered_json& doc) {
    ctx.Print(doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
}

std::optional<std::chrono::milliseconds> OptDuration(const std::string& flag, const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    return RequireDuration(flag, text);
}

int RunList(Context& ctx, runs::RunStore& store, const RunsOpts& o) {
    runs::ListFilter filter;
    if (!o.status.empty()) {
        filter.status = o.status;
    }
    filter.since = OptDuration("--since", o.list_since);
    filter.limit = o.limit == 0 ? std::nullopt : std::optional<int64_t>(o.limit);
    auto result = store.List(filter);
    if (ctx.config.json) {
        PrintJson(ctx, runs::ListJson(result, filter));
    } else {
        ctx.Print(runs::ListText(result, filter, Color(ctx), ctx.config.table_width));
    }
    return 0;
}

int RunShow(Context& ctx, runs::RunStore& store, const RunsOpts& o) {
    auto run = store.FindByPrefix(o.run_id);
    if (!run) {
        runs::ThrowUnknownRun(o.run_id);
    }
    if (ctx.config.json) {
        PrintJson(ctx, runs::ShowJson(*run));
    } else {
        ctx.Print(runs::ShowText(*run));
    }
    return 0;
}

int RunStats(Context& ctx, runs::RunStore& store, const RunsOpts& o) {
    auto stats = store.ComputeStats(OptDuration("--since", o.stats_since));
    if (ctx.config.json) {
        PrintJson(ctx, runs::StatsJson(stats, o.stats_since));
    } else {
        ctx.Print(runs::StatsText(stats, o.stats_since));
    }
    return 0;
}

int RunStale(Context& ctx, runs::RunStore& store, const RunsOpts& o) {
    auto result = store.Stale(RequireDuration("--older-than", o.older_than));
    if (ctx.config.json) {
        PrintJson(ctx, runs::StaleJson(result, o.older_than));
    } else {
        ctx.Print(runs::StaleText(result, o.older_than, Color(ctx), ctx.config.table_width));
    }
    if (ctx.config.github_actions) {
        // One annotation per stuck run, on stderr like pgsplit's other ::error lines.
        std::string lines;
        for (const auto& msg : runs::StaleMessages(result, o.older_than)) {
            lines += "::error title=pgsplit runs stale::" + GithubEscapeData(msg) + "\n";
        }
        WriteAll(2, lines);
    }
    return result.runs.empty() ? 0 : ToInt(ExitCode::Verify);
}

int RunFail(Context& ctx, runs::RunStore& store, const RunsOpts& o) {
    if (!o.yes) {
        // Show what would happen against the run's real state, then refuse as a usage error.
        auto run = store.Find(o.run_id);
        if (!run) {
            runs::ThrowUnknownRun(o.run_id);
        }
        if (!runs::IsActiveStatus(run->status)) {
            throw Error(ExitCode::Verify,
                        fmt::format("run '{}' is {}, not queued or running; refusing to mark it failed",
                                    o.run_id, run->status),
                        "only a stuck queued or running run can be failed");
        }
        Error refusal(
            ExitCode::Usage, "runs fail changes backtest.runs and needs --yes",
            fmt::format("check the run above, then run 'pgsplit runs fail {} --reason ... --yes'", o.run_id));
        if (!ctx.config.json) {
            ctx.Print(runs::FailPlanText(*run, o.reason));
            throw refusal;
        }
        // One JSON document on stdout: the plan and the refusal together.
        auto doc = runs::FailPlanJson(*run, o.reason);
        doc["error"] = {{"message", refusal.what()},
                        {"exit_code", ToInt(refusal.code())},
                        {"class", ExitCodeName(refusal.code())},
                        {"hint", refusal.hint()}};
        PrintJson(ctx, doc);
        ctx.log.Error(refusal.what(), {{"exit_code", ToInt(refusal.code())}, {"hint", refusal.hint()}});
        return ToInt(refusal.code());
    }
    auto result = store.Fail(o.run_id, o.reason);
    ctx.log.Info(fmt::format("marked run {} failed", o.run_id),
                 {{"run_id", o.run_id}, {"previous_status", result.previous_status}});
    if (ctx.config.json) {
        PrintJson(ctx, runs::FailJson(result));
    } else {
        ctx.Print(runs::FailText(result));
    }
    return 0;
}

} // namespace

Runner SetupRuns(CLI::App& app) {
    auto o = std::make_shared<RunsOpts>();
    app.description(
        "Inspect the phase-3 backtest run store (backtest.runs, written by the backtest API) and unstick "
        "runs.\n"
        "Times are shown in UTC. Everything is read-only except 'fail', which needs --yes.\n"
        "BACKTEST_RUN_STORE_MODE other than 'postgres' (e.g. adls, sqlite after the phase-3 rollback) is a\n"
        "configuration error (exit 3): the API is not writing backtest.runs. Unset, pgsplit reads it "
        "anyway.");
    app.footer(
        "Examples:\n"
        "  pgsplit runs list                          the 50 newest runs\n"
        "  pgsplit runs list --status failed --since 7d\n"
        "  pgsplit runs show 3f2a9c                   every column, config JSON pretty-printed\n"
        "  pgsplit runs stats --since 30d --json      counts per status, p50/p95 run time and queue wait\n"
        "  pgsplit runs stale --older-than 6h         exit 5 when a run is queued/running that long\n"
        "  pgsplit runs fail 3f2a9c --reason 'worker lost' --yes\n"
        "\n"
        "Exit codes: 0 ok; 2 usage (bad flag, unknown RUN_ID, fail without --yes); 3 configuration\n"
        "(BACKTEST_RUN_STORE_MODE not postgres, no DSN, backtest.runs missing); 4 cannot connect;\n"
        "5 stale runs found, or fail on a run that is not queued/running; 6 run row locked too long.\n");
    app.require_subcommand(1);

    o->list = app.add_subcommand("list", "runs, newest submitted first");
    o->list->add_option("--status", o->status, "only runs in this status")
        ->check(CLI::IsMember({"queued", "running", "completed", "failed"}))
        ->type_name("STATUS");
    o->list->add_option("--since", o->list_since, "only runs submitted within this long (7d, 36h)")
        ->type_name("DURATION");
    o->list->add_option("--limit", o->limit, "at most N runs (default 50; 0 = all)")
        ->check(CLI::NonNegativeNumber)
        ->type_name("N");

    o->show = app.add_subcommand("show", "every column of one run, durations, config JSON pretty-printed");
    o->show->add_option("RUN_ID", o->run_id, "the run's run_id, or a prefix only one run_id starts with")
        ->required();

    o->stats = app.add_subcommand("stats", "count per status, p50/p95 of run time and queue wait");
    o->stats->add_option("--since", o->stats_since, "only runs submitted within this long (default: all)")
        ->type_name("DURATION");

    o->stale = app.add_subcommand("stale", "runs queued or running too long; exit 5 when any (for alerts)");
    o->stale
        ->add_option(
            "--older-than", o->older_than,
            "queued this long since submitted_at, or running this long since started_at (default 6h)")
        ->type_name("DURATION");

    o->fail = app.add_subcommand("fail", "mark a stuck queued/running run failed (needs --yes)");
    o->fail->add_option("RUN_ID", o->run_id, "the run's run_id")->required();
    o->fail->add_option("--reason", o->reason, "stored in the run's error column")
        ->required()
        ->type_name("TEXT");
    o->fail->add_flag("--yes", o->yes, "really change the row (without it: show what would change, exit 2)");

    for (auto* sub : {o->list, o->show, o->stats, o->stale, o->fail}) {
        sub->fallthrough();
    }
    const char* codes = "Exit codes: 0 ok; 2 usage; 3 configuration; 4 cannot connect.\n";
    o->list->footer(std::string("Example:\n"
                                "  pgsplit runs list --status failed --since 7d --limit 20\n\n") +
                    codes);
    o->show->footer(std::string("Example:\n"
                                "  pgsplit runs show 3f2a9c                   every column of that run\n\n"
                                "Exit codes: 0 shown; 2 no run has that id; 3 configuration; 4 cannot "
                                "connect.\n"));
    o->stats->footer(std::string("Example:\n"
                                 "  pgsplit runs stats --since 30d --json\n\n") +
                     codes);
    o->stale->footer(std::string("Example (an alert that fires on exit 5):\n"
                                 "  pgsplit runs stale --older-than 6h\n\n"
                                 "Exit codes: 0 none stale; 5 stale runs listed; 3 configuration; 4 cannot "
                                 "connect.\n"));
    o->fail->footer(
        std::string("Example:\n"
                    "  pgsplit runs fail 3f2a9c --reason 'worker lost'         show the change\n"
                    "  pgsplit runs fail 3f2a9c --reason 'worker lost' --yes   make it\n\n"
                    "Exit codes: 0 marked failed; 2 no --yes, no --reason or unknown id; 5 the run "
                    "is not\nqueued/running; 6 its row stayed locked; 3 configuration; 4 cannot "
                    "connect.\n"));

    return [o](Context& ctx) {
        // Checked before the DSN: after a rollback the DSN may be gone too, and this is the real reason.
        runs::RequirePostgresMode(ctx.config.RunStoreMode());
        // Flags first, so a typo never waits on a connection.
        OptDuration("--since", o->list_since);
        OptDuration("--since", o->stats_since);
        RequireDuration("--older-than", o->older_than);
        if (o->fail->parsed() && o->reason.find_first_not_of(" \t\r\n") == std::string::npos) {
            throw Error(ExitCode::Usage, "--reason is empty",
                        "say why the run is being failed; it is stored in error");
        }
        auto conn = pg::Connection::Open(ctx.config.RequireDsn("runs"), "pgsplit runs");
        runs::RunStore store(conn);
        if (o->show->parsed()) {
            return RunShow(ctx, store, *o);
        }
        if (o->stats->parsed()) {
            return RunStats(ctx, store, *o);
        }
        if (o->stale->parsed()) {
            return RunStale(ctx, store, *o);
        }
        if (o->fail->parsed()) {
            return RunFail(ctx, store, *o);
        }
        return RunList(ctx, store, *o);
    };
}

} // namespace pgsplit
