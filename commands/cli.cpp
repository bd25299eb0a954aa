// The command line: global flags, the command tree from commands/registry.cpp, configuration
// resolution, the one place pgsplit::Error becomes an exit code and a message, and the report after
// SIGINT/SIGTERM. Long because these are the steps every invocation passes in order, and
// the order (flags, config, log, run, report) is easiest to check when it reads top to bottom.
#include "commands/cli.h"

#include "commands/command.h"
#include "config/read_limits.h"
#include "core/error.h"
#include "core/github_annotations.h"
#include "core/interrupt.h"
#include "identity/credential.h"
#include "output/github.h"
#include "parquet/reader.h"
#include "pg/connection.h"
#include "pgsplit_version.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
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
Run 'pgsplit help COMMAND' (or 'pgsplit COMMAND --help') for a command's flags and a worked example.)";

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
        nlohmann::ordered_json out = {
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
        nlohmann::ordered_json out = {
            {"ok", false},
            {"error", {{"message", msg}, {"exit_code", fields["exit_code"]}, {"class", "interrupted"}}},
            {"interrupted", fields}};
        WriteText(1, out.dump() + "\n");
    }
    ctx.log.Error(msg, fields);
    ctx.log.FinishAnnotations();
    return fields["exit_code"].get<int>();
}

// Edit distance with adjacent transpositions (optimal string alignment), for suggesting what a typo
// meant: "--jsno" is one edit from "--json", not two.
size_t Distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min(
                {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

// "pgsplit", "pgsplit migrate", "pgsplit migrate status".
std::string CommandPath(const CLI::App* app) {
    std::string path;
    for (; app != nullptr; app = app->get_parent()) {
        path = path.empty() ? app->get_name() : app->get_name() + " " + path;
    }
    return path;
}

// The deepest command the parser entered: where a stray word or flag was meant to go.
const CLI::App* DeepestParsed(const CLI::App* app) {
    while (!app->get_subcommands().empty()) {
        app = app->get_subcommands().front();
    }
    return app;
}

// The nearest of `names` to `word` when it looks like a typo of it (at most 2 edits), else "".
std::string Nearest(const std::string& word, const std::vector<std::string>& names) {
    std::string best;
    size_t best_d = 3;
    for (const auto& n : names) {
        size_t d = Distance(word, n);
        if (d < best_d && d < std::max<size_t>(word.size(), 2)) {
            best_d = d;
            best = n;
        }
    }
    return best;
}

std::vector<std::string> SubcommandNames(const CLI::App* app) {
    std::vector<std::string> names;
    for (const CLI::App* sub :
         app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
        names.push_back(sub->get_name());
    }
    return names;
}

// The flags accepted at `app`: its own and, through fallthrough, its parents' (the global flags).
std::vector<std::string> FlagNames(const CLI::App* app) {
    std::vector<std::string> names;
    for (; app != nullptr; app = app->get_fallthrough() ? app->get_parent() : nullptr) {
        for (const CLI::Option* opt : app->get_options()) {
            if (!opt->nonpositional() || opt->get_group().empty()) {
                continue;
            }
            for (const auto& l : opt->get_lnames()) {
                names.push_back("--" + l);
            }
            for (const auto& sn : opt->get_snames()) {
                names.push_back("-" + sn);
            }
        }
    }
    return names;
}

struct Usage {
    std::string message;
    std::string hint;
};

// A word that is no command of `node` (a typo of a command, or of "help CMD"), with the nearest one.
Usage NotACommand(const CLI::App* node, const std::string& word) {
    std::string path = CommandPath(node);
    Usage u{node->get_parent() == nullptr ? fmt::format("'{}' is not a pgsplit command", word)
                                          : fmt::format("'{}' is not a '{}' command", word, path),
            fmt::format("'{} --help' lists the commands", path)};
    std::string best = Nearest(word, SubcommandNames(node));
    if (!best.empty()) {
        u.hint = fmt::format("did you mean '{} {}'? ({})", path, best, u.hint);
    }
    return u;
}

// What went wrong on the command line, said once, pgsplit's way: which word, at which command, and
// the nearest valid one when it looks like a typo. CLI11's own text is kept only for errors it words
// well (a missing required flag, a value that fails its check).
Usage DescribeParseError(const CLI::App& app, const CLI::ParseError& e) {
    const CLI::App* node = DeepestParsed(&app);
    std::string path = CommandPath(node);
    std::string help = fmt::format("'{} --help' lists its flags and shows an example", path);
    std::vector<std::string> extra = app.remaining(true);
    // Stray words first: CLI11 may have thrown for something it checks earlier (a missing command),
    // but a mistyped command or flag is what the operator needs to hear about.
    if (!extra.empty()) {
        const std::string& word = extra.front();
        if (word.size() > 1 && word[0] == '-') {
            std::string name = word.substr(0, word.find('='));
            Usage u{fmt::format("'{}' is not a flag of '{}'", name, path), help};
            std::string best = Nearest(name, FlagNames(node));
            if (!best.empty()) {
                u.hint = fmt::format("did you mean '{}'? ({})", best, help);
            }
            return u;
        }
        if (!SubcommandNames(node).empty()) {
            return NotACommand(node, word);
        }
        return {fmt::format("'{}' takes no argument '{}'", path, word), help};
    }
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && node->get_require_subcommand_min() > 0 &&
        node->get_subcommands().empty()) {
        std::string list;
        for (const auto& n : SubcommandNames(node)) {
            list += (list.empty() ? "" : ", ") + n;
        }
        return {fmt::format("'{}' needs a command: {}", path, list),
                fmt::format("'pgsplit help{}' explains each", path == "pgsplit" ? "" : path.substr(7))};
    }
    std::string msg = e.what();
    return {node->get_parent() == nullptr ? msg : fmt::format("{}: {}", path, msg), help};
}

// The global flags as far as they can be read from argv alone (the parser may have stopped before
// assigning them), for reporting a usage error in the run's mode.
GlobalFlags ScanGlobalFlags(const std::vector<std::string>& args) {
    GlobalFlags f;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const char* name) -> std::optional<std::string> {
            std::string n = name;
            if (a == n && i + 1 < args.size()) {
                return args[++i];
            }
            if (a.rfind(n + "=", 0) == 0) {
                return a.substr(n.size() + 1);
            }
            return std::nullopt;
        };
        if (a == "--") {
            break;
        }
        if (a == "--json") {
            f.json = true;
        } else if (auto v = value("--log-format")) {
            f.log_format = v;
        } else if (auto v = value("--config")) {
            f.config_path = v;
        } else if (auto v = value("--color")) {
            f.color = v;
        }
    }
    return f;
}

