// SIGTERM to each long-running command in JSON-log mode (ACA jobs, issue 9): exit 143 within 5 s, and the
// last stdout line is a JSON object saying what was rolled back and what was kept. Each command is stopped
// at a point the test controls (a lock a test connection holds, a slow migration, a slow fake az), so the
// in-flight work is known.
#include "output/mode_support.h"

#include <csignal>

using pgsplit::test::BinaryPath;
using pgsplit::test::CopyTableConfig;
using pgsplit::test::CreateCopyTable;
using pgsplit::test::Lines;
using pgsplit::test::Process;
using pgsplit::test::ProcResult;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;
using namespace pgsplit::test::modes;

namespace {

struct Stopped {
    ProcResult r;
    double seconds = 0;
    nlohmann::json last;
};

// Waits for `ready`, sends SIGTERM, waits for the exit and returns the last stdout JSON line.
Stopped TermWhen(Process& p, const std::function<bool()>& ready, const std::string& what) {
    bool reached = WaitUntil(ready, 30);
    if (!reached) {
        p.Signal(SIGKILL);
        auto r = p.Wait(10);
        FAIL("never reached: ", what, "\nstdout:\n", r.out, "\nstderr:\n", r.err);
    }
    auto t0 = std::chrono::steady_clock::now();
    p.Signal(SIGTERM);
    Stopped s;
    s.r = p.Wait(30);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(what, ": exited ", s.r.exit_code, " ", s.seconds, " s after SIGTERM");
    auto lines = JsonLines(s.r.out);
    REQUIRE_MESSAGE(!lines.empty(), s.r.All());
    s.last = lines.back();
    INFO("last line: " << s.last.dump());
    CHECK(s.r.exit_code == 143);
    CHECK(s.seconds < 5);
    CHECK(s.last["level"] == "error");
    CHECK(s.last["signal"] == "SIGTERM");
    CHECK(s.last["exit_code"] == 143);
    CHECK(s.last.contains("ts"));
    CHECK(s.r.err.empty());
    return s;
}

// A backend of this test's database whose application_name is `app` is waiting on a lock.
std::function<bool()> WaitingOnLock(const TestDatabase& db, const std::string& app) {
    return [&db, app] {
        return db.Value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                        "application_name = '" +
                        app + "' AND wait_event_type = 'Lock'") != "0";
    };
}

void HoldMonthLock(pgsplit::pg::Connection& holder, const std::string& month) {
    holder.Exec("BEGIN");
    // The key sync takes per month (src/sync/partition_sync.cpp): 'pgsp', hashtext('pgsplit:sync:' || M).
    holder.Exec("SELECT pg_advisory_xact_lock(1885827952, hashtext('pgsplit:sync:" + month + "'))");
}

} // namespace

