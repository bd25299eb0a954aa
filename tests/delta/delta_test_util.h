#pragma once

// Helpers for the Delta tests: temporary tables, expected-output parsing and value canonicalisation
// so that DuckDB's CSV/JSONL oracle outputs and pgsplit's rows compare cell by cell.

#include "delta/scan.h"
#include "delta/types.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgsplit::test {

void WriteFile(const std::filesystem::path& path, const std::string& content);
std::string ReadFile(const std::filesystem::path& path);
void CopyTree(const std::filesystem::path& from, const std::filesystem::path& to);
// The highest version with a commit file (NNNNNNNNNNNNNNNNNNNN.json) in `table`/_delta_log, or -1.
int64_t LatestCommitVersion(const std::filesystem::path& table);

// A CSV file (DuckDB COPY ... (FORMAT csv, HEADER)): header, then rows. An unquoted empty field is
// NULL (nullopt), a quoted empty field is "".
struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::optional<std::string>>> rows;
};
CsvTable ParseCsv(const std::string& text);

// Canonical text of one value of a Delta type, whatever form it came in. NULL is "<null>".
std::string CanonCsv(const std::optional<std::string>& cell, const delta::DataType& type);
std::string CanonJson(const nlohmann::json& value, const delta::DataType& type);
std::string CanonBatch(const parquet::ColumnBatch& batch, size_t row, const delta::DataType& type);

// An oracle's timestamp text as microseconds since the epoch, parsed independently of the product
// (Z, +HH, +HH:MM offsets; fractions truncated to microseconds). nullopt when malformed.
std::optional<int64_t> OracleTimestampMicros(const std::string& text);

// Every schema column of `snap`, in schema order.
std::vector<std::string> SchemaColumns(const delta::Snapshot& snap);

// Rows as sorted lists of canonical rows (cells joined by " | "), columns in `columns` order.
using CanonRows = std::vector<std::string>;
// `where_column`/`where_value`: keep only rows whose cell in that column has that text (JSONL only).
CanonRows ExpectedRows(const std::filesystem::path& file, const delta::Schema& schema,
                       const std::vector<std::string>& columns, const std::string& where_column = "",
                       const std::optional<std::string>& where_value = std::nullopt);
CanonRows RowsViaReadRows(const delta::Snapshot& snap, storage::Storage& storage,
                          const std::vector<std::string>& columns);
CanonRows RowsViaScan(const delta::Snapshot& snap, storage::Storage& storage,
                      const std::vector<std::string>& columns,
                      const std::optional<delta::Predicate>& predicate = std::nullopt);

// A readable diff of two sorted row lists (first few differences).
std::string DiffRows(const CanonRows& want, const CanonRows& got);

} // namespace pgsplit::test
