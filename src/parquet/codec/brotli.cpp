#include "parquet/codec/codec.h"

#include <brotli/decode.h>

namespace pgsplit::parquet {

void DecompressBrotli(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    size_t got = out_size;
    if (BrotliDecoderDecompress(in_size, in, &got, out) != BROTLI_DECODER_RESULT_SUCCESS) {
        throw CodecError("corrupt brotli data (or it expands past the size in the page header)");
    }
    if (got != out_size) {
        throw CodecError("brotli data expands to " + std::to_string(got) +
                         " bytes but the page header says " + std::to_string(out_size));
    }
}

} // namespace pgsplit::parquet
