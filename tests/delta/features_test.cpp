// Reader features other engines write (issue: deletion vectors, column mapping, v2 checkpoints, type
// widening), on tables from tests/fixtures/delta_features.mjs: DuckDB wrote the data files, the test
// generator built the logs and DV files from the protocol's formats, and DuckDB computed the expected
// rows (deleted positions left out by file_row_number, widened columns CAST to the new type).

#include "core/error.h"
#include "delta/deletion_vector.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "support/process.h"
#include "tests/delta/delta_test_util.h"
#include "tests/support/paths.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace pgsplit::test {
namespace {
namespace fs = std::filesystem;

fs::path FeatureDir() {
    return FixturesDir() / "delta-features";
}

fs::path FeatureTable(const std::string& name) {
    fs::path p = FeatureDir() / name;
    REQUIRE_MESSAGE(fs::is_directory(p / "_delta_log"), "fixture table missing: ", p.string(),
                    " (generate it with scripts/fixtures.sh)");
    return p;
}

// Reads `name` both ways and compares with DuckDB's rows; returns the snapshot's feature list.
std::vector<std::string> CheckFeatureTable(const std::string& name) {
    CAPTURE(name);
    fs::path root = FeatureTable(name);
    auto meta = nlohmann::json::parse(ReadFile(FeatureDir() / (name + ".meta.json")));
    delta::Table table(storage::OpenLocalStorage(root.string()));
    delta::Snapshot snap = table.LoadSnapshot();
    CHECK(snap.Version() == meta["version"].get<int64_t>());
    CHECK(static_cast<int64_t>(snap.Files().size()) == meta["files"].get<int64_t>());
    auto columns = SchemaColumns(snap);
    CanonRows want = ExpectedRows(FeatureDir() / (name + ".expected.jsonl"), snap.GetSchema(), columns);
    REQUIRE(!want.empty());
    CanonRows read = RowsViaReadRows(snap, table.GetStorage(), columns);
    CHECK_MESSAGE(want == read, name, " (ReadRows): ", DiffRows(want, read));
    CanonRows scanned = RowsViaScan(snap, table.GetStorage(), columns);
    CHECK_MESSAGE(want == scanned, name, " (Scan): ", DiffRows(want, scanned));
    if (auto count = delta::Snapshot::CountRecords(snap.SelectFiles(nullptr))) {
        CHECK(*count == static_cast<int64_t>(want.size()));
    }
    return snap.FeaturesInUse();
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST_SUITE("delta-features") {
    TEST_CASE(
        "deletion vectors in a shared file at offsets and behind a prefix leave exactly their rows out") {
        auto features = CheckFeatureTable("dv_on_disk");
        CHECK(Has(features, "deletionVectors"));
        // Counting needs no data file: numRecords minus cardinality.
        delta::Table table(storage::OpenLocalStorage(FeatureTable("dv_on_disk").string()));
        auto snap = table.LoadSnapshot();
        auto meta = nlohmann::json::parse(ReadFile(FeatureDir() / "dv_on_disk.meta.json"));
        CHECK(delta::Snapshot::CountRecords(snap.SelectFiles(nullptr)).value() ==
              meta["physical_rows"].get<int64_t>() - meta["deleted_rows"].get<int64_t>());
        delta::ScanOptions only_id;
        only_id.columns = {"id"};
        delta::Scan scan(snap, table.GetStorage(), only_id);
        delta::ScanBatch batch;
        while (scan.Next(batch)) {
        }
        CHECK(scan.Counters().rows_deleted == meta["deleted_rows"].get<int64_t>());
    }

    TEST_CASE("an inline deletion vector replacing an older one (remove and add keyed by DV)") {
        CheckFeatureTable("dv_inline");
    }

    TEST_CASE("deletion vectors carried by a checkpoint, with month pruning") {
        CheckFeatureTable("dv_checkpoint");
        delta::Table table(storage::OpenLocalStorage(FeatureTable("dv_checkpoint").string()));
        auto snap = table.LoadSnapshot();
        CHECK(snap.CheckpointVersion() == 1);
        CHECK(snap.CommitsRead() == 0);
        delta::Predicate march{"year_month", "2024-03"};
        CHECK(delta::Snapshot::CountRecords(snap.SelectFiles(&march)).value() == 80);
        auto rows = RowsViaScan(snap, table.GetStorage(), {"id"}, march);
        CHECK(rows.size() == 80);
    }

    TEST_CASE("column mapping in id mode: columns found by field id whatever the file calls them") {
        auto features = CheckFeatureTable("cm_id");
        CHECK(Has(features, "columnMapping"));
        delta::Table table(storage::OpenLocalStorage(FeatureTable("cm_id").string()));
        auto snap = table.LoadSnapshot();
        CHECK(snap.ColumnMapping() == delta::MappingMode::Id);
        // Partition values and stats were keyed by physical name in the log; pruning uses logical ones.
        delta::Predicate feb{"month", "2024-02"};
        CHECK(snap.SelectFiles(&feb).size() == 2);
        delta::Predicate rank{"rank", "20"};
        CHECK(snap.SelectFiles(&rank).size() == 2); // p2's stats (100..103) exclude it; p3 has none
        CHECK(RowsViaScan(snap, table.GetStorage(), {"Symbol Name"}, rank) == CanonRows{"S2 | "});
    }

    TEST_CASE("v2 checkpoints with sidecars, in JSON and in Parquet, stand in for deleted commits") {
        for (const char* name : {"v2_sidecars_json", "v2_sidecars_parquet"}) {
            auto features = CheckFeatureTable(name);
            CHECK(Has(features, "v2Checkpoint"));
            delta::Table table(storage::OpenLocalStorage(FeatureTable(name).string()));
            auto snap = table.LoadSnapshot();
            CHECK(snap.CheckpointVersion() == 1);
            CHECK(snap.CheckpointFiles().size() == 3); // the checkpoint and its two sidecars
        }
    }

    TEST_CASE("files written before a type widening are read at the table's current types") {
        auto features = CheckFeatureTable("widened");
        CHECK(Has(features, "typeWidening"));
        // A predicate on a widened column matches old files' values at the new type (row-group stats of
        // the old type must not skip them).
        delta::Table table(storage::OpenLocalStorage(FeatureTable("widened").string()));
        auto snap = table.LoadSnapshot();
        const auto& m = snap.GetSchema().Find("m")->type;
        CHECK(RowsViaScan(snap, table.GetStorage(), {"m"}, delta::Predicate{"k", "-3"}) ==
              CanonRows{CanonCsv(std::string("-2.0000"), m) + " | "});
        CHECK(RowsViaScan(snap, table.GetStorage(), {"m"}, delta::Predicate{"k", "20000000000"}) ==
              CanonRows{CanonCsv(std::string("2.4690"), m) + " | "});
    }

    TEST_CASE("a missing sidecar, a sidecar outside _sidecars and a lying checkpointMetadata are refused") {
        ScratchDir t;
        CopyTree(FeatureTable("v2_sidecars_json"), t.Root());
        const fs::path log = t.Root() / "_delta_log";
        fs::path checkpoint;
        for (const auto& e : fs::directory_iterator(log)) {
            if (e.path().filename().string().find(".checkpoint.") != std::string::npos) {
                checkpoint = e.path();
            }
        }
        REQUIRE(!checkpoint.empty());
        const std::string original = ReadFile(checkpoint);
        auto load_error = [&]() -> std::string {
            try {
                delta::Table table(storage::OpenLocalStorage(t.Str()));
                table.LoadSnapshot();
            } catch (const Error& e) {
                CHECK(e.code() == ExitCode::Source);
                return e.what();
            }
            return "<no error>";
        };
        // A sidecar path that climbs out of _sidecars/.
        std::string hostile = original;
        auto at = hostile.find("\"path\":\"");
        REQUIRE(at != std::string::npos);
        hostile.insert(at + 8, "../../");
        WriteFile(checkpoint, hostile);
        std::string err = load_error();
        CHECK_MESSAGE(err.find("sidecar path '../../") != std::string::npos, err);
        CHECK(err.find(checkpoint.filename().string()) != std::string::npos);
        // checkpointMetadata naming another version.
        std::string lying = original;
        auto v = lying.find("{\"checkpointMetadata\":{\"version\":1}}");
        REQUIRE(v != std::string::npos);
        lying.replace(v, 36, "{\"checkpointMetadata\":{\"version\":7}}");
        WriteFile(checkpoint, lying);
        err = load_error();
        CHECK_MESSAGE(err.find("checkpointMetadata says version 7") != std::string::npos, err);
        // A sidecar that is gone.
        WriteFile(checkpoint, original);
        for (const auto& e : fs::directory_iterator(log / "_sidecars")) {
            fs::remove(e.path());
            break;
        }
        err = load_error();
        CHECK_MESSAGE(err.find("_sidecars/") != std::string::npos, err);
    }
}

} // namespace pgsplit::test
