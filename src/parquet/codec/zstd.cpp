#include "parquet/codec/codec.h"

#include <zstd.h>

namespace pgsplit::parquet {

void DecompressZstd(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    size_t rc = ZSTD_decompress(out, out_size, in, in_size);
    if (ZSTD_isError(rc)) {
        throw CodecError(std::string("corrupt zstd data: ") + ZSTD_getErrorName(rc));
    }
    if (rc != out_size) {
        throw CodecError("zstd data expands to " + std::to_string(rc) + " bytes but the page header says " +
                         std::to_string(out_size));
    }
}

} // namespace pgsplit::parquet
