#include "parquet/values.h"

#include "core/calendar.h"
#include "parquet/decoder/decoder.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace pgsplit::parquet {
namespace {

void AppendDate(std::string& out, int64_t days) {
    auto [y, m, d] = CivilFromDays(days);
    char buf[48];
    int n = y < 0 ? std::snprintf(buf, sizeof buf, "-%04lld-%02u-%02u", static_cast<long long>(-y), m, d)
                  : std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    out.append(buf, static_cast<size_t>(n));
}

void AppendClock(std::string& out, int64_t sub_of_day, int64_t per_second, int digits) {
    int64_t secs = sub_of_day / per_second;
    int64_t frac = sub_of_day % per_second;
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%0*lld", static_cast<long long>(secs / 3600),
                          static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60), digits,
                          static_cast<long long>(frac));
    out.append(buf, static_cast<size_t>(n));
}

int64_t PerSecond(TimeUnit u) {
    return u == TimeUnit::Millis ? 1000 : u == TimeUnit::Micros ? 1000000 : 1000000000;
}

std::string DigitsOfMagnitude(std::vector<uint8_t> mag) {
    // Repeated division of a big-endian magnitude by 10.
    std::string digits;
    size_t start = 0;
    while (start < mag.size() && mag[start] == 0) {
        ++start;
    }
    while (start < mag.size()) {
        unsigned rem = 0;
        for (size_t i = start; i < mag.size(); ++i) {
            unsigned cur = (rem << 8) | mag[i];
            mag[i] = static_cast<uint8_t>(cur / 10);
            rem = cur % 10;
        }
        digits.push_back(static_cast<char>('0' + rem));
        while (start < mag.size() && mag[start] == 0) {
            ++start;
        }
    }
    if (digits.empty()) {
        digits.push_back('0'); // push_back, not = "0": GCC 12 warns falsely (-Wrestrict) on the latter
    }
    return {digits.rbegin(), digits.rend()};
}

std::string PlaceScale(bool negative, const std::string& digits, int scale) {
    // Built by appending (std::string::insert trips a GCC 12 -Wrestrict false positive).
    std::string out;
    std::string padded = digits;
    if (scale > 0 && padded.size() <= static_cast<size_t>(scale)) {
        padded = std::string(static_cast<size_t>(scale) + 1 - padded.size(), '0') + padded;
    }
    if (negative && padded.find_first_not_of('0') != std::string::npos) {
        out.push_back('-');
    }
    if (scale > 0) {
        size_t int_len = padded.size() - static_cast<size_t>(scale);
        out.append(padded, 0, int_len);
        out.push_back('.');
        out.append(padded, int_len, std::string::npos);
    } else {
        out += padded;
    }
    return out;
}

} // namespace

std::string FormatDate(int64_t days) {
    std::string s;
    AppendDate(s, days);
    return s;
}

std::string FormatTimestamp(int64_t value, TimeUnit unit, bool utc) {
    const int64_t per_second = PerSecond(unit);
    const int64_t per_day = per_second * 86400;
    // Split without multiplying back, which could overflow at the ends of the int64 range.
    int64_t days = value / per_day;
    int64_t rest = value % per_day;
    if (rest < 0) {
        rest += per_day;
        --days;
    }
    std::string s;
    AppendDate(s, days);
    s.push_back('T');
    // Milliseconds and microseconds print 6 digits, nanoseconds 9.
    if (unit == TimeUnit::Millis) {
        AppendClock(s, rest * 1000, 1000000, 6);
    } else if (unit == TimeUnit::Micros) {
        AppendClock(s, rest, 1000000, 6);
    } else {
        AppendClock(s, rest, 1000000000, 9);
    }
    if (utc) {
        s.push_back('Z');
    }
    return s;
}

std::string FormatTime(int64_t value, TimeUnit unit) {
    std::string s;
    const int64_t per_second = PerSecond(unit);
    int64_t day = per_second * 86400;
    int64_t v = ((value % day) + day) % day;
    if (unit == TimeUnit::Millis) {
        AppendClock(s, v * 1000, 1000000, 6);
    } else if (unit == TimeUnit::Micros) {
        AppendClock(s, v, 1000000, 6);
    } else {
        AppendClock(s, v, 1000000000, 9);
    }
    return s;
}

