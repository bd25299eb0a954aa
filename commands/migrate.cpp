// pgsplit migrate: apply, status, validate, plan, baseline, repair (SPEC §4).
#include "commands/command.h"
#include "config/dsn.h"
#include "core/duration.h"
#include "core/error.h"
#include "migrate/migrator.h"
#include "output/github.h"
#include "output/table.h"
#include "output/time.h"

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

// The table's APPLIED AT: "2026-11-22 00:12:18 UTC", as every table shows times.
std::string TimeCell(const std::optional<std::string>& iso) {
    return iso ? HumanTime(*iso) : "";
}

std::string DurationCell(const migrate::Entry& e) {
    return e.execution_ms ? HumanDuration(static_cast<double>(*e.execution_ms)) : "";
}

TextTable::Tone StateTone(migrate::State s) {
    switch (s) {
    case migrate::State::Applied:
    case migrate::State::Baseline:
        return TextTable::Tone::Good;
    case migrate::State::Pending:
    case migrate::State::AboveTarget:
        return TextTable::Tone::Warn;
    default:
        return TextTable::Tone::Bad;
    }
}

// The newest version the history records, or none on a database nothing was applied to.
std::optional<std::string> CurrentVersion(const std::vector<migrate::Entry>& entries) {
    std::optional<std::string> v;
    for (const auto& e : entries) {
        if (e.state == migrate::State::Applied || e.state == migrate::State::Baseline ||
            e.state == migrate::State::ChecksumMismatch) {
            v = e.version;
        }
    }
    return v;
}

int RunStatus(Context& ctx, migrate::Migrator& m) {
    auto entries = m.Status();
    if (ctx.config.json) {
        auto current = CurrentVersion(entries);
        nlohmann::ordered_json out = {
            {"ok", true},
            {"current_version", current ? nlohmann::ordered_json(*current) : nullptr},
            {"migrations", nlohmann::ordered_json::array()}};
        for (const auto& e : entries) {
            out["migrations"].push_back(migrate::EntryToJson(e));
        }
        ctx.Print(out.dump(2) + "\n");
        return 0;
    }
    TextTable t({"VERSION", "DESCRIPTION", "STATE", "APPLIED AT", "DURATION"});
    for (const auto& e : entries) {
        t.AddRow(
            {e.version, e.description, migrate::StateName(e.state), TimeCell(e.applied_at), DurationCell(e)},
            {TextTable::Tone::Plain, TextTable::Tone::Plain, StateTone(e.state)});
        if (e.state == migrate::State::MissingFile) {
            ctx.log.Warn(
                fmt::format("version {} is recorded as applied but has no migration file", e.version));
        }
    }
    ctx.Print(t.Render(ctx.config.color_stdout, ctx.config.table_width));
    return 0;
}

void ReportToGithub(const Context& ctx, const migrate::ApplyResult& result,
                    const std::optional<std::string>& version_after) {
    std::string md = result.dry_run ? "### pgsplit migrate (plan)\n\n" : "### pgsplit migrate\n\n";
    const auto& rows = result.dry_run ? result.pending : result.applied;
    if (rows.empty()) {
        md += "Nothing to apply: the database is up to date.\n\n";
    } else {
        md += "| version | file | duration |\n|---|---|---|\n";
        for (const auto& e : rows) {
            md += fmt::format("| {} | `{}` | {} |\n", e.version, e.name,
                              result.dry_run ? "pending" : DurationCell(e));
        }
        md += "\n";
    }
    AppendStepSummary(ctx.config.github_step_summary, md);
    SetStepOutput(ctx.config.github_output, "applied", std::to_string(result.applied.size()));
    SetStepOutput(ctx.config.github_output, "pending", std::to_string(result.pending.size()));
    // Also when nothing ran: a later step reads the schema version either way.
    if (version_after) {
        SetStepOutput(ctx.config.github_output, "schema_version", *version_after);
    }
}

