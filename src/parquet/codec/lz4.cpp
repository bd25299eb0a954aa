#include "parquet/codec/codec.h"

#include <lz4.h>

namespace pgsplit::parquet {
namespace {

uint32_t LoadBE32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Hadoop's framing: repeated [u32 BE uncompressed size][u32 BE compressed size][LZ4 block]. Returns
// false (without throwing) when the input is not exactly such a sequence summing to `out_size`.
bool TryHadoopLz4(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    size_t ip = 0;
    size_t op = 0;
    while (ip < in_size) {
        if (in_size - ip < 8) {
            return false;
        }
        uint32_t raw = LoadBE32(in + ip);
        uint32_t comp = LoadBE32(in + ip + 4);
        ip += 8;
        if (comp > in_size - ip || raw > out_size - op) {
            return false;
        }
        int got =
            LZ4_decompress_safe(reinterpret_cast<const char*>(in + ip), reinterpret_cast<char*>(out + op),
                                static_cast<int>(comp), static_cast<int>(raw));
        if (got < 0 || static_cast<uint32_t>(got) != raw) {
            return false;
        }
        ip += comp;
        op += raw;
    }
    return op == out_size;
}

} // namespace

void DecompressLz4Raw(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    if (in_size > INT32_MAX || out_size > INT32_MAX) {
        throw CodecError("lz4 page is too large");
    }
    int got = LZ4_decompress_safe(reinterpret_cast<const char*>(in), reinterpret_cast<char*>(out),
                                  static_cast<int>(in_size), static_cast<int>(out_size));
    if (got < 0) {
        throw CodecError("corrupt lz4 data");
    }
    if (static_cast<size_t>(got) != out_size) {
        throw CodecError("lz4 data expands to " + std::to_string(got) + " bytes but the page header says " +
                         std::to_string(out_size));
    }
}

void DecompressLz4Legacy(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    // Hadoop framing is tried first: its 8-byte big-endian prefix is checked against the sizes, so a
    // raw block is very unlikely to pass for it; a raw block is the fallback (old parquet-cpp).
    if (TryHadoopLz4(in, in_size, out, out_size)) {
        return;
    }
    DecompressLz4Raw(in, in_size, out, out_size);
}

} // namespace pgsplit::parquet
