#include "core/error.h"
#include "migrate/source.h"

#include <doctest/doctest.h>

using pgsplit::migrate::Checksum;
using pgsplit::migrate::LoadEmbedded;
using pgsplit::migrate::MakeMigration;
using pgsplit::migrate::NormalizeSql;

TEST_SUITE("migrate") {
    TEST_CASE("normalizing removes a BOM and turns CRLF and CR into LF") {
        CHECK(NormalizeSql("\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;\rSELECT 3;\n") ==
              "SELECT 1;\nSELECT 2;\nSELECT 3;\n");
        CHECK(NormalizeSql("no change\n") == "no change\n");
    }

    TEST_CASE("a file with CRLF line endings and a BOM has the same checksum as its LF twin") {
        auto lf = MakeMigration("0005_x.sql", "CREATE TABLE t (a int);\nSELECT 1;\n", "test");
        auto crlf = MakeMigration("0005_x.sql",
                                  "\xEF\xBB\xBF"
                                  "CREATE TABLE t (a int);\r\nSELECT 1;\r\n",
                                  "test");
        CHECK(lf.checksum == crlf.checksum);
        CHECK(lf.checksum.rfind("sha256:", 0) == 0);
        CHECK(lf.checksum.size() == 7 + 64);
    }

    TEST_CASE("the checksum is the sha256 of the normalized text") {
        // sha256("") is a well-known constant.
        CHECK(Checksum("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    TEST_CASE("file names give version and description; bad names are refused") {
        auto f = MakeMigration("0003_ranking_signals.sql", "SELECT 1;", "test");
        CHECK(f.version == "0003");
        CHECK(f.description == "ranking signals");
        CHECK_THROWS_AS(MakeMigration("ranking.sql", "", "test"), pgsplit::Error);
        CHECK_THROWS_AS(MakeMigration("3-ranking.sql", "", "test"), pgsplit::Error);
    }

    TEST_CASE("the no-transaction directive is recognized on its own line only") {
        CHECK(MakeMigration("0006_i.sql",
                            "-- pgsplit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n", "t")
                  .no_transaction);
        CHECK(MakeMigration("0006_i.sql", "SELECT 1;\n  --  pgsplit:no-transaction  \n", "t").no_transaction);
        CHECK_FALSE(MakeMigration("0006_i.sql", "SELECT '-- pgsplit:no-transaction';\n", "t").no_transaction);
    }

    TEST_CASE("the binary carries migrations 0001 to 0006 in order") {
        auto files = LoadEmbedded();
        REQUIRE(files.size() == 6);
        CHECK(files[0].name == "0001_schema_migrations.sql");
        CHECK(files[1].name == "0002_init_schemas.sql");
        CHECK(files[2].name == "0003_ranking_signals.sql");
        CHECK(files[3].name == "0004_backtest_runs.sql");
        CHECK(files[4].name == "0005_sync_digests.sql");
        CHECK(files[5].name == "0006_legacy_ledger_error.sql");
        for (const auto& f : files) {
            CHECK_FALSE(f.no_transaction);
        }
    }
}
