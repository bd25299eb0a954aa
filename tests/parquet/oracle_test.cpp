// The oracle comparison itself must catch what it claims to: a UTC marker that differs, a double
// one unit in the last place off, a FLOAT whose bits differ, a decimal tolerance that only
// hyparquet's lossy decimals get.

#include "tests/parquet/oracle.h"

#include <doctest/doctest.h>

namespace pgsplit::test::pq {
namespace {

parquet::Cell Text(parquet::CellKind kind, const std::string& s) {
    parquet::Cell c;
    c.kind = kind;
    c.text = s;
    return c;
}

CsvField Field(const std::string& s) {
    return CsvField{s, false};
}

} // namespace

TEST_SUITE("parquet-oracle") {
    TEST_CASE("a CSV timestamp must agree on its UTC adjustment, not only on the clock") {
        auto utc = Text(parquet::CellKind::String, "2009-03-01T00:00:00.000000Z");
        auto local = Text(parquet::CellKind::String, "2009-03-01T00:00:00.000000");
        CHECK(
            CompareCsvCell(utc, false, Field("2009-03-01 00:00:00+00"), "TIMESTAMP WITH TIME ZONE").empty());
        CHECK(CompareCsvCell(local, false, Field("2009-03-01 00:00:00"), "TIMESTAMP").empty());
        CHECK_FALSE(CompareCsvCell(local, false, Field("2009-03-01 00:00:00+00"), "TIMESTAMP WITH TIME ZONE")
                        .empty());
        CHECK_FALSE(CompareCsvCell(utc, false, Field("2009-03-01 00:00:00"), "TIMESTAMP").empty());
        CHECK_FALSE(
            CompareCsvCell(utc, false, Field("2009-03-01 00:00:01+00"), "TIMESTAMP WITH TIME ZONE").empty());
    }

    TEST_CASE("CSV floats are compared exactly: a double one ulp off and a FLOAT with other bits differ") {
        CHECK(CompareCsvCell(Text(parquet::CellKind::Real, "0.1"), false, Field("0.1"), "DOUBLE").empty());
        CHECK_FALSE(CompareCsvCell(Text(parquet::CellKind::Real, "0.1"), false, Field("0.10000000000000002"),
                                   "DOUBLE")
                        .empty());
        CHECK(
            CompareCsvCell(Text(parquet::CellKind::Real, "0.10000000149011612"), false, Field("0.1"), "FLOAT")
                .empty());
        CHECK_FALSE(CompareCsvCell(Text(parquet::CellKind::Real, "0.1"), false, Field("0.10000001"), "FLOAT")
                        .empty());
    }

    TEST_CASE("JSON leaves: UTC markers from DuckDB count, hyparquet's always-Z does not") {
        nlohmann::json mine_local = "2009-03-01T00:00:00.000000";
        CHECK(CompareJson(mine_local, "2009-03-01 00:00:00", Oracle::DuckDb).empty());
        CHECK_FALSE(CompareJson(mine_local, "2009-03-01 00:00:00+00", Oracle::DuckDb).empty());
        CHECK(CompareJson(mine_local, "2009-03-01T00:00:00.000Z", Oracle::Hyparquet).empty());
        CHECK_FALSE(CompareJson(mine_local, "2009-03-01T00:00:01.000Z", Oracle::Hyparquet).empty());
        // An ordinary string that ends in Z is not a timestamp.
        CHECK_FALSE(CompareJson("abcZ", "abc", Oracle::Hyparquet).empty());
    }

    TEST_CASE("JSON numbers are exact except hyparquet's lossy decimals") {
        CHECK(CompareJson(0.1, 0.1, Oracle::DuckDb).empty());
        CHECK_FALSE(CompareJson(0.1, 0.10000000000000002, Oracle::DuckDb).empty());
        CHECK_FALSE(CompareJson(0.1, 0.10000000000000002, Oracle::Hyparquet).empty());
        // pgsplit's exact decimal text against hyparquet's double: within 1e-12 relative.
        CHECK(CompareJson("12345678901234567.89", 12345678901234568.0, Oracle::Hyparquet).empty());
        CHECK_FALSE(CompareJson("1.5", 1.5000000000000002, Oracle::DuckDb).empty());
        CHECK_FALSE(CompareJson("1.5", 1.5000001, Oracle::Hyparquet).empty());
        // A FLOAT leaf by its 32 bits.
        CHECK(CompareJson(static_cast<double>(0.1f), 0.1, Oracle::DuckDb).empty());
        CHECK_FALSE(CompareJson(static_cast<double>(0.1f), 0.1000001, Oracle::DuckDb).empty());
    }
}

} // namespace pgsplit::test::pq
