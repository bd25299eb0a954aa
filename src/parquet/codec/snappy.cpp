#include "parquet/codec/codec.h"

#include <snappy.h>

namespace pgsplit::parquet {

void DecompressSnappy(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    const char* src = reinterpret_cast<const char*>(in);
    size_t len = 0;
    if (!snappy::GetUncompressedLength(src, in_size, &len)) {
        throw CodecError("corrupt snappy data (bad length preamble)");
    }
    if (len != out_size) {
        throw CodecError("snappy data expands to " + std::to_string(len) +
                         " bytes but the page header says " + std::to_string(out_size));
    }
    if (!snappy::RawUncompress(src, in_size, reinterpret_cast<char*>(out))) {
        throw CodecError("corrupt snappy data");
    }
}

} // namespace pgsplit::parquet
