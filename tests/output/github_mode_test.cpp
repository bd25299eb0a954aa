// GitHub Actions mode end to end (issue 9): the built binary with GITHUB_ACTIONS=true and the step
// summary and output files in a scratch dir. stdout (workflow commands and the rendered result), the
// summary and the outputs are compared with golden files under tests/data/golden/github/ after
// durations, timestamps, temp paths and the random output delimiter are normalised.
#include "output/mode_support.h"

#include <fmt/format.h>

using pgsplit::test::Cluster;
using pgsplit::test::Lines;
using pgsplit::test::ProcResult;
using pgsplit::test::ReadText;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;
using namespace pgsplit::test::modes;

namespace {

// The DSN password: every character GitHub escapes, and '@' which a URI must encode.
constexpr const char* kPassword = "Canary-S3cr3t:p@ss,100%"; // the marker: seen by the canary scan
constexpr const char* kPasswordInUri = "Canary-S3cr3t%3Ap%40ss%2C100%25";

// The superuser over the unix socket (trust: the password is carried, never checked).
std::string DsnWithPassword(const TestDatabase& db) {
    return fmt::format("postgresql://postgres:{}@/{}?host={}&port={}", kPasswordInUri, db.Name(),
                       Cluster().socket_dir, Cluster().port);
}

struct GithubRun {
    ScratchDir dir;
    std::map<std::string, std::string> env;

    explicit GithubRun(std::map<std::string, std::string> base) : env(std::move(base)) {
        env["GITHUB_ACTIONS"] = "true";
        env["GITHUB_STEP_SUMMARY"] = dir / "summary.md";
        env["GITHUB_OUTPUT"] = dir / "output.txt";
    }
    ProcResult Run(const std::vector<std::string>& args) const { return RunPgsplit(args, env); }
    std::string Summary() const { return ReadText(dir / "summary.md"); }
    std::string Output() const { return ReadText(dir / "output.txt"); }
    void CheckSummarySize() const { CHECK(std::filesystem::file_size(dir / "summary.md") < 1024 * 1024); }
};

} // namespace