// Reports a usage error (exit 2) in the run's mode: a JSON document with --json, a JSON log line with
// JSON logs (Container Apps), an ::error annotation in GitHub Actions, else "pgsplit: error:" + hint.
int ReportUsage(const Usage& u, const CLI::App& app, const std::vector<std::string>& args, char** environ) {
    GlobalFlags flags = ScanGlobalFlags(args);
    Context ctx;
    bool loaded = false;
    for (int attempt = 0; attempt < 2 && !loaded; ++attempt) {
        try {
            ctx.config = Config::Load(flags, environ);
            loaded = true;
        } catch (const Error&) {
            // A bad --log-format, --color or config file is not the error to report now: drop them.
            flags = GlobalFlags{};
            flags.json = ScanGlobalFlags(args).json;
        }
    }
    if (ctx.config.log_format == LogFormat::Json) {
        ctx.config.color = ctx.config.color_stdout = false;
    }
    ctx.log = Logger(ctx.config.log_format, ctx.config.log_level, ctx.config.color);
    if (!app.get_subcommands().empty()) {
        ctx.log.SetCommand(app.get_subcommands().front()->get_name());
    }
    if (ctx.config.github_actions) {
        ctx.log.EnableGithubAnnotations(flags.json || ctx.config.log_format == LogFormat::Json);
    }
    ReportError(&ctx, Error(ExitCode::Usage, u.message, u.hint), flags.json);
    ctx.log.FinishAnnotations();
    return ToInt(ExitCode::Usage);
}

// --pg-auth entra: every PostgreSQL connection gets a current token from the process's credential chain.
// Whatever the mode, every token the chain fetches (storage's too) is masked first in GitHub Actions.
void ConfigureEntraAuth(const Context& ctx) {
    if (ctx.config.github_actions) {
        Logger log = ctx.log; // copies share the masks
        identity::SetTokenObserver([log](const std::string& token) { log.AddMask(token); });
    }
    PgAuthSettings pg = ctx.config.PgAuth();
    if (!pg.entra) {
        pg::SetConnectionAuth(nullptr);
        return;
    }
    auto chain = identity::ProcessChain(ctx.config.Identity());
    auto auth = std::make_shared<pg::ConnectionAuth>();
    std::string scope = pg.token_scope;
    auth->scope = scope;
    auth->describe = "Entra ID token, scope " + scope;
    auth->token = [chain, scope] {
        identity::AccessToken t = chain->Get(scope);
        return pg::AuthToken{t.token, t.refresh_at};
    };
    pg::SetConnectionAuth(std::move(auth));
}

