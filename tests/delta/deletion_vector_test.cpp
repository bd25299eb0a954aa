// The deletion vector decoder: Z85, the RoaringBitmapArray (array, bitmap and run containers, several
// buckets), the DV file format and every malformed class a hostile table can hand it. Bitmaps are
// assembled here byte by byte from the RoaringFormatSpec; the one real DV is delta-rs' corpus file.

#include "core/error.h"
#include "delta/deletion_vector.h"
#include "support/process.h"
#include "tests/delta/delta_test_util.h"
#include "tests/support/paths.h"

#include <doctest/doctest.h>
#include <zlib.h>

namespace pgsplit::test {
namespace {

// Little-endian bytes, as the roaring format writes them.
struct Le {
    std::string s;
    Le& U16(uint32_t v) {
        s.push_back(static_cast<char>(v & 0xff));
        s.push_back(static_cast<char>((v >> 8) & 0xff));
        return *this;
    }
    Le& U32(uint32_t v) { return U16(v & 0xffff).U16(v >> 16); }
    Le& U64(uint64_t v) { return U32(static_cast<uint32_t>(v)).U32(static_cast<uint32_t>(v >> 32)); }
};

constexpr uint32_t kMagic = 1681511377;

// One bucket (high 32 bits `high`) holding one array container with `values` under 16-bit key `key`.
Le ArrayBucket(Le b, uint32_t high, uint16_t key, const std::vector<uint16_t>& values) {
    b.U32(high).U32(12346).U32(1).U16(key).U16(static_cast<uint32_t>(values.size() - 1)).U32(16);
    for (auto v : values) {
        b.U16(v);
    }
    return b;
}

std::string Bitmap(const std::vector<uint16_t>& values, uint32_t high = 0) {
    return ArrayBucket(Le().U32(kMagic).U64(1), high, 0, values).s;
}

// A DV file holding `bitmap` at offset 1, with a correct checksum unless `crc` is given.
std::string DvFile(const std::string& bitmap, std::optional<uint32_t> crc = std::nullopt) {
    auto be32 = [](uint32_t v) {
        return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                           static_cast<char>(v)};
    };
    uint32_t sum = crc.value_or(static_cast<uint32_t>(
        ::crc32(0L, reinterpret_cast<const Bytef*>(bitmap.data()), static_cast<uInt>(bitmap.size()))));
    return std::string(1, '\1') + be32(static_cast<uint32_t>(bitmap.size())) + bitmap + be32(sum);
}

const char* kZeroUuid = "00000000000000000000"; // Z85 of 16 zero bytes
const char* kZeroFile = "deletion_vector_00000000-0000-0000-0000-000000000000.bin";

delta::DvDescriptor OnDisk(int64_t size, int64_t cardinality, int64_t offset = 1) {
    delta::DvDescriptor d;
    d.storage_type = 'u';
    d.path_or_inline = kZeroUuid;
    d.offset = offset;
    d.size_in_bytes = size;
    d.cardinality = cardinality;
    return d;
}

// Loads `file` as the table's only DV; the error text, or "" when it loaded.
std::string LoadError(const std::string& file, const delta::DvDescriptor& d, int64_t num_rows = 1000) {
    ScratchDir t;
    WriteFile(t.Root() / kZeroFile, file);
    auto storage = storage::OpenLocalStorage(t.Str());
    try {
        delta::LoadDeletionVector(*storage, d, num_rows, 1 << 20, "table 't': file 'p.parquet'");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Source);
        return e.what();
    }
    return "";
}

std::vector<uint64_t> Rows(const delta::DeletionVector& dv) {
    std::vector<uint64_t> out;
    dv.ForEach([&](uint64_t r) {
        out.push_back(r);
        return true;
    });
    return out;
}

} // namespace

