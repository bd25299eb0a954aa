#pragma once

// PostgreSQL binary COPY encoding, fed by Parquet/Delta column batches.
//
// A ColumnPlan says, per target column, how a source column's physical layout becomes the target
// type; the encoder walks each batch row by row and writes every value straight into the COPY buffer
// (big-endian, length-prefixed) with no per-value allocation and no text round trip. A value that
// cannot be stored (NULL into NOT NULL, out of range, a timestamp that is not midnight for a date)
// makes the row invalid: the encoder rewinds the buffer to the row's start and reports it, so
// --skip-invalid can drop it without a trace.

#include "parquet/reader.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::sync {

// Target types pgsplit writes (pg_type OIDs).
enum class PgType { Bool, Int2, Int4, Int8, Float4, Float8, Text, Bytea, Date, Timestamp, TimestampTz };

// Returns the PgType for a pg_type OID, or nullopt when pgsplit cannot write that type.
std::optional<PgType> PgTypeFromOid(uint32_t oid);
const char* PgTypeName(PgType t);

struct TargetColumn {
    std::string name;
    PgType type = PgType::Text;
    std::string sql_type; // format_type(), for messages only
    bool not_null = false;
    int attnum = 0;                               // pg_attribute.attnum in the target table
    uint32_t type_oid = 0;                        // pg_type OID (one of those PgTypeFromOid accepts)
    int32_t typmod = -1;                          // atttypmod: varchar length + 4, timestamp precision, or -1
    std::string collation_schema, collation_name; // set when not the type's default collation
};

struct EncodeOptions {
    bool truncate_timestamps = false; // timestamp -> date keeps the date of a non-midnight value
};

// Where the current batch's rows come from, for messages about invalid rows.
struct RowOrigin {
    std::string file;
    int64_t first_row = 0; // the batch's first row: its 0-based place among the file's rows
    // When a row filter dropped rows inside the batch: each row's place (else rows follow first_row).
    const std::vector<int64_t>* row_numbers = nullptr;

    int64_t Row(size_t i) const {
        return row_numbers && !row_numbers->empty() ? (*row_numbers)[i] : first_row + static_cast<int64_t>(i);
    }
};

struct InvalidRow {
    std::string file;
    int64_t row = 0;
    std::string column;
    std::string reason;
    std::string Describe() const;
};

// Checks once, before anything is written, that every source layout can become its target type.
// Throws Error(Source) naming the column and both types when it cannot (schema mismatch).
void CheckConvertible(const parquet::Column& source, const TargetColumn& target, const std::string& table);

// A growable byte buffer without zero-filling, for the hot encode loop.
class CopyBuffer {
public:
    // Returns a pointer to `n` writable bytes at the end and counts them as written.
    char* Grow(size_t n) {
        if (size_ + n > data_.size()) {
            data_.resize(std::max(data_.size() * 2, size_ + n + 4096));
        }
        char* p = data_.data() + size_;
        size_ += n;
        return p;
    }
    void Truncate(size_t size) { size_ = size; }
    void Clear() { size_ = 0; }
    size_t Size() const { return size_; }
    const char* Data() const { return data_.data(); }

private:
    std::vector<char> data_;
    size_t size_ = 0;
};

// Sees each row the encoder writes: its fields without the 16-bit field count (to digest them).
class RowObserver {
public:
    virtual ~RowObserver() = default;
    virtual void OnRow(const char* fields, size_t size) = 0;
};

class CopyEncoder {
public:
    explicit CopyEncoder(std::vector<TargetColumn> targets, EncodeOptions options = {});

    // Appends the 19-byte binary COPY header to `out`.
    static void AppendHeader(CopyBuffer& out);
    // Appends the trailer (-1 field count) to `out`.
    static void AppendTrailer(CopyBuffer& out);

    // Encodes `rows` rows of `columns` (one per target, same order; a batch whose `column` is null
    // stands for a column the source lacks and is all NULL) into `out`. For each invalid row calls
    // on_invalid; if it returns false, encoding stops and Encode returns false. Returns the number of
    // rows written through `written`.
    bool Encode(const std::vector<const parquet::ColumnBatch*>& columns, size_t rows, const RowOrigin& origin,
                CopyBuffer& out, int64_t& written, const std::function<bool(const InvalidRow&)>& on_invalid);

    const std::vector<TargetColumn>& Targets() const { return targets_; }
    // Every row written from now on is also shown to `observer` (nullptr: none).
    void SetObserver(RowObserver* observer) { observer_ = observer; }

private:
    std::vector<TargetColumn> targets_;
    EncodeOptions options_;
    RowObserver* observer_ = nullptr;
};

} // namespace pgsplit::sync
