// The row digest both sides of verify --content compute: pgsplit from COPY fields, the server from
// the send functions (sync/row_digest.h). The expected field bytes here are written by hand from
// PostgreSQL's binary formats, so the server's SQL and the hasher are each checked against the
// format, not against each other only.
#include "support/pg_cluster.h"
#include "sync/row_digest.h"
#include "sync/target.h"

#include <cstring>
#include <doctest/doctest.h>
#include <string>
#include <vector>

using pgsplit::sync::ContentDigest;
using pgsplit::sync::RowHasher;
using pgsplit::test::TestDatabase;

namespace {

std::string Be(uint64_t v, int bytes) {
    std::string out;
    for (int i = bytes - 1; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    return out;
}

std::string Field(const std::string& value) {
    return Be(value.size(), 4) + value;
}

const std::string kNull = Be(0xffffffffu, 4);

uint64_t Bits(double d) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    return u;
}

uint32_t Bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

} // namespace

TEST_SUITE("sync") {
    TEST_CASE("row digest text: round trip, and anything else in the ledger column is refused") {
        ContentDigest d;
        d.Add(0xfedcba9876543210ULL);
        d.Add(0x0123456789abcdefULL);
        CHECK(d.rows == 2);
        CHECK(d.sum == 0xffffffffffffffffULL);
        CHECK(d.Text() == "v1:2:ffffffffffffffff");
        CHECK(ContentDigest::Parse(d.Text()) == d);
        CHECK(ContentDigest::Parse("v1:0:0000000000000000") == ContentDigest{});
        for (const char* bad :
             {"", "v1:", "v1:2:fffffffffffffff", "v1:2:fffffffffffffffff", "v2:2:ffffffffffffffff",
              "v1:-2:ffffffffffffffff", "v1:2:FFFFFFFFFFFFFFFF", "v1:x:ffffffffffffffff",
              "v1:99999999999999999999999:ffffffffffffffff", "v1::ffffffffffffffff"}) {
            CAPTURE(bad);
            CHECK_FALSE(ContentDigest::Parse(bad).has_value());
        }
    }

    TEST_CASE("row digest from the server's numeric sum: reduced modulo 2^64, NULL only for no rows") {
        CHECK(ContentDigest::FromServer(1, "-1")->sum == 0xffffffffffffffffULL);
        CHECK(ContentDigest::FromServer(3, "18446744073709551617")->sum == 1);
        CHECK(ContentDigest::FromServer(3, "-18446744073709551617")->sum == 0xffffffffffffffffULL);
        CHECK(ContentDigest::FromServer(0, "")->sum == 0);
        CHECK_FALSE(ContentDigest::FromServer(2, "").has_value());
        CHECK_FALSE(ContentDigest::FromServer(2, "12.5").has_value());
        CHECK_FALSE(ContentDigest::FromServer(2, "-").has_value());
    }

    TEST_CASE("PgHashBytesExtended equals the server's hashtextextended for every length and seed") {
        TestDatabase db;
        auto conn = db.Connect();
        std::string text;
        uint32_t x = 12345;
        for (int len = 0; len <= 200; ++len) {
            for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{0x123456789abcdefULL}, ~uint64_t{0}}) {
                CAPTURE(len);
                CAPTURE(seed);
                auto server = conn.QueryValue("SELECT hashtextextended($1, $2::bigint)",
                                              {text, std::to_string(static_cast<int64_t>(seed))});
                REQUIRE(server.has_value());
                CHECK(pgsplit::sync::PgHashBytesExtended(reinterpret_cast<const unsigned char*>(text.data()),
                                                         text.size(),
                                                         seed) == static_cast<uint64_t>(std::stoll(*server)));
            }
            // The next length, with printable ASCII and UTF-8 bytes above 0x7f.
            x = x * 1103515245u + 12345u;
            text += (x >> 16) % 5 == 0 ? std::string("\xc3\xa9")
                                       : std::string(1, static_cast<char>(33 + (x >> 16) % 90));
        }
    }

    TEST_CASE("row digest: the server's SQL hashes each type's binary form exactly as the hasher does") {
        TestDatabase db;
        auto conn = db.Connect();
        conn.Exec("CREATE TABLE t (id int4 NOT NULL, b bool, s int2, i int4, l int8, f float4, d float8, "
                  "x text, v varchar(10), y bytea, dt date, ts timestamp, tz timestamptz)");
        conn.Exec("INSERT INTO t VALUES (1, true, -2, 42, -5000000000000, '-0', 'Infinity'::float8 - "
                  "'Infinity'::float8, 'grüße', '', '\\x00ff'::bytea, '1999-12-31', '2000-01-01 00:00:01', "
                  "'2024-01-01 00:00:00+00')");
        conn.Exec("INSERT INTO t (id) VALUES (2)");
        conn.Exec(
            "INSERT INTO t VALUES (3, false, 32767, -1, 1, 'NaN', 0.1, 'a''b\\c', 'x', '', '2024-02-29', "
            "'1970-01-01 00:00:00', '1999-12-31 23:59:59.999999+00')");
        auto target = pgsplit::sync::ReadTarget(conn, "public.t");
        REQUIRE(target.columns.size() == 13);

        std::vector<std::string> rows(3);
        // Row 1. Dates count days from 2000-01-01, timestamps microseconds from it; text is UTF-8.
        rows[0] = Field(Be(1, 4)) + Field("\x01") + Field(Be(static_cast<uint16_t>(-2), 2)) +
                  Field(Be(42, 4)) + Field(Be(static_cast<uint64_t>(-5000000000000LL), 8)) +
                  Field(Be(Bits(-0.0f), 4)) +
                  Field(Be(0x7ff8000000000000ULL, 8)) + // any NaN hashes as this one
                  Field("gr\xc3\xbc\xc3\x9f"
                        "e") +
                  Field("") + Field(std::string("\x00\xff", 2)) + Field(Be(static_cast<uint32_t>(-1), 4)) +
                  Field(Be(1000000, 8)) + Field(Be(8766ULL * 86400 * 1000000, 8));
        rows[1] = Field(Be(2, 4));
        for (int i = 0; i < 12; ++i) {
            rows[1] += kNull;
        }
        rows[2] = Field(Be(3, 4)) + Field(std::string(1, '\0')) + Field(Be(32767, 2)) +
                  Field(Be(0xffffffffu, 4)) + Field(Be(1, 8)) + Field(Be(0x7fc00000u, 4)) +
                  Field(Be(Bits(0.1), 8)) + Field("a'b\\c") + Field("x") + Field("") + Field(Be(8825, 4)) +
                  Field(Be(static_cast<uint64_t>(-10957LL * 86400 * 1000000), 8)) +
                  Field(Be(static_cast<uint64_t>(-1), 8));

        auto r =
            conn.Exec("SELECT " + pgsplit::sync::RowHashSql(conn, target.columns) + " FROM t ORDER BY id");
        REQUIRE(r.Rows() == 3);
        RowHasher hasher(target.columns);
        ContentDigest mine;
        for (int i = 0; i < 3; ++i) {
            CAPTURE(i);
            uint64_t want = static_cast<uint64_t>(std::stoll(r.Get(i, 0)));
            CHECK(hasher.Hash(rows[static_cast<size_t>(i)].data(), rows[static_cast<size_t>(i)].size()) ==
                  want);
            mine.Add(want);
        }
        auto sum =
            conn.Exec("SELECT count(*), sum(" + pgsplit::sync::RowHashSql(conn, target.columns) + ") FROM t");
        CHECK(ContentDigest::FromServer(sum.GetInt(0, 0), sum.Get(0, 1)) == mine);

        // The hasher canonicalises NaN itself: the sign-bit NaN of row 1 as PostgreSQL stores it.
        std::string negative_nan = rows[0];
        size_t at = negative_nan.find(Be(0x7ff8000000000000ULL, 8));
        REQUIRE(at != std::string::npos);
        negative_nan.replace(at, 8, Be(0xfff8000000000000ULL, 8));
        CHECK(hasher.Hash(negative_nan.data(), negative_nan.size()) ==
              static_cast<uint64_t>(std::stoll(r.Get(0, 0))));
        // ... and nothing else: -0.0 and 0.0 differ.
        std::string plus_zero = rows[0];
        at = plus_zero.find(Be(Bits(-0.0f), 4));
        plus_zero.replace(at, 4, Be(0, 4));
        CHECK(hasher.Hash(plus_zero.data(), plus_zero.size()) !=
              static_cast<uint64_t>(std::stoll(r.Get(0, 0))));
    }

    TEST_CASE("row fields: split by their lengths, shown as values, malformed ones refused") {
        using pgsplit::sync::FieldText;
        using pgsplit::sync::PgType;
        std::string row = Field(Be(7, 4)) + kNull + Field("abc");
        std::vector<std::string> fields;
        REQUIRE(pgsplit::sync::SplitFields(row.data(), row.size(), 3, fields));
        CHECK(FieldText(PgType::Int4, fields[0]) == "7");
        CHECK(FieldText(PgType::Text, fields[1]) == "NULL");
        CHECK(FieldText(PgType::Text, fields[2]) == "abc");
        CHECK_FALSE(pgsplit::sync::SplitFields(row.data(), row.size(), 2, fields)); // bytes left over
        CHECK_FALSE(pgsplit::sync::SplitFields(row.data(), row.size(), 4, fields)); // too few
        std::string past_end = Be(100, 4) + "ab";
        CHECK_FALSE(pgsplit::sync::SplitFields(past_end.data(), past_end.size(), 1, fields));
        std::string negative = Be(static_cast<uint32_t>(-2), 4);
        CHECK_FALSE(pgsplit::sync::SplitFields(negative.data(), negative.size(), 1, fields));

        CHECK(FieldText(PgType::Date, Field(Be(static_cast<uint32_t>(-1), 4))) == "1999-12-31");
        CHECK(FieldText(PgType::Float8, Field(Be(Bits(-0.0), 8))) == "-0");
        CHECK(FieldText(PgType::Float8, Field(Be(0xfff8000000000000ULL, 8))) == "NaN");
        CHECK(FieldText(PgType::TimestampTz, Field(Be(1000001, 8))) == "2000-01-01 00:00:01.000001Z");
        CHECK(FieldText(PgType::Text, Field("a\nb")) == "a\\x0ab"); // a control character cannot break a line
        CHECK(FieldText(PgType::Int4, Field("12")) == "\\x3132");   // the wrong length for the type: bytes
    }
}
