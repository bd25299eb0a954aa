#include "parquet/codec/codec.h"

#include <cstring>
#include <snappy.h>
#include <zstd.h>

namespace pgsplit::parquet {

const char* CodecName(int codec) {
    switch (codec) {
    case 0:
        return "UNCOMPRESSED";
    case 1:
        return "SNAPPY";
    case 2:
        return "GZIP";
    case 3:
        return "LZO";
    case 4:
        return "BROTLI";
    case 5:
        return "LZ4";
    case 6:
        return "ZSTD";
    case 7:
        return "LZ4_RAW";
    default:
        return "UNKNOWN";
    }
}

bool CodecSupported(int codec) {
    return codec >= 0 && codec <= 7 && codec != 3;
}

std::optional<uint64_t> DeclaredSize(Codec codec, const uint8_t* in, size_t in_size) {
    switch (codec) {
    case Codec::Uncompressed:
        return in_size;
    case Codec::Snappy: {
        size_t len = 0;
        if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(in), in_size, &len)) {
            return std::nullopt;
        }
        return len;
    }
    case Codec::Zstd: {
        // Only a single frame that fills the input is read: a page of several frames is left to the
        // decompressor's own exact-size check.
        size_t frame = ZSTD_findFrameCompressedSize(in, in_size);
        if (ZSTD_isError(frame) || frame != in_size) {
            return std::nullopt;
        }
        unsigned long long n = ZSTD_getFrameContentSize(in, in_size);
        if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN) {
            return std::nullopt;
        }
        return static_cast<uint64_t>(n);
    }
    default:
        return std::nullopt;
    }
}

std::optional<uint64_t> MaxExpansion(Codec codec, size_t in_size) {
    const uint64_t n = in_size;
    switch (codec) {
    case Codec::Uncompressed:
        return n;
    case Codec::Gzip:
        // Concatenated members each cost at least their 18-byte framing, so the ratio holds for them too.
        return n * 1032 + 1024;
    case Codec::Lz4:
    case Codec::Lz4Raw:
        return n * 256 + 1024;
    case Codec::Snappy:
        return n * 64 + 1024; // well above snappy's worst case (a 2-byte copy of 64 bytes is 32:1)
    default:
        return std::nullopt;
    }
}

void Decompress(Codec codec, const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    switch (codec) {
    case Codec::Uncompressed:
        if (in_size != out_size) {
            throw CodecError("uncompressed page is " + std::to_string(in_size) +
                             " bytes but its header says " + std::to_string(out_size));
        }
        if (in_size) {
            std::memcpy(out, in, in_size);
        }
        return;
    case Codec::Snappy:
        return DecompressSnappy(in, in_size, out, out_size);
    case Codec::Gzip:
        return DecompressGzip(in, in_size, out, out_size);
    case Codec::Zstd:
        return DecompressZstd(in, in_size, out, out_size);
    case Codec::Lz4Raw:
        return DecompressLz4Raw(in, in_size, out, out_size);
    case Codec::Lz4:
        return DecompressLz4Legacy(in, in_size, out, out_size);
    case Codec::Brotli:
        return DecompressBrotli(in, in_size, out, out_size);
    case Codec::Lzo:
        break;
    }
    throw CodecError(std::string("unsupported compression codec ") + CodecName(static_cast<int>(codec)));
}

} // namespace pgsplit::parquet
