#include "parquet/codec/codec.h"

#include <cstring>

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
