// SPEC promises that had no test of their own (issue 22, section 5), each checked through the built
// binary against the throwaway cluster and the DuckDB-written fixtures (tests/fixtures/sync.mjs).
#include "support/oracle.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"

#include <chrono>
#include <csignal>
#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

using pgsplit::test::BinaryPath;
using pgsplit::test::CopyTableConfig;
using pgsplit::test::CreateCopyTable;
using pgsplit::test::OracleGot;
using pgsplit::test::OracleWant;
using pgsplit::test::Process;
using pgsplit::test::ProcResult;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;

namespace {

nlohmann::json Expected(const std::string& name) {
    return pgsplit::test::SyncExpected(name);
}

std::map<std::string, std::string> Env(const TestDatabase& db, const std::string& scenario) {
    return pgsplit::test::SyncEnv(db.Dsn(), scenario);
}

void Migrate(const TestDatabase& db) {
    auto r = RunPgsplit({"migrate"}, {{"POSTGRES_DSN", db.Dsn()}});
    REQUIRE_MESSAGE(r.exit_code == 0, r.All());
}

ProcResult Sync(const TestDatabase& db, const std::string& scenario, std::vector<std::string> args,
                std::map<std::string, std::string> extra = {}) {
    return pgsplit::test::RunSyncSignals(db, scenario, std::move(args), extra);
}

// Polls `sql` (a count) until it is not "0"; false after `seconds`.
bool WaitFor(const TestDatabase& db, const std::string& sql, double seconds = 60) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (db.Value(sql) != "0") {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::string Status(const TestDatabase& db, const std::string& month) {
    return db.Value("SELECT status FROM ranking.signal_sync_state WHERE year_month = '" + month + "'");
}

std::string DeadRows(const TestDatabase& db, const std::string& relname) {
    return db.Value("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '" + relname + "'");
}

const char* kUnreachable = "host=127.0.0.1 port=1 user=nobody dbname=nothing connect_timeout=3";

} // namespace

TEST_SUITE("spec-promises") {
    TEST_CASE("--strategy delete and swap given explicitly; a swap leaves no dead rows, a delete does") {
        TestDatabase db;
        Migrate(db);
        auto want = Expected("basic");
        REQUIRE(Sync(db, "basic", {"--month", "2024-01", "--delta-version", "1"}).exit_code == 0);
        // delete on a partitioned target: DELETE + COPY into the existing partition.
        auto del = Sync(db, "basic", {"--month", "2024-01", "--strategy", "delete"});
        REQUIRE_MESSAGE(del.exit_code == 0, del.All());
        CHECK(del.err.find("delete") != std::string::npos);
        CHECK(db.Value("SELECT strategy FROM ranking.signal_sync_state WHERE year_month = '2024-01'") ==
              "delete");
        CHECK(OracleGot(db, want, "ranking_signal", "2024-01") ==
              OracleWant(want, "ranking_signal", "latest", "2024-01"));
        // The positive control of the measurement: the deleted rows are dead tuples of the partition.
        CHECK(std::stoll(DeadRows(db, "ranking_signal_p2024_01")) > 0);
        auto swap = Sync(db, "basic", {"--month", "2024-01", "--strategy", "swap"});
        REQUIRE_MESSAGE(swap.exit_code == 0, swap.All());
        CHECK(db.Value("SELECT strategy FROM ranking.signal_sync_state WHERE year_month = '2024-01'") ==
              "swap");
        CHECK(OracleGot(db, want, "ranking_signal", "2024-01") ==
              OracleWant(want, "ranking_signal", "latest", "2024-01"));
        // SPEC §6: stage + swap leaves no dead rows for VACUUM.
        CHECK(DeadRows(db, "ranking_signal_p2024_01") == "0");
        CHECK(DeadRows(db, "composite_signal_daily_p2024_01") == "0");
        // swap on a table that is not list-partitioned is refused, nothing changed.
        TestDatabase legacy;
        legacy.Connect().Exec(
            "CREATE TABLE public.plain (date DATE NOT NULL, year_month TEXT NOT NULL, symbol TEXT, "
            "composite_rank INTEGER)");
        ScratchDir dir;
        WriteText(dir / "pgsplit.yaml", CopyTableConfig("public.plain"));
        auto refused = RunPgsplit({"--config", dir / "pgsplit.yaml", "sync", "composite_copy", "--partition",
                                   "2024-02", "--strategy", "swap"},
                                  {{"POSTGRES_DSN", legacy.Dsn()}});
        CHECK(refused.exit_code == 2);
        CHECK(refused.err.find("--strategy swap needs public.plain to be PARTITION BY LIST") !=
              std::string::npos);
        CHECK(legacy.Value("SELECT count(*) FROM public.plain") == "0");
    }

    TEST_CASE("a timestamp not at midnight is refused for a DATE column (exit 7, nothing written); "
              "--truncate-timestamps keeps its date") {
        TestDatabase db;
        Migrate(db);
        auto want = Expected("timestamps");
        auto refused = Sync(db, "timestamps", {"--month", "2024-01"});
        CHECK(refused.exit_code == 7);
        CHECK(refused.err.find("timestamp is not at midnight") != std::string::npos);
        CHECK(refused.err.find("--truncate-timestamps") != std::string::npos);
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "0");
        auto kept = Sync(db, "timestamps", {"--month", "2024-01", "--truncate-timestamps"});
        REQUIRE_MESSAGE(kept.exit_code == 0, kept.All());
        // The dates DuckDB gives for the UTC timestamps, every other value as written.
        CHECK(OracleGot(db, want, "ranking_signal", "2024-01") ==
              OracleWant(want, "ranking_signal", "latest", "2024-01"));
        CHECK(OracleGot(db, want, "composite_signal_daily", "2024-01") ==
              OracleWant(want, "composite_signal_daily", "latest", "2024-01"));
    }

