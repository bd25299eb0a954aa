#include "commands/cli.h"

#include "commands/command.h"
#include "config/read_limits.h"
#include "core/error.h"
#include "core/github_annotations.h"
#include "core/interrupt.h"
#include "output/github.h"
#include "parquet/reader.h"
#include "pgsplit_version.h"

#include <algorithm>
#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>

namespace pgsplit {
namespace {

constexpr const char* kFooter = R"(
Exit codes:
  0 success (including nothing to do)   1 unexpected failure      2 usage error
  3 configuration error                 4 cannot connect          5 verification failed
  6 lock not acquired in time           7 source data error       130/143 interrupted (SIGINT/SIGTERM)

Configuration precedence: flag > environment variable > config file (--config, else ./pgsplit.yaml) > default.
Run 'pgsplit COMMAND --help' for a command's flags and a worked example.)";

void ReportError(const Context* ctx, const Error& e, bool json_result) {
    std::string msg = e.what();
    if (ctx && InterruptSignal() != 0 &&
        (e.code() == ExitCode::Interrupt || e.code() == ExitCode::Terminate)) {
        // The interrupt report that follows says it better; keep the detail for --verbose.
        ctx->log.Debug(msg);
        return;
    }
    if (ctx && ctx->log.Format() == LogFormat::Json) {
        nlohmann::json fields = {{"exit_code", ToInt(e.code())}, {"error_class", ExitCodeName(e.code())}};
        if (!e.hint().empty()) {
            fields["hint"] = e.hint();
        }
        ctx->log.Error(msg, fields);
        return;
    }
    if (json_result) {
        nlohmann::json out = {
            {"ok", false},
            {"error", {{"message", msg}, {"exit_code", ToInt(e.code())}, {"class", ExitCodeName(e.code())}}}};
        if (!e.hint().empty()) {
            out["error"]["hint"] = e.hint();
        }
        WriteText(1, out.dump() + "\n");
    }
    bool color = ctx && ctx->config.color;
    std::string line = fmt::format("pgsplit: {}error:{} {}\n", color ? "\x1b[31m" : "",
                                   color ? "\x1b[0m" : "", EscapeControlChars(msg));
    if (!e.hint().empty()) {
        line += fmt::format("hint: {}\n", EscapeControlChars(e.hint()));
    }
    WriteText(2, line);
    if (ctx && ctx->config.github_actions) {
        // Workflow commands stay off a stdout that carries a JSON document.
        WriteAll(json_result ? 2 : 1,
                 GithubAnnotation("error", "pgsplit", e.hint().empty() ? msg : msg + "\n" + e.hint()));
    }
}

// After SIGINT/SIGTERM, whatever the command did with it: one last line (a JSON log line, or
// "pgsplit: error: ..." on stderr) saying what was rolled back and what was kept, built from what the
// command declared (ctx.interrupt) and the phases it recorded. Returns 130 or 143.
int ReportInterrupted(const Context& ctx, bool json_result, bool result_printed) {
    int sig = InterruptSignal();
    auto [msg, fields] = ctx.DescribeInterrupt(sig);
    if (json_result && !result_printed && ctx.log.Format() != LogFormat::Json) {
        nlohmann::json out = {
            {"ok", false},
            {"error", {{"message", msg}, {"exit_code", fields["exit_code"]}, {"class", "interrupted"}}},
            {"interrupted", fields}};
        WriteText(1, out.dump() + "\n");
    }
    ctx.log.Error(msg, fields);
    ctx.log.FinishAnnotations();
    return fields["exit_code"].get<int>();
}

// Edit distance, for suggesting the command a typo meant.
size_t Distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// One error line and one hint line. A first word that is no command is named as such (CLI11 would
// only say that a subcommand is required), with the nearest command when it looks like a typo.
std::string UsageError(const CLI::App& app, const CLI::ParseError& e) {
    std::string hint = "run 'pgsplit --help' or 'pgsplit COMMAND --help'";
    std::string msg = e.what();
    std::vector<std::string> extra = app.remaining();
    bool any_sub = !app.get_subcommands().empty();
    if (!any_sub && !extra.empty() && extra.front().rfind("-", 0) != 0) {
        const std::string& word = extra.front();
        msg = fmt::format("'{}' is not a pgsplit command", word);
        std::string best;
        size_t best_d = 3;
        for (const auto* sub : app.get_subcommands({})) {
            size_t d = Distance(word, sub->get_name());
            if (d < best_d) {
                best_d = d;
                best = sub->get_name();
            }
        }
        if (!best.empty()) {
            hint = fmt::format("did you mean 'pgsplit {}'? ('pgsplit --help' lists the commands)", best);
        }
    }
    return fmt::format("pgsplit: error: {}\nhint: {}\n", msg, hint);
}

} // namespace

int RunCli(int argc, char** argv, char** environ) {
    CLI::App app{"pgsplit: Delta Lake on ADLS stays canonical; PostgreSQL serves copies and job state.",
                 "pgsplit"};
    app.footer(kFooter);
    app.set_version_flag("--version", std::string("pgsplit ") + PGSPLIT_VERSION);
    app.require_subcommand(1);

    GlobalFlags flags;
    std::string dsn, config_path, log_format, color;
    app.add_option("--dsn", dsn, "PostgreSQL DSN (URI or key=value); default $POSTGRES_DSN")
        ->envname("")
        ->type_name("DSN");
    app.add_option("--config", config_path, "YAML config file; default ./pgsplit.yaml when present")
        ->type_name("FILE");
    app.add_flag("--json", flags.json, "print the result as one JSON document on stdout");
    app.add_option("--log-format", log_format,
                   "diagnostics as text (stderr) or json (one object per line, stdout)")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_flag("-q,--quiet", flags.quiet, "only warnings and errors");
    app.add_flag("-v,--verbose", flags.verbose, "debug diagnostics");
    app.add_option("--color", color, "colour: auto (TTY and no NO_COLOR), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));

    std::vector<std::pair<CLI::App*, Runner>> runners;
    for (const auto& cmd : AllCommands()) {
        CLI::App* sub = app.add_subcommand(cmd.name, cmd.summary);
        sub->fallthrough();
        runners.emplace_back(sub, cmd.setup(*sub));
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        WriteAll(2, UsageError(app, e));
        return ToInt(ExitCode::Usage);
    }

    if (!dsn.empty()) {
        flags.dsn = dsn;
    }
    if (!config_path.empty()) {
        flags.config_path = config_path;
    }
    if (!log_format.empty()) {
        flags.log_format = log_format;
    }
    if (!color.empty()) {
        flags.color = color;
    }

    std::unique_ptr<Context> ctx;
    try {
        ctx = std::make_unique<Context>();
        ctx->config = Config::Load(flags, environ);
        parquet::SetDefaultReadLimits(parquet::ReadLimits{ReadMemoryLimit(ctx->config)});
        // JSON logs are for machines: never colour, whatever --color says.
        if (ctx->config.log_format == LogFormat::Json) {
            ctx->config.color = false;
        }
        ctx->log = Logger(ctx->config.log_format, ctx->config.log_level, ctx->config.color);
        if (ctx->config.github_actions) {
            ctx->log.EnableGithubAnnotations(flags.json || ctx->config.log_format == LogFormat::Json);
            SetWorkflowCommandGuard(true);
            // Before anything could print a secret: the runner then hides it in every later line.
            for (const auto& secret : ConfigSecrets(ctx->config)) {
                ctx->log.AddMask(secret);
            }
        }
        InstallInterruptHandlers();
        for (auto& [sub, run] : runners) {
            if (sub->parsed()) {
                ctx->log.SetCommand(sub->get_name());
                int code = run(*ctx);
                if (InterruptSignal() != 0) {
                    return ReportInterrupted(*ctx, flags.json, true);
                }
                ctx->log.FinishAnnotations();
                return code;
            }
        }
        return ToInt(ExitCode::Usage);
    } catch (const Error& e) {
        ReportError(ctx.get(), e, flags.json);
        if (ctx && InterruptSignal() != 0) {
            bool reported = e.code() != ExitCode::Interrupt && e.code() != ExitCode::Terminate;
            return ReportInterrupted(*ctx, flags.json, reported);
        }
        if (ctx) {
            ctx->log.FinishAnnotations();
        }
        return ToInt(e.code());
    } catch (const std::exception& e) {
        ReportError(ctx.get(),
                    Error(ExitCode::Failure, fmt::format("unexpected failure: {}", e.what()),
                          "this is a bug in pgsplit; please report it with the command line"),
                    flags.json);
        return ToInt(ExitCode::Failure);
    }
}

} // namespace pgsplit
