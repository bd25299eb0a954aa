#pragma once

// Helpers to compare pgsplit's decoded values with an oracle's output (DuckDB CSV/JSONL, hyparquet
// JSONL): a CSV reader that keeps the NULL-vs-empty distinction, and value comparison that
// understands the oracle's conventions (MANIFEST.md): nan/inf spellings, \xNN blob escapes,
// "+00" on TIMESTAMPTZ (compared with pgsplit's "Z"), space-separated timestamps, hyparquet's {"hex":..}
// bytes and int64 strings.

#include "parquet/reader.h"
#include "parquet/values.h"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::test::pq {

struct CsvField {
    std::string text;
    bool quoted = false;
    bool IsNull() const { return !quoted && text.empty(); }
};
using CsvRow = std::vector<CsvField>;

// Parses RFC 4180 CSV (quoted fields may span lines).
std::vector<CsvRow> ParseCsv(const std::string& text);

std::string ReadFileText(const std::string& path);

// Decodes DuckDB's BLOB text (\xNN escapes, other bytes literal).
std::string UnescapeDuckBlob(const std::string& s);
std::string DecodeBase64(const std::string& s);

// Compares one rendered pgsplit value with a DuckDB CSV field of the given DuckDB type. Returns an
// empty string when equal, else a description of the difference.
std::string CompareCsvCell(const parquet::Cell& mine, bool mine_null, const CsvField& theirs,
                           const std::string& duck_type);

// Which reader wrote a JSONL oracle file: its conventions differ (MANIFEST.md). DuckDB's text says
// whether a timestamp is UTC-adjusted ("+00") and its numbers are exact; hyparquet prints every
// timestamp with "Z" and gives DECIMALs as (lossy) JS doubles.
enum class Oracle { DuckDb, Hyparquet };

// Compares JSON values (pgsplit record vs oracle JSONL), leaves by the rules above: floats exactly
// (FLOAT leaves by their 32 bits), timestamps with their UTC marker, a tolerance only for
// hyparquet's decimals. Returns an empty string when equal, else the path and difference.
std::string CompareJson(const nlohmann::json& mine, const nlohmann::json& theirs, Oracle oracle,
                        const std::string& path = "$");

// Decodes every row of a file as JSON records: flat files through ReadRowGroup (the fast path) and
// nested files through ReadRecords, so both paths are exercised.
std::vector<nlohmann::json> DecodeAllAsJson(parquet::FileReader& reader);

// Decides whether a cell is left out of the comparison (an oracle's known error).
using SkipCell = std::function<bool(const std::string& file, size_t row, const std::string& column)>;

// Compares a flat file, read through ReadRowGroup, with DuckDB's CSV of it; `meta` holds the DuckDB
// column types ("columns": [{"name", "duckdb_type"}]). Returns the problems (at most a few).
std::vector<std::string> CompareWithCsv(const std::string& rel, parquet::FileReader& reader,
                                        const std::filesystem::path& csv, const nlohmann::json& meta,
                                        size_t& compared, size_t& skipped, const SkipCell& skip);

// Compares records (ReadRecords, or the flat path for flat files) with an oracle's JSONL;
// `adapt` may rewrite each oracle record first.
std::vector<std::string> CompareWithJsonl(parquet::FileReader& reader, const std::filesystem::path& jsonl,
                                          Oracle oracle, size_t& compared,
                                          const std::function<void(nlohmann::json&)>& adapt);

} // namespace pgsplit::test::pq
