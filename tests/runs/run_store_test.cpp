// The run store against the real PostgreSQL: filters, ordering, NULLs the service leaves, exact
// percentiles, the stale rule, and fail's guard (including a race with the service).
#include "core/error.h"
#include "runs/run_store.h"
#include "runs/runs_fixture.h"

#include <chrono>
#include <doctest/doctest.h>
#include <future>
#include <thread>

using pgsplit::Error;
using pgsplit::ExitCode;
using pgsplit::runs::ListFilter;
using pgsplit::runs::RunStore;
using pgsplit::test::SeedRuns;
using pgsplit::test::TestDatabase;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> Ids(const std::vector<pgsplit::runs::Run>& runs) {
    std::vector<std::string> ids;
    for (const auto& r : runs) {
        ids.push_back(r.run_id);
    }
    return ids;
}

ExitCode CodeOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    }
    return ExitCode::Ok;
}

int64_t Count(const pgsplit::runs::Stats& s, const std::string& status) {
    for (const auto& [name, n] : s.counts) {
        if (name == status) {
            return n;
        }
    }
    return -1;
}

} // namespace

TEST_SUITE("runs") {
    TEST_CASE("list returns every run newest submitted first, with NULLs where the service leaves them") {
        TestDatabase db;
        SeedRuns(db);
        auto conn = db.Connect();
        RunStore store(conn);
        auto all = store.List({});
        CHECK(all.matching == pgsplit::test::kSeededRuns);
        REQUIRE(all.runs.size() == 26);
        auto ids = Ids(all.runs);
        CHECK(std::vector<std::string>(ids.begin(), ids.begin() + 6) ==
              std::vector<std::string>{"q1", "q3", "r2", "q2", "r1", "c01"});
        CHECK(ids.back() == "f3");
        const auto& q1 = all.runs[0];
        CHECK(q1.status == "queued");
        CHECK_FALSE(q1.run_name.has_value());
        CHECK_FALSE(q1.started_at.has_value());
        CHECK_FALSE(q1.completed_at.has_value());
        CHECK_FALSE(q1.queue_wait_ms.has_value());
        CHECK_FALSE(q1.run_time_ms.has_value());
        REQUIRE(q1.active_for_ms.has_value());
        CHECK(*q1.active_for_ms >= 5 * 60 * 1000);
        CHECK(*q1.active_for_ms < 15 * 60 * 1000);
        CHECK(all.runs[1].run_name == std::string(pgsplit::test::kUnicodeName));
        // A run that failed without starting has neither duration.
        const auto& f3 = all.runs.back();
        CHECK_FALSE(f3.started_at.has_value());
        CHECK(f3.completed_at.has_value());
        CHECK_FALSE(f3.queue_wait_ms.has_value());
        CHECK_FALSE(f3.run_time_ms.has_value());
        CHECK_FALSE(f3.active_for_ms.has_value());
    }

    TEST_CASE("list filters by status, by --since and stops at --limit while counting every match") {
        TestDatabase db;
        SeedRuns(db);
        auto conn = db.Connect();
        RunStore store(conn);
        ListFilter failed;
        failed.status = "failed";
        CHECK(Ids(store.List(failed).runs) == std::vector<std::string>{"f1", "f2", "f3"});

        ListFilter week;
        week.since = std::chrono::hours(24 * 7);
        auto w = store.List(week);
        CHECK(w.matching == 25);
        CHECK(Ids(w.runs).back() == "f2");

        ListFilter recent_completed;
        recent_completed.status = "completed";
        recent_completed.since = std::chrono::minutes(29 * 60 + 30);
        CHECK(Ids(store.List(recent_completed).runs) ==
              std::vector<std::string>{"c01", "c02", "c03", "c04", "c05"});

        ListFilter five;
        five.limit = 5;
        auto f = store.List(five);
        CHECK(f.runs.size() == 5);
        CHECK(f.matching == 26);

        ListFilter unlimited;
        unlimited.limit = std::nullopt;
        CHECK(store.List(unlimited).runs.size() == 26);

        ListFilter none;
        none.status = "running";
        none.since = std::chrono::minutes(1);
        auto n = store.List(none);
        CHECK(n.runs.empty());
        CHECK(n.matching == 0);
    }

    TEST_CASE("find returns every column and exact durations; an unknown id is nullopt") {
        TestDatabase db;
        SeedRuns(db);
        auto conn = db.Connect();
        RunStore store(conn);
        auto c03 = store.Find("c03");
        REQUIRE(c03.has_value());
        CHECK(c03->status == "completed");
        CHECK(c03->queue_wait_ms == 30000);
        CHECK(c03->run_time_ms == 180000);
        CHECK_FALSE(c03->active_for_ms.has_value());
        CHECK(c03->start_date == "2020-01-01");
        CHECK(c03->end_date == "2024-12-31");
        CHECK(c03->output_dir == "/runs/c03");
        CHECK(c03->adls_container == "backtests");
        CHECK(c03->adls_prefix == "runs/c03");
        CHECK_FALSE(c03->error.has_value());
        CHECK(c03->submitted_at.size() == 27);
        CHECK(c03->submitted_at.back() == 'Z');
        auto c01 = store.Find("c01");
        REQUIRE(c01.has_value());
        CHECK(c01->config_json == pgsplit::test::LongConfigJson());
        auto r1 = store.Find("r1");
        REQUIRE(r1.has_value());
        CHECK(r1->queue_wait_ms == 9 * 3600 * 1000);
        CHECK(r1->active_for_ms >= 3600 * 1000);
        CHECK_FALSE(store.Find("nope").has_value());
        CHECK_FALSE(store.Find("").has_value());
    }

    TEST_CASE("timestamps come back in UTC whatever the session TimeZone") {
        TestDatabase db;
        pgsplit::test::ApplySchema(db);
        auto conn = db.Connect();
        conn.Exec(
            "INSERT INTO backtest.runs (run_id, status, submitted_at, config_json, effective_config_json) "
            "VALUES ('tz', 'queued', '2026-01-02 03:04:05.123456+00', '{}', '{}')");
        conn.Exec("SET TimeZone = 'America/New_York'");
        RunStore store(conn);
        auto run = store.Find("tz");
        REQUIRE(run.has_value());
        CHECK(run->submitted_at == "2026-01-02T03:04:05.123456Z");
    }

    TEST_CASE("stats counts per status and computes p50/p95 of run time and queue wait exactly") {
        TestDatabase db;
        SeedRuns(db);
        auto conn = db.Connect();
        RunStore store(conn);
        auto s = store.ComputeStats(std::nullopt);
        CHECK(s.total == 26);
        CHECK(Count(s, "queued") == 3);
        CHECK(Count(s, "running") == 2);
        CHECK(Count(s, "completed") == 18);
        CHECK(Count(s, "failed") == 3);
        CHECK_FALSE(s.since_at.has_value());
        CHECK(s.run_time.samples == 20);
        CHECK(s.run_time.p50_ms == 630000);
        CHECK(s.run_time.p95_ms == 1143000);
        CHECK(s.queue_wait.samples == 22);
        CHECK(s.queue_wait.p50_ms == 115000);
        CHECK(s.queue_wait.p95_ms == 209500);

        // f3 (10 days old, never started) drops out of the counts but was no sample anyway.
        auto week = store.ComputeStats(std::chrono::hours(24 * 7));
        CHECK(week.total == 25);
        CHECK(Count(week, "failed") == 2);
        CHECK(week.since_at.has_value());
        CHECK(week.run_time.p95_ms == 1143000);
        CHECK(week.queue_wait.p50_ms == 115000);

        // The last 25.5 hours: queued/running runs and c01 (1 min run time, 10 s queue wait), r2 and r1.
        auto day = store.ComputeStats(std::chrono::minutes(25 * 60 + 30));
        CHECK(day.total == 6);
        CHECK(day.run_time.samples == 1);
        CHECK(day.run_time.p50_ms == 60000);
        CHECK(day.run_time.p95_ms == 60000);
        CHECK(day.queue_wait.samples == 3);
        CHECK(day.queue_wait.p50_ms == 210000);
    }

    TEST_CASE("stats on an empty table: zero counts and no percentiles") {
        TestDatabase db;
        pgsplit::test::ApplySchema(db);
        auto conn = db.Connect();
        RunStore store(conn);
        auto s = store.ComputeStats(std::nullopt);
        CHECK(s.total == 0);
        CHECK(s.counts.size() == 4);
        CHECK(s.run_time.samples == 0);
        CHECK_FALSE(s.run_time.p50_ms.has_value());
        CHECK_FALSE(s.queue_wait.p95_ms.has_value());
    }

    TEST_CASE("stale: queued since submitted_at, running since started_at, longest first") {
        TestDatabase db;
        SeedRuns(db);
        auto conn = db.Connect();
        RunStore store(conn);
        auto six = store.Stale(6h);
        // r1 was submitted 10 h ago but started 1 h ago: not stale.
        CHECK(Ids(six.runs) == std::vector<std::string>{"q2", "r2"});
        CHECK(six.as_of.back() == 'Z');
        CHECK(store.Stale(9h).runs.empty());
        CHECK(Ids(store.Stale(30min).runs) == std::vector<std::string>{"q2", "r2", "q3", "r1"});
    }

    TEST_CASE("fail marks a running or queued run failed with the reason and completed_at") {
        TestDatabase db;
        SeedRuns(db);
        auto conn = db.Connect();
        RunStore store(conn);
        auto r = store.Fail("r2", "worker lost — node drained");
        CHECK(r.previous_status == "running");
        CHECK(r.run.status == "failed");
        CHECK(r.run.error == "worker lost — node drained");
        REQUIRE(r.run.completed_at.has_value());
        REQUIRE(r.run.run_time_ms.has_value());
        CHECK(*r.run.run_time_ms >= 7 * 3600 * 1000);
        CHECK(db.Value("SELECT status || '|' || error FROM backtest.runs WHERE run_id = 'r2'") ==
              "failed|worker lost — node drained");

        auto q = store.Fail("q2", "never picked up");
        CHECK(q.previous_status == "queued");
        CHECK_FALSE(q.run.started_at.has_value());
        CHECK(db.Value(
                  "SELECT completed_at IS NOT NULL AND started_at IS NULL FROM backtest.runs WHERE run_id = "
                  "'q2'") == "t");
        // Nothing is left open on the connection.
        CHECK(conn.QueryValue("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = "
                              "'transactionid'") == "0");
    }

    TEST_CASE(
        "fail refuses a completed or failed run (exit 5) and an unknown id (exit 2), changing nothing") {
        TestDatabase db;
        SeedRuns(db);
        auto conn = db.Connect();
        RunStore store(conn);
        std::string before =
            db.Value("SELECT md5(string_agg(t::text, ',' ORDER BY run_id)) FROM backtest.runs t");
        CHECK(CodeOf([&] { store.Fail("c01", "x"); }) == ExitCode::Verify);
        CHECK(CodeOf([&] { store.Fail("f1", "x"); }) == ExitCode::Verify);
        CHECK(CodeOf([&] { store.Fail("missing", "x"); }) == ExitCode::Usage);
        CHECK(db.Value("SELECT md5(string_agg(t::text, ',' ORDER BY run_id)) FROM backtest.runs t") ==
              before);
        // The connection is usable afterwards (the transaction was rolled back).
        CHECK(store.Find("c01").has_value());
    }

    TEST_CASE("fail racing the service: a run completed while fail waits is not overwritten") {
        TestDatabase db;
        SeedRuns(db);
        auto service = db.Connect();
        service.Exec("BEGIN");
        service.Exec(
            "UPDATE backtest.runs SET status = 'completed', completed_at = now() WHERE run_id = 'r1'");
        auto failing = std::async(std::launch::async, [&db] {
            auto conn = pgsplit::pg::Connection::Open(db.Dsn(), "pgsplit-test-fail");
            RunStore store(conn);
            return CodeOf([&] { store.Fail("r1", "operator thought it was stuck"); });
        });
        // The race is forced: fail must be waiting on the service's row lock before the service
        // commits its completion.
        bool waiting = false;
        for (int i = 0; i < 2000 && !waiting; ++i) {
            waiting = db.Value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                               "application_name = 'pgsplit-test-fail' AND wait_event_type = 'Lock'") == "1";
            if (!waiting) {
                std::this_thread::sleep_for(10ms);
            }
        }
        service.Exec("COMMIT");
        REQUIRE_MESSAGE(waiting, "fail never waited on the service's row lock");
        CHECK(failing.get() == ExitCode::Verify);
        CHECK(
            db.Value("SELECT status || '|' || coalesce(error, '') FROM backtest.runs WHERE run_id = 'r1'") ==
            "completed|");
    }

    TEST_CASE("a database without backtest.runs is a configuration error pointing at migrate") {
        TestDatabase db;
        auto conn = db.Connect();
        RunStore store(conn);
        try {
            store.List({});
            FAIL("expected an error");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::Config);
            CHECK(std::string(e.hint()).find("pgsplit migrate") != std::string::npos);
        }
    }

    TEST_CASE(
        "BACKTEST_RUN_STORE_MODE: unset, empty or postgres proceed; adls, sqlite, anything else exit 3") {
        using pgsplit::runs::RequirePostgresMode;
        CHECK(CodeOf([] { RequirePostgresMode(std::nullopt); }) == ExitCode::Ok);
        CHECK(CodeOf([] { RequirePostgresMode(std::string("")); }) == ExitCode::Ok);
        CHECK(CodeOf([] { RequirePostgresMode(std::string("postgres")); }) == ExitCode::Ok);
        CHECK(CodeOf([] { RequirePostgresMode(std::string(" Postgres ")); }) == ExitCode::Ok);
        CHECK(CodeOf([] { RequirePostgresMode(std::string("adls")); }) == ExitCode::Config);
        CHECK(CodeOf([] { RequirePostgresMode(std::string("sqlite")); }) == ExitCode::Config);
        CHECK(CodeOf([] { RequirePostgresMode(std::string("postgresql")); }) == ExitCode::Config);
        try {
            RequirePostgresMode(std::string("adls"));
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("not in PostgreSQL") != std::string::npos);
        }
    }
}