// Where the command words start: after the global flags (and their values) in front of them.
size_t FirstWord(const std::vector<std::string>& args) {
    size_t i = 0;
    while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
        const std::string& a = args[i];
        bool valued = a == "--dsn" || a == "--config" || a == "--log-format" || a == "--color" ||
                      a == "--pg-auth" || a == "--azure-credential";
        i += valued ? 2 : 1;
    }
    return i;
}

// Help text appended to every command below the root: the global flags, which CLI11 lists only at
// the root although they are accepted anywhere.
std::string GlobalFlagsSection(const CLI::App& root) {
    std::vector<std::vector<std::string>> rows;
    for (const CLI::Option* opt : root.get_options()) {
        if (!opt->nonpositional() || opt->get_group().empty() || opt->get_name() == "--help" ||
            opt->get_name() == "--version") {
            continue;
        }
        std::string names;
        for (const auto& sn : opt->get_snames()) {
            names += "-" + sn + ", ";
        }
        for (const auto& l : opt->get_lnames()) {
            names += "--" + l;
        }
        if (opt->get_items_expected_max() > 0) {
            std::string type = opt->get_type_name();
            auto brace = type.find(":{");
            if (brace != std::string::npos) {
                // "TEXT:{auto,always,never}" -> "auto|always|never"
                type = type.substr(brace + 2, type.rfind('}') - brace - 2);
                std::replace(type.begin(), type.end(), ',', '|');
            }
            names += " " + type;
        }
        rows.push_back({names, opt->get_description()});
    }
    std::string s = "Global flags (accepted before or after the command; see 'pgsplit --help'):\n";
    size_t width = 0;
    for (const auto& r : rows) {
        width = std::max(width, r[0].size());
    }
    for (const auto& r : rows) {
        s += fmt::format("  {:<{}}  {}\n", r[0], width, r[1]);
    }
    return s;
}

// Every command's help: the global flags section, then its own footer (examples, exit codes). A
// subcommand that set no footer of its own would show its parent's (CLI11 copies it): it gets only the
// section and a pointer to the parent, so no example is repeated where it does not apply.
void AddGlobalFlagsToHelp(CLI::App& root) {
    std::string section = GlobalFlagsSection(root);
    std::function<void(CLI::App*)> visit = [&](CLI::App* app) {
        for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
            visit(sub);
        }
        if (app == &root) {
            return;
        }
        const CLI::App* parent = app->get_parent();
        std::string own = app->get_footer();
        if (parent != &root && own == parent->get_footer()) {
            own = fmt::format("Examples and exit codes: '{} --help'.\n", CommandPath(parent));
        }
        while (!own.empty() && own.front() == '\n') {
            own.erase(0, 1);
        }
        // A subcommand that falls through to a command with flags of its own (migrate status and
        // --dir) accepts those too: say so, since CLI11 lists only the subcommand's.
        std::string inherited;
        if (parent != &root && app->get_fallthrough()) {
            for (const CLI::Option* opt : parent->get_options()) {
                if (opt->nonpositional() && !opt->get_group().empty() && opt->get_name() != "--help" &&
                    opt->get_name() != "-h,--help" && !opt->get_lnames().empty()) {
                    inherited +=
                        (inherited.empty() ? "" : ", ") + std::string("--") + opt->get_lnames().front();
                }
            }
        }
        if (!inherited.empty()) {
            // Wrapped at 100 columns like the rest of the help.
            std::string wrapped = "  ";
            size_t line = 2;
            for (size_t start = 0; start < inherited.size();) {
                size_t end = inherited.find(", ", start);
                std::string item =
                    inherited.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
                if (line + item.size() + 1 > 100) {
                    wrapped += "\n  ";
                    line = 2;
                } else if (line > 2) {
                    wrapped += " ";
                    ++line;
                }
                wrapped += item;
                line += item.size();
                start = end == std::string::npos ? inherited.size() : end + 2;
            }
            inherited = fmt::format("Flags of '{}' accepted here too:\n{}\n\n", CommandPath(parent), wrapped);
        }
        app->footer("\n" + section + "\n" + inherited + own);
    };
    // Children first, so a child still compares against its parent's footer before it changes.
    visit(&root);
}

} // namespace

