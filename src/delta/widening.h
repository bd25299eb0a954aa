#pragma once

// Type widening (PROTOCOL.md, "Type Widening"): a column's type may grow (byte -> short -> int ->
// long, float -> double, byte/short/int -> double, date -> timestamp_ntz, decimal precision and scale
// increases) without rewriting the files written before. Those files still hold the old type; the
// readers bring their values to the table's current type here.
//
// Integer widenings need nothing: every consumer of a scan batch already takes INT32 and INT64 for
// any integer column. What changes the value's form is converted: to double, to timestamp, and a
// decimal whose scale or width changed.

#include "delta/types.h"
#include "parquet/reader.h"

#include <nlohmann/json.hpp>

namespace pgsplit::delta {

// Whether a batch of `file` must be converted to be read as `type`.
bool NeedsWidening(const parquet::Column& file, const DataType& type);

// Converts `batch` (read from `file`) in place to the layout `synthetic` describes for `type` (see
// ScanColumn::synthetic). Throws Error(Source) naming `where` for a decimal that does not fit the
// new precision (a file that was not written before a widening, but with the wrong type).
void WidenBatch(parquet::ColumnBatch& batch, const parquet::Column& file, const parquet::Column& synthetic,
                const DataType& type, const std::string& where);

// The same for one JSON value of a record (SPEC §6b form): a float or integer becomes a double, a date a
// timestamp, a decimal is rescaled.
void WidenJson(nlohmann::json& value, const parquet::Column& file, const DataType& type,
               const std::string& where);

} // namespace pgsplit::delta
