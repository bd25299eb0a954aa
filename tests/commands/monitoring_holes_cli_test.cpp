// Monitoring holes opened by an operator's mistakes (issue 21, item 5), through the built binary:
// a month that exists nowhere is refused and leaves no ledger row, freshness counts only months with
// rows, and a failed attempt after a success says that the month's data is still that success's.
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using pgsplit::test::CopyTableConfig;
using pgsplit::test::CreateCopyTable;
using pgsplit::test::MigrateQuietly;
using pgsplit::test::RunPgsplit;
using pgsplit::test::RunSyncSignals;
using pgsplit::test::ScratchDir;
using pgsplit::test::SyncEnv;
using pgsplit::test::SyncScenario;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;

namespace {

bool Has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

size_t Occurrences(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

std::string Ledger(const TestDatabase& db, const std::string& month, const std::string& expr) {
    return db.Value("SELECT " + expr + " FROM ranking.signal_sync_state WHERE year_month = '" + month + "'");
}

std::string Partitions(const TestDatabase& db, const std::string& parent) {
    return db.Value("SELECT count(*) FROM pg_inherits WHERE inhparent = '" + parent + "'::regclass");
}

} // namespace

TEST_SUITE("monitoring-holes") {
    TEST_CASE("sync: a month neither Delta nor Postgres has is refused with exit 7 and recorded nowhere") {
        TestDatabase db;
        MigrateQuietly(db);
        // basic holds 2024-01 and 2024-02: 2024-05 is a mistyped month.
        auto r = RunSyncSignals(db, "basic", {"--month", "2024-05"});
        CHECK(r.exit_code == 7);
        CHECK(Has(r.err, "no rows for year_month = 2024-05 in Delta (ranking_signal, composite_signal_daily) "
                         "nor in PostgreSQL (ranking.ranking_signal, ranking.composite_signal_daily); "
                         "refusing to sync an empty month (nothing changed, nothing recorded)"));
        CHECK(Has(r.err, "hint: check --month; pass --allow-empty to record an empty month"));
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state") == "0");
        CHECK(Partitions(db, "ranking.ranking_signal") == "0");
        CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%stage%'") == "0");

        // With --json: the month's entry says why, the exit code is still 7.
        auto json = RunPgsplit({"--json", "sync-signals", "--month", "2024-05"}, SyncEnv(db.Dsn(), "basic"));
        CHECK(json.exit_code == 7);
        auto doc = nlohmann::json::parse(json.out);
        CHECK(doc["ok"] == false);
        REQUIRE(doc["months"].size() == 1);
        CHECK(doc["months"][0]["exit_code"] == 7);
        CHECK(Has(doc["months"][0]["error"].get<std::string>(), "no rows for year_month = 2024-05"));
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state") == "0");

        // A range: per month, as other failures are. The months with rows are synced and recorded, the
        // empty one is refused and not recorded, and the run exits 7.
        auto range = RunSyncSignals(db, "basic", {"--from", "2024-01", "--to", "2024-03"});
        CHECK(range.exit_code == 7);
        CHECK(Has(range.err, "no rows for year_month = 2024-03 in Delta"));
        CHECK(db.Value("SELECT string_agg(year_month || ':' || status, ',' ORDER BY year_month) FROM "
                       "ranking.signal_sync_state") == "2024-01:success,2024-02:success");

        // --allow-empty records the empty month on purpose.
        auto allowed = RunSyncSignals(db, "basic", {"--month", "2024-05", "--allow-empty"});
        CHECK_MESSAGE(allowed.exit_code == 0, allowed.All());
        CHECK(Ledger(db, "2024-05", "status || ':' || signals_rows || ':' || composite_rows") ==
              "success:0:0");
    }

    TEST_CASE("sync NAME: an empty partition is refused the same way, the hint names --partition") {
        TestDatabase db;
        MigrateQuietly(db);
        CreateCopyTable(db);
        ScratchDir dir;
        WriteText(dir / "pgsplit.yaml", CopyTableConfig());
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", db.Dsn()}};
        auto r = RunPgsplit({"--config", dir / "pgsplit.yaml", "sync", "composite_copy", "--partition",
                             "2024-05", "--partition", "2024-01"},
                            env);
        CHECK(r.exit_code == 7);
        CHECK(Has(r.err, "no rows for year_month = 2024-05 in Delta (composite_copy) nor in PostgreSQL "
                         "(monitoring.composite_copy)"));
        CHECK(Has(r.err, "hint: check --partition; pass --allow-empty to record an empty month"));
        // The other partition went through.
        CHECK(Partitions(db, "monitoring.composite_copy") == "1");
        CHECK(db.Value("SELECT count(*) FROM monitoring.composite_copy WHERE year_month = '2024-05'") == "0");
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state") == "0");
        auto allowed = RunPgsplit({"--config", dir / "pgsplit.yaml", "sync", "composite_copy", "--partition",
                                   "2024-05", "--allow-empty"},
                                  env);
        CHECK_MESSAGE(allowed.exit_code == 0, allowed.All());
    }

    TEST_CASE("verify: freshness comes from the newest success of a month with rows, not an empty one") {
        TestDatabase db;
        MigrateQuietly(db);
        std::map<std::string, std::string> pg = {{"POSTGRES_DSN", db.Dsn()}};
        // Only an empty month recorded (on purpose): no data has ever been synced.
        REQUIRE(RunSyncSignals(db, "basic", {"--month", "2024-05", "--allow-empty"}).exit_code == 0);
        auto empty = RunPgsplit({"verify", "--freshness-only"}, pg);
        CHECK(empty.exit_code == 5);
        CHECK(Has(empty.out, "freshness: FAIL: no successful sync of a month with rows is recorded in "
                             "ranking.signal_sync_state"));

        // A month with rows synced three days ago, then the empty month again just now: still stale.
        REQUIRE(RunSyncSignals(db, "basic", {"--month", "2024-01"}).exit_code == 0);
        db.Connect().Exec("UPDATE ranking.signal_sync_state SET synced_at = now() - interval '3 days' "
                          "WHERE year_month = '2024-01'");
        REQUIRE(RunSyncSignals(db, "basic", {"--month", "2024-05", "--allow-empty"}).exit_code == 0);
        auto stale = RunPgsplit({"--json", "verify", "--freshness-only", "--max-age", "36h"}, pg);
        CHECK(stale.exit_code == 5);
        auto doc = nlohmann::json::parse(stale.out);
        CHECK(doc["freshness"]["ok"] == false);
        CHECK(doc["freshness"]["age_seconds"].get<int64_t>() >= 3 * 86400);
        CHECK(Has(doc["freshness"]["problem"].get<std::string>(), "is older than --max-age 36h"));

        // A fresh sync of a month with rows turns it green.
        REQUIRE(RunSyncSignals(db, "basic", {"--month", "2024-02"}).exit_code == 0);
        auto fresh = RunPgsplit({"--json", "verify", "--freshness-only", "--month", "2024-02"}, pg);
        CHECK_MESSAGE(fresh.exit_code == 0, fresh.All());
        CHECK(nlohmann::json::parse(fresh.out)["freshness"]["ok"] == true);
    }

    TEST_CASE("a failed attempt after a success: the row and verify say the data is the success's") {
        TestDatabase db;
        MigrateQuietly(db);
        REQUIRE(RunSyncSignals(db, "basic", {"--month", "2024-01"}).exit_code == 0);
        std::string synced_at = Ledger(db, "2024-01",
                                       "to_char(synced_at AT TIME ZONE 'UTC', "
                                       "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
        std::string rows = Ledger(db, "2024-01", "signals_rows || ' + ' || composite_rows");
        REQUIRE(rows == "450 + 120");
        // A mistyped table path, twice: each attempt is recorded, the note is not repeated.
        for (int i = 0; i < 2; ++i) {
            auto r =
                RunSyncSignals(db, "basic", {"--month", "2024-01", "--signals-table", "/nonexistent/table"});
            CHECK(r.exit_code == 7);
        }
        CHECK(Ledger(db, "2024-01", "status") == "failed");
        CHECK(Ledger(db, "2024-01", "last_error_at IS NOT NULL") == "t");
        CHECK(Ledger(db, "2024-01", "signals_rows || ' + ' || composite_rows") == rows);
        std::string error = Ledger(db, "2024-01", "error");
        CHECK(Has(error, "/nonexistent/table"));
        CHECK(Has(error,
                  "; the month's data is from the successful sync at " + synced_at + " (450 + 120 rows)"));
        CHECK(Occurrences(error, "the month's data is from") == 1);
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-01'") == "450");

        auto env = SyncEnv(db.Dsn(), "basic");
        auto v = RunPgsplit({"verify", "--month", "2024-01"}, env);
        CHECK(v.exit_code == 5); // the attempt failed: still reported
        CHECK(Has(v.out, "2024-01: last attempt failed at "));
        CHECK(Has(v.out, "; the data is from the successful sync at "));
        CHECK(Occurrences(v.out, "the data is from") == 1);
        CHECK_FALSE(Has(v.out, "the month's data is from")); // the ledger's note is not repeated
        // The data itself matches Delta, and the month's last success keeps freshness green.
        CHECK_FALSE(Has(v.out, "Delta has"));
        CHECK(Has(v.out, "freshness: ok"));

        auto j = RunPgsplit({"--json", "verify", "--month", "2024-01"}, env);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["months"][0]["state"] == "failed");
        CHECK(doc["months"][0]["synced_at"] == synced_at);
        CHECK(doc["months"][0]["last_error_at"].is_string());
        CHECK_FALSE(Has(doc["months"][0]["error"].get<std::string>(), "the month's data is from"));
        CHECK(doc["freshness"]["ok"] == true);

        // A failure of a month never synced says so; the next success clears the error.
        auto never =
            RunSyncSignals(db, "basic", {"--month", "2024-02", "--signals-table", "/nonexistent/table"});
        CHECK(never.exit_code == 7);
        CHECK_FALSE(Has(Ledger(db, "2024-02", "error"), "the month's data is from"));
        auto v2 = RunPgsplit({"verify", "--month", "2024-02"}, env);
        CHECK(Has(v2.out, "2024-02: the last sync failed at "));
        CHECK(Has(v2.out, "; no successful sync is recorded"));
        REQUIRE(RunSyncSignals(db, "basic", {"--month", "2024-01"}).exit_code == 0);
        CHECK(Ledger(db, "2024-01", "status || ':' || coalesce(error, 'none')") == "success:none");
    }
}
