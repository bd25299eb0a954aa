// The built binary: exit codes, messages, concurrency and the lock, as operators and CI see them.
#include "migrate/embedded.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <chrono>
#include <csignal>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <thread>

using pgsplit::test::BinaryPath;
using pgsplit::test::Process;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;

namespace {

constexpr const char* kSecret = "Canary-Secret-7f3e9";

std::map<std::string, std::string> DsnEnv(const TestDatabase& db) {
    return {{"POSTGRES_DSN", db.Dsn()}};
}

} // namespace

TEST_SUITE("cli") {
    TEST_CASE("migrate applies 4 files, then nothing, and status --json lists them with sha256 checksums") {
        TestDatabase db;
        auto first = RunPgsplit({"migrate"}, DsnEnv(db));
        CHECK(first.exit_code == 0);
        CHECK(first.out.find("applied 6 migration(s)") != std::string::npos);
        auto again = RunPgsplit({"migrate"}, DsnEnv(db));
        CHECK(again.exit_code == 0);
        CHECK(again.out.find("nothing to apply") != std::string::npos);
        auto status = RunPgsplit({"--json", "migrate", "status"}, DsnEnv(db));
        REQUIRE(status.exit_code == 0);
        auto j = nlohmann::json::parse(status.out);
        REQUIRE(j["migrations"].size() == 6);
        for (const auto& m : j["migrations"]) {
            CHECK(m["state"] == "applied");
            CHECK(m["checksum"].get<std::string>().rfind("sha256:", 0) == 0);
        }
        auto text = RunPgsplit({"migrate", "status"}, DsnEnv(db));
        CHECK(text.out.find("VERSION") != std::string::npos);
        CHECK(text.out.find("0004") != std::string::npos);
        CHECK(RunPgsplit({"migrate", "validate"}, DsnEnv(db)).exit_code == 0);
    }

    TEST_CASE("--dsn overrides POSTGRES_DSN") {
        TestDatabase db;
        auto r = RunPgsplit({"--dsn", db.Dsn(), "migrate", "plan"},
                            {{"POSTGRES_DSN", "host=/nonexistent port=1"}});
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("would apply 6") != std::string::npos);
    }

    TEST_CASE("8 migrate processes at once: each file recorded once, all exit 0") {
        TestDatabase db;
        std::vector<std::unique_ptr<Process>> procs;
        for (int i = 0; i < 8; ++i) {
            procs.push_back(std::make_unique<Process>(
                std::vector<std::string>{BinaryPath().string(), "migrate"}, DsnEnv(db)));
        }
        int applied_by_someone = 0;
        for (auto& p : procs) {
            auto r = p->Wait();
            CHECK(r.exit_code == 0);
            if (r.out.find("applied 6") != std::string::npos) {
                ++applied_by_someone;
            }
        }
        CHECK(applied_by_someone == 1);
        CHECK(db.Value("SELECT count(*) FROM public.schema_migrations") == "6");
        CHECK(db.Value("SELECT count(DISTINCT version) FROM public.schema_migrations") == "6");
    }

    TEST_CASE("a second migrate waits for the lock, names the holder, and proceeds when it is released") {
        TestDatabase db;
        // Find the key pgsplit uses by asking it to time out once against a holder we control.
        auto holder = db.Connect();
        holder.Exec("SET application_name = 'test-lock-holder'");
        auto key = db.Value(
            "SELECT ('x' || substr(encode(sha256(convert_to('pgsplit:migrate:' || current_database() || "
            "':public.schema_migrations', 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint");
        holder.Exec("SELECT pg_advisory_lock(" + key + ")");
        Process p({BinaryPath().string(), "migrate", "--lock-wait", "30s"}, DsnEnv(db));
        std::string err;
        for (int i = 0; i < 100 && err.find("waiting for the migration lock") == std::string::npos; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            err = p.StderrSoFar();
        }
        CHECK(err.find("waiting for the migration lock") != std::string::npos);
        CHECK(err.find("pid " + std::to_string(holder.BackendPid())) != std::string::npos);
        CHECK(err.find("test-lock-holder") != std::string::npos);
        holder.Exec("SELECT pg_advisory_unlock(" + key + ")");
        auto r = p.Wait(60);
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("applied 6") != std::string::npos);
    }

    TEST_CASE("a holder that never lets go: --lock-wait 2 exits 6 after about 2 s naming pid and "
              "application_name") {
        TestDatabase db;
        auto holder = db.Connect();
        holder.Exec("SET application_name = 'stuck-deployer'");
        auto key = db.Value(
            "SELECT ('x' || substr(encode(sha256(convert_to('pgsplit:migrate:' || current_database() || "
            "':public.schema_migrations', 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint");
        holder.Exec("SELECT pg_advisory_lock(" + key + ")");
        auto t0 = std::chrono::steady_clock::now();
        auto r = RunPgsplit({"migrate", "--lock-wait", "2"}, DsnEnv(db));
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(r.exit_code == 6);
        CHECK(secs >= 1.9);
        CHECK(secs < 10);
        CHECK(r.err.find("pid " + std::to_string(holder.BackendPid())) != std::string::npos);
        CHECK(r.err.find("stuck-deployer") != std::string::npos);
        CHECK(r.err.find("hint:") != std::string::npos);
        CHECK(db.Value("SELECT to_regclass('public.schema_migrations')") == "");
    }

    TEST_CASE("an edited applied file exits 5 with both checksums; repair --yes clears it") {
        TestDatabase db;
        ScratchDir dir;
        for (const auto& f : pgsplit::EmbeddedMigrations()) {
            WriteText(dir / f.name, f.contents);
        }
        REQUIRE(RunPgsplit({"migrate", "--dir", dir.Path()}, DsnEnv(db)).exit_code == 0);
        WriteText(dir / "0004_backtest_runs.sql",
                  pgsplit::EmbeddedMigrations()[3].contents + "\n-- reviewed\n");
        auto r = RunPgsplit({"migrate", "--dir", dir.Path()}, DsnEnv(db));
        CHECK(r.exit_code == 5);
        CHECK(r.err.find("0004_backtest_runs.sql") != std::string::npos);
        CHECK(r.err.find("stored sha256:") != std::string::npos);
        // The hint's repair command reads the same files as this run (issue 21).
        CHECK(r.err.find("run 'pgsplit migrate repair --dir " + dir.Path() + " --yes'") != std::string::npos);
        CHECK(RunPgsplit({"migrate", "validate", "--dir", dir.Path()}, DsnEnv(db)).exit_code == 5);
        auto no_yes = RunPgsplit({"migrate", "repair", "--dir", dir.Path()}, DsnEnv(db));
        CHECK(no_yes.exit_code == 2);
        CHECK(no_yes.out.find("would repair 0004_backtest_runs.sql") != std::string::npos);
        auto repaired = RunPgsplit({"migrate", "repair", "--yes", "--dir", dir.Path()}, DsnEnv(db));
        CHECK(repaired.exit_code == 0);
        CHECK(repaired.out.find("repaired 0004_backtest_runs.sql") != std::string::npos);
        CHECK(RunPgsplit({"migrate", "--dir", dir.Path()}, DsnEnv(db)).exit_code == 0);
    }

    TEST_CASE("bad files and bad flags give their exit code and a one-line message with a hint") {
        TestDatabase db;
        ScratchDir dir;
        for (const auto& f : pgsplit::EmbeddedMigrations()) {
            WriteText(dir / f.name, f.contents);
        }
        SUBCASE("own BEGIN/COMMIT") {
            WriteText(dir / "0007_tx.sql", "BEGIN;\nCREATE TABLE core.t (a int);\nCOMMIT;\n");
            auto r = RunPgsplit({"migrate", "--dir", dir.Path()}, DsnEnv(db));
            CHECK(r.exit_code == 5);
            CHECK(r.err.find("0007_tx.sql line 1") != std::string::npos);
            CHECK(r.err.find("hint:") != std::string::npos);
        }
        SUBCASE("undeclared CREATE INDEX CONCURRENTLY") {
            WriteText(dir / "0007_idx.sql", "CREATE INDEX CONCURRENTLY i ON backtest.runs (run_name);\n");
            auto r = RunPgsplit({"migrate", "--dir", dir.Path()}, DsnEnv(db));
            CHECK(r.exit_code == 5);
            CHECK(r.err.find("CREATE INDEX CONCURRENTLY") != std::string::npos);
            CHECK(r.err.find("0007_idx.sql") != std::string::npos);
        }
        SUBCASE("bad --target") {
            auto r = RunPgsplit({"migrate", "--target", "0042"}, DsnEnv(db));
            CHECK(r.exit_code == 2);
            CHECK(r.err.find("--target '0042'") != std::string::npos);
        }
        SUBCASE("bad --lock-wait") {
            auto r = RunPgsplit({"migrate", "--lock-wait", "soon"}, DsnEnv(db));
            CHECK(r.exit_code == 2);
        }
        SUBCASE("unknown flag") {
            auto r = RunPgsplit({"migrate", "--frobnicate"}, DsnEnv(db));
            CHECK(r.exit_code == 2);
            CHECK(r.err.find("hint:") != std::string::npos);
        }
    }

    TEST_CASE(
        "missing DSN exits 3, unreachable server and wrong password exit 4, never printing the password") {
        SUBCASE("missing DSN") {
            auto r = RunPgsplit({"migrate"}, {});
            CHECK(r.exit_code == 3);
            CHECK(r.err.find("POSTGRES_DSN") != std::string::npos);
        }
        SUBCASE("unreachable server") {
            std::string dsn = std::string("postgresql://ranking_writer:") + kSecret +
                              "@127.0.0.1:1/asset_allocation?connect_timeout=3";
            auto r = RunPgsplit({"migrate"}, {{"POSTGRES_DSN", dsn}});
            CHECK(r.exit_code == 4);
            CHECK(r.err.find("ranking_writer:***@127.0.0.1") != std::string::npos);
            CHECK(r.All().find(kSecret) == std::string::npos);
            auto j = RunPgsplit({"--json", "migrate"}, {{"POSTGRES_DSN", dsn}});
            CHECK(j.exit_code == 4);
            CHECK(nlohmann::json::parse(j.out)["error"]["exit_code"] == 4);
            CHECK(j.All().find(kSecret) == std::string::npos);
        }
        SUBCASE("wrong password") {
            pgsplit::test::EnsureRole("pgsplit_pw_test", "Right-Canary-0a1b2c");
            TestDatabase db;
            std::string dsn = pgsplit::test::TcpDsn("pgsplit_pw_test", kSecret, db.Name());
            auto r = RunPgsplit({"migrate"}, {{"POSTGRES_DSN", dsn}});
            CHECK(r.exit_code == 4);
            CHECK(r.err.find("password authentication failed") != std::string::npos);
            CHECK(r.err.find("hint:") != std::string::npos);
            CHECK(r.All().find(kSecret) == std::string::npos);
            auto kv = RunPgsplit(
                {"migrate"},
                {{"POSTGRES_DSN", "host=127.0.0.1 port=" + std::to_string(pgsplit::test::Cluster().port) +
                                      " user=pgsplit_pw_test password=" + kSecret + " dbname=" + db.Name()}});
            CHECK(kv.exit_code == 4);
            CHECK(kv.All().find(kSecret) == std::string::npos);
            CHECK(kv.err.find("password=***") != std::string::npos);
        }
    }

    TEST_CASE("--help teaches: commands, exit codes, examples") {
        auto r = RunPgsplit({"--help"});
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("migrate") != std::string::npos);
        CHECK(r.out.find("Exit codes") != std::string::npos);
        auto m = RunPgsplit({"migrate", "--help"});
        CHECK(m.exit_code == 0);
        CHECK(m.out.find("Examples") != std::string::npos);
        auto v = RunPgsplit({"--version"});
        CHECK(v.exit_code == 0);
        CHECK(v.out.find("pgsplit ") != std::string::npos);
    }

    TEST_CASE("a bad boolean or log format in the environment is a configuration error naming it") {
        auto r =
            RunPgsplit({"migrate", "plan"}, {{"PGSPLIT_LOG_FORMAT", "yaml"}, {"POSTGRES_DSN", "host=/x"}});
        CHECK(r.exit_code == 3);
        CHECK(r.err.find("yaml") != std::string::npos);
    }

    TEST_CASE("JSON logs are one object per line on stdout") {
        TestDatabase db;
        auto r = RunPgsplit({"--log-format", "json", "migrate"}, DsnEnv(db));
        REQUIRE(r.exit_code == 0);
        int lines = 0;
        size_t start = 0;
        while (start < r.out.size()) {
            size_t end = r.out.find('\n', start);
            auto line = r.out.substr(start, end - start);
            if (!line.empty() && line[0] == '{') {
                auto j = nlohmann::json::parse(line);
                CHECK(j.contains("ts"));
                CHECK(j.contains("level"));
                CHECK(j["command"] == "migrate");
                ++lines;
            }
            start = end == std::string::npos ? r.out.size() : end + 1;
        }
        CHECK(lines >= 4);
    }
}