TEST_SUITE("delta-deletion-vector") {
    TEST_CASE("Z85 decodes the RFC 32 test vector and refuses bad text") {
        auto bytes = delta::Z85Decode("HelloWorld");
        REQUIRE(bytes);
        CHECK(*bytes == std::string("\x86\x4f\xd2\x6f\xb5\x59\xf7\x5b", 8));
        CHECK_FALSE(delta::Z85Decode("Hello"
                                     "Worl"));
        CHECK_FALSE(delta::Z85Decode("Hell\"World"));
        CHECK_FALSE(delta::Z85Decode("#####")); // 85^5 - 1 > 2^32 - 1
        CHECK(delta::Z85Decode("")->empty());
    }

    TEST_CASE("a 'u' descriptor names deletion_vector_<uuid>.bin, under its prefix, never outside") {
        delta::DvDescriptor d = OnDisk(36, 2);
        d.path_or_inline = "vBn[lx{q8@P<9BNH/isA"; // delta-rs' rs-table-with-dv-small
        CHECK(delta::DeletionVectorPath(d, "w") ==
              "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin");
        d.path_or_inline = std::string("ab") + "vBn[lx{q8@P<9BNH/isA";
        CHECK(delta::DeletionVectorPath(d, "w") ==
              "ab/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin");
        for (const char* bad :
             {"../vBn[lx{q8@P<9BNH/isA", "/vBn[lx{q8@P<9BNH/isA", "short", "vBn[lx{q8@P<9BNH/is\""}) {
            CAPTURE(bad);
            d.path_or_inline = bad;
            CHECK_THROWS_AS(delta::DeletionVectorPath(d, "w"), Error);
        }
    }

    TEST_CASE("the corpus DV file (written by Databricks) deletes rows 0 and 9") {
        auto storage = storage::OpenLocalStorage((CorpusDir() / "delta" / "rs-table-with-dv-small").string());
        delta::DvDescriptor d = OnDisk(36, 2);
        d.path_or_inline = "vBn[lx{q8@P<9BNH/isA";
        auto dv = delta::LoadDeletionVector(*storage, d, 10, 1 << 20, "w");
        CHECK(Rows(dv) == std::vector<uint64_t>{0, 9});
        CHECK(dv.Contains(0));
        CHECK_FALSE(dv.Contains(1));
        CHECK(dv.Max() == 9);
    }

    TEST_CASE("array, bitmap and run containers, and a second bucket, decode to their rows") {
        // Bucket 0: a run container (cookie 12347, 2 containers: run 10..12 and an array {70000 & 0xffff})
        // then bucket 1 with one array container: rows 2^32 + 5.
        Le b;
        b.U32(kMagic).U64(2);
        b.U32(0).U32(12347 | (1u << 16));
        b.s.push_back('\x01');         // container 0 is a run container
        b.U16(0).U16(2).U16(1).U16(0); // keys 0 (3 values) and 1 (1 value); no offsets (< 4)
        b.U16(1).U16(10).U16(2);       // one run: 10, length 3
        b.U16(70000 & 0xffff);         // array
        b = ArrayBucket(b, 1, 0, {5});
        auto dv = delta::DeletionVector::Parse(b.s);
        CHECK(Rows(dv) == std::vector<uint64_t>{10, 11, 12, 70000, (uint64_t{1} << 32) + 5});
        CHECK(dv.Cardinality() == 5);
        CHECK(dv.Contains(11));
        CHECK_FALSE(dv.Contains(13));
        CHECK_FALSE(dv.Contains(9));

        // A bitmap container: 5000 even values of key 0.
        Le m;
        m.U32(kMagic).U64(1).U32(0).U32(12346).U32(1).U16(0).U16(4999).U32(16);
        for (int w = 0; w < 1024; ++w) {
            m.U64(w < 156 ? 0x5555555555555555ULL : (w == 156 ? 0x0000000000005555ULL : 0));
        }
        auto bits = delta::DeletionVector::Parse(m.s);
        CHECK(bits.Cardinality() == 5000);
        CHECK(bits.Contains(9998));
        CHECK_FALSE(bits.Contains(9997));
        CHECK(bits.Max() == 9998);
    }

    TEST_CASE("malformed deletion vectors are refused naming the DV file and what is wrong") {
        const std::string good = Bitmap({3, 7});
        const auto size = static_cast<int64_t>(good.size());
        CHECK(LoadError(DvFile(good), OnDisk(size, 2)).empty());

        struct Case {
            const char* what;
            std::string file;
            delta::DvDescriptor d;
            int64_t rows;
            const char* error;
        };
        std::string bad_magic = good;
        bad_magic[0] = 'x';
        std::string overlap = ArrayBucket(ArrayBucket(Le().U32(kMagic).U64(2), 0, 0, {1}), 0, 1, {2}).s;
        Le twice;
        twice.U32(kMagic)
            .U64(1)
            .U32(0)
            .U32(12346)
            .U32(2)
            .U16(4)
            .U16(0)
            .U16(4)
            .U16(0)
            .U32(24)
            .U32(26)
            .U16(1)
            .U16(2);
        Le unsorted;
        unsorted.U32(kMagic).U64(1).U32(0).U32(12346).U32(1).U16(0).U16(1).U32(16).U16(7).U16(3);
        Le lying_bitmap;
        lying_bitmap.U32(kMagic).U64(1).U32(0).U32(12346).U32(1).U16(0).U16(4999).U32(16);
        for (int w = 0; w < 1024; ++w) {
            lying_bitmap.U64(0);
        }
        std::string signed_key = Bitmap({1}, 0x80000000u);
        std::vector<Case> cases = {
            {"bad magic", DvFile(bad_magic), OnDisk(size, 2), 1000, "magic number"},
            {"checksum", DvFile(good, 0x12345678), OnDisk(size, 2), 1000, "checksum mismatch"},
            {"offset past the file", DvFile(good), OnDisk(size, 2, 100), 1000, "passes the end of the file"},
            {"size field", DvFile(good), OnDisk(size + 2, 2), 1000, "passes the end of the file"},
            {"cardinality", DvFile(good), OnDisk(size, 3), 1000, "the descriptor's cardinality says 3"},
            {"bucket overlap", DvFile(overlap), OnDisk(static_cast<int64_t>(overlap.size()), 2), 1000,
             "buckets overlap"},
            {"container overlap", DvFile(twice.s), OnDisk(static_cast<int64_t>(twice.s.size()), 2), 1000,
             "containers overlap"},
            {"values out of order", DvFile(unsorted.s), OnDisk(static_cast<int64_t>(unsorted.s.size()), 2),
             1000, "out of order"},
            {"bitmap cardinality", DvFile(lying_bitmap.s),
             OnDisk(static_cast<int64_t>(lying_bitmap.s.size()), 5000), 1000, "bitmap has 0 bits set"},
            {"key sign bit", DvFile(signed_key), OnDisk(static_cast<int64_t>(signed_key.size()), 1), 1000,
             "most significant bit"},
            {"row past the file", DvFile(good), OnDisk(size, 2), 5,
             "deletes row 7, but the data file has 5 rows"},
            {"truncated", DvFile(good.substr(0, good.size() - 2)), OnDisk(size - 2, 2), 1000, "truncated"},
            {"version", "\x02" + DvFile(good).substr(1), OnDisk(size, 2), 1000, "format version 2"},
            {"over budget", DvFile(good), OnDisk(int64_t{1} << 30, 2), 1000, "memory budget"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.what);
            std::string err = LoadError(c.file, c.d, c.rows);
            CHECK_MESSAGE(err.find(c.error) != std::string::npos, err);
            if (std::string(c.what) != "over budget") {
                CHECK_MESSAGE(err.find(kZeroFile) != std::string::npos, err);
            }
            CHECK(err.find("p.parquet") != std::string::npos);
        }
        // A missing DV file names it too.
        ScratchDir empty;
        auto storage = storage::OpenLocalStorage(empty.Str());
        try {
            delta::LoadDeletionVector(*storage, OnDisk(size, 2), 1000, 1 << 20,
                                      "table 't': file 'p.parquet'");
            FAIL("a missing DV file loaded");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find(kZeroFile) != std::string::npos);
        }
    }

    TEST_CASE("a 'p' (absolute path) deletion vector outside the table is refused like a data file") {
        ScratchDir t;
        ScratchDir outside;
        WriteFile(outside.Root() / "dv.bin", DvFile(Bitmap({1})));
        auto storage = storage::OpenLocalStorage(t.Str());
        for (const std::string& path :
             {(outside.Root() / "dv.bin").string(), "file://" + (outside.Root() / "dv.bin").string(),
              std::string("../") + outside.Root().filename().string() + "/dv.bin",
              std::string("%2E%2E/x.bin")}) {
            CAPTURE(path);
            delta::DvDescriptor d = OnDisk(static_cast<int64_t>(Bitmap({1}).size()), 1);
            d.storage_type = 'p';
            d.path_or_inline = path;
            CHECK_THROWS_AS(
                delta::LoadDeletionVector(*storage, d, 10, 1 << 20, "table 't': file 'p.parquet'"), Error);
        }
        // Inside the table it is read.
        WriteFile(t.Root() / "dvs" / "dv.bin", DvFile(Bitmap({1})));
        delta::DvDescriptor d = OnDisk(static_cast<int64_t>(Bitmap({1}).size()), 1);
        d.storage_type = 'p';
        d.path_or_inline = (t.Root() / "dvs" / "dv.bin").string();
        CHECK(Rows(delta::LoadDeletionVector(*storage, d, 10, 1 << 20, "w")) == std::vector<uint64_t>{1});
    }

    TEST_CASE("inline deletion vectors: padding within 3 bytes, size and text checked") {
        std::string bm = Bitmap({1, 2, 3}); // 4+8+4+4+4+4+4+6 = 38 bytes: pads to 40
        REQUIRE(bm.size() % 4 == 2);
        std::string padded = bm + std::string(2, '\0');
        // Encode with the RFC alphabet by hand (the writer side lives in tests/fixtures/lib).
        const std::string alphabet =
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
        std::string text;
        for (size_t i = 0; i < padded.size(); i += 4) {
            uint32_t v = (uint32_t{static_cast<uint8_t>(padded[i])} << 24) |
                         (uint32_t{static_cast<uint8_t>(padded[i + 1])} << 16) |
                         (uint32_t{static_cast<uint8_t>(padded[i + 2])} << 8) |
                         static_cast<uint8_t>(padded[i + 3]);
            std::string chunk(5, ' ');
            for (int k = 4; k >= 0; --k) {
                chunk[static_cast<size_t>(k)] = alphabet[v % 85];
                v /= 85;
            }
            text += chunk;
        }
        delta::DvDescriptor d;
        d.storage_type = 'i';
        d.path_or_inline = text;
        d.size_in_bytes = static_cast<int64_t>(bm.size());
        d.cardinality = 3;
        ScratchDir t;
        auto storage = storage::OpenLocalStorage(t.Str());
        auto dv = delta::LoadDeletionVector(*storage, d, 10, 1 << 20, "w");
        CHECK(Rows(dv) == std::vector<uint64_t>{1, 2, 3});
        d.size_in_bytes = static_cast<int64_t>(bm.size()) - 4; // more than 3 bytes of padding
        CHECK_THROWS_WITH_AS(delta::LoadDeletionVector(*storage, d, 10, 1 << 20, "w"),
                             doctest::Contains("sizeInBytes says"), Error);
        d.path_or_inline = text.substr(0, text.size() - 1);
        CHECK_THROWS_WITH_AS(delta::LoadDeletionVector(*storage, d, 10, 1 << 20, "w"),
                             doctest::Contains("not valid Z85"), Error);
    }
}

} // namespace pgsplit::test