TEST_SUITE("interrupt-cli") {
    TEST_CASE(
        "migrate: SIGTERM during a slow file rolls that file back and names the files already committed") {
        TestDatabase db;
        ScratchDir dir;
        WriteText(dir / "0001_first.sql", "CREATE TABLE public.first_t (x int);\n");
        WriteText(dir / "0002_slow.sql", "CREATE TABLE public.slow_t (x int);\nSELECT pg_sleep(60);\n");
        Process p({BinaryPath().string(), "migrate", "--dir", dir.Path(), "--log-format", "json"},
                  {{"POSTGRES_DSN", db.Dsn()}});
        auto s = TermWhen(
            p,
            [&] {
                return db.Value(
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                           "application_name = 'pgsplit migrate' AND query LIKE '%pg_sleep(60)%'") != "0";
            },
            "migrate");
        CHECK(s.last["command"] == "migrate");
        CHECK(s.last["msg"] ==
              "interrupted by SIGTERM: migration 0002_slow.sql rolled back; nothing of it is "
              "recorded in public.schema_migrations; already committed: 0001_first.sql");
        CHECK(s.last["rolled_back"] == nlohmann::json::array({"0002_slow.sql"}));
        CHECK(s.last["committed"] == nlohmann::json::array({"0001_first.sql"}));
        CHECK(db.Value("SELECT string_agg(version, ',' ORDER BY version) FROM public.schema_migrations") ==
              "0001");
        CHECK(db.Value("SELECT to_regclass('public.first_t') IS NOT NULL") == "t");
        CHECK(db.Value("SELECT to_regclass('public.slow_t') IS NULL") == "t");
    }

    TEST_CASE("migrate: SIGTERM while waiting for the migration lock says nothing had started") {
        TestDatabase db;
        ScratchDir dir;
        WriteText(dir / "0001_first.sql", "CREATE TABLE public.first_t (x int);\nSELECT pg_sleep(60);\n");
        // The first migrate holds the migration lock while it sleeps; the second one waits for it.
        Process holder({BinaryPath().string(), "migrate", "--dir", dir.Path()}, {{"POSTGRES_DSN", db.Dsn()}});
        REQUIRE(WaitUntil([&] {
            // Not this query itself, whose text also holds the pattern: the holder's statement.
            return db.Value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                            "pid <> pg_backend_pid() AND query LIKE '%pg_sleep(60)%'") != "0";
        }));
        Process p({BinaryPath().string(), "migrate", "--dir", dir.Path()},
                  {{"POSTGRES_DSN", db.Dsn()}, {"CONTAINER_APP_JOB_NAME", "migrate-job"}});
        auto s = TermWhen(
            p, [&] { return Has(p.StdoutSoFar(), "migration lock"); }, "migrate (lock wait)");
        CHECK(s.last["msg"] == "interrupted by SIGTERM before any migration started; nothing to roll back");
        CHECK(s.last["rolled_back"].empty());
        holder.Signal(SIGTERM);
        CHECK(holder.Wait(30).exit_code == 143);
    }

    TEST_CASE("sync-signals: SIGTERM while a month is in flight rolls it back; the month before stays "
              "committed") {
        TestDatabase db;
        MigrateQuietly(db);
        auto holder = db.Connect();
        HoldMonthLock(holder, "2024-02");
        Process p({BinaryPath().string(), "sync-signals", "--month", "2024-01", "--month", "2024-02"}, [&] {
            auto env = SyncEnv(db.Dsn(), "basic");
            env["CONTAINER_APP_JOB_NAME"] = "sync-job";
            return env;
        }());
        auto s = TermWhen(p, WaitingOnLock(db, "pgsplit sync-signals"), "sync-signals");
        holder.Exec("ROLLBACK");
        CHECK(s.last["command"] == "sync-signals");
        CHECK(s.last["msg"] == "interrupted by SIGTERM: month 2024-02 rolled back; ranking_signal and "
                               "composite_signal_daily keep their previous rows; already committed: 2024-01");
        CHECK(s.last["rolled_back"] == nlohmann::json::array({"2024-02"}));
        CHECK(s.last["committed"] == nlohmann::json::array({"2024-01"}));
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-02'") == "0");
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-01'") != "0");
        CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%stage%'") == "0");
    }

    TEST_CASE("sync-signals: SIGTERM mid-COPY of a large month rolls the month back") {
        TestDatabase db;
        MigrateQuietly(db);
        auto env = SyncEnv(db.Dsn(), "big");
        env["CONTAINER_APP_JOB_NAME"] = "sync-job";
        Process p({BinaryPath().string(), "sync-signals", "--month", "2024-06"}, env);
        bool copying = WaitUntil(
            [&] {
                return db.Value(
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                           "application_name = 'pgsplit sync-signals' AND query LIKE 'COPY%'") != "0";
            },
            30);
        // The signal must land mid-COPY: a run that never showed its COPY, or finished anyway, fails.
        if (!copying) {
            auto r = p.Wait(60);
            FAIL("the COPY of 2024-06 was never seen in pg_stat_activity (exit ", r.exit_code,
                 "): ", r.All());
        }
        auto t0 = std::chrono::steady_clock::now();
        p.Signal(SIGTERM);
        auto r = p.Wait(30);
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        MESSAGE("sync-signals mid-COPY: exited ", r.exit_code, " ", secs, " s after SIGTERM");
        REQUIRE_MESSAGE(r.exit_code == 143, "SIGTERM sent mid-COPY did not interrupt the sync: ", r.All());
        CHECK(secs < 5);
        auto lines = JsonLines(r.out);
        REQUIRE_FALSE(lines.empty());
        CHECK(lines.back()["msg"] == "interrupted by SIGTERM: month 2024-06 rolled back; ranking_signal and "
                                     "composite_signal_daily keep their previous rows");
        CHECK(lines.back()["rolled_back"] == nlohmann::json::array({"2024-06"}));
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-06'") == "0");
        CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%stage%'") == "0");
    }

    TEST_CASE("sync-signals in text mode: the same report is the last line on stderr") {
        TestDatabase db;
        MigrateQuietly(db);
        auto holder = db.Connect();
        HoldMonthLock(holder, "2024-01");
        Process p({BinaryPath().string(), "sync-signals", "--month", "2024-01"}, SyncEnv(db.Dsn(), "basic"));
        REQUIRE(WaitUntil(WaitingOnLock(db, "pgsplit sync-signals"), 30));
        p.Signal(SIGTERM);
        auto r = p.Wait(30);
        holder.Exec("ROLLBACK");
        CHECK(r.exit_code == 143);
        auto lines = Lines(r.err);
        REQUIRE(!lines.empty());
        CHECK(lines.back() ==
              "pgsplit: error: interrupted by SIGTERM: month 2024-01 rolled back; ranking_signal "
              "and composite_signal_daily keep their previous rows");
    }

    TEST_CASE("sync NAME: SIGTERM while a partition is in flight rolls it back and names the target") {
        TestDatabase db;
        MigrateQuietly(db);
        CreateCopyTable(db);
        ScratchDir dir;
        WriteText(dir / "pgsplit.yaml", CopyTableConfig());
        auto holder = db.Connect();
        HoldMonthLock(holder, "2024-02");
        Process p({BinaryPath().string(), "--config", dir / "pgsplit.yaml", "--log-format", "json", "sync",
                   "composite_copy", "--partition", "2024-01", "--partition", "2024-02"},
                  {{"POSTGRES_DSN", db.Dsn()}});
        auto s = TermWhen(p, WaitingOnLock(db, "pgsplit sync"), "sync");
        holder.Exec("ROLLBACK");
        CHECK(s.last["command"] == "sync");
        CHECK(s.last["msg"] ==
              "interrupted by SIGTERM: partition 2024-02 rolled back; monitoring.composite_copy "
              "keeps its previous rows; already committed: 2024-01");
        CHECK(db.Value("SELECT count(*) FROM monitoring.composite_copy WHERE year_month = '2024-02'") == "0");
    }

    TEST_CASE("verify: SIGTERM while blocked on a table lock says there is nothing to roll back") {
        TestDatabase db;
        MigrateQuietly(db);
        auto holder = db.Connect();
        holder.Exec("BEGIN");
        holder.Exec("LOCK TABLE ranking.ranking_signal IN ACCESS EXCLUSIVE MODE");
        Process p({BinaryPath().string(), "verify", "--freshness-only", "--log-format", "json"},
                  {{"POSTGRES_DSN", db.Dsn()}});
        auto s = TermWhen(p, WaitingOnLock(db, "pgsplit verify"), "verify");
        holder.Exec("ROLLBACK");
        CHECK(s.last["command"] == "verify");
        CHECK(s.last["msg"] == "interrupted by SIGTERM: nothing to roll back (read-only)");
        CHECK(s.last["read_only"] == true);
    }

    TEST_CASE("provision: SIGTERM during the server create names that step and the steps that remain done") {
        ScratchDir az;
        Process p(
            {BinaryPath().string(), "provision", "--resource-group", "rg-assets", "--server-name",
             "assets-pg", "--location", "eastus"},
            FakeAzEnv(az, "slow-create",
                      {{"PGSPLIT_ADMIN_PASSWORD", "Adm1n-Canary-4f9c2e"}, {"CONTAINER_APP_JOB_NAME", "x"}}));
        auto s = TermWhen(
            p,
            [&] {
                // The fake az records its argv when it starts, then sleeps in the create.
                return Has(pgsplit::test::ReadText(az / "az.log"),
                           "\"create\",\"--resource-group\",\"rg-assets\","
                           "\"--name\",\"assets-pg\"");
            },
            "provision");
        CHECK(s.last["command"] == "provision");
        CHECK(s.last["msg"] ==
              "interrupted by SIGTERM during step 'server', which was stopped; completed steps remain: az, "
              "login, "
              "resource group; re-running provision is safe: each step looks before it acts");
        CHECK(s.last["interrupted_step"] == "server");
        CHECK(s.last["completed_steps"] == nlohmann::json::array({"az", "login", "resource group"}));
        CHECK_FALSE(Has(s.r.All(), "Adm1n-Canary-4f9c2e"));
    }
}
