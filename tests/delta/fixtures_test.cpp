// Tables written by an independent writer (tests/fixtures/delta.mjs: DuckDB Parquet + delta-rs style
// log): predicate overwrites across checkpoints, the phase-2 signal schema, stats skipping on a
// non-partition column and schema evolution.

#include "core/error.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "tests/delta/delta_test_util.h"
#include "tests/support/paths.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace pgsplit::test {
namespace {
namespace fs = std::filesystem;

fs::path FixtureDir() {
    return FixturesDir() / "delta";
}

fs::path Fixture(const std::string& name) {
    fs::path p = FixtureDir() / name;
    REQUIRE_MESSAGE(
        fs::is_directory(p / "_delta_log"), "fixture table missing: ", p.string(),
        " (generate it with: cd tests/fixtures && npm ci && node delta.mjs, or scripts/fixtures.sh)");
    return p;
}

nlohmann::json Meta(const std::string& name) {
    return nlohmann::json::parse(ReadFile(FixtureDir() / (name + ".meta.json")));
}

// Every month of a table partitioned (or not) by year_month reads exactly the expected rows, through
// the columnar scan (pruned) and the JSON rows, and its stats count equals the expected count.
void CheckMonths(const std::string& name, const std::vector<std::string>& columns = {}) {
    fs::path root = Fixture(name);
    auto meta = Meta(name);
    delta::Table table(storage::OpenLocalStorage(root.string()));
    auto snap = table.LoadSnapshot();
    CHECK(snap.Version() == meta["version"].get<int64_t>());
    CHECK(static_cast<int64_t>(snap.Files().size()) == meta["active_files"].get<int64_t>());
    auto cols = columns.empty() ? SchemaColumns(snap) : columns;
    fs::path expected = FixtureDir() / (name + ".expected.jsonl");
    for (const auto& item : meta["months"].items()) {
        const std::string month = item.key(); // not a structured binding: doctest's macros capture it
        const auto& info = item.value();
        CAPTURE(month);
        delta::Predicate pred{"year_month", month};
        CanonRows want = ExpectedRows(expected, snap.GetSchema(), cols, "year_month", month);
        CHECK(static_cast<int64_t>(want.size()) == info["rows"].get<int64_t>());
        CanonRows got = RowsViaScan(snap, table.GetStorage(), cols, pred);
        CHECK_MESSAGE(want == got, name, " ", month, ": ", DiffRows(want, got));
        if (snap.IsPartitionColumn("year_month")) {
            auto files = snap.SelectFiles(&pred);
            CHECK(static_cast<int64_t>(files.size()) == info["files"].get<int64_t>());
            CHECK(delta::Snapshot::CountRecords(files).value() == info["rows"].get<int64_t>());
        }
    }
    // And the whole table through the JSON rows path.
    auto all = SchemaColumns(snap);
    CanonRows want = ExpectedRows(expected, snap.GetSchema(), all);
    CanonRows got = RowsViaReadRows(snap, table.GetStorage(), all);
    CHECK_MESSAGE(want == got, name, " (all rows): ", DiffRows(want, got));
}

} // namespace

