#pragma once

// Decoded rows as JSONL or CSV (SPEC §6b), for `inspect parquet --rows` and `inspect delta --rows`.
// Values follow the same rules as the Parquet reader's records (parquet/values.h): exact integers,
// shortest round-trip floats, NaN/Infinity as strings, binary as base64, ISO dates and timestamps,
// exact decimals. CSV has a header line, RFC 4180 quoting and an empty unquoted field for NULL;
// nested values are written as compact JSON text in CSV.

#include "parquet/reader.h"
#include "parquet/values.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgsplit {

enum class RowFormat { Jsonl, Csv };

// Parses "jsonl" or "csv"; throws Error(Usage) otherwise.
RowFormat ParseRowFormat(const std::string& name);

class RowWriter {
public:
    RowWriter(RowFormat format, std::vector<std::string> names);

    // The CSV header line (with newline); empty for JSONL.
    std::string Header() const;

    // Appends rows [begin, end) of dense batches (one per name, in order).
    void AddBatchRows(const std::vector<parquet::ColumnBatch>& batches, size_t begin, size_t end,
                      std::string& out);

    // Appends one row from rendered cells (one per name), e.g. batch values mixed with partition values.
    void AddCells(const std::vector<parquet::Cell>& cells, std::string& out);

    // Appends one assembled record (keys are written in the record's order for JSONL; for CSV the
    // values of `names` are looked up).
    void AddRecord(const nlohmann::ordered_json& record, std::string& out);

private:
    void BeginRow(std::string& out);
    void AddCell(size_t column, const parquet::Cell& cell, std::string& out);
    void EndRow(std::string& out);

    RowFormat format_;
    std::vector<std::string> names_;
    parquet::Cell cell_;
};

} // namespace pgsplit
