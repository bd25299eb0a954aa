// Every pgsplit command written in runbooks/ runs against the test PostgreSQL, the DuckDB-written
// fixture tables (over Azurite where the runbook says abfss://), the fake az and seeded backtest runs,
// and exits the way the runbook says (issue 9). What is extracted, and how, is in extract.h.
// Long because each runbook needs its own setting-up (seeded runs, a fake az scenario, Azurite).
//
// How a runbook is run:
// - One fresh database per runbook; its commands run in order, as the sequential steps they are.
// - A scenario below stands in for what the runbook assumes but does not do with pgsplit: the
//   operator's environment before the first step (table locations, the subscription id, the Azurite
//   port...), the effect of the lines the test does not run (az, psql, scripts/azurite.sh: tables
//   uploaded, a backtest submitted), and a substitution table for placeholders (`<server>` DSNs,
//   `'...'` passwords, `<RUN_ID>`, months without fixture data). After substitution no placeholder may
//   remain: a new one fails the test until the scenario knows it.
// - Markdown steps run as `bash -c` with `set -u`, in a scratch working directory, after the file's
//   earlier `export` lines, with `pgsplit` on PATH pointing at the built binary: quoting, `VAR=x`
//   prefixes, `env -u` and redirections mean what they mean to the operator's shell. GitHub Actions
//   steps run the same way with `set -e` (GitHub's default shell), the step's env (secrets from the
//   scenario), GITHUB_ACTIONS=true and fresh GITHUB_STEP_SUMMARY / GITHUB_OUTPUT files. Container Apps
//   jobs run their command array directly (no shell) with the container's env, secretRefs resolved
//   from the scenario, `$(VAR)` expanded from that env as the platform does, and
//   CONTAINER_APP_JOB_NAME set: every stdout line must then be a JSON object.
// - Expected exit: the first "exit N" in the command's comment, else 0.
#include "runbooks/extract.h"
#include "runs/runs_fixture.h"
#include "storage/azure/azurite.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace pgsplit::test {
namespace {

namespace fs = std::filesystem;
using runbooks::Extraction;
using runbooks::Step;
using runbooks::StepKind;

// Passwords carry "Canary-" so scripts/canary-scan.sh catches any that pgsplit prints.
constexpr const char* kAdminPw = "Rb-Admin-Canary-51c0de";
constexpr const char* kWriterPw = "Rb-Writer-Canary-7e21aa";
constexpr const char* kApiPw = "Rb-Api-Canary-0f9d34";
constexpr const char* kSubscription = "00000000-0000-4000-8000-0000000000aa";
constexpr const char* kRunId = "bt-runbook-0001";
// The container the runbooks' abfss:// locations name (gold@<account>).
constexpr const char* kLakeContainer = "gold";

std::string Rel(const fs::path& p) {
    return fs::relative(p, SourceDir()).string();
}

// Every file of runbooks/ that holds commands, with what the extractor found in it.
std::map<std::string, Extraction> ExtractAll() {
    std::map<std::string, Extraction> all;
    for (const auto& e : fs::directory_iterator(SourceDir() / "runbooks")) {
        if (e.path().extension() == ".md") {
            all[Rel(e.path())] = runbooks::FromMarkdown(Rel(e.path()), ReadText(e.path().string()));
        }
    }
    for (const auto& e : fs::directory_iterator(SourceDir() / "runbooks" / "examples")) {
        std::string text = ReadText(e.path().string());
        std::string rel = Rel(e.path());
        // A Container Apps job lists containers; a workflow lists jobs with steps.
        all[rel] = text.find("containers:") != std::string::npos ? runbooks::FromAcaJobs(rel, text)
                                                                 : runbooks::FromGithubWorkflow(rel, text);
    }
    return all;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
    return s;
}

std::string ShellQuote(const std::string& s) {
    return "'" + Replace(s, "'", "'\\''") + "'";
}

struct Scenario {
    std::string file;
    std::map<std::string, std::string> env;                         // the operator's shell before step 1
    std::vector<std::pair<std::string, std::string>> substitutions; // literal text -> what the test uses
    // Like substitutions, but shared by several runbooks, so one runbook need not use them all.
    std::vector<std::pair<std::string, std::string>> shared_substitutions;
    std::map<std::string, std::string> secrets; // ${{ secrets.X }} and secretRef names
    std::string path_prefix;                    // directories on PATH right after pgsplit's (the fake az)
    // Run once, before the first step whose text contains the key (what a skipped line would do).
    std::vector<std::pair<std::string, std::function<void()>>> before;
};

// What every scenario substitutes: the runbooks' example DSNs become the test database's.
void AddDsnSubstitutions(Scenario& s, const TestDatabase& db) {
    const std::string azure = "<server>.postgres.database.azure.com:5432/asset_allocation";
    s.shared_substitutions.emplace_back("postgresql://pgadmin:<password>@" + azure, db.Dsn());
    s.shared_substitutions.emplace_back("postgresql://ranking_writer:<password>@" + azure,
                                        TcpDsn("ranking_writer", kWriterPw, db.Name()));
    s.shared_substitutions.emplace_back("postgresql://api_service:<password>@" + azure + "?sslmode=require",
                                        TcpDsn("api_service", kApiPw, db.Name()));
}

// The runbooks' lake (abfss://gold@<account>.dfs.core.windows.net/<path>/...) on Azurite, with the
// development key standing in for the managed identity or SAS of production.
void AddLake(Scenario& s, const std::string& path) {
    s.shared_substitutions.emplace_back(
        "abfss://<fs>@<account>.dfs.core.windows.net/<path>/",
        fmt::format("abfss://{}@{}.dfs.core.windows.net/{}/", kLakeContainer, kDevAccount, path));
    s.shared_substitutions.emplace_back("<account>", kDevAccount);
    s.env["AZURE_STORAGE_ENDPOINT"] = AzuriteEndpoint();
    s.env["AZURE_STORAGE_KEY"] = kDevKey;
}

// Uploads a pair of fixture tables as <path>/ranking_signal and <path>/composite_signal_daily.
void UploadTables(const std::string& path, const fs::path& fixture_dir) {
    REQUIRE_MESSAGE(fs::exists(fixture_dir / "ranking_signal" / "_delta_log"),
                    "fixtures are missing: run scripts/fixtures.sh (expected ", fixture_dir.string(), ")");
    Uploader up;
    up.CreateContainer(kLakeContainer);
    for (const char* t : {"ranking_signal", "composite_signal_daily"}) {
        up.PutTree(kLakeContainer, path + "/" + t, fixture_dir / t);
    }
}

// The sample tables with months 2024-01..2024-03 (tests/fixtures/delta.mjs), as a directory holding
// ranking_signal and composite_signal_daily.
fs::path SampleTables() {
    return FixturesDir() / "delta";
}

void Migrate(const TestDatabase& db) {
    auto r = RunPgsplit({"migrate"}, {{"POSTGRES_DSN", db.Dsn()}});
    REQUIRE_MESSAGE(r.exit_code == 0, r.All());
}

// Replaces ${{ secrets.NAME }} from the scenario; an unknown secret is left for the placeholder check.
std::string WithSecrets(const std::string& text, const Scenario& s) {
    static const std::regex re(R"(\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\})");
    std::string out;
    auto begin = std::sregex_iterator(text.begin(), text.end(), re);
    size_t last = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
        out += text.substr(last, it->position() - last);
        auto found = s.secrets.find((*it)[1].str());
        out += found != s.secrets.end() ? found->second : it->str();
        last = it->position() + it->length();
    }
    return out + text.substr(last);
}

