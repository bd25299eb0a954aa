// The binary COPY encoder, checked by the server itself: rows encoded here are COPYed into a real
// table and read back as PostgreSQL renders them (floats by their bits), so a wrong byte order, width or
// epoch fails. Values at the edges of PostgreSQL's ranges are stored exactly or refused as invalid rows
// naming the column (issue 14, item 8).
#include "core/error.h"
#include "support/pg_cluster.h"
#include "sync/copy_encoder.h"

#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <limits>

namespace psync = pgsplit::sync;
namespace pq = pgsplit::parquet;
using pgsplit::test::TestDatabase;

namespace {

pq::Column Col(pq::Physical physical, pq::Logical kind = pq::Logical::None) {
    pq::Column c;
    c.physical = physical;
    c.logical.kind = kind;
    c.repetition = pq::Repetition::Optional;
    c.max_def = 1;
    return c;
}

pq::ColumnBatch Batch(const pq::Column& c, size_t n) {
    pq::ColumnBatch b;
    b.column = &c;
    b.size = n;
    b.defined.assign(n, 1);
    return b;
}

psync::TargetColumn Target(const std::string& name, psync::PgType type, bool not_null = false) {
    psync::TargetColumn t;
    t.name = name;
    t.type = type;
    t.sql_type = psync::PgTypeName(type);
    t.not_null = not_null;
    return t;
}

struct Encoded {
    psync::CopyBuffer buf;
    int64_t written = 0;
    std::vector<psync::InvalidRow> invalid;
};

Encoded Encode(const std::vector<psync::TargetColumn>& targets,
               const std::vector<const pq::ColumnBatch*>& cols, size_t rows,
               psync::EncodeOptions options = {}) {
    Encoded e;
    psync::CopyEncoder enc(targets, options);
    psync::CopyEncoder::AppendHeader(e.buf);
    enc.Encode(cols, rows, {"f.parquet", 0}, e.buf, e.written, [&](const psync::InvalidRow& bad) {
        e.invalid.push_back(bad);
        return true;
    });
    psync::CopyEncoder::AppendTrailer(e.buf);
    return e;
}

// COPYs the encoded rows into `table` and returns how many the server stored.
int64_t Load(pgsplit::pg::Connection& c, const std::string& table, const Encoded& e) {
    c.CopyStart("COPY " + table + " FROM STDIN (FORMAT binary)");
    c.CopyData(e.buf.Data(), e.buf.Size());
    return c.CopyEnd();
}

std::string Column(pgsplit::pg::Connection& c, const std::string& sql) {
    auto r = c.Exec(sql);
    std::string out;
    for (int i = 0; i < r.Rows(); ++i) {
        out += (i ? "|" : "") + (r.IsNull(i, 0) ? std::string("NULL") : r.Get(i, 0));
    }
    return out;
}

} // namespace

