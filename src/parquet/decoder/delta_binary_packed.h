#pragma once

// The DELTA_BINARY_PACKED stream, used directly for INT32/INT64 pages and for the lengths inside the
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY encodings. Values are produced block by block, so a
// header claiming billions of values costs nothing until they are asked for.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pgsplit::parquet {

class DeltaBinaryPackedReader {
public:
    DeltaBinaryPackedReader(const uint8_t* data, size_t size);

    uint64_t Total() const { return total_; }
    uint64_t Remaining() const { return remaining_; }

    // Decodes the next `n` values (two's complement, wrapping). Throws DecodeError past the end.
    void Next(int64_t* out, size_t n);

    // Walks every remaining block without materialising values and returns where the stream ends.
    const uint8_t* SkipToEnd();

private:
    void StartMiniblock();
    void ReadBlockHeader();

    const uint8_t* p_;
    const uint8_t* end_;
    uint64_t block_size_ = 0;
    uint64_t miniblocks_ = 0;
    uint64_t per_mini_ = 0;
    uint64_t total_ = 0;
    uint64_t remaining_ = 0;
    bool first_pending_ = true;
    uint64_t last_ = 0;
    uint64_t min_delta_ = 0;
    std::vector<uint8_t> widths_;
    size_t mini_index_ = 0; // next miniblock of the current block
    std::vector<uint64_t> deltas_;
    size_t delta_pos_ = 0;
    size_t delta_len_ = 0;
    bool in_block_ = false;
};

} // namespace pgsplit::parquet