TEST_SUITE("cli") {
    TEST_CASE("in GitHub Actions migrate writes a step summary, step outputs and annotates a failure") {
        TestDatabase db;
        ScratchDir dir;
        std::string summary = dir / "summary.md";
        std::string output = dir / "output";
        auto env = DsnEnv(db);
        env["GITHUB_ACTIONS"] = "true";
        env["GITHUB_STEP_SUMMARY"] = summary;
        env["GITHUB_OUTPUT"] = output;
        auto r = RunPgsplit({"migrate"}, env);
        REQUIRE(r.exit_code == 0);
        auto md = pgsplit::test::ReadText(summary);
        CHECK(md.find("### pgsplit migrate") != std::string::npos);
        CHECK(md.find("| 0003 | `0003_ranking_signals.sql` |") != std::string::npos);
        auto out = pgsplit::test::ReadText(output);
        CHECK(out.find("applied=6\n") != std::string::npos);
        CHECK(out.find("schema_version=0006\n") != std::string::npos);

        env["POSTGRES_DSN"] = std::string("postgresql://u:") + kSecret + "@127.0.0.1:1/db?connect_timeout=2";
        auto bad = RunPgsplit({"migrate"}, env);
        CHECK(bad.exit_code == 4);
        CHECK(bad.out.find("::error title=pgsplit::cannot connect") != std::string::npos);
        // The password's one appearance is its ::add-mask:: line, first, which the runner consumes (issue 9).
        CHECK(bad.out.rfind(std::string("::add-mask::") + kSecret + "\n", 0) == 0);
        CHECK(bad.out.find(kSecret, bad.out.find('\n')) == std::string::npos);
        CHECK(bad.err.find(kSecret) == std::string::npos);
    }
}
