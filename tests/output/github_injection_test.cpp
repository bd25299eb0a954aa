// Text pgsplit did not write never starts a GitHub workflow command (issue 14, item 2): a newline in a
// Delta add.path echoed in an error, a ledger error re-printed by verify in a later job, partition values
// and field names in inspect delta and verify, backtest.runs columns in runs show, CSV rows of inspect
// parquet, and a legacy "##[" command in the middle of a line. Each vector runs the built binary with
// GITHUB_ACTIONS=true and checks both streams line by line, and that GITHUB_OUTPUT gained no line.
#include "core/github_annotations.h"
#include "output/mode_support.h"
#include "runs/runs_fixture.h"
#include "tests/delta/delta_test_util.h"

#include <fmt/format.h>

using pgsplit::test::Lines;
using pgsplit::test::ProcResult;
using pgsplit::test::ReadText;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using namespace pgsplit::test::modes;
namespace fs = std::filesystem;

namespace {

// Lines that pgsplit itself writes as workflow commands.
bool Authored(const std::string& line) {
    for (const char* prefix : {"::add-mask::", "::group::", "::endgroup::", "::error title=pgsplit",
                               "::warning title=pgsplit", "::notice title=pgsplit"}) {
        if (line.rfind(prefix, 0) == 0) {
            return true;
        }
    }
    return false;
}

// Every line the runner would take for a command that pgsplit did not author. The runner splits on
// LF (and a lone CR ends a line in the log view), so both count as line ends here.
std::vector<std::string> Injected(const std::string& stream) {
    std::vector<std::string> out;
    std::string text = stream;
    std::replace(text.begin(), text.end(), '\r', '\n');
    for (const auto& line : Lines(text)) {
        size_t start = line.find_first_not_of(" \t");
        std::string trimmed = start == std::string::npos ? "" : line.substr(start);
        if (Authored(trimmed)) {
            continue;
        }
        if (trimmed.rfind("::", 0) == 0 || line.find("##[") != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

struct Github {
    ScratchDir dir;
    std::map<std::string, std::string> env;
    explicit Github(std::map<std::string, std::string> base = {}) : env(std::move(base)) {
        env["GITHUB_ACTIONS"] = "true";
        env["GITHUB_STEP_SUMMARY"] = dir / "summary.md";
        env["GITHUB_OUTPUT"] = dir / "output.txt";
        env["GITHUB_ENV"] = dir / "env.txt";
    }
    ProcResult Run(const std::vector<std::string>& args) const { return RunPgsplit(args, env); }
    std::string File(const char* name) const {
        return fs::exists(dir / name) ? ReadText(dir / name) : std::string();
    }
};

void CheckClean(const ProcResult& r) {
    auto out = Injected(r.out);
    auto err = Injected(r.err);
    CHECK_MESSAGE(out.empty(), "stdout: ", (out.empty() ? "" : out.front()), "\n", r.All());
    CHECK_MESSAGE(err.empty(), "stderr: ", (err.empty() ? "" : err.front()), "\n", r.All());
}

// Keys a step-output file holds, in order ("key=value" or "key<<DELIM" lines; the value lines of the
// delimiter form are skipped).
std::vector<std::string> OutputKeys(const std::string& text) {
    std::vector<std::string> keys;
    auto lines = Lines(text);
    for (size_t i = 0; i < lines.size(); ++i) {
        auto heredoc = lines[i].find("<<");
        auto eq = lines[i].find('=');
        if (heredoc != std::string::npos && (eq == std::string::npos || heredoc < eq)) {
            keys.push_back(lines[i].substr(0, heredoc));
            std::string delim = lines[i].substr(heredoc + 2);
            while (++i < lines.size() && lines[i] != delim) {
            }
        } else if (eq != std::string::npos) {
            keys.push_back(lines[i].substr(0, eq));
        }
    }
    return keys;
}

fs::path HostileParquet() {
    fs::path p = pgsplit::test::FixturesDir() / "hostile" / "text.parquet";
    REQUIRE_MESSAGE(fs::exists(p), "hostile fixtures are missing: run scripts/fixtures.sh (expected ",
                    p.string(), ")");
    return p;
}

// A copy of the sync fixture's ranking_signal table with one more commit: an add whose partition value
// carries a command (its data file is one of the table's own) and, when `missing_path`, an add whose
// path does (and does not exist).
fs::path HostileSignals(const ScratchDir& dir, bool missing_path) {
    fs::path table = dir / "ranking_signal";
    pgsplit::test::CopyTree(SyncScenario("basic") / "ranking_signal", table);
    std::string existing;
    for (const auto& e : fs::recursive_directory_iterator(table)) {
        if (e.path().extension() == ".parquet" && e.path().string().find("2024-01") != std::string::npos) {
            existing = fs::relative(e.path(), table).string();
            break;
        }
    }
    REQUIRE(!existing.empty());
    // A copy under a new name: re-adding the same path would replace the file's own add.
    fs::copy_file(table / existing, table / "hostile-copy.parquet");
    existing = "hostile-copy.parquet";
    std::string commit;
    auto add = [&](const std::string& path, const std::string& month) {
        commit += nlohmann::json{{"add",
                                  {{"path", path},
                                   {"partitionValues", {{"year_month", month}}},
                                   {"size", fs::file_size(table / existing)},
                                   {"modificationTime", 1},
                                   {"dataChange", true}}}}
                      .dump() +
                  "\n";
    };
    add(existing, "2031-01\n::error::injected-by-partition ##[error]legacy");
    if (missing_path) {
        add("year_month=2024-01/missing\n::error::injected-by-path.parquet", "2024-01");
    }
    pgsplit::test::WriteFile(
        table / fmt::format("_delta_log/{:020}.json", pgsplit::test::LatestCommitVersion(table) + 1), commit);
    return table;
}

} // namespace

TEST_SUITE("github-mode") {
    TEST_CASE("injection: CSV and JSON-lines rows of inspect parquet cannot start a workflow command") {
        std::string file = HostileParquet().string();
        for (std::vector<std::string> args :
             {std::vector<std::string>{"inspect", "parquet", file, "--rows", "--format", "csv"},
              std::vector<std::string>{"inspect", "parquet", file, "--rows"},
              std::vector<std::string>{"--log-format", "json", "inspect", "parquet", file, "--rows"}}) {
            CAPTURE(args.back());
            Github gh;
            auto r = gh.Run(args);
            REQUIRE_MESSAGE(r.exit_code == 0, r.All());
            CHECK(Has(r.out, "injected")); // the value is shown, only neutralised
            CheckClean(r);
            CHECK(OutputKeys(gh.File("output.txt")).empty());
            CHECK(gh.File("env.txt").empty());
        }
        // Without GitHub Actions the CSV keeps the exact bytes (quoting only).
        auto plain = RunPgsplit({"inspect", "parquet", file, "--rows", "--format", "csv"}, {});
        CHECK(Has(plain.out, "\"line one\n::error::injected-by-csv\""));
        // In GitHub Actions the JSON lines still parse to the exact strings: "##[" is escaped inside them.
        Github gh;
        auto jsonl = gh.Run({"inspect", "parquet", file, "--rows"});
        bool found = false;
        for (const auto& line : Lines(jsonl.out)) {
            if (Has(line, "mid-line")) {
                auto doc = nlohmann::json::parse(line);
                CHECK(Has(doc.dump(), "mid-line ##[error]injected-legacy"));
                found = true;
            }
        }
        CHECK(found);
    }

    TEST_CASE("injection: partition values and paths from the Delta log, in inspect delta and sync errors") {
        ScratchDir dir;
        fs::path table = HostileSignals(dir, /*missing_path=*/true);
        Github gh;
        auto inspect = gh.Run({"inspect", "delta", table.string()});
        CHECK_MESSAGE(inspect.exit_code == 0, inspect.All());
        CHECK(Has(inspect.out + inspect.err, "injected-by-partition"));
        CheckClean(inspect);

        TestDatabase db;
        MigrateQuietly(db);
        auto env = SyncEnv(db.Dsn(), "basic");
        env["PGSPLIT_SIGNALS_TABLE"] = table.string();
        Github sync(env);
        auto r = sync.Run({"sync-signals", "--month", "2024-01"});
        CHECK_MESSAGE(r.exit_code == 7, r.All());
        CHECK(Has(r.err, "injected-by-path"));
        CheckClean(r);
        for (const auto& key : OutputKeys(sync.File("output.txt"))) {
            CHECK_MESSAGE((key == "months_synced" || key == "months_failed"), key);
        }
    }

    TEST_CASE("injection: a ledger error and a Delta month re-printed by verify in a later job") {
        ScratchDir dir;
        fs::path table = HostileSignals(dir, /*missing_path=*/false);
        TestDatabase db;
        MigrateQuietly(db);
        auto env = SyncEnv(db.Dsn(), "basic");
        REQUIRE(RunPgsplit({"sync-signals", "--month", "2024-01"}, env).exit_code == 0);
        db.Connect().Exec(
            "UPDATE ranking.signal_sync_state SET status = 'failed', error = $1 WHERE year_month = "
            "'2024-01'",
            {"duplicate key (date, symbol)=(2024-01-02, X\n::error::injected-by-ledger) ##[error]x"});
        env["PGSPLIT_SIGNALS_TABLE"] = table.string();
        for (std::vector<std::string> args :
             {std::vector<std::string>{"verify"}, std::vector<std::string>{"--json", "verify"},
              std::vector<std::string>{"--log-format", "json", "verify"}}) {
            CAPTURE(args.front());
            Github gh(env);
            auto r = gh.Run(args);
            CHECK_MESSAGE(r.exit_code == 5, r.All());
            CHECK(Has(r.out + r.err, "injected-by-ledger"));
            CheckClean(r);
            for (const auto& key : OutputKeys(gh.File("output.txt"))) {
                CHECK_MESSAGE((key == "verify_ok" || key == "months_checked" || key == "months_failed" ||
                               key == "problems"),
                              key);
            }
            CHECK(gh.File("env.txt").empty());
        }
    }

    TEST_CASE("injection: backtest.runs columns in runs show and runs list") {
        TestDatabase db;
        pgsplit::test::ApplySchema(db);
        db.Connect().Exec(
            "INSERT INTO backtest.runs (run_id, status, run_name, error, config_json, effective_config_json) "
            "VALUES ('hostile-1', 'failed', $1, $2, '{}', '{}')",
            {"name\n::error::injected-by-run-name", "Traceback\n::warning::injected-by-error\n  ##[error]x"});
        for (std::vector<std::string> args :
             {std::vector<std::string>{"runs", "show", "hostile-1"}, std::vector<std::string>{"runs", "list"},
              std::vector<std::string>{"--json", "runs", "show", "hostile-1"}}) {
            CAPTURE(args[1]);
            Github gh({{"POSTGRES_DSN", db.Dsn()}});
            auto r = gh.Run(args);
            CHECK_MESSAGE(r.exit_code == 0, r.All());
            // runs list shows the first line of a cell; show prints it whole.
            CHECK(Has(r.out, args[1] == "list" ? "hostile-1" : "injected-by-run-name"));
            CheckClean(r);
        }
    }

    TEST_CASE("NeutralizeWorkflowCommands: line starts and ##[ anywhere; JSON strings read back the same") {
        using pgsplit::NeutralizeWorkflowCommands;
        std::string text =
            NeutralizeWorkflowCommands("ok\n::error::a\n  ::warning::b\r::notice::c x ##[error]d\n");
        CHECK(Injected(text).empty());
        CHECK(Has(text, "error::a"));
        std::string json = R"({"v":"a ##[error]b","w":"::x"})";
        auto back = nlohmann::json::parse(NeutralizeWorkflowCommands(json));
        CHECK(back["v"] == "a ##[error]b");
        CHECK(back["w"] == "::x");
        CHECK(Injected(NeutralizeWorkflowCommands(json)).empty());
        CHECK(NeutralizeWorkflowCommands("plain: text :: here # ## [") == "plain: text :: here # ## [");
    }
}
