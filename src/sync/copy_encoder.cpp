// Parquet batches to PostgreSQL binary COPY rows: one conversion per (source layout, target type)
// pair, chosen once per file (ChooseConv), with the range and validity checks of each (smallint
// overflow, UTF-8, NUL bytes, dates at midnight, timestamp range). Long because the conversion table
// is one switch the hot loop runs; spreading it over files would hide which pairs exist.
#include "sync/copy_encoder.h"

#include "core/error.h"

#include <cstring>
#include <fmt/format.h>

namespace pgsplit::sync {
namespace {

using parquet::Logical;
using parquet::Physical;
using parquet::TimeUnit;

constexpr int64_t kUnixToPgDays = 10957; // days from 1970-01-01 to 2000-01-01
constexpr int64_t kUnixToPgMicros = kUnixToPgDays * 86400LL * 1000000LL;
constexpr int64_t kMicrosPerDay = 86400LL * 1000000LL;
constexpr int64_t kJulianUnixEpoch = 2440588;
// PostgreSQL's date range in its own day numbers (days from 2000-01-01): Julian day 0 (4714-11-24 BC)
// up to, not including, Julian day 2147483494 (after 5874897-12-31). INT32_MIN / INT32_MAX would be
// read as -infinity / infinity, so they must never be sent for a finite value.
constexpr int64_t kPgMinDay = -2451545;
constexpr int64_t kPgEndDay = 2147483494LL - 2451545;
// PostgreSQL's timestamp range in its own microseconds (from 2000-01-01): 4714-11-24 BC up to, not
// including, 294277-01-01; INT64_MIN / INT64_MAX are -infinity / infinity.
constexpr int64_t kPgMinMicros = -211813488000000000LL;
constexpr int64_t kPgEndMicros = 9223371331200000000LL;

// How one source layout becomes one target type.
enum class Conv {
    Null, // the source has no such column: every value is NULL
    BoolToBool,
    I32ToI2,
    I32ToI4,
    I32ToI8,
    U32ToI8, // UINT32 read from its INT32 bits
    I64ToI2,
    I64ToI4,
    I64ToI8,
    I32ToF8,
    I64ToF8,
    F4ToF4,
    F4ToF8,
    F8ToF8,
    BytesToText,
    BytesToBytea,
    DaysToDate,
    DaysToTimestamp,
    TsToDate,      // int64 timestamp (unit in column) -> date
    TsToTimestamp, // int64 timestamp -> timestamp/timestamptz
    I96ToDate,
    I96ToTimestamp,
};

bool IsTimestamp(const parquet::Column& c) {
    return c.logical.kind == Logical::Timestamp;
}
bool IsDate(const parquet::Column& c) {
    return c.logical.kind == Logical::Date;
}
bool IsPlainInt(const parquet::Column& c) {
    return c.logical.kind == Logical::None || (c.logical.kind == Logical::Int && c.logical.is_signed);
}
bool IsText(const parquet::Column& c) {
    return c.logical.kind == Logical::String || c.logical.kind == Logical::Enum ||
           c.logical.kind == Logical::Json;
}

std::optional<Conv> ChooseConv(const parquet::Column& s, PgType t) {
    switch (t) {
    case PgType::Bool:
        if (s.physical == Physical::Boolean) {
            return Conv::BoolToBool;
        }
        break;
    case PgType::Int2:
    case PgType::Int4:
    case PgType::Int8: {
        if (s.physical == Physical::Int32 && IsPlainInt(s)) {
            return t == PgType::Int2 ? Conv::I32ToI2 : t == PgType::Int4 ? Conv::I32ToI4 : Conv::I32ToI8;
        }
        if (s.physical == Physical::Int64 && IsPlainInt(s)) {
            return t == PgType::Int2 ? Conv::I64ToI2 : t == PgType::Int4 ? Conv::I64ToI4 : Conv::I64ToI8;
        }
        // Unsigned 8/16-bit fit in every signed target; unsigned 32 fits int8.
        if (s.physical == Physical::Int32 && s.logical.kind == Logical::Int && !s.logical.is_signed) {
            if (s.logical.bit_width < 32) {
                return t == PgType::Int2 ? Conv::I32ToI2 : t == PgType::Int4 ? Conv::I32ToI4 : Conv::I32ToI8;
            }
            if (t == PgType::Int8) {
                return Conv::U32ToI8;
            }
        }
        break;
    }
    case PgType::Float4:
        if (s.physical == Physical::Float) {
            return Conv::F4ToF4;
        }
        break;
    case PgType::Float8:
        if (s.physical == Physical::Double) {
            return Conv::F8ToF8;
        }
        if (s.physical == Physical::Float) {
            return Conv::F4ToF8;
        }
        if (s.physical == Physical::Int32 && IsPlainInt(s)) {
            return Conv::I32ToF8;
        }
        if (s.physical == Physical::Int64 && IsPlainInt(s)) {
            return Conv::I64ToF8;
        }
        break;
    case PgType::Text:
        if (s.physical == Physical::ByteArray && (IsText(s) || s.logical.kind == Logical::None)) {
            return Conv::BytesToText;
        }
        break;
    case PgType::Bytea:
        if (s.physical == Physical::ByteArray || s.physical == Physical::FixedLenByteArray) {
            return Conv::BytesToBytea;
        }
        break;
    case PgType::Date:
        if (s.physical == Physical::Int32 && IsDate(s)) {
            return Conv::DaysToDate;
        }
        if (s.physical == Physical::Int64 && IsTimestamp(s)) {
            return Conv::TsToDate;
        }
        if (s.physical == Physical::Int96) {
            return Conv::I96ToDate;
        }
        break;
    case PgType::Timestamp:
    case PgType::TimestampTz:
        if (s.physical == Physical::Int64 && IsTimestamp(s)) {
            return Conv::TsToTimestamp;
        }
        if (s.physical == Physical::Int96) {
            return Conv::I96ToTimestamp;
        }
        if (s.physical == Physical::Int32 && IsDate(s)) {
            return Conv::DaysToTimestamp;
        }
        break;
    }
    return std::nullopt;
}

std::string SourceTypeName(const parquet::Column& c) {
    static const char* physical[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                     "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    static const char* logical[] = {"",        "STRING", "ENUM", "JSON",      "BSON",    "UUID",   "INT",
                                    "DECIMAL", "DATE",   "TIME", "TIMESTAMP", "FLOAT16", "UNKNOWN"};
    std::string out = physical[static_cast<int>(c.physical)];
    if (c.logical.kind == Logical::Int) {
        out += fmt::format(" ({} {}-bit integer)", c.logical.is_signed ? "signed" : "unsigned",
                           static_cast<int>(c.logical.bit_width));
    } else if (c.logical.kind != Logical::None) {
        out += fmt::format(" ({})", logical[static_cast<int>(c.logical.kind)]);
    }
    return out;
}

inline void Put16(char* p, uint16_t v) {
    p[0] = static_cast<char>(v >> 8);
    p[1] = static_cast<char>(v);
}
inline void Put32(char* p, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
}
inline void Put64(char* p, uint64_t v) {
    v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
}

int64_t FloorDiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t TicksPerDay(TimeUnit unit) {
    switch (unit) {
    case TimeUnit::Millis:
        return 86400LL * 1000;
    case TimeUnit::Micros:
        return kMicrosPerDay;
    case TimeUnit::Nanos:
        return kMicrosPerDay * 1000;
    }
    return kMicrosPerDay;
}

// A timestamp in its unit as microseconds since 1970 (nanoseconds floored: PostgreSQL keeps
// microseconds). False when it does not fit int64 microseconds.
bool ToMicros(int64_t v, TimeUnit unit, int64_t& out) {
    switch (unit) {
    case TimeUnit::Millis:
        return !__builtin_mul_overflow(v, int64_t{1000}, &out);
    case TimeUnit::Micros:
        out = v;
        return true;
    case TimeUnit::Nanos:
        out = FloorDiv(v, 1000);
        return true;
    }
    out = v;
    return true;
}

// Unix days -> PostgreSQL days, false outside PostgreSQL's finite date range.
bool PgDay(int64_t unix_days, int32_t& out) {
    int64_t d = unix_days - kUnixToPgDays;
    if (d < kPgMinDay || d >= kPgEndDay) {
        return false;
    }
    out = static_cast<int32_t>(d);
    return true;
}

// Unix microseconds -> PostgreSQL microseconds, false outside PostgreSQL's finite timestamp range.
bool PgMicros(int64_t unix_micros, int64_t& out) {
    if (__builtin_sub_overflow(unix_micros, kUnixToPgMicros, &out)) {
        return false;
    }
    return out >= kPgMinMicros && out < kPgEndMicros;
}

constexpr const char* kDateRange = "date outside PostgreSQL's range (4714-11-24 BC to 5874897-12-31 AD)";
constexpr const char* kTimestampRange =
    "timestamp outside PostgreSQL's range (4714-11-24 BC to 294276-12-31 AD)";

bool ValidUtf8(const uint8_t* s, size_t n) {
    size_t i = 0;
    while (i < n) {
        // Fast path over ASCII, 8 bytes at a time.
        if (i + 8 <= n) {
            uint64_t w;
            std::memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) {
            return false;
        }
        for (size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += len;
    }
    return true;
}

} // namespace

std::optional<PgType> PgTypeFromOid(uint32_t oid) {
    switch (oid) {
    case 16:
        return PgType::Bool;
    case 21:
        return PgType::Int2;
    case 23:
        return PgType::Int4;
    case 20:
        return PgType::Int8;
    case 700:
        return PgType::Float4;
    case 701:
        return PgType::Float8;
    case 25:   // text
    case 1043: // varchar
        return PgType::Text;
    case 17:
        return PgType::Bytea;
    case 1082:
        return PgType::Date;
    case 1114:
        return PgType::Timestamp;
    case 1184:
        return PgType::TimestampTz;
    default:
        return std::nullopt;
    }
}

const char* PgTypeName(PgType t) {
    switch (t) {
    case PgType::Bool:
        return "boolean";
    case PgType::Int2:
        return "smallint";
    case PgType::Int4:
        return "integer";
    case PgType::Int8:
        return "bigint";
    case PgType::Float4:
        return "real";
    case PgType::Float8:
        return "double precision";
    case PgType::Text:
        return "text";
    case PgType::Bytea:
        return "bytea";
    case PgType::Date:
        return "date";
    case PgType::Timestamp:
        return "timestamp";
    case PgType::TimestampTz:
        return "timestamptz";
    }
    return "?";
}

std::string InvalidRow::Describe() const {
    return fmt::format("file '{}', row {}, column '{}': {}", file, row, column, reason);
}

void CheckConvertible(const parquet::Column& source, const TargetColumn& target, const std::string& table) {
    if (!ChooseConv(source, target.type)) {
        throw Error(
            ExitCode::Source,
            fmt::format("column '{}' of {} is {} in Delta but {} in PostgreSQL, and pgsplit does not convert "
                        "between them",
                        target.name, table, SourceTypeName(source), target.sql_type),
            "make the Delta column's type match the table, or change the table");
    }
}

CopyEncoder::CopyEncoder(std::vector<TargetColumn> targets, EncodeOptions options)
    : targets_(std::move(targets)), options_(options) {}

void CopyEncoder::AppendHeader(CopyBuffer& out) {
    static const char kSignature[] = "PGCOPY\n\377\r\n";
    char* p = out.Grow(19);
    std::memcpy(p, kSignature, 11);
    std::memset(p + 11, 0, 8); // flags, header extension length
}

void CopyEncoder::AppendTrailer(CopyBuffer& out) {
    Put16(out.Grow(2), 0xFFFF);
}

bool CopyEncoder::Encode(const std::vector<const parquet::ColumnBatch*>& columns, size_t rows,
                         const RowOrigin& origin, CopyBuffer& out, int64_t& written,
                         const std::function<bool(const InvalidRow&)>& on_invalid) {
    const size_t ncols = targets_.size();
    // The layout can differ from batch to batch (files written by different writers), so the
    // conversion is chosen per batch and column, then applied in a tight loop.
    std::vector<Conv> conv(ncols);
    std::vector<TimeUnit> unit(ncols);
    for (size_t c = 0; c < ncols; ++c) {
        if (!columns[c]->column) {
            conv[c] = Conv::Null;
            continue;
        }
        const parquet::Column& src = *columns[c]->column;
        auto chosen = ChooseConv(src, targets_[c].type);
        if (!chosen) {
            CheckConvertible(src, targets_[c], "the target table"); // throws with the message
        }
        conv[c] = *chosen;
        unit[c] = src.logical.unit;
    }
    written = 0;
    const auto fields = static_cast<uint16_t>(ncols);
    for (size_t r = 0; r < rows; ++r) {
        const size_t row_start = out.Size();
        Put16(out.Grow(2), fields);
        const char* bad = nullptr;
        size_t bad_col = 0;
        std::string detail;
        for (size_t c = 0; c < ncols && !bad; ++c) {
            const parquet::ColumnBatch& b = *columns[c];
            if (conv[c] == Conv::Null || !b.defined[r]) {
                if (targets_[c].not_null) {
                    bad = "NULL in a NOT NULL column";
                    bad_col = c;
                    break;
                }
                Put32(out.Grow(4), 0xFFFFFFFFu);
                continue;
            }
            switch (conv[c]) {
            case Conv::Null:
                break;
            case Conv::BoolToBool: {
                char* p = out.Grow(5);
                Put32(p, 1);
                p[4] = b.boolean[r] ? 1 : 0;
                break;
            }
            case Conv::I32ToI2:
            case Conv::I64ToI2: {
                int64_t v = conv[c] == Conv::I32ToI2 ? b.i32[r] : b.i64[r];
                if (v < INT16_MIN || v > INT16_MAX) {
                    bad = "out of range for smallint";
                    detail = std::to_string(v);
                    bad_col = c;
                    break;
                }
                char* p = out.Grow(6);
                Put32(p, 2);
                Put16(p + 4, static_cast<uint16_t>(static_cast<int16_t>(v)));
                break;
            }
            case Conv::I32ToI4: {
                char* p = out.Grow(8);
                Put32(p, 4);
                Put32(p + 4, static_cast<uint32_t>(b.i32[r]));
                break;
            }
            case Conv::I64ToI4: {
                int64_t v = b.i64[r];
                if (v < INT32_MIN || v > INT32_MAX) {
                    bad = "out of range for integer";
                    detail = std::to_string(v);
                    bad_col = c;
                    break;
                }
                char* p = out.Grow(8);
                Put32(p, 4);
                Put32(p + 4, static_cast<uint32_t>(static_cast<int32_t>(v)));
                break;
            }
            case Conv::I32ToI8:
            case Conv::U32ToI8:
            case Conv::I64ToI8: {
                int64_t v = conv[c] == Conv::I32ToI8   ? b.i32[r]
                            : conv[c] == Conv::U32ToI8 ? static_cast<int64_t>(static_cast<uint32_t>(b.i32[r]))
                                                       : b.i64[r];
                char* p = out.Grow(12);
                Put32(p, 8);
                Put64(p + 4, static_cast<uint64_t>(v));
                break;
            }
            case Conv::I32ToF8:
            case Conv::I64ToF8:
            case Conv::F4ToF8:
            case Conv::F8ToF8: {
                double v = conv[c] == Conv::F8ToF8    ? b.f64[r]
                           : conv[c] == Conv::F4ToF8  ? static_cast<double>(b.f32[r])
                           : conv[c] == Conv::I32ToF8 ? static_cast<double>(b.i32[r])
                                                      : static_cast<double>(b.i64[r]);
                uint64_t bits;
                std::memcpy(&bits, &v, 8);
                char* p = out.Grow(12);
                Put32(p, 8);
                Put64(p + 4, bits);
                break;
            }
            case Conv::F4ToF4: {
                uint32_t bits;
                std::memcpy(&bits, &b.f32[r], 4);
                char* p = out.Grow(8);
                Put32(p, 4);
                Put32(p + 4, bits);
                break;
            }
            case Conv::BytesToText:
            case Conv::BytesToBytea: {
                uint32_t len = b.offsets[r + 1] - b.offsets[r];
                const uint8_t* src = b.bytes.data() + b.offsets[r];
                if (conv[c] == Conv::BytesToText) {
                    if (!ValidUtf8(src, len)) {
                        bad = "not valid UTF-8";
                        bad_col = c;
                        break;
                    }
                    if (std::memchr(src, 0, len)) {
                        bad = "contains a NUL byte, which text cannot hold";
                        bad_col = c;
                        break;
                    }
                }
                char* p = out.Grow(4 + len);
                Put32(p, len);
                std::memcpy(p + 4, src, len);
                break;
            }
            case Conv::DaysToDate: {
                int32_t day;
                if (!PgDay(b.i32[r], day)) {
                    bad = kDateRange;
                    detail = fmt::format("{} days from 1970-01-01", b.i32[r]);
                    bad_col = c;
                    break;
                }
                char* p = out.Grow(8);
                Put32(p, 4);
                Put32(p + 4, static_cast<uint32_t>(day));
                break;
            }
            case Conv::DaysToTimestamp: {
                // INT32 days times 86,400,000,000 can exceed int64: checked.
                int64_t unix_micros, pg_micros;
                if (__builtin_mul_overflow(static_cast<int64_t>(b.i32[r]), kMicrosPerDay, &unix_micros) ||
                    !PgMicros(unix_micros, pg_micros)) {
                    bad = kTimestampRange;
                    detail = fmt::format("{} days from 1970-01-01", b.i32[r]);
                    bad_col = c;
                    break;
                }
                char* p = out.Grow(12);
                Put32(p, 8);
                Put64(p + 4, static_cast<uint64_t>(pg_micros));
                break;
            }
            case Conv::TsToDate:
            case Conv::I96ToDate:
            case Conv::TsToTimestamp:
            case Conv::I96ToTimestamp: {
                // Days and the time of day, in the source's own precision, so that "midnight" is
                // judged at that precision (500 ns after midnight is not midnight).
                int64_t days = 0;
                int64_t micros = 0;
                bool midnight = true;
                bool fits = true;
                if (conv[c] == Conv::TsToDate || conv[c] == Conv::TsToTimestamp) {
                    int64_t ticks = TicksPerDay(unit[c]);
                    days = FloorDiv(b.i64[r], ticks);
                    midnight = b.i64[r] % ticks == 0;
                    fits = ToMicros(b.i64[r], unit[c], micros);
                } else {
                    const parquet::Int96& v = b.int96[r];
                    days = static_cast<int64_t>(v.julian_day) - kJulianUnixEpoch;
                    midnight = v.nanos_of_day == 0;
                    fits =
                        v.nanos_of_day < 86400ULL * 1000000000ULL &&
                        !__builtin_mul_overflow(days, kMicrosPerDay, &micros) &&
                        !__builtin_add_overflow(micros, static_cast<int64_t>(v.nanos_of_day / 1000), &micros);
                }
                if (conv[c] == Conv::TsToDate || conv[c] == Conv::I96ToDate) {
                    if (!midnight && !options_.truncate_timestamps) {
                        bad = "timestamp is not at midnight, so it is not a date";
                        detail = "pass --truncate-timestamps to keep only the date";
                        bad_col = c;
                        break;
                    }
                    int32_t day;
                    if (!PgDay(days, day)) {
                        bad = kDateRange;
                        detail = fmt::format("{} days from 1970-01-01", days);
                        bad_col = c;
                        break;
                    }
                    char* p = out.Grow(8);
                    Put32(p, 4);
                    Put32(p + 4, static_cast<uint32_t>(day));
                } else {
                    int64_t pg_micros;
                    if (!fits || !PgMicros(micros, pg_micros)) {
                        bad = kTimestampRange;
                        detail = fmt::format("{} days from 1970-01-01", days);
                        bad_col = c;
                        break;
                    }
                    char* p = out.Grow(12);
                    Put32(p, 8);
                    Put64(p + 4, static_cast<uint64_t>(pg_micros));
                }
                break;
            }
            }
        }
        if (bad) {
            out.Truncate(row_start);
            InvalidRow inv{origin.file, origin.Row(r), targets_[bad_col].name,
                           detail.empty() ? bad : fmt::format("{} ({})", bad, detail)};
            if (!on_invalid(inv)) {
                return false;
            }
            continue;
        }
        if (observer_) {
            observer_->OnRow(out.Data() + row_start + 2, out.Size() - row_start - 2);
        }
        ++written;
    }
    return true;
}

} // namespace pgsplit::sync
