#pragma once

// Decompression, one adapter per Parquet codec. Each decompresses a whole page into a buffer of the
// size the page header announces and fails (CodecError) when the data is corrupt or does not expand
// to exactly that size. The caller names the file, row group, column and page.

#include <cstddef>
#include <cstdint>
#include <optional>
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

// The output size the compressed data itself declares, read without decompressing: SNAPPY's length
// preamble, the content sizes of ZSTD frames when every frame carries one. nullopt when the format
// has no such figure (or the data is too damaged to show it; decompression then reports that).
std::optional<uint64_t> DeclaredSize(Codec codec, const uint8_t* in, size_t in_size);

// The most bytes `in_size` bytes of the codec's data can expand to (DEFLATE at most 1032:1, an LZ4
// block about 255:1), so a page header claiming more is refused before its buffer is allocated.
// nullopt for codecs without a practical bound (BROTLI, ZSTD).
std::optional<uint64_t> MaxExpansion(Codec codec, size_t in_size);

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
