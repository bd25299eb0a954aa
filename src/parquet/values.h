#pragma once

// Leaf values in their SPEC §6b form: exact integers, shortest round-trip floats ("NaN", "Infinity"
// and "-Infinity" as strings), text as strings, binary as base64, dates YYYY-MM-DD, timestamps
// YYYY-MM-DDTHH:MM:SS.ffffff (9 digits for nanoseconds) with Z when UTC-adjusted, decimals as exact
// strings. Used by ReadRecords and by the row writer of `inspect --rows`.

#include "parquet/reader.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pgsplit::parquet {

enum class CellKind { Null, Boolean, Integer, Unsigned, Real, String };

// One rendered value. `text` holds the float literal (Real) or the string (String).
struct Cell {
    CellKind kind = CellKind::Null;
    bool boolean = false;
    int64_t integer = 0;
    uint64_t unsigned_integer = 0;
    std::string text;
};

// Renders value `i` of a compact or dense batch. `value_index` is the slot in the batch's vectors.
void RenderCell(const Column& column, const ColumnBatch& batch, size_t value_index, Cell& out);

template <class Json>
Json CellToJson(const Cell& c) {
    switch (c.kind) {
    case CellKind::Null:
        return Json(nullptr);
    case CellKind::Boolean:
        return Json(c.boolean);
    case CellKind::Integer:
        return Json(c.integer);
    case CellKind::Unsigned:
        return Json(c.unsigned_integer);
    case CellKind::Real:
        return Json(std::strtod(c.text.c_str(), nullptr));
    case CellKind::String:
        return Json(c.text);
    }
    return Json(nullptr);
}

// Renders a statistics value (PLAIN bytes; BYTE_ARRAY without its length prefix). Returns false
// when the bytes do not hold one value of the column's type.
bool RenderStat(const Column& column, const std::string& plain, Cell& out);

// Formatting helpers (exposed for tests and the Delta reader's partition values).
std::string FormatDate(int64_t days_since_epoch);
std::string FormatTimestamp(int64_t value, TimeUnit unit, bool utc);
std::string FormatTime(int64_t value, TimeUnit unit);
std::string FormatDecimal(bool negative_twos_complement_bytes, std::string_view big_endian, int scale);
std::string FormatDecimal(int64_t unscaled, int scale);
std::string FormatDouble(double v); // shortest round-trip; "NaN"/"Infinity"/"-Infinity" as text
std::string FormatFloat(float v);
std::string Base64(std::string_view bytes);
float HalfToFloat(uint16_t h);
// Replaces invalid UTF-8 sequences with U+FFFD.
std::string SanitizeUtf8(std::string_view s);

// Appends `s` as a JSON string literal (quotes included).
void AppendJsonString(std::string& out, std::string_view s);

} // namespace pgsplit::parquet
