#include "parquet/codec/codec.h"

#include <zlib.h>

namespace pgsplit::parquet {

// GZIP pages may hold several concatenated gzip members (parquet-testing
// concatenated_gzip_members.parquet); each member is inflated in turn until the output is full.
void DecompressGzip(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
    z_stream zs{};
    // 15 + 32: zlib or gzip header, detected automatically.
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        throw CodecError("cannot initialise zlib");
    }
    zs.next_in = const_cast<Bytef*>(in);
    zs.avail_in = static_cast<uInt>(in_size);
    zs.next_out = out;
    zs.avail_out = static_cast<uInt>(out_size);
    if (in_size > UINT32_MAX || out_size > UINT32_MAX) {
        inflateEnd(&zs);
        throw CodecError("gzip page is too large");
    }
    for (;;) {
        int rc = inflate(&zs, Z_FINISH);
        if (rc == Z_STREAM_END) {
            if (zs.avail_in > 0 && zs.avail_out > 0) {
                inflateReset(&zs); // another member follows
                continue;
            }
            break;
        }
        if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
            inflateEnd(&zs);
            throw CodecError("gzip data expands past the " + std::to_string(out_size) +
                             " bytes the page header says");
        }
        std::string msg = zs.msg ? zs.msg : "inflate error " + std::to_string(rc);
        inflateEnd(&zs);
        throw CodecError("corrupt gzip data: " + msg);
    }
    size_t produced = out_size - zs.avail_out;
    inflateEnd(&zs);
    if (produced != out_size) {
        throw CodecError("gzip data expands to " + std::to_string(produced) +
                         " bytes but the page header says " + std::to_string(out_size));
    }
}

} // namespace pgsplit::parquet
