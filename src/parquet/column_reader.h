#pragma once

// Reads one column chunk page by page: page headers, CRC check, decompression, levels and values.
// The chunk's compressed bytes are held in memory (one ranged read); one page is decompressed at a
// time into a reused buffer.

#include "parquet/decoder/decoder.h"
#include "parquet/decoder/rle.h"
#include "parquet/memory_budget.h"
#include "parquet/reader.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pgsplit::parquet {

// Where a chunk lies and how it is stored, from the column metadata.
struct ChunkLocation {
    int row_group = 0;
    int64_t offset = 0; // first byte (dictionary page when present)
    int64_t length = 0;
    int codec = 0;
    int64_t num_values = 0;
    int64_t rows = 0; // the row group's num_rows
};

// Pages larger than this are refused rather than allocated.
constexpr size_t kMaxPageSize = size_t{256} << 20;

// A buffer that is not zero-filled on growth (decompression overwrites it anyway).
class RawBuffer {
public:
    uint8_t* Reserve(size_t n) {
        if (n > capacity_) {
            data_.reset();
            data_.reset(new uint8_t[n]);
            capacity_ = n;
        }
        return data_.get();
    }
    size_t capacity() const { return capacity_; }
    uint8_t* data() { return data_.get(); }

private:
    std::unique_ptr<uint8_t[]> data_;
    size_t capacity_ = 0;
};

class ColumnChunkReader {
public:
    // `bytes` is the chunk, already reserved in `budget` by `bytes_lease`; the reader's own buffers
    // (page, dictionary, levels) are reserved there too as they grow.
    ColumnChunkReader(std::string file, const Column& column, const ChunkLocation& where,
                      std::vector<uint8_t> bytes, MemoryBudget* budget = nullptr,
                      BudgetLease bytes_lease = BudgetLease());

    // Reads up to `n` level entries (one per row for flat columns), crossing pages. Writes definition
    // levels to `def` when the column has max_def > 0 and repetition levels to `rep` when max_rep > 0
    // (either may be null otherwise), and appends the non-null values to `values`. Returns the
    // number of entries read: less than `n` only at the end of the chunk.
    size_t Read(size_t n, int16_t* def, int16_t* rep, ColumnBatch& values);

    // Flat columns (max_rep == 0): reads up to `n` rows, writing 1/0 per row to `defined` and
    // appending the non-null values. The fast path for the common optional top-level column.
    size_t ReadFlat(size_t n, uint8_t* defined, ColumnBatch& values);

    const Column& column() const { return column_; }

    // Throws Error(Source): "<stage> in 'file' (row group R, column 'c', page at offset O): detail".
    [[noreturn]] void Fail(const std::string& stage, const std::string& detail) const;

    // "<what> of column 'c' (row group R, page at offset O)", for budget failures.
    std::string Stage(const char* what) const;

private:
    bool NextPage();
    void CheckValueCount(int32_t num_values) const;
    void LoadDictionary(const uint8_t* data, size_t size, int32_t num_values, int encoding);
    void StartDataPageV1(const uint8_t* data, size_t size, size_t uncompressed, int32_t num_values,
                         int encoding, int def_encoding, int rep_encoding);
    void StartDataPageV2(const uint8_t* data, size_t size, size_t uncompressed,
                         const struct PageV2Info& info);
    const uint8_t* Decompress(const uint8_t* data, size_t size, size_t uncompressed);

    struct Levels {
        bool bit_packed = false;
        RleBitPackedDecoder rle;
        std::vector<int16_t> unpacked;
        size_t pos = 0;
        void Decode(int16_t* out, size_t n);
    };
    // Parses a v1 level section at `p`, returns bytes used.
    size_t SetupLevels(Levels& levels, int encoding, int16_t max_level, const uint8_t* p, size_t size,
                       size_t num_values);

    std::string file_;
    const Column& column_;
    ChunkLocation where_;
    std::vector<uint8_t> bytes_;
    MemoryBudget* budget_ = nullptr;
    BudgetLease bytes_lease_;
    BudgetLease page_lease_;
    BudgetLease dictionary_lease_;
    BudgetLease levels_lease_;
    size_t pos_ = 0;
    int64_t page_offset_ = 0; // file offset of the current page (for messages)
    int64_t values_seen_ = 0;

    RawBuffer page_buf_;
    std::unique_ptr<ColumnBatch> dictionary_;
    std::unique_ptr<ValueDecoder> decoder_;
    Levels def_;
    Levels rep_;
    size_t page_left_ = 0;
    std::vector<int16_t> def_scratch_;
};

} // namespace pgsplit::parquet
