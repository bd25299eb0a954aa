// pgsplit migrate: apply, status, validate, plan, baseline, repair (SPEC §4).
#include "commands/command.h"
#include "config/dsn.h"
#include "core/duration.h"
#include "core/error.h"
#include "legacy/convert.h"
#include "migrate/migrator.h"
#include "migrate/render.h"
#include "output/github.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit {
namespace {

struct MigrateOpts {
    std::string dir;
    std::string target;
    bool out_of_order = false;
    bool dry_run = false;
    std::string lock_wait = "60s";
    std::string lock_timeout = "10s";
    std::string statement_timeout = "30min";
    bool ignore_pending = false;  // validate
    std::string baseline_version; // baseline
    bool yes = false;             // repair
    CLI::App* status = nullptr;
    CLI::App* validate = nullptr;
    CLI::App* plan = nullptr;
    CLI::App* baseline = nullptr;
    CLI::App* repair = nullptr;
};

migrate::Options ToOptions(const Context& ctx, const MigrateOpts& o) {
    migrate::Options m;
    m.dsn = ctx.config.RequireDsn("migrate");
    if (!o.dir.empty()) {
        m.dir = o.dir;
    }
    if (!o.target.empty()) {
        m.target = o.target;
    }
    m.out_of_order = o.out_of_order;
    m.ignore_pending = o.ignore_pending;
    m.lock_wait = RequireDuration("--lock-wait", o.lock_wait);
    // Validated here so a typo is a usage error, not a server error half way through.
    RequireDuration("--lock-timeout", o.lock_timeout);
    RequireDuration("--statement-timeout", o.statement_timeout);
    m.lock_timeout = std::to_string(RequireDuration("--lock-timeout", o.lock_timeout).count()) + "ms";
    m.statement_timeout =
        std::to_string(RequireDuration("--statement-timeout", o.statement_timeout).count()) + "ms";
    return m;
}

// Legacy unpartitioned signal tables, pointed at convert-legacy (a warning; never fails the command).
void WarnLegacyTables(const Context& ctx, const std::string& dsn) {
    try {
        auto conn = pg::Connection::Open(dsn, "pgsplit migrate status");
        auto tables = legacy::LegacyTables(conn);
        if (!tables.empty()) {
            ctx.log.Warn(legacy::LegacyHint(tables), {{"legacy_tables", tables}});
        }
    } catch (const Error& e) {
        ctx.log.Debug(std::string("could not look for legacy signal tables: ") + e.what());
    }
}

int RunStatus(Context& ctx, migrate::Migrator& m, const std::string& dsn) {
    auto entries = m.Status();
    WarnLegacyTables(ctx, dsn);
    if (ctx.config.json) {
        ctx.Print(migrate::RenderStatusJson(entries).dump(2) + "\n");
        return 0;
    }
    for (const auto& e : entries) {
        if (e.state == migrate::State::MissingFile) {
            ctx.log.Warn(
                fmt::format("version {} is recorded as applied but has no migration file", e.version));
        }
    }
    ctx.Print(migrate::RenderStatusText(entries, ctx.config.color_stdout, ctx.config.table_width));
    return 0;
}

int RunApply(Context& ctx, migrate::Migrator& m, bool dry_run) {
    auto before = migrate::CurrentVersion(m.Status());
    auto result = m.Apply(dry_run);
    auto after = dry_run ? before : migrate::CurrentVersion(m.Status());
    if (ctx.config.github_actions) {
        AppendStepSummary(ctx.config.github_step_summary, migrate::RenderApplyMarkdown(result));
        SetStepOutput(ctx.config.github_output, "applied", std::to_string(result.applied.size()));
        SetStepOutput(ctx.config.github_output, "pending", std::to_string(result.pending.size()));
        // Also when nothing ran: a later step reads the schema version either way.
        if (after) {
            SetStepOutput(ctx.config.github_output, "schema_version", *after);
        }
    }
    ctx.Print(ctx.config.json ? migrate::RenderApplyJson(result, before, after).dump(2) + "\n"
                              : migrate::RenderApplyText(result));
    return 0;
}

int RunValidate(Context& ctx, migrate::Migrator& m, bool ignore_pending) {
    auto problems = m.Validate();
    auto summary = migrate::SummariseValidate(m.Status(), m.Files().size(), ignore_pending);
    ctx.Print(ctx.config.json ? migrate::RenderValidateJson(problems, summary).dump(2) + "\n"
                              : migrate::RenderValidateText(problems, summary));
    return problems.empty() ? 0 : ToInt(ExitCode::Verify);
}

int RunBaseline(Context& ctx, migrate::Migrator& m, const std::string& version) {
    auto recorded = m.Baseline(version);
    ctx.Print(ctx.config.json ? migrate::RenderBaselineJson(recorded).dump(2) + "\n"
                              : migrate::RenderBaselineText(recorded, version));
    return 0;
}

int RunRepair(Context& ctx, migrate::Migrator& m, bool yes) {
    auto changed = m.Repair(yes);
    ctx.Print(ctx.config.json ? migrate::RenderRepairJson(changed, yes).dump(2) + "\n"
                              : migrate::RenderRepairText(changed, yes));
    if (!yes && !changed.empty()) {
        throw Error(ExitCode::Usage, "repair changes the history table and needs --yes",
                    "review the lines above, then run 'pgsplit migrate repair --yes'");
    }
    return 0;
}

} // namespace

