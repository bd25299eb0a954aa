#pragma once

// Small Parquet files that lie, written in the tests (metadata with the Thrift structs the reader uses,
// and raw compact-protocol bytes where a struct per element would cost the test itself too much).
// Each claims sizes or counts its bytes do not back, to show the reader's memory budget, its
// cross-checks and its interrupt points. Shared by the parquet, delta and command tests.

#include <cstdint>
#include <string>

namespace pgsplit::test::hostile {

// A Delta-checkpoint-like file: optional group `add` with `leaves` optional leaves (`path` STRING,
// then `size`, `modificationTime`, ... INT64), `row_groups` row groups of `rows` rows each, all
// sharing one chunk per leaf whose only page holds one RLE run of `rows` definition levels 0 (add is
// null): a few hundred bytes for any number of rows.
std::string NullRunCheckpoint(int64_t rows, int row_groups, int leaves = 1);

// A flat optional INT32 column `x`, `row_groups` row groups of `rows` rows, every value NULL (one RLE
// run per page, pages of at most 2^30 values).
std::string NullRunFlat(int64_t rows, int row_groups);

// A footer of `row_groups` row groups of `chunks` column chunks each, every chunk an otherwise empty
// struct (only file_offset): three bytes on the wire, hundreds in memory. The schema has one column,
// so the file is invalid even where memory suffices (the chunk count differs).
std::string ManyChunksFooter(int row_groups, int chunks);

// A flat optional BYTE_ARRAY column of `rows` rows, dictionary-encoded with a dictionary of one value
// of `value_bytes` bytes and every row pointing at it: decoded, rows x value_bytes.
std::string DictionaryAmplifier(int64_t rows, uint32_t value_bytes);

// One required INT32 column of 3 rows whose single page is `body` compressed with `codec` (a Thrift
// CompressionCodec value) but whose header claims `uncompressed` bytes.
std::string PageSizeLie(int codec, const std::string& body, int32_t uncompressed);

// One required INT32 column of `rows` rows whose page claims `page_values` values.
std::string PageCountLie(int64_t rows, int32_t page_values);

// `columns` required BYTE_ARRAY columns of one row each whose chunks are `chunk_bytes` long (one
// PLAIN value filling the page).
std::string WideChunks(int columns, uint32_t chunk_bytes);

} // namespace pgsplit::test::hostile