std::string Substitute(const std::string& text, const Scenario& s) {
    std::string out = WithSecrets(text, s);
    for (const auto& [from, to] : s.substitutions) {
        out = Replace(out, from, to);
    }
    for (const auto& [from, to] : s.shared_substitutions) {
        out = Replace(out, from, to);
    }
    return out;
}

// Placeholders a runbook may use that must never reach a command.
std::vector<std::string> Leftovers(const std::string& text) {
    static const std::regex re(R"(<[A-Za-z_][A-Za-z0-9_ -]*>|'\.\.\.'|\$\{\{[^}]*\}\})");
    std::vector<std::string> found;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
        found.push_back(it->str());
    }
    return found;
}

// A directory holding `pgsplit` -> the built binary, first on PATH.
class BinDir {
public:
    BinDir() { fs::create_symlink(BinaryPath(), dir_ / "pgsplit"); }
    const std::string& Path() const { return dir_.Path(); }

private:
    ScratchDir dir_;
};

std::string SystemPath() {
    const char* p = std::getenv("PATH");
    return p && *p ? p : "/usr/local/bin:/usr/bin:/bin";
}

struct Outcome {
    ProcResult result;
    std::string ran; // what was run after substitution: the placeholder check reads it
};

Outcome RunShellStep(const Step& step, const Scenario& s, const std::string& cwd,
                     std::map<std::string, std::string> env) {
    std::string ran;
    for (const auto& e : step.exports) {
        ran += Substitute(e, s) + "\n";
    }
    ran += Substitute(step.command, s) + "\n";
    for (const auto& [k, v] : step.env) {
        env[k] = Substitute(v, s);
        ran += "# env " + k + "=" + env[k] + "\n";
    }
    if (step.kind == StepKind::GithubStep) {
        env["GITHUB_ACTIONS"] = "true";
        env["GITHUB_STEP_SUMMARY"] = cwd + "/step_summary.md";
        env["GITHUB_OUTPUT"] = cwd + "/github_output";
    }
    std::string script = step.kind == StepKind::GithubStep ? "set -e\n" : "set -u\n";
    script += "cd " + ShellQuote(cwd) + "\n" + ran;
    Process p({"/bin/bash", "-c", script}, env);
    return {p.Wait(300), ran};
}