nlohmann::ordered_json VersionJson(const std::optional<std::string>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

int RunApply(Context& ctx, migrate::Migrator& m, bool dry_run) {
    auto before = CurrentVersion(m.Status());
    auto result = m.Apply(dry_run);
    auto after = dry_run ? before : CurrentVersion(m.Status());
    if (ctx.config.github_actions) {
        ReportToGithub(ctx, result, after);
    }
    if (ctx.config.json) {
        nlohmann::ordered_json out = {{"ok", true},
                                      {"dry_run", dry_run},
                                      {"version_before", VersionJson(before)},
                                      {"version_after", VersionJson(after)},
                                      {"applied", nlohmann::ordered_json::array()},
                                      {"pending", nlohmann::ordered_json::array()}};
        for (const auto& e : result.applied) {
            out["applied"].push_back(migrate::EntryToJson(e));
        }
        for (const auto& e : result.pending) {
            out["pending"].push_back(migrate::EntryToJson(e));
        }
        ctx.Print(out.dump(2) + "\n");
        return 0;
    }
    std::string text;
    if (dry_run) {
        if (result.pending.empty()) {
            text = "nothing to apply: the database is up to date\n";
        } else {
            text = fmt::format("would apply {} migration(s) (dry run, nothing changed):\n",
                               result.pending.size());
            for (const auto& e : result.pending) {
                text += fmt::format("  {}  {}\n", e.version, e.name);
            }
        }
    } else if (result.applied.empty()) {
        text = "nothing to apply: the database is up to date\n";
    } else {
        int64_t total = 0;
        for (const auto& e : result.applied) {
            total += e.execution_ms.value_or(0);
        }
        text = fmt::format("applied {} migration(s) in {}; now at version {}\n", result.applied.size(),
                           HumanDuration(static_cast<double>(total)), result.applied.back().version);
    }
    if (!dry_run && !result.pending.empty()) {
        text += fmt::format("{} migration(s) beyond --target left pending\n", result.pending.size());
    }
    ctx.Print(text);
    return 0;
}

int RunValidate(Context& ctx, migrate::Migrator& m, bool ignore_pending) {
    auto problems = m.Validate();
    // What was looked at, so "valid" on an empty database does not read as "all applied".
    size_t applied = 0, pending = 0;
    for (const auto& e : m.Status()) {
        if (e.state == migrate::State::Applied || e.state == migrate::State::Baseline ||
            e.state == migrate::State::ChecksumMismatch) {
            ++applied;
        } else if (e.state == migrate::State::Pending || e.state == migrate::State::OutOfOrder) {
            ++pending;
        }
    }
    if (ctx.config.json) {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& p : problems) {
            list.push_back({{"code", p.code}, {"version", p.version}, {"message", p.message}});
        }
        nlohmann::ordered_json out = {
            {"ok", problems.empty()}, {"files", m.Files().size()},          {"applied", applied},
            {"pending", pending},     {"pending_checked", !ignore_pending}, {"problems", list}};
        ctx.Print(out.dump(2) + "\n");
    } else if (problems.empty()) {
        std::string text = fmt::format("valid: {} migration file(s); {} applied, checksums match",
                                       m.Files().size(), applied);
        if (pending > 0) {
            text += fmt::format("; {} pending, not counted as a problem (--ignore-pending)", pending);
        }
        ctx.Print(text + "\n");
    } else {
        std::string text = fmt::format("invalid: {} problem(s)\n", problems.size());
        for (const auto& p : problems) {
            text += "  - " + p.message + "\n";
        }
        ctx.Print(text);
    }
    return problems.empty() ? 0 : ToInt(ExitCode::Verify);
}

int RunBaseline(Context& ctx, migrate::Migrator& m, const std::string& version) {
    auto recorded = m.Baseline(version);
    if (ctx.config.json) {
        nlohmann::ordered_json out = {{"ok", true}, {"baselined", nlohmann::ordered_json::array()}};
        for (const auto& e : recorded) {
            out["baselined"].push_back(migrate::EntryToJson(e));
        }
        ctx.Print(out.dump(2) + "\n");
        return 0;
    }
    std::string text = fmt::format("recorded {} migration(s) as applied without running them (baseline {})\n",
                                   recorded.size(), version);
    for (const auto& e : recorded) {
        text += fmt::format("  {}  {}\n", e.version, e.name);
    }
    ctx.Print(text);
    return 0;
}

int RunRepair(Context& ctx, migrate::Migrator& m, bool yes) {
    auto changed = m.Repair(yes);
    if (ctx.config.json) {
        nlohmann::ordered_json out = {
            {"ok", yes || changed.empty()}, {"applied", yes}, {"changes", nlohmann::ordered_json::array()}};
        for (const auto& e : changed) {
            out["changes"].push_back(migrate::EntryToJson(e));
        }
        ctx.Print(out.dump(2) + "\n");
    } else {
        std::string text;
        if (changed.empty()) {
            text = "nothing to repair: every stored checksum matches its file\n";
        }
        for (const auto& e : changed) {
            text += fmt::format("{} {}: checksum {} -> {}\n", yes ? "repaired" : "would repair", e.name,
                                e.stored_checksum.value_or("(none)"), e.file_checksum.value_or(""));
        }
        ctx.Print(text);
    }
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
        "Apply the versioned schema (0001-0004 are built in) to the database named by --dsn/POSTGRES_DSN.\n"
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
            return RunStatus(ctx, m);
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
