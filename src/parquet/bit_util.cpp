#include "parquet/bit_util.h"

namespace pgsplit::parquet {

void UnpackBits32(const uint8_t* in, size_t in_len, size_t first_bit, int width, uint32_t* out,
                  size_t count) {
    if (count == 0) {
        return; // `out` may be null
    }
    if (width == 0) {
        std::memset(out, 0, count * sizeof(uint32_t));
        return;
    }
    const uint64_t mask = (uint64_t{1} << width) - 1;
    size_t i = 0;
    // Fast path: one unaligned 8-byte load per value while 8 bytes remain readable. A value of up to
    // 32 bits starting at any bit of a byte fits in those 8 bytes.
    size_t bit = first_bit;
    for (; i < count && (bit >> 3) + 8 <= in_len; ++i, bit += width) {
        out[i] = static_cast<uint32_t>((LoadLE<uint64_t>(in + (bit >> 3)) >> (bit & 7)) & mask);
    }
    for (; i < count; ++i, bit += width) {
        uint64_t v = 0;
        size_t first = bit >> 3;
        for (size_t b = 0; b < 5 && first + b < in_len; ++b) {
            v |= uint64_t{in[first + b]} << (8 * b);
        }
        out[i] = static_cast<uint32_t>((v >> (bit & 7)) & mask);
    }
}

void UnpackBits64(const uint8_t* in, size_t in_len, int width, uint64_t* out, size_t count) {
    if (count == 0) {
        return;
    }
    if (width == 0) {
        std::memset(out, 0, count * sizeof(uint64_t));
        return;
    }
    if (width <= 32) {
        // Reuse the 32-bit path through a small stack buffer.
        uint32_t tmp[256];
        size_t done = 0;
        while (done < count) {
            size_t n = count - done < 256 ? count - done : 256;
            UnpackBits32(in, in_len, done * static_cast<size_t>(width), width, tmp, n);
            for (size_t k = 0; k < n; ++k) {
                out[done + k] = tmp[k];
            }
            done += n;
        }
        return;
    }
    const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    size_t bit = 0;
    for (size_t i = 0; i < count; ++i, bit += width) {
        size_t first = bit >> 3;
        unsigned shift = bit & 7;
        uint64_t lo = 0;
        uint64_t hi = 0;
        for (size_t b = 0; b < 8 && first + b < in_len; ++b) {
            lo |= uint64_t{in[first + b]} << (8 * b);
        }
        if (first + 8 < in_len) {
            hi = in[first + 8];
        }
        uint64_t v = lo >> shift;
        if (shift) {
            v |= hi << (64 - shift);
        }
        out[i] = v & mask;
    }
}

} // namespace pgsplit::parquet