Outcome RunAcaStep(const Step& step, const Scenario& s, std::map<std::string, std::string> env) {
    std::string ran;
    for (const auto& [k, v] : step.env) {
        env[k] = Substitute(v, s);
        ran += "# env " + k + "=" + env[k] + "\n";
    }
    for (const auto& ref : step.secret_refs) {
        const std::string& k = ref.first; // not structured bindings: doctest's macros capture them
        const std::string& secret = ref.second;
        auto found = s.secrets.find(secret);
        REQUIRE_MESSAGE(found != s.secrets.end(), step.Where(), ": no test value for secretRef ", secret);
        env[k] = found->second;
    }
    env["CONTAINER_APP_JOB_NAME"] = step.job;
    // $(VAR) in a container command is expanded from the container's environment.
    static const std::regex ref(R"(\$\(([A-Za-z_][A-Za-z0-9_]*)\))");
    std::vector<std::string> argv;
    for (const auto& a : step.argv) {
        std::string out;
        size_t last = 0;
        for (auto it = std::sregex_iterator(a.begin(), a.end(), ref); it != std::sregex_iterator(); ++it) {
            out += a.substr(last, it->position() - last);
            auto found = env.find((*it)[1].str());
            out += found != env.end() ? found->second : it->str();
            last = it->position() + it->length();
        }
        out = Substitute(out + a.substr(last), s);
        ran += out + " ";
        argv.push_back(argv.empty() && out == "pgsplit" ? BinaryPath().string() : out);
    }
    Process p(argv, env);
    return {p.Wait(300), ran};
}