int RunCli(int argc, char** argv, char** environ) {
    CLI::App app{"pgsplit: Delta Lake on ADLS stays canonical; PostgreSQL serves copies and job state.",
                 "pgsplit"};
    app.footer(kFooter);
    app.set_version_flag("--version", std::string("pgsplit ") + PGSPLIT_VERSION_FULL);
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
    app.add_flag("--wide", flags.wide, "never cut table cells to the terminal width ($COLUMNS)");
    std::string pg_auth, azure_credential;
    app.add_option("--pg-auth", pg_auth,
                   "PostgreSQL login: password (the DSN's) or entra (an Entra ID token per connection)")
        ->check(CLI::IsMember({"password", "entra"}));
    app.add_option("--azure-credential", azure_credential,
                   "Azure credential for tokens: env, workload, managed, cli (default: the first that works)")
        ->check(CLI::IsMember({"auto", "env", "workload", "managed", "cli"}));

    std::vector<std::pair<CLI::App*, Runner>> runners;
    for (const auto& cmd : AllCommands()) {
        CLI::App* sub = app.add_subcommand(cmd.name, cmd.summary);
        sub->fallthrough();
        runners.emplace_back(sub, cmd.setup(*sub));
    }

    app.add_subcommand("help", "show a command's help: 'pgsplit help migrate status' (same as --help)")
        ->allow_extras();
    AddGlobalFlagsToHelp(app);

    std::vector<std::string> args(argv + 1, argv + argc);
    size_t first = FirstWord(args);
    if (first < args.size() && args[first] == "help") {
        // pgsplit help [COMMAND...]: check each word is a command, then parse as COMMAND... --help.
        const CLI::App* node = &app;
        for (size_t i = first + 1; i < args.size(); ++i) {
            const CLI::App* next = nullptr;
            for (const CLI::App* sub : node->get_subcommands([](const CLI::App*) { return true; })) {
                if (sub->get_name() == args[i] && args[i] != "help") {
                    next = sub;
                }
            }
            if (next == nullptr) {
                return ReportUsage(NotACommand(node, args[i]), app, args, environ);
            }
            node = next;
        }
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(first));
        args.emplace_back("--help");
    }

    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend()); // CLI11 takes them back to front
        app.parse(reversed);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        if (!app.get_subcommands().empty()) {
            // `pgsplit migrate --version 0003` must not print the version and migrate nothing.
            const CLI::App* node = DeepestParsed(&app);
            std::string hint = "'pgsplit --version' alone prints it";
            if (CommandPath(node).rfind("pgsplit migrate", 0) == 0) {
                hint += "; 'pgsplit migrate --target VERSION' migrates up to a version";
            }
            return ReportUsage({fmt::format("--version is not a flag of '{}': it prints pgsplit's version",
                                            CommandPath(node)),
                                hint},
                               app, args, environ);
        }
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        Usage u = DescribeParseError(app, e);
        const CLI::App* node = DeepestParsed(&app);
        GlobalFlags scanned = ScanGlobalFlags(args);
        bool machine = scanned.json || scanned.log_format == std::optional<std::string>("json");
        for (char** env = environ; env && *env && !machine; ++env) {
            machine =
                std::string(*env).rfind("CONTAINER_APP_JOB_NAME=", 0) == 0 && std::string(*env).size() > 23;
        }
        if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && node->get_subcommands().empty() &&
            node->get_require_subcommand_min() > 0 && app.remaining(true).empty() && !machine) {
            // A bare `pgsplit` or `pgsplit runs`: the help says more than any one line could.
            WriteAll(1, node->help(node->get_parent() ? CommandPath(node->get_parent()) : ""));
        }
        return ReportUsage(u, app, args, environ);
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
    if (!pg_auth.empty()) {
        flags.pg_auth = pg_auth;
    }
    if (!azure_credential.empty()) {
        flags.azure_credential = azure_credential;
    }

    std::unique_ptr<Context> ctx;
    try {
        ctx = std::make_unique<Context>();
        ctx->config = Config::Load(flags, environ);
        parquet::SetDefaultReadLimits(parquet::ReadLimits{ReadMemoryLimit(ctx->config)});
        // JSON logs are for machines: never colour, whatever --color says.
        if (ctx->config.log_format == LogFormat::Json) {
            ctx->config.color = ctx->config.color_stdout = false;
        }
        ctx->log = Logger(ctx->config.log_format, ctx->config.log_level, ctx->config.color);
        if (ctx->config.log_format == LogFormat::Json && !flags.json) {
            // Results as structured fields of one log line, not a table split into log lines.
            ctx->config.json = true;
            ctx->results_as_log = true;
        }
        if (ctx->config.github_actions) {
            ctx->log.EnableGithubAnnotations(flags.json || ctx->config.log_format == LogFormat::Json);
            SetWorkflowCommandGuard(true);
            // Before anything could print a secret: the runner then hides it in every later line.
            for (const auto& secret : ctx->config.SecretValues()) {
                ctx->log.AddMask(secret);
            }
        }
        ConfigureEntraAuth(*ctx);
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
