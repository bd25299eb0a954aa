#pragma once

// Little-endian loads and bit unpacking shared by the decoders. Parquet stores everything
// little-endian and packs bits least-significant first (except the deprecated BIT_PACKED levels).

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pgsplit::parquet {

template <class T>
inline T LoadLE(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v; // the project targets little-endian hosts only (x86-64, arm64)
}

// Unpacks `count` values of `width` bits (0..32), least-significant bit first, starting at bit
// `first_bit` of `in`. `in_len` is the number of readable bytes; the caller guarantees the values lie
// inside them.
void UnpackBits32(const uint8_t* in, size_t in_len, size_t first_bit, int width, uint32_t* out, size_t count);

// The same for widths 0..64 (DELTA_BINARY_PACKED miniblocks of INT64 columns).
void UnpackBits64(const uint8_t* in, size_t in_len, int width, uint64_t* out, size_t count);

// Number of bits needed to store `max_value` (0 for 0).
inline int BitWidth(uint64_t max_value) {
    int w = 0;
    while (max_value) {
        ++w;
        max_value >>= 1;
    }
    return w;
}

} // namespace pgsplit::parquet