// Runs every step of the scenario's file in order; returns how many ran.
size_t RunRunbook(const Scenario& s) {
    auto all = ExtractAll();
    REQUIRE_MESSAGE(all.count(s.file) == 1, "no such runbook: ", s.file);
    const Extraction& ex = all[s.file];
    for (const auto& p : ex.problems) {
        FAIL_CHECK(p);
    }
    REQUIRE_FALSE(ex.steps.empty());

    BinDir bin;
    ScratchDir cwd;
    std::map<std::string, std::string> base = s.env;
    base["PATH"] = bin.Path() + ":" + (s.path_prefix.empty() ? "" : s.path_prefix + ":") + SystemPath();
    std::set<size_t> fired;
    size_t ran = 0;
    for (const auto& step : ex.steps) {
        for (size_t i = 0; i < s.before.size(); ++i) {
            if (!fired.count(i) && step.Text().find(s.before[i].first) != std::string::npos) {
                fired.insert(i);
                s.before[i].second();
            }
        }
        Outcome o = step.kind == StepKind::AcaJob ? RunAcaStep(step, s, base)
                                                  : RunShellStep(step, s, cwd.Path(), base);
        ++ran;
        INFO(step.Where(), ": ", step.Text());
        INFO("ran:\n", o.ran);
        INFO("stdout:\n", o.result.out);
        INFO("stderr:\n", o.result.err);
        auto left = Leftovers(o.ran);
        CHECK_MESSAGE(left.empty(), "placeholder without a test value: ", left.empty() ? "" : left.front());
        CHECK_MESSAGE(o.result.exit_code == step.expected_exit, "exit ", o.result.exit_code,
                      ", the runbook says ", step.expected_exit);
        if (step.kind == StepKind::AcaJob) {
            std::istringstream lines(o.result.out);
            std::string line;
            while (std::getline(lines, line)) {
                auto j = nlohmann::json::parse(line, nullptr, false);
                CHECK_MESSAGE(j.is_object(), "not a JSON log line in a Container Apps job: ", line);
            }
        }
    }
    CHECK_MESSAGE(fired.size() == s.before.size(), "a setup step never found its command in ", s.file);
    // A substitution or secret nothing uses any more is a runbook that changed under the scenario.
    std::string source;
    for (const auto& step : ex.steps) {
        source += step.Text() + "\n";
        for (const auto& e : step.exports) {
            source += e + "\n";
        }
        for (const auto& [k, v] : step.env) {
            source += v + "\n";
        }
        for (const auto& [k, v] : step.secret_refs) {
            source += "secretRef " + v + "\n";
        }
    }
    for (const auto& sub : s.substitutions) {
        const std::string& from = sub.first; // not a structured binding: doctest's macros capture it
        CHECK_MESSAGE(source.find(from) != std::string::npos, s.file, " no longer contains \"", from,
                      "\": remove it from the scenario");
    }
    for (const auto& secret : s.secrets) {
        const std::string& name = secret.first; // not a structured binding: doctest's macros capture it
        bool used = source.find("secrets." + name) != std::string::npos ||
                    source.find("secretRef " + name) != std::string::npos;
        CHECK_MESSAGE(used, s.file, " no longer uses the secret ", name, ": remove it from the scenario");
    }
    CHECK_MESSAGE(ran == ex.steps.size(), "not every command of ", s.file, " ran");
    MESSAGE(s.file, ": ", ran, " pgsplit command line(s) run");
    return ran;
}

// The files the scenarios below cover; the coverage test compares it with runbooks/.
const std::set<std::string>& CoveredFiles() {
    static const std::set<std::string> files = {
        "runbooks/phase1-foundations.md", "runbooks/phase2-signals.md",   "runbooks/phase3-run-store.md",
        "runbooks/backfill.md",           "runbooks/rollback.md",         "runbooks/adls.md",
        "runbooks/convert-legacy.md",     "runbooks/examples/deploy.yml", "runbooks/examples/aca-jobs.yaml"};
    return files;
}

// The examples log in with Entra ID tokens (issue 17): the fake az's `account get-access-token` hands
// out kToken, and the identities' roles have it as their password, so no password is written anywhere.
constexpr const char* kToken =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJhdWQiOiJSYi1DYW5hcnkifQ.Rb-Token-Canary-e17a";

