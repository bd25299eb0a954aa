// One partition value through SyncPartition, as `pgsplit sync NAME` runs it: what an invalid row's
// message names when the row filter dropped rows before it. Fixture: filtered_invalid in
// tests/fixtures/delta.mjs (DuckDB), whose meta.json records the bad row's place in its data file.
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"
#include "tests/delta/delta_test_util.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using pgsplit::test::RunPgsplit;
using pgsplit::test::TestDatabase;
namespace fs = std::filesystem;

namespace {

fs::path FilteredInvalid() {
    fs::path p = pgsplit::test::FixturesDir() / "delta" / "filtered_invalid";
    REQUIRE_MESSAGE(fs::exists(p / "_delta_log"),
                    "delta fixtures are missing: run scripts/fixtures.sh (expected ", p.string(), ")");
    return p;
}

std::string DataFile(const fs::path& table) {
    for (const auto& e : fs::directory_iterator(table)) {
        if (e.path().extension() == ".parquet") {
            return e.path().filename().string();
        }
    }
    FAIL("no data file in ", table.string());
    return "";
}

} // namespace

TEST_SUITE("sync") {
    TEST_CASE("an invalid row after rows the filter dropped is named by its row in the data file") {
        fs::path table = FilteredInvalid();
        auto meta = nlohmann::json::parse(
            pgsplit::test::ReadFile(table.parent_path() / "filtered_invalid.meta.json"));
        int64_t bad_row = meta.at("bad_row").get<int64_t>();
        REQUIRE(bad_row > 3000); // past the 3000 rows of 2024-01 that the filter drops

        TestDatabase db;
        pgsplit::test::MigrateQuietly(db);
        // Unpartitioned (the delete strategy) and LIST-partitioned (the swap) name the row alike.
        db.Connect().ExecScript(
            "CREATE TABLE monitoring.filtered_plain (year_month TEXT NOT NULL, symbol TEXT, n SMALLINT);"
            "CREATE TABLE monitoring.filtered_list (year_month TEXT NOT NULL, symbol TEXT, n SMALLINT) "
            "PARTITION BY LIST (year_month);");
        pgsplit::test::ScratchDir dir;
        std::string yaml = "tables:\n";
        for (const char* name : {"filtered_plain", "filtered_list"}) {
            yaml += fmt::format("  {0}:\n    source: {1}\n    target: monitoring.{0}\n    partition_column: "
                                "year_month\n",
                                name, table.string());
        }
        pgsplit::test::WriteText(dir / "pgsplit.yaml", yaml);
        std::string want =
            fmt::format("{}', row {}, column 'n': out of range for smallint", DataFile(table), bad_row);

        for (const char* name : {"filtered_plain", "filtered_list"}) {
            CAPTURE(name);
            auto run = [&](std::vector<std::string> extra) {
                std::vector<std::string> args = {"--config", dir / "pgsplit.yaml", "sync",
                                                 name,       "--partition",        "2024-02"};
                args.insert(args.end(), extra.begin(), extra.end());
                return RunPgsplit(args, {{"POSTGRES_DSN", db.Dsn()}});
            };
            auto failed = run({});
            CHECK_MESSAGE(failed.exit_code == 7, failed.All());
            CHECK_MESSAGE(failed.err.find(want) != std::string::npos, failed.All());
            CHECK(db.Connect().QueryValue(fmt::format("SELECT count(*) FROM monitoring.{}", name)) == "0");

            auto skipped = run({"--skip-invalid"});
            CHECK_MESSAGE(skipped.exit_code == 0, skipped.All());
            CHECK_MESSAGE(skipped.err.find(want) != std::string::npos, skipped.All());
            CHECK(db.Connect().QueryValue(fmt::format("SELECT count(*) FROM monitoring.{} WHERE year_month = "
                                                      "'2024-02'",
                                                      name)) == "2999");
        }
    }
}
