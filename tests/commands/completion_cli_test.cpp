// pgsplit completion bash|zsh|fish: the scripts are valid bash, zsh and fish, generated from the command tree
// the binary parses with, and complete subcommands, nested subcommands, flags and flag values (issues 9, 21).
#include "support/paths.h"
#include "support/process.h"

#include <algorithm>
#include <doctest/doctest.h>
#include <sstream>

using pgsplit::test::Process;
using pgsplit::test::ProcResult;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::WriteText;

namespace {

std::string Script() {
    auto r = RunPgsplit({"completion", "bash"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.All());
    return r.out;
}

// Sources the script in a fresh bash, sets COMP_WORDS/COMP_CWORD for `line` (the last word is the one
// being completed; a trailing space means an empty word) and returns COMPREPLY, sorted.
std::vector<std::string> Complete(const std::string& line, const std::string& cwd = "") {
    ScratchDir dir;
    WriteText(dir / "pgsplit.bash", Script());
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string w; in >> w;) {
        words.push_back(w);
    }
    if (!line.empty() && line.back() == ' ') {
        words.emplace_back();
    }
    std::string array;
    for (const auto& w : words) {
        array += " '" + w + "'";
    }
    std::string script = (cwd.empty() ? "" : "cd '" + cwd + "' || exit 9\n") + "source '" +
                         dir / "pgsplit.bash" + "'\nCOMP_WORDS=(" + array +
                         ")\nCOMP_CWORD=" + std::to_string(words.size() - 1) +
                         "\n_pgsplit\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
    Process p({"/bin/bash", "--norc", "-c", script}, {});
    ProcResult r = p.Wait(30);
    REQUIRE_MESSAGE(r.exit_code == 0, r.All());
    std::vector<std::string> out;
    std::istringstream lines(r.out);
    for (std::string l; std::getline(lines, l);) {
        if (!l.empty()) {
            out.push_back(l);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The zsh script in `zsh -f`, with the completion system's builtins replaced by functions that print
// what they were given: compadd prints the candidates that match $PREFIX (what zsh itself would
// keep), _files prints "<files>". `words`/CURRENT are set as zsh sets them (1-based, words[1] is the
// command).
std::vector<std::string> CompleteZsh(const std::string& line) {
    ScratchDir dir;
    auto script = RunPgsplit({"completion", "zsh"});
    REQUIRE_MESSAGE(script.exit_code == 0, script.All());
    WriteText(dir / "_pgsplit", script.out);
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string w; in >> w;) {
        words.push_back(w);
    }
    if (!line.empty() && line.back() == ' ') {
        words.emplace_back();
    }
    std::string array;
    for (const auto& w : words) {
        array += " '" + w + "'";
    }
    std::string body = "compdef() { :; }\n"
                       "compadd() { [[ $1 == -- ]] && shift; local c; for c; do [[ $c == \"$PREFIX\"* ]] "
                       "&& print -r -- \"$c\"; done; return 0; }\n"
                       "compset() { [[ $2 == '*=' ]] && PREFIX=${PREFIX#*=}; return 0; }\n"
                       "_files() { print -r -- '<files>'; }\n"
                       "source '" +
                       dir / "_pgsplit" + "' || exit 9\nwords=(" + array +
                       ")\nCURRENT=" + std::to_string(words.size()) +
                       "\nPREFIX=${words[CURRENT]}\n_pgsplit\n";
    Process p({"/usr/bin/zsh", "-f", "-c", body}, {});
    ProcResult r = p.Wait(30);
    REQUIRE_MESSAGE(r.exit_code == 0, r.All());
    std::vector<std::string> out;
    std::istringstream lines(r.out);
    for (std::string l; std::getline(lines, l);) {
        if (!l.empty()) {
            out.push_back(l);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The fish script sourced in `fish --no-config`, asked what it would offer for `line` with fish's own
// `complete -C` (the candidates fish itself would show, descriptions cut off at the tab), sorted.
std::vector<std::string> CompleteFish(const std::string& line, const std::string& cwd = "") {
    ScratchDir dir;
    auto script = RunPgsplit({"completion", "fish"});
    REQUIRE_MESSAGE(script.exit_code == 0, script.All());
    WriteText(dir / "pgsplit.fish", script.out);
    std::string body = (cwd.empty() ? "" : "cd '" + cwd + "'; or exit 9\n") + "source '" +
                       dir / "pgsplit.fish" + "'; or exit 9\ncomplete -C '" + line + "'\n";
    Process p({"/usr/bin/fish", "--no-config", "-c", body},
              {{"HOME", dir.Path()}, {"XDG_CONFIG_HOME", dir / "config"}, {"XDG_DATA_HOME", dir / "data"}});
    ProcResult r = p.Wait(30);
    REQUIRE_MESSAGE(r.exit_code == 0, r.All());
    std::vector<std::string> out;
    std::istringstream lines(r.out);
    for (std::string l; std::getline(lines, l);) {
        l = l.substr(0, l.find('\t'));
        if (!l.empty()) {
            out.push_back(l);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST_SUITE("completion") {
    TEST_CASE("completion bash prints a script that bash -n accepts and that registers _pgsplit") {
        ScratchDir dir;
        WriteText(dir / "pgsplit.bash", Script());
        Process syntax({"/bin/bash", "-n", dir / "pgsplit.bash"}, {});
        auto r = syntax.Wait(30);
        CHECK_MESSAGE(r.exit_code == 0, r.All());
        Process load(
            {"/bin/bash", "--norc", "-c", "source '" + dir / "pgsplit.bash" + "' && complete -p pgsplit"},
            {});
        auto l = load.Wait(30);
        CHECK_MESSAGE(l.exit_code == 0, l.All());
        CHECK(l.out == "complete -F _pgsplit pgsplit\n");
    }

    TEST_CASE("completion completes top-level commands from a prefix and lists them all on an empty word") {
        CHECK(Complete("pgsplit mi") == std::vector<std::string>{"migrate"});
        CHECK(Complete("pgsplit sync") == std::vector<std::string>{"sync", "sync-signals"});
        auto all = Complete("pgsplit ");
        for (const char* c :
             {"migrate", "sync-signals", "sync", "provision", "verify", "runs", "inspect", "completion"}) {
            INFO(c);
            CHECK(Contains(all, c));
        }
    }

    TEST_CASE("completion descends into subcommands: migrate, runs and inspect list their own") {
        auto migrate = Complete("pgsplit migrate ");
        for (const char* c : {"status", "validate", "plan", "baseline", "repair"}) {
            INFO(c);
            CHECK(Contains(migrate, c));
        }
        CHECK_FALSE(Contains(migrate, "sync-signals"));
        CHECK(Complete("pgsplit runs st") == std::vector<std::string>{"stale", "stats"});
        CHECK(Complete("pgsplit inspect ") == std::vector<std::string>{"delta", "parquet"});
        // Global flags and their values before the command do not confuse the walk.
        CHECK(Complete("pgsplit --dsn host=x --log-format json migrate va") ==
              std::vector<std::string>{"validate"});
    }

    TEST_CASE("completion completes a command's flags, the global flags after a command, and nested flags") {
        CHECK(Complete("pgsplit sync-signals --mo") == std::vector<std::string>{"--month"});
        auto sync = Complete("pgsplit sync-signals --");
        CHECK(Contains(sync, "--from"));
        CHECK(Contains(sync, "--jobs"));
        CHECK(Contains(sync, "--skip-invalid"));
        CHECK(Contains(sync, "--dsn")); // global, accepted after the command
        CHECK_FALSE(Contains(sync, "--freshness-only"));
        CHECK(Contains(Complete("pgsplit runs stale --"), "--older-than"));
        CHECK(Contains(Complete("pgsplit migrate baseline --"), "--version"));
        CHECK(Complete("pgsplit verify --fresh") == std::vector<std::string>{"--freshness-only"});
    }

    TEST_CASE(
        "completion offers the allowed values of --log-format and --color, and nothing for free values") {
        CHECK(Complete("pgsplit --log-format ") == std::vector<std::string>{"json", "text"});
        CHECK(Complete("pgsplit verify --color a") == std::vector<std::string>{"always", "auto"});
        // --flag=value: bash splits at '=' (COMP_WORDBREAKS) into "--log-format" "=" "j".
        CHECK(Complete("pgsplit --log-format = j") == std::vector<std::string>{"json"});
        CHECK(Complete("pgsplit sync-signals --month ").empty());
        // A flag's value is not taken for a subcommand: after `--month 2024-03` flags are offered again.
        CHECK(Complete("pgsplit sync-signals --month 2024-03 --jo") == std::vector<std::string>{"--jobs"});
    }

    TEST_CASE("completion steps over flags that take no value (--json, -q, --dry-run, --yes, --help)") {
        CHECK(Complete("pgsplit --json migrate st") == std::vector<std::string>{"status"});
        CHECK(Complete("pgsplit -q runs l") == std::vector<std::string>{"list"});
        CHECK(Contains(Complete("pgsplit migrate --dry-run "), "status"));
        CHECK(Complete("pgsplit migrate repair --yes --js") == std::vector<std::string>{"--json"});
        CHECK(Complete("pgsplit --help ver") == std::vector<std::string>{"verify"});
        CHECK(Complete("pgsplit -v --json inspect p") == std::vector<std::string>{"parquet"});
        // A valued option still consumes its word: "status" here is the value of --target.
        CHECK(Complete("pgsplit migrate --target status ").size() > 1);
        // The same name as flag and option: baseline's own --version takes a value, the global one none.
        CHECK(Complete("pgsplit migrate baseline --version ").empty());
    }

    TEST_CASE("completion zsh: the script is valid zsh and registers _pgsplit through compdef") {
        ScratchDir dir;
        auto r = RunPgsplit({"completion", "zsh"});
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.rfind("#compdef pgsplit\n", 0) == 0);
        WriteText(dir / "_pgsplit", r.out);
        Process syntax({"/usr/bin/zsh", "-n", dir / "_pgsplit"}, {});
        auto s = syntax.Wait(30);
        CHECK_MESSAGE(s.exit_code == 0, s.All());
        Process load({"/usr/bin/zsh", "-f", "-c",
                      "compdef() { print -r -- \"compdef $*\"; }; source '" + dir / "_pgsplit" + "'"},
                     {});
        auto l = load.Wait(30);
        CHECK_MESSAGE(l.exit_code == 0, l.All());
        CHECK(l.out == "compdef _pgsplit pgsplit\n");
        // Without compinit, sourcing says what to do instead of failing on an unknown compdef.
        Process bare({"/usr/bin/zsh", "-f", "-c", "source '" + dir / "_pgsplit" + "'"}, {});
        auto b = bare.Wait(30);
        CHECK(b.err.find("compinit") != std::string::npos);
    }

    TEST_CASE("completion zsh completes commands, nested commands, flags, choices and files") {
        CHECK(CompleteZsh("pgsplit mi") == std::vector<std::string>{"migrate"});
        CHECK(CompleteZsh("pgsplit --json migrate st") == std::vector<std::string>{"status"});
        CHECK(CompleteZsh("pgsplit -q runs l") == std::vector<std::string>{"list"});
        CHECK(Contains(CompleteZsh("pgsplit migrate --dry-run "), "validate"));
        CHECK(CompleteZsh("pgsplit verify --fresh") == std::vector<std::string>{"--freshness-only"});
        CHECK(Contains(CompleteZsh("pgsplit sync-signals --"), "--dsn"));
        CHECK(CompleteZsh("pgsplit --log-format ") == std::vector<std::string>{"json", "text"});
        CHECK(CompleteZsh("pgsplit --color=al") == std::vector<std::string>{"always"});
        CHECK(CompleteZsh("pgsplit sync-signals --month ").empty());
        CHECK(CompleteZsh("pgsplit inspect parquet ") == std::vector<std::string>{"<files>"});
    }

    TEST_CASE("completion fish: the script is valid fish and registers one completion for pgsplit") {
        ScratchDir dir;
        auto r = RunPgsplit({"completion", "fish"});
        REQUIRE(r.exit_code == 0);
        WriteText(dir / "pgsplit.fish", r.out);
        std::map<std::string, std::string> env = {{"HOME", dir.Path()}};
        Process syntax({"/usr/bin/fish", "--no-config", "--no-execute", dir / "pgsplit.fish"}, env);
        auto s = syntax.Wait(30);
        CHECK_MESSAGE(s.exit_code == 0, s.All());
        // Sourced twice (a reloaded config): still one registration, not two.
        Process load({"/usr/bin/fish", "--no-config", "-c",
                      "source '" + dir / "pgsplit.fish" + "'; source '" + dir / "pgsplit.fish" +
                          "'; complete -c pgsplit"},
                     env);
        auto l = load.Wait(30);
        CHECK_MESSAGE(l.exit_code == 0, l.All());
        CHECK(l.out == "complete --no-files pgsplit -a '(__pgsplit_complete)'\n");
    }

    TEST_CASE("completion fish completes commands, nested commands, flags, choices and files") {
        CHECK(CompleteFish("pgsplit mig") == std::vector<std::string>{"migrate"});
        CHECK(CompleteFish("pgsplit sync") == std::vector<std::string>{"sync", "sync-signals"});
        CHECK(Contains(CompleteFish("pgsplit "), "completion"));
        CHECK(CompleteFish("pgsplit migrate st") == std::vector<std::string>{"status"});
        CHECK(CompleteFish("pgsplit --json migrate st") == std::vector<std::string>{"status"});
        CHECK(CompleteFish("pgsplit -q runs l") == std::vector<std::string>{"list"});
        CHECK(Contains(CompleteFish("pgsplit migrate --dry-run "), "validate"));
        CHECK(CompleteFish("pgsplit --dsn host=x --log-format json migrate va") ==
              std::vector<std::string>{"validate"});
        CHECK(CompleteFish("pgsplit verify --fresh") == std::vector<std::string>{"--freshness-only"});
        auto sync = CompleteFish("pgsplit sync-signals --");
        CHECK(Contains(sync, "--dsn")); // global, accepted after the command
        CHECK(Contains(sync, "--skip-invalid"));
        CHECK_FALSE(Contains(sync, "--freshness-only"));
        CHECK(CompleteFish("pgsplit --log-format ") == std::vector<std::string>{"json", "text"});
        CHECK(CompleteFish("pgsplit verify --color a") == std::vector<std::string>{"always", "auto"});
        CHECK(CompleteFish("pgsplit --color=al") == std::vector<std::string>{"--color=always"});
        CHECK(CompleteFish("pgsplit sync-signals --month ").empty());
        CHECK(CompleteFish("pgsplit sync-signals --month 2024-03 --jo") ==
              std::vector<std::string>{"--jobs"});
        CHECK(CompleteFish("pgsplit migrate baseline --version ").empty());
        CHECK(CompleteFish("pgsplit completion ").empty());

        ScratchDir dir;
        WriteText(dir / "signals.parquet", "x");
        CHECK(CompleteFish("pgsplit inspect parquet sig", dir.Path()) ==
              std::vector<std::string>{"signals.parquet"});
        CHECK(CompleteFish("pgsplit --config sig", dir.Path()) ==
              std::vector<std::string>{"signals.parquet"});
    }

    TEST_CASE("completion offers file names where a command takes a file") {
        ScratchDir dir;
        WriteText(dir / "signals.parquet", "x");
        CHECK(Complete("pgsplit inspect parquet sig", dir.Path()) ==
              std::vector<std::string>{"signals.parquet"});
        CHECK(Complete("pgsplit --config sig", dir.Path()) == std::vector<std::string>{"signals.parquet"});
    }

    TEST_CASE("completion for an unsupported shell is a usage error naming the supported one") {
        auto r = RunPgsplit({"completion", "tcsh"});
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find("supports bash, zsh and fish, not 'tcsh'") != std::string::npos);
        auto none = RunPgsplit({"completion"});
        CHECK(none.exit_code == 2);
    }

    TEST_CASE("completion --help explains loading the script with a worked example") {
        auto r = RunPgsplit({"completion", "--help"});
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("source <(pgsplit completion bash)") != std::string::npos);
        CHECK(r.out.find("Exit codes") != std::string::npos);
    }

    TEST_CASE("completion prints the script unchanged when JSON logs are on (Container Apps, --log-format)") {
        auto r =
            RunPgsplit({"--log-format", "json", "completion", "bash"}, {{"CONTAINER_APP_JOB_NAME", "j"}});
        CHECK(r.exit_code == 0);
        CHECK(r.out == Script());
    }
}