    TEST_CASE("a NOT NULL target column Delta lacks is refused (exit 7) before anything changes") {
        TestDatabase db;
        Migrate(db);
        CreateCopyTable(db, ", extra INTEGER NOT NULL");
        ScratchDir dir;
        WriteText(dir / "pgsplit.yaml", CopyTableConfig("monitoring.composite_copy"));
        auto r =
            RunPgsplit({"--config", dir / "pgsplit.yaml", "sync", "composite_copy", "--partition", "2024-02"},
                       {{"POSTGRES_DSN", db.Dsn()}});
        CHECK(r.exit_code == 7);
        CHECK(r.err.find("column 'extra' is NOT NULL") != std::string::npos);
        CHECK(
            db.Value(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'monitoring.composite_copy'::regclass") ==
            "0");
        CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%stage%'") == "0");
    }

    TEST_CASE("without --config, ./pgsplit.yaml of the working directory is read") {
        TestDatabase db;
        Migrate(db);
        CreateCopyTable(db);
        ScratchDir dir;
        WriteText(dir / "pgsplit.yaml", CopyTableConfig("monitoring.composite_copy"));
        Process p({"/bin/bash", "-c",
                   "cd '" + dir.Path() + "' && exec '" + BinaryPath().string() +
                       "' sync composite_copy --partition 2024-02"},
                  {{"POSTGRES_DSN", db.Dsn()}});
        auto r = p.Wait();
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto want = Expected("basic");
        CHECK(OracleGot(db, want, "composite_copy", "2024-02", "monitoring.composite_copy") ==
              OracleWant(want, "composite_copy", "latest", "2024-02"));
        // Elsewhere (no pgsplit.yaml) the same command does not know the table.
        ScratchDir empty;
        Process q({"/bin/bash", "-c",
                   "cd '" + empty.Path() + "' && exec '" + BinaryPath().string() +
                       "' sync composite_copy --partition 2024-02"},
                  {{"POSTGRES_DSN", db.Dsn()}});
        CHECK(q.Wait().exit_code == 3);
    }

    TEST_CASE("sync exits 6 when a reader holds the parent through every swap retry; nothing changed") {
        TestDatabase db;
        Migrate(db);
        REQUIRE(Sync(db, "basic", {"--month", "2024-01", "--delta-version", "1"}).exit_code == 0);
        auto want = Expected("basic");
        auto reader = db.Connect();
        reader.ExecScript("BEGIN; SELECT count(*) FROM ranking.ranking_signal");
        auto r =
            Sync(db, "basic", {"--month", "2024-01", "--swap-lock-timeout", "100ms", "--swap-retries", "2"});
        reader.Exec("ROLLBACK");
        CHECK_MESSAGE(r.exit_code == 6, r.All());
        CHECK(OracleGot(db, want, "ranking_signal", "2024-01") ==
              OracleWant(want, "ranking_signal", "v1", "2024-01"));
        CHECK(Status(db, "2024-01") == "failed");
    }

    TEST_CASE("SIGINT while a month waits for its lock: exit 130, the month untouched") {
        TestDatabase db;
        Migrate(db);
        auto holder = db.Connect();
        holder.Exec("BEGIN");
        // The key sync takes per month (src/sync/partition_sync.cpp): 'pgsp', hashtext('pgsplit:sync:' || M).
        holder.Exec("SELECT pg_advisory_xact_lock(1885827952, hashtext('pgsplit:sync:2024-01'))");
        Process p({BinaryPath().string(), "sync-signals", "--month", "2024-01"}, Env(db, "basic"));
        bool waiting =
            WaitFor(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                        "application_name = 'pgsplit sync-signals' AND wait_event_type = 'Lock'");
        p.Signal(SIGINT);
        auto r = p.Wait(30);
        holder.Exec("ROLLBACK");
        REQUIRE_MESSAGE(waiting, r.All());
        CHECK_MESSAGE(r.exit_code == 130, r.All());
        CHECK(r.err.find("SIGINT") != std::string::npos);
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "0");
    }

