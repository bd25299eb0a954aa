// pgsplit runs as operators and alerting jobs see it: the built binary's output and exit codes over a
// seeded backtest.runs (see tests/runs/runs_fixture.h for the seed and its known percentiles).
#include "output/table.h"
#include "runs/runs_fixture.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <algorithm>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <regex>

using pgsplit::test::RunPgsplit;
using pgsplit::test::SeedRuns;
using pgsplit::test::TestDatabase;

namespace {

std::map<std::string, std::string> Env(const TestDatabase& db, const std::string& mode = "postgres") {
    return {{"POSTGRES_DSN", db.Dsn()}, {"BACKTEST_RUN_STORE_MODE", mode}};
}

bool Has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string Snapshot(const TestDatabase& db) {
    return db.Value("SELECT md5(string_agg(t::text, ',' ORDER BY run_id)) FROM backtest.runs t");
}

} // namespace

TEST_SUITE("runs") {
    TEST_CASE("runs list: a UTC table, newest first, unicode names and 'so far' for active runs") {
        TestDatabase db;
        SeedRuns(db);
        auto r = RunPgsplit({"runs", "list"}, Env(db));
        REQUIRE(r.exit_code == 0);
        CHECK(Has(r.out, "RUN_ID"));
        CHECK(Has(r.out, "SUBMITTED (UTC)"));
        CHECK(Has(r.out, "QUEUE WAIT"));
        CHECK(Has(r.out, pgsplit::test::kUnicodeName));
        CHECK(Has(r.out, "so far"));
        CHECK(Has(r.out, "Traceback (most recent call last):..."));
        CHECK(r.out.find("q1") < r.out.find("c01"));
        CHECK(r.out.find("c01") < r.out.find("f3"));
        // Lines of the table: header + 26 runs, nothing else.
        CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 27);

        auto limited = RunPgsplit({"runs", "list", "--limit", "3", "--status", "completed"}, Env(db));
        REQUIRE(limited.exit_code == 0);
        CHECK(Has(limited.out, "showing the newest 3 of 18 runs (status completed)"));

        auto none = RunPgsplit({"runs", "list", "--status", "running", "--since", "1m"}, Env(db));
        CHECK(none.exit_code == 0);
        CHECK(Has(none.out, "no runs in backtest.runs (status running, submitted in the last"));
    }

    TEST_CASE("runs list fits the terminal width ($COLUMNS) in display cells; --wide keeps it whole") {
        TestDatabase db;
        SeedRuns(db);
        auto env = Env(db);
        env["COLUMNS"] = "80";
        auto r = RunPgsplit({"runs", "list"}, env);
        REQUIRE(r.exit_code == 0);
        size_t widest = 0;
        for (const auto& line : pgsplit::test::Lines(r.out)) {
            widest = std::max(widest, pgsplit::DisplayWidth(line));
        }
        CHECK(widest <= 80);
        CHECK(Has(r.out, "\u2026"));
        CHECK(Has(r.out, "completed")); // short columns stay whole
        auto wide = RunPgsplit({"--wide", "runs", "list"}, env);
        REQUIRE(wide.exit_code == 0);
        CHECK(Has(wide.out, pgsplit::test::kUnicodeName));
        CHECK(Has(wide.out, "Traceback (most recent call last):..."));
        // Every row's SUBMITTED time starts in the header's column, the unicode run name's row too.
        auto lines = pgsplit::test::Lines(wide.out);
        REQUIRE(lines.size() > 2);
        size_t header = pgsplit::DisplayWidth(lines[0].substr(0, lines[0].find("SUBMITTED")));
        static const std::regex kTime(R"(\d{4}-\d\d-\d\d \d\d:)");
        for (size_t i = 1; i < lines.size(); ++i) {
            std::smatch m;
            REQUIRE(std::regex_search(lines[i], m, kTime));
            CHECK_MESSAGE(pgsplit::DisplayWidth(lines[i].substr(0, m.position(0))) == header, lines[i]);
        }
    }

    TEST_CASE("runs list --json: every column but the configs, nulls kept, ISO UTC times") {
        TestDatabase db;
        SeedRuns(db);
        auto r = RunPgsplit({"--json", "runs", "list", "--since", "7d"}, Env(db));
        REQUIRE(r.exit_code == 0);
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["ok"] == true);
        CHECK(j["matching"] == 25);
        CHECK(j["limit"] == 50);
        REQUIRE(j["runs"].size() == 25);
        const auto& q1 = j["runs"][0];
        CHECK(q1["run_id"] == "q1");
        CHECK(q1["run_name"].is_null());
        CHECK(q1["started_at"].is_null());
        CHECK(q1["queue_wait_ms"].is_null());
        CHECK(q1["submitted_at"].get<std::string>().back() == 'Z');
        CHECK_FALSE(q1.contains("config_json"));
        CHECK(j["runs"][1]["run_name"] == pgsplit::test::kUnicodeName);

        // --json after the subcommand works too.
        auto after = RunPgsplit({"runs", "list", "--json", "--status", "failed"}, Env(db));
        REQUIRE(after.exit_code == 0);
        CHECK(nlohmann::json::parse(after.out)["runs"].size() == 3);
    }

    TEST_CASE("runs list: bad flags are usage errors (exit 2)") {
        TestDatabase db;
        SeedRuns(db);
        CHECK(RunPgsplit({"runs", "list", "--status", "done"}, Env(db)).exit_code == 2);
        CHECK(RunPgsplit({"runs", "list", "--since", "a week"}, Env(db)).exit_code == 2);
        CHECK(RunPgsplit({"runs", "list", "--limit", "-1"}, Env(db)).exit_code == 2);
        CHECK(RunPgsplit({"runs"}, Env(db)).exit_code == 2);
    }

    TEST_CASE("runs show: every column, durations, long config pretty-printed; unknown id exit 2") {
        TestDatabase db;
        SeedRuns(db);
        auto r = RunPgsplit({"runs", "show", "c01"}, Env(db));
        REQUIRE(r.exit_code == 0);
        CHECK(Has(r.out, "status          completed"));
        CHECK(Has(r.out, "queue wait      10.0 s"));
        CHECK(Has(r.out, "run time        1m 0s"));
        CHECK(Has(r.out, " UTC\n"));
        CHECK(Has(r.out, "config_json\n  {\n    \"zeta_strategy\": \"momentum\",\n    \"alpha\": 0.25,"));
        CHECK(Has(r.out, "\"S&P 500 — 全部\""));
        CHECK(Has(r.out, "      \"param_149\": 0,"));
        CHECK(Has(r.out, "effective_config_json\n  {"));
        CHECK(Has(r.out, "\"resolved\": true"));

        auto f2 = RunPgsplit({"runs", "show", "f2"}, Env(db));
        REQUIRE(f2.exit_code == 0);
        CHECK(Has(f2.out,
                  "error\n  Traceback (most recent call last):\n    File \"run.py\", line 3\n  ValueError"));

        auto j = RunPgsplit({"--json", "runs", "show", "c01"}, Env(db));
        REQUIRE(j.exit_code == 0);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["run"]["config_json"] == pgsplit::test::LongConfigJson());
        CHECK(doc["run"]["config"] == nlohmann::json::parse(pgsplit::test::LongConfigJson()));
        CHECK(doc["run"]["effective_config"]["resolved"] == true);
        CHECK(doc["run"]["queue_wait_ms"] == 10000);
        CHECK(doc["run"]["run_time_ms"] == 60000);

        auto missing = RunPgsplit({"runs", "show", "nope"}, Env(db));
        CHECK(missing.exit_code == 2);
        CHECK(Has(missing.err, "no run 'nope' in backtest.runs"));
        CHECK(Has(missing.err, "hint: list recent runs with 'pgsplit runs list'"));
        auto missing_json = RunPgsplit({"--json", "runs", "show", "nope"}, Env(db));
        CHECK(missing_json.exit_code == 2);
        CHECK(nlohmann::json::parse(missing_json.out)["error"]["class"] == "usage");
    }

    TEST_CASE("runs show takes a unique prefix of a run id; an ambiguous one names the candidates") {
        TestDatabase db;
        SeedRuns(db);
        db.Connect().Exec("UPDATE backtest.runs SET run_id = '3f2a9c17-5b1e-4d7a-9c0e-2b8f6d4a1e55' "
                          "WHERE run_id = 'q1'");
        auto r = RunPgsplit({"runs", "show", "3f2a9c"}, Env(db));
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(Has(r.out, "3f2a9c17-5b1e-4d7a-9c0e-2b8f6d4a1e55"));
        // An exact id wins over longer ids that start with it (c01 is also a prefix of nothing else,
        // but "c1" is the prefix of c10..c18).
        CHECK(RunPgsplit({"runs", "show", "c01"}, Env(db)).exit_code == 0);
        auto many = RunPgsplit({"runs", "show", "f"}, Env(db));
        CHECK(many.exit_code == 2);
        CHECK(Has(many.err, "run id prefix 'f' matches 3 runs: f1, f2, f3"));
        auto lots = RunPgsplit({"runs", "show", "c1"}, Env(db));
        CHECK(lots.exit_code == 2);
        CHECK(Has(lots.err, "matches more than 5 runs: c10, c11, c12, c13, c14"));
        // fail keeps to exact ids: marking a run failed by a guess is not on.
        CHECK(RunPgsplit({"runs", "fail", "3f2a9c", "--reason", "x", "--yes"}, Env(db)).exit_code == 2);
    }

    TEST_CASE("runs stats: counts per status and exact p50/p95 in text and JSON") {
        TestDatabase db;
        SeedRuns(db);
        auto r = RunPgsplit({"runs", "stats"}, Env(db));
        REQUIRE(r.exit_code == 0);
        CHECK(Has(r.out, "26 run(s) in backtest.runs"));
        CHECK(Has(r.out, "completed  18"));
        CHECK(Has(r.out, "run time    20       10m 30s  19m 3s"));
        CHECK(Has(r.out, "queue wait  22       1m 55s   3m 30s")); // 209.5 s rounds up

        auto j = RunPgsplit({"--json", "runs", "stats"}, Env(db));
        REQUIRE(j.exit_code == 0);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["total"] == 26);
        CHECK(doc["counts"] ==
              nlohmann::json{{"queued", 3}, {"running", 2}, {"completed", 18}, {"failed", 3}});
        CHECK(doc["run_time"] == nlohmann::json{{"samples", 20}, {"p50_ms", 630000}, {"p95_ms", 1143000}});
        CHECK(doc["queue_wait"] == nlohmann::json{{"samples", 22}, {"p50_ms", 115000}, {"p95_ms", 209500}});
        CHECK(doc["since"].is_null());

        auto week =
            nlohmann::json::parse(RunPgsplit({"--json", "runs", "stats", "--since", "7d"}, Env(db)).out);
        CHECK(week["since"] == "7d");
        CHECK(week["since_ms"] == 7LL * 24 * 3600 * 1000);
        CHECK(week["total"] == 25);
        CHECK(week["counts"]["failed"] == 2);
        auto week_text = RunPgsplit({"runs", "stats", "--since", "7d"}, Env(db));
        CHECK(Has(week_text.out, "25 run(s) submitted in the last 7d (since "));
    }

    TEST_CASE("runs stale: exit 5 with the stuck runs listed, exit 0 when none") {
        TestDatabase db;
        SeedRuns(db);
        auto r = RunPgsplit({"runs", "stale", "--older-than", "6h"}, Env(db));
        CHECK(r.exit_code == 5);
        CHECK(Has(r.out, "2 run(s) queued or running longer than 6h"));
        CHECK(Has(r.out, "q2"));
        CHECK(Has(r.out, "r2"));
        CHECK_FALSE(Has(r.out, "r1 "));
        CHECK(Has(r.out, "pgsplit runs fail RUN_ID"));

        auto j = RunPgsplit({"--json", "runs", "stale", "--older-than", "6h"}, Env(db));
        CHECK(j.exit_code == 5);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["ok"] == false);
        CHECK(doc["older_than_ms"] == 6 * 3600 * 1000);
        REQUIRE(doc["stale"].size() == 2);
        CHECK(doc["stale"][0]["run_id"] == "q2");
        CHECK(doc["stale"][1]["run_id"] == "r2");

        auto quiet = RunPgsplit({"runs", "stale", "--older-than", "9h"}, Env(db));
        CHECK(quiet.exit_code == 0);
        CHECK(Has(quiet.out, "no run queued or running longer than 9h"));
        auto quiet_json = RunPgsplit({"--json", "runs", "stale", "--older-than", "9h"}, Env(db));
        CHECK(quiet_json.exit_code == 0);
        CHECK(nlohmann::json::parse(quiet_json.out)["stale"].empty());

        auto env = Env(db);
        env["GITHUB_ACTIONS"] = "true";
        auto gha = RunPgsplit({"runs", "stale", "--older-than", "6h"}, env);
        CHECK(gha.exit_code == 5);
        CHECK(Has(gha.err, "::error title=pgsplit runs stale::run q2 queued for 8h 0m, longer than 6h\n"));
        CHECK(Has(gha.err, "::error title=pgsplit runs stale::run r2 running for 7h 0m, longer than 6h\n"));

        // The default window is 6h.
        CHECK(RunPgsplit({"runs", "stale"}, Env(db)).exit_code == 5);
        CHECK(RunPgsplit({"runs", "stale", "--older-than", "soon"}, Env(db)).exit_code == 2);
    }

    TEST_CASE("runs fail: without --yes shows the plan and exits 2, changing nothing") {
        TestDatabase db;
        SeedRuns(db);
        auto before = Snapshot(db);
        auto r = RunPgsplit({"runs", "fail", "r2", "--reason", "worker lost"}, Env(db));
        CHECK(r.exit_code == 2);
        CHECK(Has(r.out, "would mark run r2 failed (it is running for 7h"));
        CHECK(Has(r.out, "running -> failed"));
        CHECK(Has(r.err, "needs --yes"));
        auto j = RunPgsplit({"--json", "runs", "fail", "r2", "--reason", "worker lost"}, Env(db));
        CHECK(j.exit_code == 2);
        auto doc = nlohmann::json::parse(j.out); // exactly one document
        CHECK(doc["applied"] == false);
        CHECK(doc["would"]["previous_status"] == "running");
        CHECK(doc["error"]["exit_code"] == 2);
        CHECK(Snapshot(db) == before);
        CHECK(RunPgsplit({"runs", "fail", "r2", "--yes"}, Env(db)).exit_code == 2); // --reason is required
        CHECK(RunPgsplit({"runs", "fail", "r2", "--reason", "  ", "--yes"}, Env(db)).exit_code == 2);
        CHECK(Snapshot(db) == before);
    }

    TEST_CASE("runs fail: refuses completed/failed runs (exit 5) and unknown ids (exit 2)") {
        TestDatabase db;
        SeedRuns(db);
        auto before = Snapshot(db);
        auto done = RunPgsplit({"runs", "fail", "c01", "--reason", "x", "--yes"}, Env(db));
        CHECK(done.exit_code == 5);
        CHECK(Has(done.err, "run 'c01' is completed, not queued or running"));
        CHECK(RunPgsplit({"runs", "fail", "f1", "--reason", "x", "--yes"}, Env(db)).exit_code == 5);
        CHECK(RunPgsplit({"runs", "fail", "c01", "--reason", "x"}, Env(db)).exit_code == 5);
        auto unknown = RunPgsplit({"runs", "fail", "ghost", "--reason", "x", "--yes"}, Env(db));
        CHECK(unknown.exit_code == 2);
        CHECK(Has(unknown.err, "no run 'ghost'"));
        CHECK(Snapshot(db) == before);
    }

    TEST_CASE("runs fail --yes marks the run failed with the reason and completed_at") {
        TestDatabase db;
        SeedRuns(db);
        auto r = RunPgsplit({"runs", "fail", "q2", "--reason", "never picked up — queue drained", "--yes"},
                            Env(db));
        REQUIRE(r.exit_code == 0);
        CHECK(Has(r.out, "marked run q2 failed (was queued)"));
        CHECK(
            db.Value(
                "SELECT status || '|' || error || '|' || (completed_at IS NOT NULL)::text FROM backtest.runs "
                "WHERE run_id = 'q2'") == "failed|never picked up — queue drained|true");
        auto j = RunPgsplit({"--json", "runs", "fail", "r2", "--reason", "lost", "--yes"}, Env(db));
        REQUIRE(j.exit_code == 0);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["previous_status"] == "running");
        CHECK(doc["run"]["status"] == "failed");
        CHECK(doc["run"]["error"] == "lost");
        // Nothing stuck any more at 6h.
        CHECK(RunPgsplit({"runs", "stale", "--older-than", "6h"}, Env(db)).exit_code == 0);
    }

    TEST_CASE("BACKTEST_RUN_STORE_MODE other than postgres is exit 3; unset proceeds; no DSN is exit 3") {
        TestDatabase db;
        SeedRuns(db);
        for (const char* mode : {"adls", "sqlite", "ADLS"}) {
            auto r = RunPgsplit({"runs", "list"}, Env(db, mode));
            CHECK(r.exit_code == 3);
            CHECK(Has(r.err, "the backtest run store is not in PostgreSQL"));
            CHECK(r.out.empty());
        }
        auto typo = RunPgsplit({"runs", "stats"}, Env(db, "postgresql"));
        CHECK(typo.exit_code == 3);
        CHECK(Has(typo.err, "not a known run store mode"));
        auto json = RunPgsplit({"--json", "runs", "stale"}, Env(db, "adls"));
        CHECK(json.exit_code == 3);
        CHECK(nlohmann::json::parse(json.out)["error"]["class"] == "config");
        // Fail is refused too, before touching anything.
        CHECK(RunPgsplit({"runs", "fail", "q2", "--reason", "x", "--yes"}, Env(db, "adls")).exit_code == 3);
        CHECK(db.Value("SELECT status FROM backtest.runs WHERE run_id = 'q2'") == "queued");

        CHECK(RunPgsplit({"runs", "list"}, {{"POSTGRES_DSN", db.Dsn()}}).exit_code == 0);
        auto no_dsn = RunPgsplit({"runs", "list"}, {{"BACKTEST_RUN_STORE_MODE", "postgres"}});
        CHECK(no_dsn.exit_code == 3);
        CHECK(Has(no_dsn.err, "no DSN is set"));
    }

    TEST_CASE("runs on a database without the schema: exit 3 with a hint to migrate") {
        TestDatabase db;
        auto r = RunPgsplit({"runs", "list"}, Env(db));
        CHECK(r.exit_code == 3);
        CHECK(Has(r.err, "backtest.runs does not exist"));
        CHECK(Has(r.err, "pgsplit migrate"));
    }

    TEST_CASE("runs --help teaches: subcommands, examples and exit codes") {
        auto r = RunPgsplit({"runs", "--help"});
        CHECK(r.exit_code == 0);
        for (const char* s :
             {"list", "show", "stats", "stale", "fail", "Examples:", "--older-than 6h", "Exit codes"}) {
            CHECK_MESSAGE(Has(r.out, s), s);
        }
    }
}