std::string FormatDecimal(int64_t unscaled, int scale) {
    bool neg = unscaled < 0;
    uint64_t mag = neg ? (~static_cast<uint64_t>(unscaled) + 1) : static_cast<uint64_t>(unscaled);
    return PlaceScale(neg, std::to_string(mag), scale);
}

std::string FormatDecimal(bool, std::string_view be, int scale) {
    if (be.empty()) {
        return PlaceScale(false, "0", scale);
    }
    bool neg = (static_cast<uint8_t>(be[0]) & 0x80) != 0;
    std::vector<uint8_t> mag(be.begin(), be.end());
    if (neg) {
        // Two's complement negate: invert and add one.
        for (auto& b : mag) {
            b = static_cast<uint8_t>(~b);
        }
        for (size_t i = mag.size(); i-- > 0;) {
            if (++mag[i] != 0) {
                break;
            }
        }
    }
    return PlaceScale(neg, DigitsOfMagnitude(std::move(mag)), scale);
}

std::string FormatDouble(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "Infinity" : "-Infinity";
    }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, r.ptr);
    if (s.find_first_of(".eE") == std::string::npos) {
        s += ".0";
    }
    return s;
}

std::string FormatFloat(float v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "Infinity" : "-Infinity";
    }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, r.ptr);
    if (s.find_first_of(".eE") == std::string::npos) {
        s += ".0";
    }
    return s;
}

std::string Base64(std::string_view in) {
    static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        uint32_t v = (uint32_t{static_cast<uint8_t>(in[i])} << 16) |
                     (uint32_t{static_cast<uint8_t>(in[i + 1])} << 8) | static_cast<uint8_t>(in[i + 2]);
        out.push_back(kTable[v >> 18]);
        out.push_back(kTable[(v >> 12) & 63]);
        out.push_back(kTable[(v >> 6) & 63]);
        out.push_back(kTable[v & 63]);
    }
    if (i + 1 == in.size()) {
        uint32_t v = uint32_t{static_cast<uint8_t>(in[i])} << 16;
        out.push_back(kTable[v >> 18]);
        out.push_back(kTable[(v >> 12) & 63]);
        out += "==";
    } else if (i + 2 == in.size()) {
        uint32_t v =
            (uint32_t{static_cast<uint8_t>(in[i])} << 16) | (uint32_t{static_cast<uint8_t>(in[i + 1])} << 8);
        out.push_back(kTable[v >> 18]);
        out.push_back(kTable[(v >> 12) & 63]);
        out.push_back(kTable[(v >> 6) & 63]);
        out.push_back('=');
    }
    return out;
}

float HalfToFloat(uint16_t h) {
    uint32_t sign = uint32_t{h & 0x8000u} << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    float f;
    if (exp == 0) {
        f = std::ldexp(static_cast<float>(man), -24);
    } else if (exp == 31) {
        f = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    } else {
        f = std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
    }
    return sign ? -f : f;
}

std::string SanitizeUtf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) {
            ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        }
        if (ok && len == 2 && c < 0xc2) {
            ok = false; // overlong
        }
        if (ok && len == 3) {
            unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
        }
        if (ok && len == 4) {
            unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
            ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        if (!ok) {
            out += "\xef\xbf\xbd";
            ++i;
            continue;
        }
        out.append(s.data() + i, len);
        i += len;
    }
    return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
    out.push_back('"');
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out.push_back(ch);
            }
        }
    }
    out.push_back('"');
}

