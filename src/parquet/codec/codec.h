#pragma once

// Decompression, one adapter per Parquet codec. Each decompresses a whole page into a buffer of the
// size the page header announces and fails (CodecError) when the data is corrupt or does not expand
// to exactly that size. The caller names the file, row group, column and page.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pgsplit::parquet {

enum class Codec {
    Uncompressed = 0,
    Snappy = 1,
    Gzip = 2,
    Lzo = 3,
    Brotli = 4,
    Lz4 = 5,
    Zstd = 6,
    Lz4Raw = 7
};

class CodecError : public std::runtime_error {
public:
    explicit CodecError(const std::string& what) : std::runtime_error(what) {}
};

const char* CodecName(int codec);

// True for codecs pgsplit can decompress.
bool CodecSupported(int codec);

// Decompresses `in` into exactly `out_size` bytes at `out`.
void Decompress(Codec codec, const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);

void DecompressSnappy(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);
void DecompressGzip(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);
void DecompressZstd(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);
void DecompressLz4Raw(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);
// The legacy LZ4 codec: Hadoop framing when it parses exactly, else a raw LZ4 block.
void DecompressLz4Legacy(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);
void DecompressBrotli(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);

} // namespace pgsplit::parquet
