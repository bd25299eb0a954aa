#pragma once

// Public API of the Parquet reader. The reader knows nothing of Postgres, Azure or output formats:
// it reads bytes through pgsplit::ByteSource and hands out columnar batches (flat columns) or
// assembled records as JSON values (nested columns: Delta checkpoints, `inspect --rows`).

#include "core/byte_source.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgsplit::parquet {

enum class Physical { Boolean, Int32, Int64, Int96, Float, Double, ByteArray, FixedLenByteArray };

enum class Logical {
    None,
    String,
    Enum,
    Json,
    Bson,
    Uuid,
    Int,
    Decimal,
    Date,
    Time,
    Timestamp,
    Float16,
    Unknown
};

enum class TimeUnit { Millis, Micros, Nanos };

enum class Repetition { Required, Optional, Repeated };

// Logical annotation of a leaf, from LogicalType or (legacy) ConvertedType.
struct LogicalType {
    Logical kind = Logical::None;
    int bit_width = 0;     // Int: 8/16/32/64
    bool is_signed = true; // Int
    int precision = 0;     // Decimal
    int scale = 0;         // Decimal
    TimeUnit unit = TimeUnit::Micros;
    bool utc_adjusted = false; // Time/Timestamp: isAdjustedToUTC
};

// A leaf column (primitive field) of the file schema.
struct Column {
    int index = 0;                 // leaf index in file order
    std::vector<std::string> path; // names from the root's child to the leaf
    Physical physical = Physical::Int32;
    int type_length = 0; // FIXED_LEN_BYTE_ARRAY width
    LogicalType logical;
    Repetition repetition = Repetition::Required; // of the leaf itself
    int16_t max_def = 0;
    int16_t max_rep = 0;
    std::optional<int32_t> field_id; // SchemaElement.field_id of the leaf, when the writer set one

    std::string DottedPath() const;
    bool IsFlat() const { return max_rep == 0 && path.size() == 1; }
};

// A node of the schema tree (group or leaf).
struct Field {
    std::string name;
    Repetition repetition = Repetition::Required;
    int column = -1;                 // leaf index when this is a leaf, else -1
    std::string annotation;          // group annotation: "LIST", "MAP", "MAP_KEY_VALUE" or empty
    std::optional<int32_t> field_id; // SchemaElement.field_id, when the writer set one
    std::vector<Field> children;
    bool IsLeaf() const { return column >= 0; }
};

// Statistics of a column chunk as stored: min/max are PLAIN-encoded bytes (no length prefix for
// BYTE_ARRAY), already chosen between min_value/max_value and the legacy min/max fields.
struct ChunkStats {
    std::optional<std::string> min;
    std::optional<std::string> max;
    std::optional<int64_t> null_count;
    std::optional<int64_t> distinct_count;
};

struct ChunkInfo {
    int column = 0;
    std::string codec;                  // "SNAPPY", "ZSTD", ...
    std::vector<std::string> encodings; // as listed in the metadata
    int64_t num_values = 0;
    int64_t compressed_size = 0;
    int64_t uncompressed_size = 0;
    int64_t data_page_offset = 0;
    std::optional<int64_t> dictionary_page_offset;
    ChunkStats stats;
};

struct RowGroupInfo {
    int64_t num_rows = 0;
    int64_t total_byte_size = 0;
    std::vector<ChunkInfo> chunks; // one per leaf column, in leaf order
};

struct FileInfo {
    int32_t version = 0;
    int64_t num_rows = 0;
    std::string created_by;
    std::vector<std::pair<std::string, std::string>> key_value_metadata;
    std::vector<RowGroupInfo> row_groups;
};

// A 96-bit Spark/Impala timestamp: nanoseconds within the day, then the Julian day.
struct Int96 {
    uint64_t nanos_of_day = 0;
    uint32_t julian_day = 0;
};

// Decoded values of one flat column for a run of consecutive rows. Values are dense by row:
// slot i belongs to row i, and a null slot holds a zero value (empty bytes), so a consumer can walk
// rows and columns without index arithmetic. Only the vector matching the column's physical type is
// filled.
struct ColumnBatch {
    const Column* column = nullptr;
    size_t size = 0;              // rows in this batch
    std::vector<uint8_t> defined; // 1 when row i has a value, 0 when null
    std::vector<uint8_t> boolean;
    std::vector<int32_t> i32;
    std::vector<int64_t> i64;
    std::vector<Int96> int96;
    std::vector<float> f32;
    std::vector<double> f64;
    // BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY: row i is bytes[offsets[i], offsets[i+1]).
    std::vector<uint32_t> offsets;
    std::vector<uint8_t> bytes;