TEST_SUITE("github-mode") {
    TEST_CASE("migrate: masks first, a group per file, summary and applied=2; a failure's message is "
              "escaped in its annotation") {
        TestDatabase db;
        GithubRun gh({{"POSTGRES_DSN", DsnWithPassword(db)}});
        ScratchDir migrations;
        WriteText(migrations / "0001_first.sql", "CREATE TABLE public.first_t (x int);\n");
        WriteText(migrations / "0002_second.sql", "CREATE TABLE public.second_t (x int);\n");
        auto r = gh.Run({"migrate", "--dir", migrations.Path()});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CheckMasksFirst(r.out, {kPassword, kPasswordInUri});
        CHECK_FALSE(Has(r.err, kPassword));
        CHECK_FALSE(Has(r.err, kPasswordInUri));
        CheckGolden("github/migrate.stdout", Normalize(r.out, {}));
        CheckGolden("github/migrate.summary.md", Normalize(gh.Summary(), {}));
        CheckGolden("github/migrate.output", Normalize(gh.Output(), {}));
        gh.CheckSummarySize();

        // A server error whose text holds %, CR, LF, ':' and ',' (RAISE's %% is a literal %).
        WriteText(migrations / "0003_bad.sql",
                  "DO $$ BEGIN RAISE EXCEPTION 'bad 100%% value%line2: a,b', chr(13) || chr(10); END $$;\n");
        auto bad = gh.Run({"migrate", "--dir", migrations.Path()});
        CHECK(bad.exit_code == 1);
        CheckMasksFirst(bad.out, {kPassword, kPasswordInUri});
        CheckGolden("github/migrate-failure.stdout", Normalize(bad.out, {}));
    }

    TEST_CASE("sync-signals: a group per month, the summary table and months_synced=2") {
        TestDatabase db;
        MigrateQuietly(db);
        GithubRun gh(SyncEnv(db.Dsn(), "basic"));
        auto r = gh.Run({"sync-signals", "--month", "2024-01", "--month", "2024-02"});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CheckGolden("github/sync-signals.stdout", Normalize(r.out, {}));
        CheckGolden("github/sync-signals.summary.md", Normalize(gh.Summary(), {}));
        CheckGolden("github/sync-signals.output", Normalize(gh.Output(), {}));
        gh.CheckSummarySize();
    }

    TEST_CASE(
        "sync-signals: 12 failing months give 10 escaped ::error lines and a notice counting the rest") {
        TestDatabase db;
        MigrateQuietly(db);
        ScratchDir lake;
        // A table location whose text needs every escape of a message: %, CR and LF (':' and ',' stay).
        std::string missing = lake / "gone 100%\r\nnext:dir,1";
        GithubRun gh({{"POSTGRES_DSN", db.Dsn()},
                      {"PGSPLIT_SIGNALS_TABLE", missing},
                      {"PGSPLIT_COMPOSITE_TABLE", missing}});
        auto r = gh.Run({"sync-signals", "--from", "2023-01", "--to", "2023-12"});
        CHECK(r.exit_code == 7);
        size_t errors = 0;
        for (const auto& line : Lines(r.out)) {
            errors += line.rfind("::error ", 0) == 0 ? 1 : 0;
        }
        CHECK(errors == 10);
        CheckGolden("github/sync-signals-failures.stdout", Normalize(r.out, {{lake.Path(), "<LAKE>"}}));
        CheckGolden("github/sync-signals-failures.output", Normalize(gh.Output(), {}));
    }

    TEST_CASE("verify: verify_ok=false with the problems in the multi-line form, then verify_ok=true") {
        TestDatabase db;
        MigrateQuietly(db);
        auto env = SyncEnv(db.Dsn(), "basic");
        REQUIRE(RunPgsplit({"sync-signals", "--month", "2024-01"}, env).exit_code == 0);
        GithubRun failing(env);
        auto r = failing.Run({"verify", "--month", "2024-01", "--month", "2024-02"});
        CHECK(r.exit_code == 5);
        CHECK(Has(failing.Output(), "problems<<pgsplit_"));
        CheckGolden("github/verify-failing.stdout", Normalize(r.out, {}));
        CheckGolden("github/verify-failing.summary.md", Normalize(failing.Summary(), {}));
        CheckGolden("github/verify-failing.output", Normalize(failing.Output(), {}));
        failing.CheckSummarySize();

        GithubRun passing(env);
        auto ok = passing.Run({"verify", "--month", "2024-01"});
        CHECK(ok.exit_code == 0);
        CheckGolden("github/verify-ok.output", Normalize(passing.Output(), {}));
    }

    TEST_CASE("provision (fake az): every password masked before any other line, a group per step, the "
              "summary and the outputs with DSNs redacted") {
        ScratchDir az;
        constexpr const char* kAdmin = "Adm1n:Canary,4f9c%2e";
        constexpr const char* kAdminEncoded = "Adm1n%3ACanary%2C4f9c%252e";
        GithubRun gh(FakeAzEnv(az, "fresh", {{"PGSPLIT_ADMIN_PASSWORD", kAdmin}}));
        auto r = gh.Run({"provision", "--resource-group", "rg-assets", "--server-name", "assets-pg",
                         "--location", "eastus", "--allow-azure-services"});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CheckMasksFirst(r.out, {kAdmin, kAdminEncoded});
        CHECK_FALSE(Has(r.err, kAdmin));
        std::string fake = (pgsplit::test::SourceDir() / "tests" / "provision" / "fake_az").string();
        CheckGolden("github/provision.stdout", Normalize(r.out, {{fake, "<FAKE_AZ>"}}));
        CheckGolden("github/provision.summary.md", Normalize(gh.Summary(), {{fake, "<FAKE_AZ>"}}));
        CheckGolden("github/provision.output", Normalize(gh.Output(), {}));
        gh.CheckSummarySize();
    }

    TEST_CASE("outside GitHub Actions and with JSON logs there are no workflow commands on stdout") {
        TestDatabase db;
        MigrateQuietly(db);
        auto env = SyncEnv(db.Dsn(), "basic");
        auto plain = RunPgsplit({"sync-signals", "--month", "2024-01"}, env);
        REQUIRE(plain.exit_code == 0);
        CHECK_FALSE(Has(plain.All(), "::"));
        env["GITHUB_ACTIONS"] = "true";
        auto json = RunPgsplit({"--log-format", "json", "sync-signals", "--month", "2024-02"}, env);
        REQUIRE(json.exit_code == 0);
        CHECK_FALSE(Has(json.out, "::"));
        CHECK_FALSE(Has(json.All(), "::group::"));
        JsonLines(json.out);
    }
}
