#pragma once

// Deletion vectors (Delta PROTOCOL.md, "Deletion Vectors" and "Deletion Vector Format"): the rows of a
// data file that a DELETE, UPDATE or MERGE marked as gone without rewriting the file.
//
//   descriptor  the `deletionVector` object of an add action: where the bitmap lives ('u': a file
//               next to the data, named from a Z85-encoded UUID; 'p': an absolute path; 'i': inline,
//               Z85 in the log), its byte size and how many rows it deletes (cardinality)
//   bitmap      a RoaringBitmapArray: a magic number, then a 64-bit roaring bitmap in the portable
//               format (buckets of 32-bit roaring bitmaps keyed by the high 32 bits)
//   file        version byte 1, then per DV: big-endian data size, the bitmap, big-endian CRC-32
//
// Everything here is untrusted: sizes and counts are checked against the bytes present, and the
// decoded form holds containers as they were stored, so memory is proportional to the DV's bytes
// (a run container covering 65536 rows stays 4 bytes).

#include "delta/types.h"
#include "storage/storage.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pgsplit::delta {

// A DV's bytes do not follow the format; what() says what is wrong (callers add file and stage).
class DvFormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Z85 (ZeroMQ RFC 32) decoding: every 5 characters give 4 bytes, big-endian base 85. nullopt for a
// length that is not a multiple of 5, a character outside the alphabet or a group above 2^32 - 1.
std::optional<std::string> Z85Decode(std::string_view text);

// The deleted row indexes of one data file.
class DeletionVector {
public:
    DeletionVector() = default;

    // Parses a RoaringBitmapArray (magic number first). Throws DvFormatError for a wrong magic number,
    // truncated or trailing bytes, keys out of order (buckets or containers that overlap), values out
    // of order inside a container, a bitmap container whose bits disagree with its cardinality, or a
    // key with its most significant bit set.
    static DeletionVector Parse(std::string_view bytes);

    bool Contains(uint64_t row) const;
    uint64_t Cardinality() const { return cardinality_; }
    // The largest deleted row index; nullopt when empty.
    std::optional<uint64_t> Max() const;
    bool Empty() const { return cardinality_ == 0; }
    // Every deleted index in ascending order (tests, `inspect`); stops when `fn` returns false.
    template <typename Fn>
    void ForEach(Fn fn) const;

private:
    enum class Kind : uint8_t { Array, Bitmap, Run };
    struct Container {
        uint64_t key = 0; // row >> 16
        Kind kind = Kind::Array;
        uint32_t cardinality = 0;
        std::vector<uint16_t> values; // Array: sorted values; Run: (start, length - 1) pairs
        std::vector<uint64_t> bits;   // Bitmap: 1024 words
    };
    std::vector<Container> containers_; // ascending key
    uint64_t cardinality_ = 0;
};

template <typename Fn>
void DeletionVector::ForEach(Fn fn) const {
    for (const auto& c : containers_) {
        uint64_t base = c.key << 16;
        switch (c.kind) {
        case Kind::Array:
            for (uint16_t v : c.values) {
                if (!fn(base | v)) {
                    return;
                }
            }
            break;
        case Kind::Run:
            for (size_t i = 0; i + 1 < c.values.size(); i += 2) {
                for (uint32_t v = c.values[i]; v <= uint32_t{c.values[i]} + c.values[i + 1]; ++v) {
                    if (!fn(base | v)) {
                        return;
                    }
                }
            }
            break;
        case Kind::Bitmap:
            for (size_t w = 0; w < c.bits.size(); ++w) {
                for (uint64_t word = c.bits[w]; word != 0; word &= word - 1) {
                    if (!fn(base | (w * 64 + static_cast<uint64_t>(__builtin_ctzll(word))))) {
                        return;
                    }
                }
            }
            break;
        }
    }
}

// The file a 'u' or 'p' descriptor points at, relative to the table root ('u') or as the log gives
// it ('p', URI-decoded). Throws Error(Source) naming `where` for a malformed descriptor.
std::string DeletionVectorPath(const DvDescriptor& dv, const std::string& where);

// Reads and checks the DV of a data file with `num_rows` rows: inline bytes or the file's slice, its
// checksum, the size the descriptor gives, the cardinality it gives, and that every index is a row of
// the file. Throws Error(Source) naming `where`, the DV file and what is wrong. The slice read is at
// most `max_bytes` (the reader's memory budget).
DeletionVector LoadDeletionVector(storage::Storage& storage, const DvDescriptor& dv, int64_t num_rows,
                                  uint64_t max_bytes, const std::string& where);

// Parses the `deletionVector` object of an add or remove action; nullopt for null. Throws Error(Source)
// naming `where` when it is not a valid descriptor.
std::optional<DvDescriptor> ParseDvDescriptor(const nlohmann::json& j, const std::string& where);

} // namespace pgsplit::delta