    TEST_CASE("sync-signals, verify and runs exit 4 when Postgres cannot be reached") {
        TestDatabase db; // only for the fixture paths
        auto env = Env(db, "basic");
        env["POSTGRES_DSN"] = kUnreachable;
        auto sync = RunPgsplit({"sync-signals", "--month", "2024-01"}, env);
        CHECK_MESSAGE(sync.exit_code == 4, sync.All());
        auto verify = RunPgsplit({"verify", "--month", "2024-01"}, env);
        CHECK_MESSAGE(verify.exit_code == 4, verify.All());
        auto runs = RunPgsplit({"runs", "list"}, {{"POSTGRES_DSN", kUnreachable}});
        CHECK_MESSAGE(runs.exit_code == 4, runs.All());
    }

    TEST_CASE("POSTGRES_SIGNALS_WRITE_REQUIRED=false: a lost connection mid-COPY exits 0 and is recorded") {
        TestDatabase db;
        Migrate(db);
        Process p({BinaryPath().string(), "sync-signals", "--month", "2024-06"}, [&] {
            auto env = Env(db, "big");
            env["POSTGRES_SIGNALS_WRITE_REQUIRED"] = "false";
            return env;
        }());
        const std::string mine =
            " FROM pg_stat_activity WHERE datname = current_database() AND application_name = "
            "'pgsplit sync-signals' AND query LIKE 'COPY%'";
        bool copying = WaitFor(db, "SELECT count(*)" + mine);
        std::string killed = copying ? db.Value("SELECT count(pg_terminate_backend(pid))" + mine) : "0";
        auto r = p.Wait(60);
        REQUIRE_MESSAGE(killed == "1", r.All());
        CHECK_MESSAGE(r.exit_code == 0, r.All());
        CHECK(Status(db, "2024-06") == "failed");
        CHECK(db.Value("SELECT error <> '' FROM ranking.signal_sync_state WHERE year_month = '2024-06'") ==
              "t");
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "0");
    }

    TEST_CASE("verify --from/--to checks exactly that range; an unreadable Delta table is exit 7, an "
              "unreachable one exit 4") {
        TestDatabase db;
        Migrate(db);
        REQUIRE(Sync(db, "basic", {"--month", "2024-01", "--month", "2024-02"}).exit_code == 0);
        db.Connect().Exec("DELETE FROM ranking.ranking_signal WHERE year_month = '2024-02' AND rank = 1");
        auto jan = RunPgsplit({"--json", "verify", "--from", "2024-01", "--to", "2024-01"}, Env(db, "basic"));
        CHECK_MESSAGE(jan.exit_code == 0, jan.All());
        auto j = nlohmann::json::parse(jan.out);
        CHECK(j["months_checked"] == 1);
        CHECK(j["months"][0]["month"] == "2024-01");
        auto both =
            RunPgsplit({"--json", "verify", "--from", "2024-01", "--to", "2024-02"}, Env(db, "basic"));
        CHECK(both.exit_code == 5); // 2024-02 lost rows
        CHECK(nlohmann::json::parse(both.out)["months_checked"] == 2);
        auto env = Env(db, "basic");
        env["PGSPLIT_SIGNALS_TABLE"] = "/nonexistent/ranking_signal";
        auto unreadable = RunPgsplit({"verify", "--month", "2024-01"}, env);
        CHECK_MESSAGE(unreadable.exit_code == 7, unreadable.All());
        // A storage account nobody listens for (port 1): exit 4, not a source error.
        env["PGSPLIT_SIGNALS_TABLE"] = "abfss://c@devstoreaccount1.dfs.core.windows.net/ranking_signal";
        env["PGSPLIT_COMPOSITE_TABLE"] =
            "abfss://c@devstoreaccount1.dfs.core.windows.net/composite_signal_daily";
        env["AZURE_STORAGE_ENDPOINT"] = "http://127.0.0.1:1";
        env["AZURE_STORAGE_KEY"] = // Azurite's published dev key (the canary scan knows it)
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        auto t0 = std::chrono::steady_clock::now();
        auto unreachable = RunPgsplit({"verify", "--month", "2024-01"}, env);
        MESSAGE("verify against an unreachable account gave up after "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
        CHECK_MESSAGE(unreachable.exit_code == 4, unreachable.All());
    }

    TEST_CASE("migrate: --statement-timeout is set for each file: files under it apply, one over it fails "
              "unrecorded") {
        TestDatabase db;
        ScratchDir dir;
        // Each file stays under 1.5 s, all three together do not: the bound is per file.
        WriteText(dir / "0001_a.sql", "SELECT pg_sleep(0.6);\n");
        WriteText(dir / "0002_b.sql", "SELECT pg_sleep(0.6);\n");
        WriteText(dir / "0003_c.sql", "SELECT pg_sleep(0.6);\n");
        auto ok = RunPgsplit({"migrate", "--dir", dir.Path(), "--statement-timeout", "1500ms"},
                             {{"POSTGRES_DSN", db.Dsn()}});
        CHECK_MESSAGE(ok.exit_code == 0, ok.All());
        CHECK(db.Value("SELECT count(*) FROM public.schema_migrations") == "3");
        WriteText(dir / "0004_slow.sql", "SELECT pg_sleep(3);\n");
        auto slow = RunPgsplit({"migrate", "--dir", dir.Path(), "--statement-timeout", "1500ms"},
                               {{"POSTGRES_DSN", db.Dsn()}});
        CHECK(slow.exit_code != 0);
        CHECK(slow.err.find("statement timeout") != std::string::npos);
        CHECK(db.Value("SELECT count(*) FROM public.schema_migrations WHERE version = '0004'") == "0");
    }

    TEST_CASE("migrate: the stored checksum is the SHA-256 of the file, as sha256sum computes it") {
        TestDatabase db;
        Migrate(db);
        Process sum({"/bin/sh", "-c",
                     "sha256sum '" +
                         (pgsplit::test::SourceDir() / "migrations" / "0001_schema_migrations.sql").string() +
                         "' | cut -d' ' -f1"},
                    {});
        auto hex = sum.Wait();
        REQUIRE(hex.exit_code == 0);
        std::string want = "sha256:" + hex.out.substr(0, 64);
        CHECK(db.Value("SELECT checksum FROM public.schema_migrations WHERE version = '0001'") == want);
    }

    TEST_CASE(
        "migrate from the CLI: baseline --version, --dry-run, --out-of-order and --json of plan, validate, "
        "repair and baseline") {
        TestDatabase db;
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", db.Dsn()}};
        auto plan = RunPgsplit({"--json", "migrate", "plan"}, env);
        REQUIRE_MESSAGE(plan.exit_code == 0, plan.All());
        CHECK(nlohmann::json::parse(plan.out).dump().find("0004") != std::string::npos);
        auto dry = RunPgsplit({"migrate", "--dry-run"}, env);
        CHECK(dry.exit_code == 0);
        CHECK(db.Value("SELECT to_regclass('backtest.runs') IS NULL") == "t");
        auto baseline = RunPgsplit({"--json", "migrate", "baseline", "--version", "0002"}, env);
        REQUIRE_MESSAGE(baseline.exit_code == 0, baseline.All());
        CHECK(nlohmann::json::parse(baseline.out).is_object()); // a JSON document
        CHECK(db.Value("SELECT string_agg(version, ',' ORDER BY version) FROM public.schema_migrations") ==
              "0001,0002");
        // 0002 was recorded, not run: its schemas do not exist.
        CHECK(db.Value("SELECT count(*) FROM pg_namespace WHERE nspname = 'gold'") == "0");
        auto validate = RunPgsplit({"--json", "migrate", "validate"}, env);
        CHECK(validate.exit_code == 5); // 0003 and 0004 are pending
        CHECK(nlohmann::json::parse(validate.out).is_object());
        auto repair = RunPgsplit({"--json", "migrate", "repair"}, env);
        CHECK_MESSAGE(repair.exit_code == 0, repair.All());
        CHECK(nlohmann::json::parse(repair.out).is_object());

        // --out-of-order: a pending file older than the newest applied one.
        TestDatabase db2;
        std::map<std::string, std::string> env2 = {{"POSTGRES_DSN", db2.Dsn()}};
        ScratchDir dir;
        WriteText(dir / "0001_a.sql", "CREATE TABLE public.a (x int);\n");
        WriteText(dir / "0003_c.sql", "CREATE TABLE public.c (x int);\n");
        REQUIRE(RunPgsplit({"migrate", "--dir", dir.Path()}, env2).exit_code == 0);
        WriteText(dir / "0002_b.sql", "CREATE TABLE public.b (x int);\n");
        auto refused = RunPgsplit({"migrate", "--dir", dir.Path()}, env2);
        CHECK(refused.exit_code != 0);
        CHECK(db2.Value("SELECT to_regclass('public.b') IS NULL") == "t");
        auto allowed = RunPgsplit({"migrate", "--dir", dir.Path(), "--out-of-order"}, env2);
        CHECK_MESSAGE(allowed.exit_code == 0, allowed.All());
        CHECK(db2.Value("SELECT to_regclass('public.b') IS NOT NULL") == "t");
    }

    TEST_CASE("a migrate waiting for the lock names the holder's client address and since when") {
        TestDatabase db;
        pgsplit::test::EnsureRole("pgsplit_lock_holder", "Holder-Canary-3e8a1c");
        db.Connect().Exec("GRANT CONNECT ON DATABASE " + db.Name() + " TO pgsplit_lock_holder");
        auto holder = pgsplit::pg::Connection::Open(
            pgsplit::test::TcpDsn("pgsplit_lock_holder", "Holder-Canary-3e8a1c", db.Name()),
            "test-lock-holder");
        auto key = db.Value(
            "SELECT ('x' || substr(encode(sha256(convert_to('pgsplit:migrate:' || current_database() || "
            "':public.schema_migrations', 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint");
        holder.Exec("SELECT pg_advisory_lock(" + key + ")");
        auto r = RunPgsplit({"migrate", "--lock-wait", "1s"}, {{"POSTGRES_DSN", db.Dsn()}});
        CHECK(r.exit_code == 6);
        CHECK(r.err.find("pid " + std::to_string(holder.BackendPid())) != std::string::npos);
        CHECK(r.err.find("client 127.0.0.1") != std::string::npos);
        std::string since = db.Value("SELECT to_char(backend_start AT TIME ZONE 'UTC', "
                                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_stat_activity WHERE pid = " +
                                     std::to_string(holder.BackendPid()));
        REQUIRE_FALSE(since.empty());
        CHECK(r.err.find("connected since " + since) != std::string::npos);
    }
}