void RenderCell(const Column& column, const ColumnBatch& batch, size_t i, Cell& out) {
    const LogicalType& t = column.logical;
    out.text.clear();
    if (t.kind == Logical::Unknown) {
        out.kind = CellKind::Null;
        return;
    }
    auto set_string = [&](std::string s) {
        out.kind = CellKind::String;
        out.text = std::move(s);
    };
    switch (column.physical) {
    case Physical::Boolean:
        out.kind = CellKind::Boolean;
        out.boolean = batch.boolean[i] != 0;
        return;
    case Physical::Int32: {
        int32_t v = batch.i32[i];
        if (t.kind == Logical::Date) {
            return set_string(FormatDate(v));
        }
        if (t.kind == Logical::Decimal) {
            return set_string(FormatDecimal(v, t.scale));
        }
        if (t.kind == Logical::Time) {
            return set_string(FormatTime(v, t.unit));
        }
        if (t.kind == Logical::Int && !t.is_signed) {
            out.kind = CellKind::Unsigned;
            out.unsigned_integer = static_cast<uint32_t>(v);
            return;
        }
        out.kind = CellKind::Integer;
        out.integer = v;
        return;
    }
    case Physical::Int64: {
        int64_t v = batch.i64[i];
        if (t.kind == Logical::Timestamp) {
            return set_string(FormatTimestamp(v, t.unit, t.utc_adjusted));
        }
        if (t.kind == Logical::Decimal) {
            return set_string(FormatDecimal(v, t.scale));
        }
        if (t.kind == Logical::Time) {
            return set_string(FormatTime(v, t.unit));
        }
        if (t.kind == Logical::Int && !t.is_signed) {
            out.kind = CellKind::Unsigned;
            out.unsigned_integer = static_cast<uint64_t>(v);
            return;
        }
        out.kind = CellKind::Integer;
        out.integer = v;
        return;
    }
    case Physical::Int96: {
        // Julian day and nanoseconds of the day, kept apart so far-future values do not overflow.
        const Int96& v = batch.int96[i];
        int64_t days = static_cast<int64_t>(v.julian_day) - 2440588;
        uint64_t nanos = v.nanos_of_day;
        days += static_cast<int64_t>(nanos / 86400000000000ull);
        nanos %= 86400000000000ull;
        std::string s = FormatDate(days);
        s.push_back('T');
        AppendClock(s, static_cast<int64_t>(nanos), 1000000000, 9);
        return set_string(std::move(s));
    }
    case Physical::Float: {
        float f = batch.f32[i];
        out.kind = std::isfinite(f) ? CellKind::Real : CellKind::String;
        out.text = FormatFloat(f);
        return;
    }
    case Physical::Double: {
        double d = batch.f64[i];
        out.kind = std::isfinite(d) ? CellKind::Real : CellKind::String;
        out.text = FormatDouble(d);
        return;
    }
    case Physical::ByteArray:
    case Physical::FixedLenByteArray: {
        std::string_view b = batch.Bytes(i);
        switch (t.kind) {
        case Logical::String:
        case Logical::Enum:
        case Logical::Json:
            return set_string(SanitizeUtf8(b));
        case Logical::Decimal:
            return set_string(FormatDecimal(true, b, t.scale));
        case Logical::Float16: {
            uint16_t h =
                static_cast<uint16_t>(static_cast<uint8_t>(b[0]) | (static_cast<uint8_t>(b[1]) << 8));
            float f = HalfToFloat(h);
            out.kind = std::isfinite(f) ? CellKind::Real : CellKind::String;
            out.text = FormatFloat(f);
            return;
        }
        case Logical::Uuid: {
            static const char* hex = "0123456789abcdef";
            std::string s;
            for (size_t k = 0; k < b.size(); ++k) {
                if (k == 4 || k == 6 || k == 8 || k == 10) {
                    s.push_back('-');
                }
                s.push_back(hex[static_cast<uint8_t>(b[k]) >> 4]);
                s.push_back(hex[static_cast<uint8_t>(b[k]) & 15]);
            }
            return set_string(std::move(s));
        }
        default:
            return set_string(Base64(b));
        }
    }
    }
}

bool RenderStat(const Column& column, const std::string& plain, Cell& out) {
    ColumnBatch b;
    b.column = &column;
    const auto* p = reinterpret_cast<const uint8_t*>(plain.data());
    if (column.physical == Physical::ByteArray || column.physical == Physical::FixedLenByteArray) {
        if (column.physical == Physical::FixedLenByteArray &&
            plain.size() != static_cast<size_t>(column.type_length)) {
            return false;
        }
        b.bytes.assign(p, p + plain.size());
        b.offsets = {0, static_cast<uint32_t>(plain.size())};
    } else {
        try {
            MakePlainDecoder(column, p, plain.size())->Decode(1, b);
        } catch (const DecodeError&) {
            return false;
        }
    }
    b.size = 1;
    if ((column.logical.kind == Logical::Float16 && plain.size() != 2) ||
        (column.logical.kind == Logical::Uuid && plain.size() != 16)) {
        return false;
    }
    RenderCell(column, b, 0, out);
    return true;
}

} // namespace pgsplit::parquet
