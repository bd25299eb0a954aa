// Unit tests of the encodings and value formatting, on hand-made bytes.

#include "parquet/bit_util.h"
#include "parquet/decoder/decoder.h"
#include "parquet/decoder/rle.h"
#include "parquet/values.h"

#include <doctest/doctest.h>

namespace pgsplit::parquet {
namespace {

Column IntColumn(Physical p = Physical::Int32) {
    Column c;
    c.path = {"x"};
    c.physical = p;
    return c;
}

} // namespace

TEST_SUITE("parquet") {
    TEST_CASE("rle hybrid decodes an rle run followed by a bit-packed run") {
        // RLE run: header (5 << 1) = 10, value 3 (1 byte at width 3). Bit-packed run: header (1 << 1) | 1,
        // then 8 values 0..7 at width 3 = 3 bytes.
        std::vector<uint8_t> data = {10, 3, 3, 0x88, 0xC6, 0xFA};
        RleBitPackedDecoder d(data.data(), data.size(), 3);
        uint32_t out[13];
        d.Decode(out, 13);
        for (int i = 0; i < 5; ++i) {
            CHECK(out[i] == 3);
        }
        for (int i = 0; i < 8; ++i) {
            CHECK(out[5 + i] == static_cast<uint32_t>(i));
        }
    }

    TEST_CASE("rle hybrid refuses a bit width above 32 and data that ends early") {
        std::vector<uint8_t> data = {10, 3};
        CHECK_THROWS_AS(RleBitPackedDecoder(data.data(), data.size(), 33), DecodeError);
        RleBitPackedDecoder d(data.data(), data.size(), 3);
        uint32_t out[6];
        CHECK_THROWS_AS(d.Decode(out, 6), DecodeError);
    }

    TEST_CASE("rle run value wider than the bit width is corrupt") {
        std::vector<uint8_t> data = {10, 9}; // 9 does not fit in 3 bits
        RleBitPackedDecoder d(data.data(), data.size(), 3);
        uint32_t out[5];
        CHECK_THROWS_AS(d.Decode(out, 5), DecodeError);
    }

    TEST_CASE("bit unpacking agrees with a bit-by-bit reference for every width") {
        std::vector<uint8_t> bytes(400);
        for (size_t i = 0; i < bytes.size(); ++i) {
            bytes[i] = static_cast<uint8_t>(i * 131 + 7);
        }
        for (int w = 0; w <= 64; ++w) {
            size_t n = bytes.size() * 8 / (w ? w : 1) - 1;
            n = std::min<size_t>(n, 300);
            std::vector<uint64_t> got(n);
            UnpackBits64(bytes.data(), bytes.size(), w, got.data(), n);
            for (size_t i = 0; i < n; ++i) {
                uint64_t ref = 0;
                for (int b = 0; b < w; ++b) {
                    size_t bit = i * w + b;
                    ref |= uint64_t{(bytes[bit / 8] >> (bit % 8)) & 1u} << b;
                }
                REQUIRE_MESSAGE(got[i] == ref, "width " << w << " value " << i);
            }
        }
    }

    TEST_CASE("delta binary packed decodes the specification's example") {
        // Values 1..5: block 128, 4 miniblocks, 5 values, first 1 (zigzag 2), min delta 1 (zigzag 2),
        // all miniblock widths 0.
        std::vector<uint8_t> data = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
        Column c = IntColumn();
        auto d = MakeDeltaBinaryPackedDecoder(c, data.data(), data.size());
        ColumnBatch b;
        d->Decode(5, b);
        CHECK(b.i32 == std::vector<int32_t>{1, 2, 3, 4, 5});
        CHECK_THROWS_AS(d->Decode(1, b), DecodeError);
    }

    TEST_CASE("delta binary packed refuses a miniblock wider than 64 bits") {
        std::vector<uint8_t> data = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 65, 0, 0, 0};
        Column c = IntColumn(Physical::Int64);
        auto d = MakeDeltaBinaryPackedDecoder(c, data.data(), data.size());
        ColumnBatch b;
        CHECK_THROWS_AS(d->Decode(5, b), DecodeError);
    }

    TEST_CASE("plain decoder refuses more values than the page holds") {
        std::vector<uint8_t> data(8, 0);
        Column c = IntColumn();
        auto d = MakePlainDecoder(c, data.data(), data.size());
        ColumnBatch b;
        CHECK_THROWS_AS(d->Decode(3, b), DecodeError);
        Column s = IntColumn(Physical::ByteArray);
        std::vector<uint8_t> bad = {0xff, 0xff, 0xff, 0x7f, 'a'};
        auto ds = MakePlainDecoder(s, bad.data(), bad.size());
        CHECK_THROWS_AS(ds->Decode(1, b), DecodeError);
    }

    TEST_CASE("byte stream split reassembles floats") {
        float v[2] = {1.5f, -2.25f};
        uint8_t raw[8];
        std::memcpy(raw, v, 8);
        std::vector<uint8_t> split(8);
        for (int i = 0; i < 2; ++i) {
            for (int k = 0; k < 4; ++k) {
                split[k * 2 + i] = raw[i * 4 + k];
            }
        }
        Column c = IntColumn(Physical::Float);
        auto d = MakeByteStreamSplitDecoder(c, split.data(), split.size());
        ColumnBatch b;
        d->Decode(2, b);
        CHECK(b.f32 == std::vector<float>{1.5f, -2.25f});
    }

    TEST_CASE("values are formatted as SPEC 6b says") {
        CHECK(FormatDate(0) == "1970-01-01");
        CHECK(FormatDate(-1) == "1969-12-31");
        CHECK(FormatDate(19000) == "2022-01-08");
        CHECK(FormatTimestamp(1500, TimeUnit::Millis, true) == "1970-01-01T00:00:01.500000Z");
        CHECK(FormatTimestamp(-1, TimeUnit::Micros, false) == "1969-12-31T23:59:59.999999");
        CHECK(FormatTimestamp(1, TimeUnit::Nanos, false) == "1970-01-01T00:00:00.000000001");
        CHECK(FormatDecimal(int64_t{-5}, 2) == "-0.05");
        CHECK(FormatDecimal(int64_t{12345}, 2) == "123.45");
        CHECK(FormatDecimal(true, std::string("\xff\xff", 2), 1) == "-0.1");
        CHECK(FormatDecimal(true, std::string("\x01\x00", 2), 0) == "256");
        CHECK(FormatDouble(0.1) == "0.1");
        CHECK(FormatDouble(1.0) == "1.0");
        CHECK(FormatDouble(std::nan("")) == "NaN");
        CHECK(FormatDouble(-INFINITY) == "-Infinity");
        CHECK(FormatFloat(1.1f) == "1.1");
        CHECK(Base64("foob") == "Zm9vYg==");
        CHECK(HalfToFloat(0x3c00) == 1.0f);
        CHECK(SanitizeUtf8("a\xff") == "a\xef\xbf\xbd");
    }
}

} // namespace pgsplit::parquet
