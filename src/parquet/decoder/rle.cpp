#include "parquet/decoder/rle.h"

#include "parquet/bit_util.h"
#include "parquet/decoder/decoder.h"

#include <algorithm>
#include <type_traits>

namespace pgsplit::parquet {

uint64_t ReadUleb(const uint8_t*& p, const uint8_t* end) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end) {
            throw DecodeError("varint runs past the end of the data");
        }
        uint8_t b = *p++;
        v |= uint64_t{b & 0x7fu} << shift;
        if ((b & 0x80) == 0) {
            return v;
        }
    }
    throw DecodeError("varint longer than 64 bits");
}

int64_t ReadZigzag(const uint8_t*& p, const uint8_t* end) {
    uint64_t u = ReadUleb(p, end);
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

RleBitPackedDecoder::RleBitPackedDecoder(const uint8_t* data, size_t size, int bit_width)
    : p_(data), end_(data + size), width_(bit_width) {
    if (bit_width < 0 || bit_width > 32) {
        throw DecodeError("rle bit width " + std::to_string(bit_width) + " is out of range (0..32)");
    }
}

void RleBitPackedDecoder::NextRun() {
    if (p_ >= end_) {
        throw DecodeError("rle data ends before all values were read");
    }
    uint64_t header = ReadUleb(p_, end_);
    if (header & 1) {
        // Bit-packed run of header>>1 groups of 8 values. A writer may stop the last run early, so the
        // run is clamped to the bytes actually present rather than trusted.
        uint64_t groups = header >> 1;
        size_t avail = static_cast<size_t>(end_ - p_);
        uint64_t want_bytes = groups * static_cast<uint64_t>(width_);
        if (groups > (uint64_t{1} << 40)) {
            throw DecodeError("bit-packed run length is implausible");
        }
        if (width_ == 0) {
            rle_value_ = 0;
            rle_left_ = static_cast<size_t>(groups * 8);
            packed_left_ = 0;
            return;
        }
        size_t bytes = static_cast<size_t>(std::min<uint64_t>(want_bytes, avail));
        packed_left_ = std::min<size_t>(static_cast<size_t>(groups * 8), bytes * 8 / width_);
        packed_start_ = p_;
        packed_bytes_ = bytes;
        packed_bit_ = 0;
        p_ += bytes;
        if (packed_left_ == 0) {
            throw DecodeError("bit-packed run holds no values");
        }
        return;
    }
    uint64_t count = header >> 1;
    size_t value_bytes = static_cast<size_t>((width_ + 7) / 8);
    if (static_cast<size_t>(end_ - p_) < value_bytes) {
        throw DecodeError("rle run value runs past the end of the data");
    }
    uint32_t v = 0;
    for (size_t i = 0; i < value_bytes; ++i) {
        v |= uint32_t{p_[i]} << (8 * i);
    }
    p_ += value_bytes;
    if (width_ < 32 && (v >> width_) != 0) {
        throw DecodeError("rle run value " + std::to_string(v) + " does not fit in bit width " +
                          std::to_string(width_));
    }
    rle_value_ = v;
    rle_left_ = static_cast<size_t>(std::min<uint64_t>(count, uint64_t{1} << 40));
    packed_left_ = 0;
}

template <class T, bool kCount>
void RleBitPackedDecoder::DecodeT(T* out, size_t n, uint32_t match, size_t& matches, uint32_t& max_seen) {
    while (n > 0) {
        if (rle_left_ == 0 && packed_left_ == 0) {
            NextRun();
            continue;
        }
        if (rle_left_ > 0) {
            size_t k = std::min(n, rle_left_);
            std::fill(out, out + k, static_cast<T>(rle_value_));
            if constexpr (kCount) {
                matches += rle_value_ == match ? k : 0;
                max_seen = std::max(max_seen, rle_value_);
            }
            out += k;
            n -= k;
            rle_left_ -= k;
            continue;
        }
        size_t k = std::min(n, packed_left_);
        if constexpr (std::is_same_v<T, uint32_t>) {
            UnpackBits32(packed_start_, packed_bytes_, packed_bit_, width_, out, k);
            if constexpr (kCount) {
                uint32_t mx = max_seen;
                size_t m = 0;
                for (size_t i = 0; i < k; ++i) {
                    mx = std::max(mx, out[i]);
                    m += out[i] == match;
                }
                max_seen = mx;
                matches += m;
            }
        } else {
            uint32_t tmp[256];
            k = std::min<size_t>(k, 256);
            UnpackBits32(packed_start_, packed_bytes_, packed_bit_, width_, tmp, k);
            uint32_t mx = max_seen;
            size_t m = 0;
            for (size_t i = 0; i < k; ++i) {
                out[i] = static_cast<T>(tmp[i]);
                if constexpr (kCount) {
                    mx = std::max(mx, tmp[i]);
                    m += tmp[i] == match;
                }
            }
            max_seen = mx;
            matches += m;
        }
        packed_bit_ += k * static_cast<size_t>(width_);
        packed_left_ -= k;
        out += k;
        n -= k;
    }
}

void RleBitPackedDecoder::Decode(uint32_t* out, size_t n) {
    size_t m = 0;
    uint32_t mx = 0;
    DecodeT<uint32_t, false>(out, n, 0, m, mx);
}

void RleBitPackedDecoder::Decode(int16_t* out, size_t n) {
    size_t m = 0;
    uint32_t mx = 0;
    DecodeT<int16_t, false>(out, n, 0, m, mx);
}

void RleBitPackedDecoder::Decode(uint8_t* out, size_t n) {
    size_t m = 0;
    uint32_t mx = 0;
    DecodeT<uint8_t, false>(out, n, 0, m, mx);
}

void RleBitPackedDecoder::DecodeCounted(uint8_t* out, size_t n, uint32_t match, size_t& matches,
                                        uint32_t& max_seen) {
    DecodeT<uint8_t, true>(out, n, match, matches, max_seen);
}

void RleBitPackedDecoder::DecodeCounted(uint32_t* out, size_t n, uint32_t match, size_t& matches,
                                        uint32_t& max_seen) {
    DecodeT<uint32_t, true>(out, n, match, matches, max_seen);
}

size_t DecodeBitPackedLevels(const uint8_t* data, size_t size, int bit_width, int16_t* out, size_t n) {
    size_t bytes = (n * static_cast<size_t>(bit_width) + 7) / 8;
    if (bytes > size) {
        throw DecodeError("bit-packed levels run past the end of the page");
    }
    size_t bit = 0;
    for (size_t i = 0; i < n; ++i) {
        int v = 0;
        for (int b = 0; b < bit_width; ++b, ++bit) {
            v = (v << 1) | ((data[bit >> 3] >> (7 - (bit & 7))) & 1);
        }
        out[i] = static_cast<int16_t>(v);
    }
    return bytes;
}

} // namespace pgsplit::parquet