TEST_SUITE("sync") {
    TEST_CASE("integers, floats by their bits, text and bytes round-trip through the server") {
        TestDatabase db;
        auto c = db.Connect();
        c.Exec("CREATE TABLE t (n int, a smallint, b integer, d bigint, e double precision, f real, s text, "
               "y bytea, u bigint)");
        auto i64 = Col(pq::Physical::Int64);
        auto i32 = Col(pq::Physical::Int32);
        auto f64 = Col(pq::Physical::Double);
        auto f32 = Col(pq::Physical::Float);
        auto str = Col(pq::Physical::ByteArray, pq::Logical::String);
        auto bin = Col(pq::Physical::ByteArray);
        auto u32 = Col(pq::Physical::Int32, pq::Logical::Int);
        u32.logical.bit_width = 32;
        u32.logical.is_signed = false;
        const size_t n = 5;
        auto num = Batch(i32, n);
        num.i32 = {0, 1, 2, 3, 4};
        auto small = Batch(i64, n);
        small.i64 = {INT16_MIN, INT16_MAX, 0, -1, 1};
        auto mid = Batch(i32, n);
        mid.i32 = {INT32_MIN, INT32_MAX, 0, -1, 1};
        auto big = Batch(i64, n);
        big.i64 = {INT64_MIN, INT64_MAX, 0, -1, 1};
        auto dbl = Batch(f64, n);
        dbl.f64 = {-0.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::denorm_min(), 0.1};
        auto flt = Batch(f32, n);
        flt.f32 = {-0.0f, 1.5f, -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max(),
                   0.1f};
        auto text = Batch(str, n);
        std::vector<std::string> texts = {"", "a", "ünïcødé 名前 🚀", "tab\there", "quote\"'\\"};
        auto bytes = Batch(bin, n);
        std::vector<std::string> blobs = {"", std::string("\x00\xff", 2), "abc", std::string(1, '\0'),
                                          "\x80"};
        for (auto* p : {&text, &bytes}) {
            auto& src = p == &text ? texts : blobs;
            p->offsets = {0};
            for (const auto& s : src) {
                p->bytes.insert(p->bytes.end(), s.begin(), s.end());
                p->offsets.push_back(static_cast<uint32_t>(p->bytes.size()));
            }
        }
        auto uns = Batch(u32, n);
        uns.i32 = {-1, 0, INT32_MIN, INT32_MAX, 7}; // as UINT32: 4294967295, 0, 2147483648, 2147483647, 7
        text.defined[4] = 0;                        // and one NULL
        std::vector<psync::TargetColumn> targets = {
            Target("n", psync::PgType::Int4),   Target("a", psync::PgType::Int2),
            Target("b", psync::PgType::Int4),   Target("d", psync::PgType::Int8),
            Target("e", psync::PgType::Float8), Target("f", psync::PgType::Float4),
            Target("s", psync::PgType::Text),   Target("y", psync::PgType::Bytea),
            Target("u", psync::PgType::Int8)};
        auto e = Encode(targets, {&num, &small, &mid, &big, &dbl, &flt, &text, &bytes, &uns}, n);
        REQUIRE(e.invalid.empty());
        CHECK(Load(c, "t", e) == 5);
        CHECK(Column(c, "SELECT a FROM t ORDER BY n") == "-32768|32767|0|-1|1");
        CHECK(Column(c, "SELECT b FROM t ORDER BY n") == "-2147483648|2147483647|0|-1|1");
        CHECK(Column(c, "SELECT d FROM t ORDER BY n") == "-9223372036854775808|9223372036854775807|0|-1|1");
        CHECK(Column(c, "SELECT encode(float8send(e), 'hex') FROM t ORDER BY n") ==
              "8000000000000000|7ff8000000000000|7ff0000000000000|0000000000000001|3fb999999999999a");
        CHECK(Column(c, "SELECT encode(float4send(f), 'hex') FROM t ORDER BY n") ==
              "80000000|3fc00000|ff800000|7f7fffff|3dcccccd");
        CHECK(Column(c, "SELECT encode(convert_to(s, 'UTF8'), 'hex') FROM t ORDER BY n") ==
              "|61|c3bc6ec3af63c3b864c3a920e5908de5898d20f09f9a80|7461620968657265|NULL");
        CHECK(Column(c, "SELECT encode(y, 'hex') FROM t ORDER BY n") == "|00ff|616263|00|80");
        CHECK(Column(c, "SELECT u FROM t ORDER BY n") == "4294967295|0|2147483648|2147483647|7");
    }

    TEST_CASE(
        "dates and timestamps at the ends of PostgreSQL's range are stored; beyond them, invalid rows") {
        TestDatabase db;
        auto c = db.Connect();
        c.Exec("CREATE TABLE d (n int, day date, ts timestamp)");
        auto i32 = Col(pq::Physical::Int32);
        auto date = Col(pq::Physical::Int32, pq::Logical::Date);
        auto ts = Col(pq::Physical::Int64, pq::Logical::Timestamp);
        ts.logical.unit = pq::TimeUnit::Micros;
        // Unix days of 4714-11-24 BC (Julian day 0) and 5874897-12-31, the last date PostgreSQL has.
        const int32_t first_day = -2440588;
        const int32_t last_day = 2147483493 - 2440588;
        const size_t n = 2;
        auto num = Batch(i32, n);
        num.i32 = {1, 2};
        auto days = Batch(date, n);
        days.i32 = {first_day, last_day};
        auto micros = Batch(ts, n);
        // The largest int64 of Unix microseconds is inside PostgreSQL's range (which ends in 294277).
        micros.i64 = {int64_t{first_day} * 86400000000LL, INT64_MAX};
        std::vector<psync::TargetColumn> targets = {Target("n", psync::PgType::Int4),
                                                    Target("day", psync::PgType::Date),
                                                    Target("ts", psync::PgType::Timestamp)};
        auto ok = Encode(targets, {&num, &days, &micros}, n);
        REQUIRE(ok.invalid.empty());
        CHECK(Load(c, "d", ok) == 2);
        CHECK(Column(c, "SELECT day::text FROM d ORDER BY n") == "4714-11-24 BC|5874897-12-31");
        CHECK(Column(c, "SELECT ts::text FROM d WHERE n = 1") == "4714-11-24 00:00:00 BC");
        CHECK(Column(c, "SELECT ts::text FROM d WHERE n = 2") == "294247-01-10 04:00:54.775807");

        // One past each end, and the int32 sentinels some writers use for +/-infinity.
        const size_t m = 4;
        auto num2 = Batch(i32, m);
        num2.i32 = {1, 2, 3, 4};
        auto bad_days = Batch(date, m);
        bad_days.i32 = {first_day - 1, last_day + 1, INT32_MIN, INT32_MAX};
        auto fine_ts = Batch(ts, m);
        fine_ts.i64 = {0, 0, 0, 0};
        auto e = Encode(targets, {&num2, &bad_days, &fine_ts}, m);
        CHECK(e.written == 0);
        REQUIRE(e.invalid.size() == 4);
        for (const auto& bad : e.invalid) {
            CHECK(bad.column == "day");
            CHECK(bad.reason.find("date outside PostgreSQL's range") != std::string::npos);
            CHECK(bad.file == "f.parquet");
        }
        CHECK(e.invalid[3].row == 3);

        auto ms = Col(pq::Physical::Int64, pq::Logical::Timestamp);
        ms.logical.unit = pq::TimeUnit::Millis;
        auto huge = Batch(ms, 2);
        huge.i64 = {INT64_MAX, INT64_MIN}; // overflow micros: refused, not wrapped
        auto num3 = Batch(i32, 2);
        num3.i32 = {1, 2};
        auto ok_days = Batch(date, 2);
        ok_days.i32 = {0, 0};
        auto e2 = Encode(targets, {&num3, &ok_days, &huge}, 2);
        REQUIRE(e2.invalid.size() == 2);
        CHECK(e2.invalid[0].column == "ts");
        CHECK(e2.invalid[0].reason.find("timestamp outside PostgreSQL's range") != std::string::npos);
    }

    TEST_CASE("midnight is judged at the column's precision: 500 ns after midnight is not a date") {
        auto ns = Col(pq::Physical::Int64, pq::Logical::Timestamp);
        ns.logical.unit = pq::TimeUnit::Nanos;
        auto b = Batch(ns, 3);
        const int64_t day = 19723LL * 86400LL * 1000000000LL; // 2024-01-01
        b.i64 = {day, day + 500, day - 1};
        std::vector<psync::TargetColumn> targets = {Target("day", psync::PgType::Date)};
        auto e = Encode(targets, {&b}, 3);
        CHECK(e.written == 1);
        REQUIRE(e.invalid.size() == 2);
        CHECK(e.invalid[0].row == 1);
        CHECK(e.invalid[0].reason.find("not at midnight") != std::string::npos);
        CHECK(e.invalid[1].row == 2);
        auto truncated = Encode(targets, {&b}, 3, psync::EncodeOptions{true});
        CHECK(truncated.written == 3);

        TestDatabase db;
        auto c = db.Connect();
        c.Exec("CREATE TABLE d (day date)");
        CHECK(Load(c, "d", truncated) == 3);
        CHECK(Column(c, "SELECT day::text FROM d") == "2024-01-01|2024-01-01|2023-12-31");
    }

    TEST_CASE("UINT64 and other unsigned layouts that do not fit are refused as unsigned") {
        auto u64 = Col(pq::Physical::Int64, pq::Logical::Int);
        u64.logical.bit_width = 64;
        u64.logical.is_signed = false;
        try {
            psync::CheckConvertible(u64, Target("big", psync::PgType::Int8), "ranking.t");
            FAIL("UINT64 accepted into bigint");
        } catch (const pgsplit::Error& e) {
            CHECK(e.code() == pgsplit::ExitCode::Source);
            CHECK(std::string(e.what()).find("unsigned 64-bit integer") != std::string::npos);
        }
        auto u32 = Col(pq::Physical::Int32, pq::Logical::Int);
        u32.logical.bit_width = 32;
        u32.logical.is_signed = false;
        try {
            psync::CheckConvertible(u32, Target("n", psync::PgType::Int4), "ranking.t");
            FAIL("UINT32 accepted into integer");
        } catch (const pgsplit::Error& e) {
            CHECK(std::string(e.what()).find("unsigned 32-bit integer") != std::string::npos);
        }
        CHECK_NOTHROW(psync::CheckConvertible(u32, Target("n", psync::PgType::Int8), "ranking.t"));
    }
}