std::string EntraDsn(const std::string& user, const std::string& database) {
    return fmt::format("postgresql://{}@127.0.0.1:{}/{}", user, Cluster().port, database);
}

// The fake az on PATH as the credential (az CLI in GitHub Actions; standing in for the managed
// identity endpoint in Container Apps, which the container env does not pin).
void AddFakeAzToken(Scenario& s, const ScratchDir& az) {
    s.env["FAKE_AZ_LOG"] = az / "az.log";
    s.env["FAKE_AZ_STATE"] = az / "state";
    s.env["FAKE_AZ_TOKEN"] = kToken;
    s.path_prefix = (SourceDir() / "tests" / "provision" / "fake_az").string();
}

} // namespace

TEST_SUITE("runbooks") {
    TEST_CASE("runbook coverage: every runbook file has a scenario and every pgsplit line is understood") {
        auto all = ExtractAll();
        size_t total = 0;
        for (const auto& entry : all) {
            const std::string& file = entry.first; // not a structured binding: doctest's macros capture it
            const auto& ex = entry.second;
            INFO(file);
            CHECK_MESSAGE(CoveredFiles().count(file) == 1, file, " has no scenario in tests/runbooks");
            for (const auto& p : ex.problems) {
                FAIL_CHECK(p);
            }
            total += ex.steps.size();
        }
        for (const auto& f : CoveredFiles()) {
            CHECK_MESSAGE(all.count(f) == 1, f, " is covered by a scenario but does not exist");
        }
        CHECK(all.at("runbooks/rollback.md").steps.size() >= 4);
        MESSAGE(total, " pgsplit command line(s) in runbooks/");
    }

    TEST_CASE("runbook phase1-foundations.md: provision with the fake az, migrations, app roles") {
        TestDatabase db;
        ScratchDir az;
        Scenario s;
        s.file = "runbooks/phase1-foundations.md";
        AddDsnSubstitutions(s, db);
        s.env = {{"FAKE_AZ_LOG", az / "az.log"},
                 {"FAKE_AZ_SCENARIO", "fresh"},
                 {"FAKE_AZ_STATE", az / "state"},
                 {"SUBSCRIPTION_ID", kSubscription},
                 // The passwordless section's managed identities (az identity create ... principalId).
                 {"WRITER_MI_PRINCIPAL_ID", "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"},
                 {"API_MI_PRINCIPAL_ID", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"},
                 // "The server's FQDN as the admin" is the test database.
                 {"PGSPLIT_ADMIN_DSN", db.Dsn()}};
        s.substitutions.emplace_back("PGSPLIT_ADMIN_PASSWORD='...'",
                                     fmt::format("PGSPLIT_ADMIN_PASSWORD='{}'", kAdminPw));
        s.substitutions.emplace_back("PGSPLIT_RANKING_WRITER_PASSWORD='...'",
                                     fmt::format("PGSPLIT_RANKING_WRITER_PASSWORD='{}'", kWriterPw));
        s.substitutions.emplace_back("PGSPLIT_API_SERVICE_PASSWORD='...'",
                                     fmt::format("PGSPLIT_API_SERVICE_PASSWORD='{}'", kApiPw));
        s.secrets = {{"AZURE_SUBSCRIPTION_ID", kSubscription},
                     {"PGSPLIT_ADMIN_PASSWORD", kAdminPw},
                     {"PGSPLIT_RANKING_WRITER_PASSWORD", kWriterPw},
                     {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw},
                     {"POSTGRES_ADMIN_DSN", db.Dsn()}};
        s.path_prefix = (SourceDir() / "tests" / "provision" / "fake_az").string(); // shadows a real az
        RunRunbook(s);

        CHECK(db.Value("SELECT max(version) FROM public.schema_migrations") == "0006");
        CHECK(db.Value("SELECT count(*) FROM pg_roles WHERE rolname IN ('ranking_writer', 'api_service')") ==
              "2");
        CHECK(db.Value("SELECT pg_has_role('ranking_writer', 'ranking_owner', 'MEMBER')") == "t");
        std::string log = ReadText(az / "az.log");
        size_t creates = 0;
        for (size_t p = log.find("\"flexible-server\",\"create\""); p != std::string::npos;
             p = log.find("\"flexible-server\",\"create\"", p + 1)) {
            ++creates;
        }
        CHECK_MESSAGE(creates == 1, "the dry run must not create, the first real run creates once:\n", log);
    }

    TEST_CASE(
        "runbook phase2-signals.md: migrate, sync months from abfss:// on Azurite, skip-invalid, backfill") {
        TestDatabase db;
        UploadTables("ranking", SampleTables());
        Scenario s;
        s.file = "runbooks/phase2-signals.md";
        AddDsnSubstitutions(s, db);
        AddLake(s, "ranking");
        // Section 2 configures the job with the table locations (a table, not commands).
        s.env["PGSPLIT_SIGNALS_TABLE"] = fmt::format(
            "abfss://{}@{}.dfs.core.windows.net/ranking/ranking_signal", kLakeContainer, kDevAccount);
        s.env["PGSPLIT_COMPOSITE_TABLE"] = fmt::format(
            "abfss://{}@{}.dfs.core.windows.net/ranking/composite_signal_daily", kLakeContainer, kDevAccount);
        // The sample tables hold 2024-01..2024-03.
        s.substitutions.emplace_back("--from 2023-01 --to 2023-12", "--from 2024-01 --to 2024-03");
        RunRunbook(s);

        for (const char* month : {"2024-01", "2024-02", "2024-03"}) {
            INFO(month);
            CHECK(db.Value(fmt::format("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '{}'",
                                       month)) == "90");
            CHECK(db.Value(fmt::format("SELECT status FROM ranking.signal_sync_state WHERE year_month = '{}'",
                                       month)) == "success");
        }
    }

    TEST_CASE("runbook backfill.md: inspect and a 12-month backfill as ranking_writer from abfss://, then a "
              "re-run of two months") {
        TestDatabase db;
        EnsureRole("ranking_writer", kWriterPw); // before migrate: 0003 makes it a member of ranking_owner
        Migrate(db);
        fs::path tables = FixturesDir() / "sync" / "backfill";
        UploadTables("backfill", tables);
        Scenario s;
        s.file = "runbooks/backfill.md";
        AddDsnSubstitutions(s, db);
        AddLake(s, "backfill");
        // The backfill fixture holds 2023-01..2023-12.
        s.substitutions.emplace_back("--from 2020-01 --to 2023-12", "--from 2023-01 --to 2023-12");
        s.substitutions.emplace_back("--month 2021-07 --month 2022-02", "--month 2023-07 --month 2023-02");
        // The --claim run after it: every month is synced at these versions already.
        s.substitutions.emplace_back("--from 2015-01 --to 2024-12", "--from 2023-01 --to 2023-12");
        RunRunbook(s);

        auto expected = nlohmann::json::parse(ReadText((tables / "expected.json").string()));
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state WHERE status = 'success'") == "12");
        for (const auto& item : expected["ranking_signal"]["latest"].items()) {
            const std::string month = item.key(); // not a structured binding: doctest's macros capture it
            const auto& rows = item.value();
            INFO(month);
            CHECK(db.Value(fmt::format("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '{}'",
                                       month)) == std::to_string(rows.get<int>()));
        }
    }

    TEST_CASE(
        "runbook phase3-run-store.md: migrate, an empty store, a submitted run, alerting, unsticking it "
        "as api_service, rollback refusal") {
        TestDatabase db;
        EnsureRole("api_service", kApiPw); // before migrate: 0004 grants it backtest.runs
        Scenario s;
        s.file = "runbooks/phase3-run-store.md";
        AddDsnSubstitutions(s, db);
        s.substitutions.emplace_back("<RUN_ID>", kRunId);
        s.secrets = {{"POSTGRES_DSN_API", TcpDsn("api_service", kApiPw, db.Name())}};
        // Section 3: "submit a backtest through the API": the API's INSERT, then its worker starting it.
        s.before.emplace_back("runs list --since", [&] {
            auto c = db.Connect();
            c.Exec(
                "INSERT INTO backtest.runs (run_id, status, submitted_at, started_at, run_name, config_json, "
                "effective_config_json) VALUES ($1, 'running', now() - interval '12 minutes', now() - "
                "interval '10 minutes', 'runbook momentum', '{\"strategy\": \"momentum\"}', "
                "'{\"strategy\": \"momentum\", \"resolved\": true}')",
                {kRunId});
        });
        // Section 5: its worker died hours ago; the run still says running.
        s.before.emplace_back("runs fail", [&] {
            db.Connect().Exec("UPDATE backtest.runs SET submitted_at = now() - interval '8 hours 5 minutes', "
                              "started_at = now() - interval '8 hours' WHERE run_id = $1",
                              {kRunId});
        });
        RunRunbook(s);

        CHECK(db.Value(fmt::format("SELECT status || ': ' || error FROM backtest.runs WHERE run_id = '{}'",
                                   kRunId)) == "failed: worker lost during node drain");
        CHECK(db.Value("SELECT count(*) FROM backtest.runs") == "1");
    }

    TEST_CASE("runbook rollback.md: replication disabled, a month rebuilt and verified, run store refused, a "
              "changed checksum realigned") {
        TestDatabase db;
        Migrate(db);
        Scenario s;
        s.file = "runbooks/rollback.md";
        s.env = {{"POSTGRES_DSN", db.Dsn()},
                 {"PGSPLIT_SIGNALS_TABLE", (SampleTables() / "ranking_signal").string()},
                 {"PGSPLIT_COMPOSITE_TABLE", (SampleTables() / "composite_signal_daily").string()}};
        // The schema section: an applied migration whose text changed since it ran (stored checksum differs).
        s.before.emplace_back("migrate validate", [&] {
            db.Connect().Exec("UPDATE public.schema_migrations SET checksum = 'sha256:' || repeat('0', 64) "
                              "WHERE version = '0003'");
        });
        RunRunbook(s);

        CHECK(db.Value("SELECT signals_rows || '/' || composite_rows FROM ranking.signal_sync_state WHERE "
                       "year_month = '2024-03'") == "90/30");
        CHECK(db.Value("SELECT count(*) FROM public.schema_migrations WHERE checksum LIKE 'sha256:0000%'") ==
              "0");
    }

    TEST_CASE(
        "runbook convert-legacy.md: a legacy database's dry run, conversion, verify, sync, rollback and "
        "conversion again, then the legacy tables dropped") {
        TestDatabase db;
        // What the legacy runner built: plain signal tables with 24 months (scripts/lib/legacy-schema.sql).
        {
            auto c = db.Connect();
            c.ExecScript(ReadText((SourceDir() / "scripts" / "lib" / "legacy-schema.sql").string()));
            c.Exec("SELECT public.legacy_fill('2023-01-01', 24, 3, 10)");
        }
        Migrate(db);
        Scenario s;
        s.file = "runbooks/convert-legacy.md";
        AddDsnSubstitutions(s, db);
        s.env = {{"PGSPLIT_SIGNALS_TABLE", (SampleTables() / "ranking_signal").string()},
                 {"PGSPLIT_COMPOSITE_TABLE", (SampleTables() / "composite_signal_daily").string()}};
        RunRunbook(s);

        for (const char* t : {"ranking.ranking_signal", "ranking.composite_signal_daily"}) {
            INFO(t);
            CHECK(db.Value(fmt::format("SELECT relkind FROM pg_class WHERE oid = '{}'::regclass", t)) == "p");
            CHECK(db.Value(fmt::format("SELECT to_regclass('{}_legacy') IS NULL", t)) == "t");
            CHECK(db.Value(fmt::format("SELECT count(*) FROM pg_inherits WHERE inhparent = '{}'::regclass",
                                       t)) == "24");
        }
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-03'") == "90");
    }

    TEST_CASE("runbook adls.md: inspect delta over abfss:// against Azurite with the development key") {
        UploadTables("ranking", SampleTables());
        Scenario s;
        s.file = "runbooks/adls.md";
        // What `port=$(scripts/azurite.sh start /tmp/azurite)` gives: the suite's Azurite.
        s.env["port"] = std::to_string(AzuritePort());
        RunRunbook(s);
    }

    TEST_CASE("runbook examples/deploy.yml: the deploy workflow's migrate and verify steps pass on a synced "
              "database, as an Entra identity through the az CLI") {
        TestDatabase db;
        EnsureRole("pgsplit-deploy-identity", kToken);
        db.Connect().Exec("ALTER ROLE \"pgsplit-deploy-identity\" SUPERUSER"); // the Entra administrator
        ScratchDir az;
        Scenario s;
        s.file = "runbooks/examples/deploy.yml";
        AddFakeAzToken(s, az);
        s.shared_substitutions.emplace_back(
            "postgresql://pgsplit-deploy-identity@<server>.postgres.database.azure.com/asset_allocation",
            EntraDsn("pgsplit-deploy-identity", db.Name()));
        // Between deploys the signals job has synced a month (the freshness gate needs one).
        s.before.emplace_back("verify --freshness-only", [&] {
            auto r = RunPgsplit(
                {"sync-signals", "--month", "2024-03"},
                {{"POSTGRES_DSN", db.Dsn()},
                 {"PGSPLIT_SIGNALS_TABLE", (SampleTables() / "ranking_signal").string()},
                 {"PGSPLIT_COMPOSITE_TABLE", (SampleTables() / "composite_signal_daily").string()}});
            REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        });
        RunRunbook(s);
        CHECK(db.Value("SELECT max(version) FROM public.schema_migrations") == "0006");
        CHECK(ReadText(az / "az.log").find("get-access-token") != std::string::npos);
    }

    TEST_CASE("runbook examples/aca-jobs.yaml: the sync job as its managed identity from abfss://, then the "
              "freshness "
              "job as the API's, JSON log lines only, no password") {
        TestDatabase db;
        EnsureRole("ranking_writer", kWriterPw);
        EnsureRole("api_service", kApiPw);
        Migrate(db);
        // The identities' Entra principals, with the app roles' grants.
        EnsureRole("pgsplit-sync-identity", kToken);
        EnsureRole("pgsplit-api-identity", kToken);
        db.Connect().Exec("GRANT ranking_writer TO \"pgsplit-sync-identity\"");
        db.Connect().Exec("GRANT api_service TO \"pgsplit-api-identity\"");
        UploadTables("ranking", SampleTables());
        ScratchDir az;
        Scenario s;
        s.file = "runbooks/examples/aca-jobs.yaml";
        AddLake(s, "ranking");
        AddFakeAzToken(s, az);
        s.env["PGSPLIT_AZURE_CREDENTIAL"] = "cli";
        // The backfill job's range, cut to the months the sample tables hold (2024-03 synced by the
        // job before it, so skipped).
        s.substitutions.emplace_back("2015-01", "2024-01");
        s.substitutions.emplace_back("2024-12", "2024-03");
        const std::string azure = "@<server>.postgres.database.azure.com/asset_allocation";
        s.substitutions.emplace_back("postgresql://pgsplit-sync-identity" + azure,
                                     EntraDsn("pgsplit-sync-identity", db.Name()));
        s.substitutions.emplace_back("postgresql://pgsplit-api-identity" + azure,
                                     EntraDsn("pgsplit-api-identity", db.Name()));
        s.substitutions.emplace_back("<sync-identity-client-id>", "00000000-0000-4000-8000-00000000a001");
        s.substitutions.emplace_back("<api-identity-client-id>", "00000000-0000-4000-8000-00000000a002");
        RunRunbook(s);
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-03'") == "90");
    }
}

} // namespace pgsplit::test
