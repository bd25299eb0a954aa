#pragma once

// What a Delta log says about a table: protocol, metadata (schema, partition columns, configuration)
// and the data files of a snapshot. Pure data; the log replay lives in log.cpp.

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::delta {

enum class TypeKind {
    String,
    Long,
    Integer,
    Short,
    Byte,
    Float,
    Double,
    Boolean,
    Binary,
    Date,
    Timestamp,    // microseconds, UTC-adjusted
    TimestampNtz, // microseconds, no zone (reader feature timestampNtz)
    Decimal,
    Struct,
    Array,
    Map,
    Other, // a type this reader does not know (variant, ...): refused when read
};

struct StructField;

// A Delta data type, parsed from the schemaString JSON.
struct DataType {
    TypeKind kind = TypeKind::String;
    int precision = 0;                 // Decimal
    int scale = 0;                     // Decimal
    std::string name;                  // the type as written ("long", "decimal(5,3)", "struct", ...)
    std::vector<StructField> fields;   // Struct
    std::shared_ptr<DataType> element; // Array element / Map value
    std::shared_ptr<DataType> key;     // Map key

    bool IsPrimitive() const {
        return kind != TypeKind::Struct && kind != TypeKind::Array && kind != TypeKind::Map;
    }
};

struct StructField {
    std::string name;
    DataType type;
    bool nullable = true;
    nlohmann::json metadata; // column metadata (column mapping ids live here)
};

struct Schema {
    std::vector<StructField> fields;

    const StructField* Find(const std::string& name) const;
    // Delta column names are case-insensitive: the one field whose name equals `name` ignoring ASCII
    // case (exactly or not), else null. Two fields that differ only by case (a damaged or hostile
    // schema) make the match ambiguous, even if one is spelled exactly: Error(Source) naming both.
    const StructField* FindColumn(const std::string& name) const;
};

// Parses a schemaString. Throws Error(Source) naming `where` when it is not a Delta struct type.
Schema ParseSchema(const std::string& schema_string, const std::string& where);

struct Protocol {
    int min_reader_version = 0;
    int min_writer_version = 0;
    std::optional<std::vector<std::string>> reader_features; // present only for reader version 3
    std::optional<std::vector<std::string>> writer_features;
};

struct Metadata {
    std::string id;
    std::string schema_string;
    Schema schema;
    std::vector<std::string> partition_columns;
    std::map<std::string, std::string> configuration;
    std::optional<int64_t> created_time;
};

// The `deletionVector` object of an add action (PROTOCOL.md, "Deletion Vector Descriptor").
struct DvDescriptor {
    char storage_type = 0;         // 'u', 'p' or 'i'
    std::string path_or_inline;    // as in the log
    std::optional<int64_t> offset; // 'u'/'p': where the DV's size field starts in its file
    int64_t size_in_bytes = 0;     // of the bitmap (magic included), without size field and checksum
    int64_t cardinality = 0;       // rows it deletes
};

// An active data file of a snapshot (an `add` action that no later `remove` cancelled).
struct AddFile {
    std::string path;  // URI-decoded, relative to the table root (or an absolute URI)
    std::string dv_id; // deletion vector identity, empty when none
    std::optional<DvDescriptor> dv;
    // Partition values exactly as the log stores them; nullopt is NULL (the log's null or "").
    std::map<std::string, std::optional<std::string>> partition_values;
    int64_t size = 0;
    int64_t modification_time = 0;
    // From stats (JSON) or stats_parsed (checkpoint): nullopt when the writer recorded none.
    std::optional<int64_t> num_records;
    nlohmann::json min_values; // object keyed by column name, or null
    nlohmann::json max_values;
    nlohmann::json null_count;
    int64_t version = 0; // the commit (or checkpoint) version the add came from

    // Rows the file holds for the table: numRecords minus the rows its deletion vector deletes
    // (nullopt without numRecords, or when the two disagree).
    std::optional<int64_t> LiveRecords() const;

    // The partition value of `column` (nullopt: NULL or not a partition column).
    std::optional<std::string> PartitionValue(const std::string& column) const;
};

} // namespace pgsplit::delta
