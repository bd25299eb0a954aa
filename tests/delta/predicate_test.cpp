// Unit tests of the bound predicate at its three levels: files (partition values and log stats of
// DuckDB-written fixtures), row groups (chunk statistics) and the rows of a batch.
#include "core/error.h"
#include "delta/predicate.h"
#include "storage/storage.h"
#include "support/paths.h"

#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>

namespace delta = pgsplit::delta;
namespace parquet = pgsplit::parquet;
using pgsplit::ExitCode;

namespace {

delta::Snapshot Load(const std::string& name) {
    auto root = pgsplit::test::FixturesDir() / "delta" / name;
    REQUIRE_MESSAGE(std::filesystem::is_directory(root / "_delta_log"),
                    "fixture table missing: ", root.string(), " (run scripts/fixtures.sh)");
    delta::Table table(pgsplit::storage::OpenLocalStorage(root.string()));
    return table.LoadSnapshot();
}

size_t FilesMatching(const delta::Snapshot& snap, const delta::Predicate& p) {
    delta::BoundPredicate bound(p, snap);
    size_t n = 0;
    for (const auto& f : snap.Files()) {
        n += bound.MayMatchFile(f) ? 1 : 0;
    }
    return n;
}

std::string Int64Bytes(int64_t v) {
    std::string s(8, '\0');
    std::memcpy(s.data(), &v, 8);
    return s;
}

} // namespace

TEST_SUITE("delta") {
    TEST_CASE("a predicate on a plain column selects files by their log stats, IS NULL by null counts") {
        // unpartitioned: file k holds months k+1 and k+2 of 2024; the last one also a NULL month.
        auto snap = Load("unpartitioned");
        REQUIRE(snap.Files().size() == 4);
        CHECK(FilesMatching(snap, {"year_month", "2024-01"}) == 1);
        CHECK(FilesMatching(snap, {"year_month", "2024-03"}) == 2);
        CHECK(FilesMatching(snap, {"year_month", "2023-12"}) == 0);
        CHECK(FilesMatching(snap, {"year_month", std::nullopt}) == 1);
        // n runs 0..24000 over the four files, 6000 a file: an integer parsed once, compared by value.
        CHECK(FilesMatching(snap, {"n", "6500"}) == 1);
        CHECK(FilesMatching(snap, {"n", "-1"}) == 0);
        CHECK(FilesMatching(snap, {"n", "not a number"}) == 4); // stats cannot tell
    }

    TEST_CASE("a predicate on a partition column compares typed values, and a bad value is refused") {
        auto snap = Load("ranking_signal");
        REQUIRE(snap.IsPartitionColumn("year_month"));
        size_t all = snap.Files().size();
        size_t one = FilesMatching(snap, {"year_month", "2024-01"});
        CHECK(one > 0);
        CHECK(one < all);
        CHECK(FilesMatching(snap, {"year_month", "1999-01"}) == 0);
        CHECK_THROWS_AS(delta::BoundPredicate({"no_such_column", "x"}, snap), pgsplit::Error);
    }

    TEST_CASE("row groups are skipped by integer stats and by ASCII string stats only") {
        auto snap = Load("unpartitioned");
        parquet::Column n_leaf;
        n_leaf.physical = parquet::Physical::Int64;
        n_leaf.logical = {parquet::Logical::Int, 64};
        parquet::ChunkInfo chunk;
        chunk.stats.min = Int64Bytes(100);
        chunk.stats.max = Int64Bytes(200);
        chunk.stats.null_count = 0;
        CHECK(delta::BoundPredicate({"n", "150"}, snap).MayMatchRowGroup(chunk, n_leaf));
        CHECK_FALSE(delta::BoundPredicate({"n", "201"}, snap).MayMatchRowGroup(chunk, n_leaf));
        CHECK_FALSE(delta::BoundPredicate({"n", std::nullopt}, snap).MayMatchRowGroup(chunk, n_leaf));

        parquet::Column s_leaf;
        s_leaf.physical = parquet::Physical::ByteArray;
        s_leaf.logical.kind = parquet::Logical::String;
        parquet::ChunkInfo strings;
        strings.stats.min = "2024-02";
        strings.stats.max = "2024-03";
        CHECK_FALSE(delta::BoundPredicate({"year_month", "2024-04"}, snap).MayMatchRowGroup(strings, s_leaf));
        // Legacy writers ordered bytes as signed: above 0x7f the stats cannot rule a value out.
        strings.stats.max = "2024-03\xc3\xa9";
        CHECK(delta::BoundPredicate({"year_month", "2024-04"}, snap).MayMatchRowGroup(strings, s_leaf));
    }

    TEST_CASE("rows of a batch match by value; NULL matches only IS NULL") {
        auto snap = Load("unpartitioned");
        parquet::Column leaf;
        leaf.physical = parquet::Physical::ByteArray;
        leaf.logical.kind = parquet::Logical::String;
        parquet::ColumnBatch b;
        b.Reset(&leaf);
        b.size = 4;
        b.defined = {1, 0, 1, 1};
        std::string text = "2024-012024-022024-01";
        b.bytes.assign(text.begin(), text.end());
        b.offsets = {0, 7, 7, 14, 21};
        std::vector<uint8_t> keep;
        CHECK(delta::BoundPredicate({"year_month", "2024-01"}, snap).Match(b, keep) == 2);
        CHECK(keep == std::vector<uint8_t>{1, 0, 0, 1});
        CHECK(delta::BoundPredicate({"year_month", std::nullopt}, snap).Match(b, keep) == 1);
        CHECK(keep == std::vector<uint8_t>{0, 1, 0, 0});

        parquet::Column ints;
        ints.physical = parquet::Physical::Int64;
        parquet::ColumnBatch n;
        n.Reset(&ints);
        n.size = 3;
        n.defined = {1, 1, 1};
        n.i64 = {5, 6, 5};
        CHECK(delta::BoundPredicate({"n", "5"}, snap).Match(n, keep) == 2);
        CHECK(delta::BoundPredicate({"n", "five"}, snap).Match(n, keep) == 0);
    }
}
