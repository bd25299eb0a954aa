// The subset of the Parquet file metadata that pgsplit reads. Written from the Parquet format
// specification; field ids follow it so the compact protocol decodes real files. Every field is
// optional here on purpose: the reader checks presence itself and reports a missing field with the
// file and stage named, rather than letting the generated code throw a bare protocol error.
// Fields and structs pgsplit does not use are left out; the compact protocol skips them.
// Enum-valued fields are declared i32 (the same bytes on the wire): a hostile file can hold any
// number there, and as a plain integer it is data to validate rather than an out-of-range enum.

namespace cpp pgsplit.parquet.format

enum Type {
  BOOLEAN = 0,
  INT32 = 1,
  INT64 = 2,
  INT96 = 3,
  FLOAT = 4,
  DOUBLE = 5,
  BYTE_ARRAY = 6,
  FIXED_LEN_BYTE_ARRAY = 7,
}

enum ConvertedType {
  UTF8 = 0,
  MAP = 1,
  MAP_KEY_VALUE = 2,
  LIST = 3,
  ENUM = 4,
  DECIMAL = 5,
  DATE = 6,
  TIME_MILLIS = 7,
  TIME_MICROS = 8,
  TIMESTAMP_MILLIS = 9,
  TIMESTAMP_MICROS = 10,
  UINT_8 = 11,
  UINT_16 = 12,
  UINT_32 = 13,
  UINT_64 = 14,
  INT_8 = 15,
  INT_16 = 16,
  INT_32 = 17,
  INT_64 = 18,
  JSON = 19,
  BSON = 20,
  INTERVAL = 21,
}

enum FieldRepetitionType {
  REQUIRED = 0,
  OPTIONAL = 1,
  REPEATED = 2,
}

enum Encoding {
  PLAIN = 0,
  PLAIN_DICTIONARY = 2,
  RLE = 3,
  BIT_PACKED = 4,
  DELTA_BINARY_PACKED = 5,
  DELTA_LENGTH_BYTE_ARRAY = 6,
  DELTA_BYTE_ARRAY = 7,
  RLE_DICTIONARY = 8,
  BYTE_STREAM_SPLIT = 9,
}

enum CompressionCodec {
  UNCOMPRESSED = 0,
  SNAPPY = 1,
  GZIP = 2,
  LZO = 3,
  BROTLI = 4,
  LZ4 = 5,
  ZSTD = 6,
  LZ4_RAW = 7,
}

enum PageType {
  DATA_PAGE = 0,
  INDEX_PAGE = 1,
  DICTIONARY_PAGE = 2,
  DATA_PAGE_V2 = 3,
}

// Column statistics. min/max are the legacy (signed-order) fields; min_value/max_value the newer ones.
struct Statistics {
  1: optional binary max
  2: optional binary min
  3: optional i64 null_count
  4: optional i64 distinct_count
  5: optional binary max_value
  6: optional binary min_value
}

// Empty marker structs: only their presence matters to pgsplit.
struct Empty {}

struct DecimalType {
  1: optional i32 scale
  2: optional i32 precision
}

union TimeUnit {
  1: Empty MILLIS
  2: Empty MICROS
  3: Empty NANOS
}

struct TimestampType {
  1: optional bool isAdjustedToUTC
  2: optional TimeUnit unit
}

struct TimeType {
  1: optional bool isAdjustedToUTC
  2: optional TimeUnit unit
}

struct IntType {
  1: optional i8 bitWidth
  2: optional bool isSigned
}

// The logical annotation of a schema element. Id 9 was reserved for INTERVAL.
union LogicalType {
  1: Empty STRING
  2: Empty MAP
  3: Empty LIST
  4: Empty ENUM
  5: DecimalType DECIMAL
  6: Empty DATE
  7: TimeType TIME
  8: TimestampType TIMESTAMP
  10: IntType INTEGER
  11: Empty UNKNOWN
  12: Empty JSON
  13: Empty BSON
  14: Empty UUID
  15: Empty FLOAT16
  16: Empty VARIANT
  17: Empty GEOMETRY
  18: Empty GEOGRAPHY
}

struct SchemaElement {
  1: optional i32 type
  2: optional i32 type_length
  3: optional i32 repetition_type
  4: optional string name
  5: optional i32 num_children
  6: optional i32 converted_type
  7: optional i32 scale
  8: optional i32 precision
  9: optional i32 field_id
  10: optional LogicalType logicalType
}

struct DataPageHeader {
  1: optional i32 num_values
  2: optional i32 encoding
  3: optional i32 definition_level_encoding
  4: optional i32 repetition_level_encoding
}

struct DictionaryPageHeader {
  1: optional i32 num_values
  2: optional i32 encoding
  3: optional bool is_sorted
}

struct DataPageHeaderV2 {
  1: optional i32 num_values
  2: optional i32 num_nulls
  3: optional i32 num_rows
  4: optional i32 encoding
  5: optional i32 definition_levels_byte_length
  6: optional i32 repetition_levels_byte_length
  7: optional bool is_compressed = true
}

struct PageHeader {
  1: optional i32 type
  2: optional i32 uncompressed_page_size
  3: optional i32 compressed_page_size
  4: optional i32 crc
  5: optional DataPageHeader data_page_header
  7: optional DictionaryPageHeader dictionary_page_header
  8: optional DataPageHeaderV2 data_page_header_v2
}

struct KeyValue {
  1: optional string key
  2: optional string value
}

struct ColumnMetaData {
  1: optional i32 type
  2: optional list<i32> encodings
  3: optional list<string> path_in_schema
  4: optional i32 codec
  5: optional i64 num_values
  6: optional i64 total_uncompressed_size
  7: optional i64 total_compressed_size
  9: optional i64 data_page_offset
  10: optional i64 index_page_offset
  11: optional i64 dictionary_page_offset
  12: optional Statistics statistics
}

struct ColumnChunk {
  1: optional string file_path
  2: optional i64 file_offset
  3: optional ColumnMetaData meta_data
  // Set when the column is encrypted (Parquet Modular Encryption); pgsplit refuses such files.
  8: optional Empty crypto_metadata
  9: optional binary encrypted_column_metadata
}

struct RowGroup {
  1: optional list<ColumnChunk> columns
  2: optional i64 total_byte_size
  3: optional i64 num_rows
}

struct FileMetaData {
  1: optional i32 version
  2: optional list<SchemaElement> schema
  3: optional i64 num_rows
  4: optional list<RowGroup> row_groups
  5: optional list<KeyValue> key_value_metadata
  6: optional string created_by
  // Present in files with an encrypted column but a plaintext footer.
  8: optional Empty encryption_algorithm
}
