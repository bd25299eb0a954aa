// The reader's memory budget (issue 14, item 3): files that claim sizes their bytes do not back are
// refused with exit 7 naming the file, the stage and the figures, before the memory is allocated;
// honest files of the same shapes within the limit still read.

#include "core/error.h"
#include "parquet/hostile.h"
#include "parquet/reader.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <snappy.h>
#include <zlib.h>

namespace pgsplit::test::pq {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

std::unique_ptr<parquet::FileReader> Open(const std::string& bytes, uint64_t limit = 192 * kMiB) {
    return parquet::FileReader::Open(parquet::MemorySource("hostile.parquet", bytes),
                                     parquet::ReadLimits{limit});
}

template <class Fn>
std::string SourceError(Fn fn) {
    try {
        fn();
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Source);
        return e.what();
    }
    FAIL_CHECK("no error was raised");
    return {};
}

size_t CountRecords(parquet::FileReader& r, size_t stop_after = SIZE_MAX) {
    size_t n = 0;
    r.ReadRecords({}, [&](nlohmann::json&) { return ++n < stop_after; });
    return n;
}

void ScanAll(parquet::FileReader& r, size_t batch_rows = 4096) {
    std::vector<int> cols;
    for (const auto& c : r.Columns()) {
        cols.push_back(c.index);
    }
    std::vector<parquet::ColumnBatch> out;
    for (size_t g = 0; g < r.Info().row_groups.size(); ++g) {
        auto cursor = r.ReadRowGroup(static_cast<int>(g), cols, batch_rows);
        while (cursor->Next(out)) {
        }
    }
}

} // namespace

TEST_SUITE("parquet") {
    TEST_CASE("a footer of millions of empty column chunks is refused by the budget as it is decoded") {
        // 12 row groups of 100k chunks: 3.6 MB on disk, gigabytes once decoded.
        std::string bytes = hostile::ManyChunksFooter(12, 100000);
        CHECK(bytes.size() < 4 * kMiB);
        std::string msg = SourceError([&] { Open(bytes); });
        CHECK(msg.find("memory limit reached reading 'hostile.parquet'") != std::string::npos);
        CHECK(msg.find("footer metadata") != std::string::npos);
        CHECK(msg.find("column chunks so far") != std::string::npos);
        CHECK(msg.find("192 MiB") != std::string::npos);
    }

    TEST_CASE("a footer of 100k column chunks in one row group fits the budget and fails on its schema") {
        std::string msg = SourceError([&] { Open(hostile::ManyChunksFooter(1, 100000)); });
        CHECK(msg.find("memory limit") == std::string::npos);
        CHECK(msg.find("100000 column chunks but the schema has 1 columns") != std::string::npos);
    }

    TEST_CASE("a page claiming more values than its row group has rows is refused before decoding") {
        std::string msg = SourceError([&] {
            auto r = Open(hostile::PageCountLie(3, 50000000));
            ScanAll(*r);
        });
        CHECK(msg.find("data page claims 50000000 values but the row group has 3 rows") != std::string::npos);
        CHECK(msg.find("column 'x'") != std::string::npos);
    }

    TEST_CASE("a page header larger than what its codec data holds is refused before allocating") {
        std::string plain(12, '\x07');
        std::string snap;
        snappy::Compress(plain.data(), plain.size(), &snap);
        uLongf glen = compressBound(plain.size());
        std::string gz(glen, '\0');
        REQUIRE(compress2(reinterpret_cast<Bytef*>(gz.data()), &glen,
                          reinterpret_cast<const Bytef*>(plain.data()), plain.size(), 6) == Z_OK);
        gz.resize(glen);
        constexpr int32_t kClaim = 200 << 20;
        {
            auto r = Open(hostile::PageSizeLie(1 /* SNAPPY */, snap, kClaim));
            std::string msg = SourceError([&] { ScanAll(*r); });
            CHECK(msg.find("SNAPPY decompression failed") != std::string::npos);
            CHECK(msg.find("holds 12 bytes but the page header says 209715200") != std::string::npos);
            CHECK(r->PeakMemory() < kMiB);
        }
        {
            auto r = Open(hostile::PageSizeLie(2 /* GZIP */, gz, kClaim));
            std::string msg = SourceError([&] { ScanAll(*r); });
            CHECK(msg.find("GZIP decompression failed") != std::string::npos);
            CHECK(msg.find("cannot expand to the 209715200 bytes") != std::string::npos);
            CHECK(r->PeakMemory() < kMiB);
        }
        {
            // The honest sizes decode.
            auto r = Open(hostile::PageSizeLie(1, snap, 12));
            ScanAll(*r);
        }
    }

    TEST_CASE("a dictionary value repeated by every row is refused once the decoded bytes pass the budget") {
        // 4000 rows x 1 MiB: 4 GB decoded from a 1 MB file.
        auto r = Open(hostile::DictionaryAmplifier(4000, 1 << 20));
        std::string msg = SourceError([&] { ScanAll(*r); });
        CHECK(msg.find("memory limit reached reading 'hostile.parquet'") != std::string::npos);
        CHECK(msg.find("decoded values of column 's'") != std::string::npos);
        // The same shape with small values reads.
        auto ok = Open(hostile::DictionaryAmplifier(4000, 100));
        ScanAll(*ok);
    }

    TEST_CASE("level arrays claimed by RLE runs are held within the budget across a row group's columns") {
        // Three leaves of 60M null entries: 360 MB of levels for a file of a few hundred bytes.
        std::string bytes = hostile::NullRunCheckpoint(60000000, 1, 3);
        CHECK(bytes.size() < 1024);
        auto r = Open(bytes);
        std::string msg = SourceError([&] { CountRecords(*r, 1); });
        CHECK(msg.find("memory limit reached reading 'hostile.parquet'") != std::string::npos);
        CHECK(msg.find("levels") != std::string::npos);
        CHECK(msg.find("add.") != std::string::npos);
        CHECK(r->PeakMemory() <= 192 * kMiB);
        // One leaf of 512k entries per row group is an honest all-null column and reads.
        auto ok = Open(hostile::NullRunCheckpoint(int64_t{1} << 19, 2, 1));
        CHECK(CountRecords(*ok) == size_t{2} << 19);
    }

    TEST_CASE("column chunks read at once are charged together: many large columns pass the limit") {
        std::string bytes = hostile::WideChunks(6, 4 << 20);
        std::string msg = SourceError([&] {
            auto r = Open(bytes, 16 * kMiB);
            ScanAll(*r);
        });
        CHECK(msg.find("column chunk 'c") != std::string::npos);
        CHECK(msg.find("16 MiB") != std::string::npos);
        // With a higher limit the same file reads.
        auto r = Open(bytes, 64 * kMiB);
        ScanAll(*r);
    }

    TEST_CASE("the default limit is the one set at start-up") {
        auto saved = parquet::DefaultReadLimits();
        CHECK(saved.memory_bytes == parquet::ReadLimits::kDefaultMemoryBytes);
        parquet::SetDefaultReadLimits(parquet::ReadLimits{16 * kMiB});
        std::string msg = SourceError([&] {
            auto r = parquet::FileReader::Open(
                parquet::MemorySource("wide.parquet", hostile::WideChunks(6, 4 << 20)));
            ScanAll(*r);
        });
        parquet::SetDefaultReadLimits(saved);
        CHECK(msg.find("'wide.parquet'") != std::string::npos);
        CHECK(msg.find("16 MiB") != std::string::npos);
    }
}

} // namespace pgsplit::test::pq