    std::string_view Bytes(size_t i) const {
        return {reinterpret_cast<const char*>(bytes.data()) + offsets[i], offsets[i + 1] - offsets[i]};
    }
    bool IsNull(size_t i) const { return defined[i] == 0; }

    // Empties the batch for `c` (rows 0), keeping the vectors' capacity; a byte-array batch starts with
    // its first offset, ready for appends.
    void Reset(const Column* c);
    // Keeps the rows with keep[i] != 0, in order (`kept` of them): a row filter applied in place.
    void KeepRows(const std::vector<uint8_t>& keep, size_t kept);
};

// Streams the chosen flat columns of one row group in batches. Memory: the compressed column chunks of
// the chosen columns plus one batch of decoded values per column.
class RowGroupCursor {
public:
    virtual ~RowGroupCursor() = default;
    // Fills `out` (one batch per requested column, in request order) with the next rows. Returns false
    // when the row group is exhausted (then `out` is left with size 0 batches).
    virtual bool Next(std::vector<ColumnBatch>& out) = 0;
};

// What one reader may allocate for data whose size comes from the file: the decoded footer, column
// chunk bytes, pages, dictionaries, levels and values. Passing it is Error(Source), exit 7. The
// default leaves room for the rest of the process within 256 MiB.
struct ReadLimits {
    static constexpr uint64_t kDefaultMemoryBytes = uint64_t{192} << 20;
    uint64_t memory_bytes = kDefaultMemoryBytes;
};

// The limits of readers opened without explicit ones. Set once at start-up from the configuration
// (PGSPLIT_READ_MEMORY_MB, read.memory_mb); the reader itself never looks at the environment.
void SetDefaultReadLimits(const ReadLimits& limits);
ReadLimits DefaultReadLimits();

class FileReader {
public:
    virtual ~FileReader() = default;

    // Reads the footer (one ranged read of the tail, then the metadata) and validates the schema.
    // Throws Error(ExitCode::Source) naming the file and the stage on any malformed input.
    // Memory is bounded by `limits` (see ReadLimits).
    static std::unique_ptr<FileReader> Open(std::unique_ptr<ByteSource> source);
    static std::unique_ptr<FileReader> Open(std::unique_ptr<ByteSource> source, const ReadLimits& limits);

    virtual const std::string& Name() const = 0;
    virtual const FileInfo& Info() const = 0;
    virtual const std::vector<Column>& Columns() const = 0; // leaves in file order
    virtual const Field& Root() const = 0;                  // the schema root (a group)

    // Leaf index for a dotted path ("add.path"), or -1 when absent.
    virtual int FindColumn(std::string_view dotted_path) const = 0;

    // Opens a cursor over flat leaf columns (Column::IsFlat) of row group `row_group`.
    // Throws Error(Source) when a requested column is nested.
    virtual std::unique_ptr<RowGroupCursor> ReadRowGroup(int row_group, const std::vector<int>& columns,
                                                         size_t batch_rows = 4096) = 0;

    // Assembles whole records (nested structs, lists and maps included) for the given top-level fields
    // (all when empty) and calls `on_record` with one JSON object per row, keys in schema order.
    // Leaf values follow the `inspect --rows` JSONL rules of SPEC §6b (exact integers, shortest
    // round-trip floats, "NaN"/"Infinity", text as strings, binary as base64, dates YYYY-MM-DD,
    // timestamps ISO with Z when UTC-adjusted, decimals as exact strings). Lists are arrays; maps are
    // JSON objects keyed by the key's string form; a null group or value is null.
    // Return false from `on_record` to stop early.
    virtual void ReadRecords(const std::vector<std::string>& top_level_fields,
                             const std::function<bool(nlohmann::json& record)>& on_record) = 0;

    // The same as ReadRecords, with objects that keep keys in schema order (nlohmann::json sorts
    // them), for output where the order is visible (`inspect parquet --rows`).
    virtual void ReadRecordsOrdered(const std::vector<std::string>& top_level_fields,
                                    const std::function<bool(nlohmann::ordered_json& record)>& on_record) = 0;

    // True when every leaf is a top-level required or optional primitive (ReadRowGroup can read all).
    bool AllFlat() const;

    // The most bytes this reader has had reserved in its memory budget at once (tests, diagnostics).
    virtual uint64_t PeakMemory() const = 0;
};

// Opens a local file (OpenLocalFile + FileReader::Open).
std::unique_ptr<FileReader> OpenFile(const std::string& path);

// A ByteSource over bytes in memory (tests, fuzzing).
std::unique_ptr<ByteSource> MemorySource(std::string name, std::string bytes);

} // namespace pgsplit::parquet