Runner SetupMigrate(CLI::App& app) {
    auto o = std::make_shared<MigrateOpts>();
    app.description(
        "Apply the versioned schema (0001-0006 are built in) to the database named by --dsn/POSTGRES_DSN.\n"
        "Each file runs in its own transaction with its history row; a session advisory lock makes\n"
        "concurrent runs queue. Checksums (sha256 of the file with LF line endings) catch edited files.");
    app.footer(
        "Examples:\n"
        "  pgsplit migrate                       apply pending migrations\n"
        "  pgsplit migrate status --json         versions, states, checksums\n"
        "  pgsplit migrate plan                  what would run (nothing changes)\n"
        "  pgsplit migrate --lock-wait 5m        wait longer for a concurrent migrate\n"
        "  pgsplit migrate --dir ./migrations --target 0003\n\n"
        "Exit codes: 0 applied (or nothing to do); 1 a migration failed (it is rolled back, named with\n"
        "the server's message); 2 usage; 3 configuration (no DSN, bad --dir); 4 cannot connect;\n"
        "5 an applied file changed since (checksum mismatch; nothing run); 6 another migrate held\n"
        "the lock longer than --lock-wait.\n");
    auto add_common = [o](CLI::App* a) {
        a->add_option("--dir", o->dir, "use migrations from this folder instead of the built-in ones")
            ->type_name("DIR");
        a->add_option("--target", o->target, "stop after this version")->type_name("VERSION");
        a->add_option("--lock-wait", o->lock_wait,
                      "how long to wait for another migrate's lock (default 60s)")
            ->type_name("DURATION");
    };
    add_common(&app);
    app.add_flag("--out-of-order", o->out_of_order, "apply pending files older than the newest applied one");
    app.add_flag("--dry-run", o->dry_run, "show what would run; change nothing");
    app.add_option("--lock-timeout", o->lock_timeout,
                   "server lock_timeout per file (default 10s); retried with backoff")
        ->type_name("DURATION");
    app.add_option("--statement-timeout", o->statement_timeout,
                   "server statement_timeout per file (default 30min)")
        ->type_name("DURATION");

    o->status = app.add_subcommand("status", "table of version, description, state, applied_at, duration");
    o->validate =
        app.add_subcommand("validate", "exit 5 when anything is wrong (checksums, missing files, pending)");
    o->validate->add_flag("--ignore-pending", o->ignore_pending, "pending files are not a problem");
    o->plan = app.add_subcommand("plan", "what would run (same as --dry-run)");
    o->baseline =
        app.add_subcommand("baseline", "record files up to --version as applied without running them");
    o->baseline->add_option("--version", o->baseline_version, "last version to record")
        ->required()
        ->type_name("VERSION");
    o->repair = app.add_subcommand("repair", "realign stored checksums with the files (needs --yes)");
    o->repair->add_flag("--yes", o->yes, "really change the history table");
    for (auto* sub : {o->status, o->validate, o->plan, o->baseline, o->repair}) {
        sub->fallthrough();
    }
    o->status->footer(
        "Example:\n"
        "  pgsplit migrate status --dsn \"$POSTGRES_DSN\"     one row per version, file or history\n"
        "  pgsplit --json migrate status                   the same as a JSON document\n\n"
        "Exit codes: 0 shown (whatever the states); 3 configuration; 4 cannot connect.\n");
    o->validate->footer(
        "Example:\n"
        "  pgsplit migrate validate                       CI gate before a deploy\n"
        "  pgsplit migrate validate --ignore-pending      only checksums and missing files\n\n"
        "Exit codes: 0 valid; 5 a checksum differs, a file is missing, or a file is pending;\n"
        "3 configuration; 4 cannot connect.\n");
    o->plan->footer(
        "Example:\n"
        "  pgsplit migrate plan --dir ./migrations        the files 'pgsplit migrate' would apply\n\n"
        "Exit codes: 0 listed (nothing changes); 3 configuration; 4 cannot connect.\n");
    o->baseline->footer(
        "For a database whose schema was created by hand or by another tool: the files up to --version\n"
        "are recorded in public.schema_migrations without running, so 'pgsplit migrate' starts after "
        "them.\n\n"
        "Example:\n"
        "  pgsplit migrate baseline --version 0002        0001 and 0002 recorded, 0003 onward still "
        "pending\n\n"
        "Exit codes: 0 recorded; 2 usage (--version is not a number); 3 configuration; 4 cannot connect;\n"
        "6 lock not obtained.\n");
    o->repair->footer(
        "After a cosmetic edit to an applied file (comments, whitespace) 'migrate validate' reports a\n"
        "checksum mismatch; repair stores the files' checksums instead. It never runs SQL from the files.\n\n"
        "Example:\n"
        "  pgsplit migrate repair                         show what would change (exit 2)\n"
        "  pgsplit migrate repair --yes                   change it\n\n"
        "Exit codes: 0 repaired or nothing to repair; 2 changes found but no --yes; 3 configuration;\n"
        "4 cannot connect; 6 lock not obtained.\n");

    return [o](Context& ctx) {
        bool reads_only = o->status->parsed() || o->validate->parsed() || o->plan->parsed() ||
                          (o->dry_run && !o->baseline->parsed() && !o->repair->parsed());
        if (reads_only) {
            ctx.interrupt.kind = InterruptPolicy::Kind::ReadOnly;
        } else if (!o->baseline->parsed() && !o->repair->parsed()) {
            // Each file is one transaction with its history row (Migrator::Apply records the phases).
            ctx.interrupt = {InterruptPolicy::Kind::Transactional, "migration", "migrations",
                             "nothing of it is recorded in public.schema_migrations", ""};
        }
        migrate::Migrator m(ctx.log, ToOptions(ctx, *o));
        if (o->status->parsed()) {
            return RunStatus(ctx, m, ToOptions(ctx, *o).dsn);
        }
        if (o->validate->parsed()) {
            return RunValidate(ctx, m, o->ignore_pending);
        }
        if (o->plan->parsed()) {
            return RunApply(ctx, m, true);
        }
        if (o->baseline->parsed()) {
            return RunBaseline(ctx, m, o->baseline_version);
        }
        if (o->repair->parsed()) {
            return RunRepair(ctx, m, o->yes);
        }
        return RunApply(ctx, m, o->dry_run);
    };
}

} // namespace pgsplit
