// Tables written by engines with deletion vectors and column mapping, synced into the real
// PostgreSQL: the rows a DV deletes never arrive, a column-mapped table maps by logical name, and
// verify's Delta counts for a DV table come from the log alone.

#include "migrate/migrator.h"
#include "support/oracle.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace pgsplit::test {
namespace fs = std::filesystem;

TEST_SUITE("sync") {
    TEST_CASE("sync-signals of a table with deletion vectors: the deleted rows never reach Postgres, and "
              "verify counts it without opening a data file") {
        TestDatabase db;
        MigrateQuietly(db);
        auto want = SyncExpected("dvs");
        for (const char* month : {"2024-01", "2024-02"}) {
            CAPTURE(month);
            auto r = RunSyncSignals(db, "dvs", {"--month", month});
            REQUIRE_MESSAGE(r.exit_code == 0, r.All());
            for (const std::string table : {"ranking_signal", "composite_signal_daily"}) {
                CHECK(OracleGot(db, want, table, month) == OracleWant(want, table, "latest", month));
            }
        }
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-01'") == "97");
        CHECK(db.Value("SELECT signals_rows FROM ranking.signal_sync_state WHERE year_month = '2024-01'") ==
              "97");

        // verify on a copy of the tables whose data files are gone: the counts come from numRecords minus
        // each DV's cardinality, so it passes; had it opened a file it would fail.
        ScratchDir copy;
        for (const std::string table : {"ranking_signal", "composite_signal_daily"}) {
            fs::create_directories(copy.Root() / table / "_delta_log");
            fs::copy(SyncScenario("dvs") / table / "_delta_log", copy.Root() / table / "_delta_log",
                     fs::copy_options::recursive);
        }
        auto env = SyncEnv(db.Dsn(), "dvs");
        env["PGSPLIT_SIGNALS_TABLE"] = (copy.Root() / "ranking_signal").string();
        env["PGSPLIT_COMPOSITE_TABLE"] = (copy.Root() / "composite_signal_daily").string();
        auto v = RunPgsplit({"verify", "--month", "2024-01", "--month", "2024-02", "--json"}, env);
        REQUIRE_MESSAGE(v.exit_code == 0, v.All());
        auto j = nlohmann::json::parse(v.out);
        REQUIRE(j["months"].size() == 2);
        CHECK(j["months"][0]["month"] == "2024-01");
        CHECK(j["months"][0]["tables"]["ranking_signal"]["delta_rows"] == 97);
        CHECK(j["months"][0]["tables"]["ranking_signal"]["postgres_rows"] == 97);
        CHECK(j["months"][1]["tables"]["ranking_signal"]["delta_rows"] == 80);
    }

    TEST_CASE("sync NAME of a column-mapped table (id mode) maps columns by logical name") {
        TestDatabase db;
        MigrateQuietly(db);
        db.Connect().Exec(
            "CREATE TABLE monitoring.mapped (\"Symbol Name\" TEXT NOT NULL, rank INTEGER, month TEXT NOT "
            "NULL, PRIMARY KEY (\"Symbol Name\", month)) PARTITION BY LIST (month)");
        ScratchDir dir;
        WriteText(dir / "pgsplit.yaml",
                  "tables:\n  mapped:\n    source: " + (FixturesDir() / "delta-features" / "cm_id").string() +
                      "\n    target: monitoring.mapped\n    partition_column: month\n");
        auto r = RunPgsplit(
            {"--config", dir / "pgsplit.yaml", "sync", "mapped", "--partition", "2024-02", "--json"},
            {{"POSTGRES_DSN", db.Dsn()}});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(
            db.Value("SELECT string_agg(\"Symbol Name\" || '=' || coalesce(rank::text, 'NULL'), ',' ORDER BY "
                     "\"Symbol Name\") FROM monitoring.mapped") ==
            "T0=100,T1=101,T2=102,T3=103,U0=NULL,U1=NULL,U2=NULL");
    }
}

} // namespace pgsplit::test
