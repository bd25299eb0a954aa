#pragma once

// The content digest of a set of rows, computed identically by pgsplit from the rows it encodes and
// by the PostgreSQL server from the rows it stores (verify --content, and the digest sync-signals
// records in the ledger).
//
// Canonical form of a row: its fields as binary COPY writes them (a 4-byte big-endian length, -1 for
// NULL, then the type's binary send form), in the target table's column order. The server produces
// the same bytes with the types' send functions (int4send, float8send, date_send, textsend, ...), so
// a row needs no text round trip on either side: floats are compared by their bits (-0.0 differs from
// 0.0), every NaN is first replaced by the one quiet NaN, dates are day numbers, text is its UTF-8
// bytes and NULL differs from every value. A row's hash is PostgreSQL's own 64-bit hash of text,
// hashtextextended(encode(form, 'hex'), 0) (Bob Jenkins' lookup3, PgHashBytesExtended below), of
// the form's lower-case hex; a digest is the row count and the sum of the hashes modulo 2^64, so it
// does not depend on row order and a duplicated row changes it. The top 12 bits of a row's hash name
// its bucket: when two digests differ, comparing the 4096 bucket digests says which rows to look at.
//
// The hash is a checksum against accidents (a manual UPDATE, a writer that bypassed pgsplit), not
// against an adversary who can write to the serving database anyway. It is the server's cheapest
// one: a cryptographic hash from SQL (md5, sha256) costs the server three times as much per row.

#include "pg/connection.h"
#include "sync/copy_encoder.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::sync {

inline constexpr int kBucketBits = 12;
inline constexpr size_t kBuckets = size_t{1} << kBucketBits;

inline uint32_t BucketOf(uint64_t row_hash) {
    return static_cast<uint32_t>(row_hash >> (64 - kBucketBits));
}

struct ContentDigest {
    int64_t rows = 0;
    uint64_t sum = 0; // of the row hashes, modulo 2^64

    void Add(uint64_t row_hash) {
        ++rows;
        sum += row_hash;
    }
    bool operator==(const ContentDigest& o) const { return rows == o.rows && sum == o.sum; }
    bool operator!=(const ContentDigest& o) const { return !(*this == o); }
    // "v1:ROWS:16 hex digits", the form the ledger stores.
    std::string Text() const;
    // nullopt for anything that is not Text()'s form (the column is text anyone may write).
    static std::optional<ContentDigest> Parse(const std::string& text);
    // A digest from the server's count and sum (a decimal integer of any sign, reduced modulo 2^64).
    static std::optional<ContentDigest> FromServer(int64_t rows, const std::string& sum);
};

// PostgreSQL's hash_bytes_extended (hashtextextended of a text under a deterministic collation, as
// the server computes it on a little-endian machine): lookup3 with PostgreSQL's seeding, 64 bits.
uint64_t PgHashBytesExtended(const unsigned char* data, size_t size, uint64_t seed);

// Per-bucket digests of one set of rows.
using BucketDigests = std::array<ContentDigest, kBuckets>;

// Hashes rows in the canonical form above, given the COPY fields of each row (without the 16-bit
// field count) and the target's column types.
class RowHasher {
public:
    explicit RowHasher(const std::vector<TargetColumn>& columns);
    ~RowHasher();
    RowHasher(const RowHasher&) = delete;
    RowHasher& operator=(const RowHasher&) = delete;

    uint64_t Hash(const char* fields, size_t size);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Digests rows on a thread of its own, so that a sync does not pay for the digest while it waits on
// the server: the COPY loop hands over each buffer it sends (copied, with where its rows are) and
// goes on. At most kQueued buffers wait at once (the loop blocks beyond that): memory stays bounded.
class DigestPipeline {
public:
    static constexpr size_t kQueued = 4;
    // A row inside a submitted buffer: its fields' offset and size.
    struct RowSpan {
        size_t offset;
        size_t size;
    };

    explicit DigestPipeline(const std::vector<TargetColumn>& columns);
    ~DigestPipeline(); // stops the thread; what was submitted and not finished is dropped
    DigestPipeline(const DigestPipeline&) = delete;
    DigestPipeline& operator=(const DigestPipeline&) = delete;

    // Queues the rows `rows` of `data` (which the caller may reuse once this returns) and clears `rows`.
    void Submit(const char* data, size_t size, std::vector<RowSpan>& rows);
    // Waits for every submitted row and returns the digest of all of them.
    ContentDigest Finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Splits one row's COPY fields into its columns' field bytes (length prefix included), for comparing
// rows column by column. Returns false when `fields` is not `columns` fields.
bool SplitFields(const char* fields, size_t size, size_t columns, std::vector<std::string>& out);

// A field's value for a message ("2024-01-05", "SYM0001", "-0", "NULL"), from its COPY field bytes.
std::string FieldText(PgType type, const std::string& field);

// SQL: the canonical field of `column` (bytea), and the row hash (bigint, as signed 64 bits) of a
// row of `columns`, over the columns of the FROM item. Identifiers are quoted; nothing else enters.
std::string FieldSql(const pg::Connection& conn, const TargetColumn& column);
std::string RowHashSql(const pg::Connection& conn, const std::vector<TargetColumn>& columns);

} // namespace pgsplit::sync