TEST_SUITE("delta") {
    TEST_CASE(
        "fixture: 30 predicate overwrites with checkpoints at 10 and 20 keep the last rows of every month") {
        CheckMonths("overwrites");
        delta::Table table(storage::OpenLocalStorage(Fixture("overwrites").string()));
        auto snap = table.LoadSnapshot();
        CHECK(snap.CheckpointVersion().value() == 20);
        CHECK(snap.CommitsRead() == 10);
        CHECK(snap.GetProtocol().min_reader_version == 3);
        CHECK(snap.GetProtocol().reader_features.value() == std::vector<std::string>{"timestampNtz"});
        CHECK(snap.GetSchema().Find("ts")->type.kind == delta::TypeKind::TimestampNtz);
        // Earlier versions come from the earlier checkpoint or from the commits alone.
        CHECK(table.LoadSnapshot(15).CheckpointVersion().value() == 10);
        CHECK_FALSE(table.LoadSnapshot(9).CheckpointVersion().has_value());
        CHECK(table.LoadSnapshot(10).CommitsRead() == 0);
    }

    TEST_CASE(
        "fixture: ranking_signal and composite_signal_daily read by name in the target's column order") {
        CheckMonths("ranking_signal", {"date", "year_month", "symbol", "strategy", "rank", "rank_percentile",
                                       "n_symbols", "score"});
        CheckMonths("ranking_signal", {"score", "symbol", "year_month"}); // any order, any subset
        CheckMonths("composite_signal_daily", {"date", "year_month", "symbol", "composite_percentile",
                                               "composite_rank", "strategies_present", "strategies_hit"});
    }

    TEST_CASE("fixture: a year_month that is not a partition column: stats skip files and row groups, rows "
              "filtered") {
        CheckMonths("unpartitioned");
        delta::Table table(storage::OpenLocalStorage(Fixture("unpartitioned").string()));
        auto snap = table.LoadSnapshot();
        delta::Predicate mid{"year_month", "2024-03"};
        // Files hold months [k, k+2): 2024-03 lives in files 1 and 2 only.
        CHECK(snap.SelectFiles(&mid).size() == 2);
        delta::Scan scan(snap, table.GetStorage(), {{"symbol", "n"}, mid, 4096});
        delta::ScanBatch batch;
        int64_t rows = 0;
        while (scan.Next(batch)) {
            REQUIRE(batch.columns.size() == 2); // the filter column is read but not handed out
            rows += static_cast<int64_t>(batch.size);
            // n counts rows across files of 6000 rows, so a row's number in its file is n % 6000.
            for (size_t i = 0; i < batch.size; ++i) {
                CHECK(batch.RowNumber(i) == batch.columns[1].i64[i] % 6000);
            }
        }
        CHECK(rows == 6000); // 3000 rows of the month in each of the two files
        CHECK(scan.Counters().files_opened == 2);
        CHECK(scan.Counters().row_groups_skipped > 0);
        // IS NULL selects the one row without a month.
        delta::Predicate null_month{"year_month", std::nullopt};
        CHECK(RowsViaScan(snap, table.GetStorage(), {"symbol"}, null_month) == CanonRows{"NULLMONTH | "});
        // A month no file holds: nothing is opened.
        delta::Predicate none{"year_month", "2030-01"};
        delta::Scan empty(snap, table.GetStorage(), {{"symbol"}, none, 4096});
        CHECK_FALSE(empty.Next(batch));
        CHECK(empty.Counters().files_opened == 0);
    }

    TEST_CASE("fixture: files written before a column existed yield NULL for it") {
        CheckMonths("schema_evolution", {"date", "year_month", "symbol", "score"});
        delta::Table table(storage::OpenLocalStorage(Fixture("schema_evolution").string()));
        auto snap = table.LoadSnapshot();
        auto rows = RowsViaScan(snap, table.GetStorage(), {"symbol", "score"});
        CHECK(rows == CanonRows{"NEW1 | 1.5 | ", "NEW2 | 3 | ", "OLD1 | <null> | ", "OLD2 | <null> | ",
                                "OLD3 | <null> | "});
        // At version 0 the column does not exist yet.
        auto v0 = table.LoadSnapshot(0);
        CHECK(v0.GetSchema().Find("score") == nullptr);
        CHECK_THROWS_AS(delta::Scan(v0, table.GetStorage(), {{"score"}, std::nullopt, 4096}), Error);
    }

    TEST_CASE("scan: only partition columns wanted still yields one row per record") {
        delta::Table table(storage::OpenLocalStorage(Fixture("ranking_signal").string()));
        auto snap = table.LoadSnapshot();
        delta::Predicate feb{"year_month", "2024-02"};
        auto got = RowsViaScan(snap, table.GetStorage(), {"year_month"}, feb);
        CHECK(static_cast<int64_t>(got.size()) ==
              Meta("ranking_signal")["months"]["2024-02"]["rows"].get<int64_t>());
    }
}

} // namespace pgsplit::test
