#pragma once

// The RLE / bit-packed hybrid encoding: definition and repetition levels, dictionary indices and
// RLE booleans. Runs are decoded in bulk: an RLE run fills, a bit-packed run unpacks straight into
// the output.

#include <cstddef>
#include <cstdint>

namespace pgsplit::parquet {

// Reads an unsigned LEB128 varint; throws DecodeError past `end` or when longer than 64 bits.
uint64_t ReadUleb(const uint8_t*& p, const uint8_t* end);
// Zigzag-decoded signed varint.
int64_t ReadZigzag(const uint8_t*& p, const uint8_t* end);

class RleBitPackedDecoder {
public:
    RleBitPackedDecoder() = default;
    // `bit_width` must be 0..32 (checked: DecodeError otherwise).
    RleBitPackedDecoder(const uint8_t* data, size_t size, int bit_width);

    // Decodes exactly `n` values; throws DecodeError when the data runs out first.
    void Decode(uint32_t* out, size_t n);
    void Decode(int16_t* out, size_t n);
    void Decode(uint8_t* out, size_t n);

    // Decodes `n` values and also returns how many equal `match` and the largest value seen, counted
    // run by run (an RLE run of a million levels costs one fill and one add).
    void DecodeCounted(uint8_t* out, size_t n, uint32_t match, size_t& matches, uint32_t& max_seen);
    void DecodeCounted(uint32_t* out, size_t n, uint32_t match, size_t& matches, uint32_t& max_seen);

private:
    template <class T, bool kCount>
    void DecodeT(T* out, size_t n, uint32_t match, size_t& matches, uint32_t& max_seen);
    void NextRun();

    const uint8_t* p_ = nullptr;
    const uint8_t* end_ = nullptr;
    int width_ = 0;
    // Current run: either `rle_left` repeats of `rle_value`, or `packed_left` bit-packed values.
    uint32_t rle_value_ = 0;
    size_t rle_left_ = 0;
    size_t packed_left_ = 0;
    const uint8_t* packed_start_ = nullptr;
    size_t packed_bytes_ = 0;
    size_t packed_bit_ = 0;
};

// The deprecated BIT_PACKED level encoding (most-significant bit first). Returns bytes consumed.
size_t DecodeBitPackedLevels(const uint8_t* data, size_t size, int bit_width, int16_t* out, size_t n);

} // namespace pgsplit::parquet
