#pragma once

// Conversions between the text forms the Delta log uses (partition values, stats) and typed values.

#include "delta/types.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace pgsplit::delta {

// Days since 1970-01-01 for a civil date.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// "YYYY-MM-DD" -> days since the epoch; nullopt when malformed.
std::optional<int32_t> ParseDate(std::string_view text);

// A whole decimal int64 (as Delta writes partition values and stats), nothing before or after it.
std::optional<int64_t> ParseInt64(std::string_view text);

// Delta partition timestamps: "YYYY-MM-DD HH:MM:SS[.ffffff]" (the protocol's form) or ISO 8601 with 'T'
// and an optional 'Z' / "+00:00". Zone-less values are read as UTC, as the DAT expected outputs and
// delta-rs do. Returns microseconds since the epoch; nullopt when malformed or another offset is given.
std::optional<int64_t> ParseTimestampMicros(std::string_view text);

std::string FormatDate(int64_t days);
// SPEC §6b: YYYY-MM-DDTHH:MM:SS.ffffff, with Z when UTC-adjusted.
std::string FormatTimestampMicros(int64_t micros, bool utc);

// A decimal literal ("-1.5", "12", "1E+2" is refused) rescaled to exactly `scale` fraction digits.
// nullopt when malformed, when digits would be lost, or when it needs more than `precision` digits.
std::optional<std::string> NormalizeDecimal(std::string_view text, int precision, int scale);

// The unscaled integer of a normalized decimal string ("-1.50" -> -150).
__int128 DecimalUnscaled(std::string_view normalized);

// A partition value typed by its column, as the JSON value `inspect --rows` prints (SPEC §6b).
// Throws Error(Source) naming `where` when the text does not parse as the type.
nlohmann::json PartitionValueToJson(const DataType& type, const std::optional<std::string>& raw,
                                    const std::string& where);

// Base64 (standard alphabet, padded).
std::string Base64Encode(std::string_view bytes);

// Decodes %XX escapes of a Delta `path` (a URI reference). Throws Error(Source) on a bad escape.
std::string UriDecode(std::string_view text, const std::string& where);

} // namespace pgsplit::delta
