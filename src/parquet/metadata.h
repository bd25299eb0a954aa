#pragma once

// File metadata: the Thrift compact-protocol footer and page headers, decoded with size caps, and
// turned into the public schema (Columns, Field tree) and FileInfo.

#include "parquet/memory_budget.h"
#include "parquet/reader.h"
#include "parquet_types.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pgsplit::parquet {

// Decode a struct from `size` bytes; return the bytes consumed. Throw std::exception (from Thrift) on
// malformed input. Strings and containers are capped so a hostile length cannot allocate more than
// the input could hold; the footer's containers are also charged, as they are announced, to `lease`
// (Error(Source) when they pass its budget).
size_t DecodeFileMetaData(const uint8_t* data, size_t size, format::FileMetaData& out, BudgetLease& lease);
size_t DecodePageHeader(const uint8_t* data, size_t size, format::PageHeader& out);

// Builds the leaves and the field tree from the flattened schema. Throws std::runtime_error with a
// description (the caller names the file).
void BuildSchema(const std::vector<format::SchemaElement>& schema, std::vector<Column>& columns, Field& root);

// Summarises the footer for Info(). Columns must already be built.
FileInfo BuildFileInfo(const format::FileMetaData& meta, const std::vector<Column>& columns);

std::string PhysicalName(Physical p);
std::string LogicalName(const LogicalType& t); // "STRING", "DECIMAL(10,2)", "TIMESTAMP(MICROS,UTC)", ...
std::string RepetitionName(Repetition r);

} // namespace pgsplit::parquet
