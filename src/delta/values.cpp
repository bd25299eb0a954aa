#include "delta/values.h"

#include "core/calendar.h"
#include "core/error.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace pgsplit::delta {
namespace {

bool ParseDigits(std::string_view text, size_t pos, size_t count, int64_t& out) {
    if (pos + count > text.size()) {
        return false;
    }
    out = 0;
    for (size_t i = pos; i < pos + count; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

unsigned DaysInMonth(int64_t year, unsigned month) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

// Parses "YYYY-MM-DD" at the start of `text`; returns the length consumed (10) or 0.
size_t ParseDatePrefix(std::string_view text, int64_t& days) {
    int64_t y = 0, m = 0, d = 0;
    if (!ParseDigits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !ParseDigits(text, 5, 2, m) ||
        text[7] != '-' || !ParseDigits(text, 8, 2, d)) {
        return 0;
    }
    if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(m))) {
        return 0;
    }
    days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    return 10;
}

Error BadValue(const std::string& where, const DataType& type, const std::string& raw) {
    return Error(ExitCode::Source,
                 fmt::format("{}: partition value '{}' is not a valid {}", where, raw, type.name),
                 "the table's log is inconsistent with its schema; check the writer");
}

} // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<int32_t> ParseDate(std::string_view text) {
    int64_t days = 0;
    if (text.size() != 10 || ParseDatePrefix(text, days) != 10) {
        return std::nullopt;
    }
    return static_cast<int32_t>(days);
}

std::optional<int64_t> ParseTimestampMicros(std::string_view text) {
    int64_t days = 0;
    if (ParseDatePrefix(text, days) != 10) {
        return std::nullopt;
    }
    int64_t micros = days * 86400LL * 1000000LL;
    size_t pos = 10;
    if (pos == text.size()) {
        return micros; // a bare date: midnight
    }
    if (text[pos] != ' ' && text[pos] != 'T') {
        return std::nullopt;
    }
    int64_t hh = 0, mm = 0, ss = 0;
    if (!ParseDigits(text, pos + 1, 2, hh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ParseDigits(text, pos + 4, 2, mm)) {
        return std::nullopt;
    }
    pos += 6;
    if (pos < text.size() && text[pos] == ':') {
        if (!ParseDigits(text, pos + 1, 2, ss)) {
            return std::nullopt;
        }
        pos += 3;
    }
    if (hh > 23 || mm > 59 || ss > 59) {
        return std::nullopt;
    }
    micros += (hh * 3600 + mm * 60 + ss) * 1000000LL;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int64_t frac = 0;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) {
                frac = frac * 10 + (text[pos] - '0');
            } else if (text[pos] != '0') {
                return std::nullopt; // sub-microsecond precision would be lost
            }
            ++digits;
            ++pos;
        }
        if (digits == 0) {
            return std::nullopt;
        }
        for (int i = digits; i < 6; ++i) {
            frac *= 10;
        }
        micros += frac;
    }
    std::string_view zone = text.substr(pos);
    if (zone.empty() || zone == "Z" || zone == "+00:00" || zone == "+0000" || zone == "+00" ||
        zone == "UTC" || zone == " UTC") {
        return micros;
    }
    return std::nullopt;
}

std::string FormatDate(int64_t days) {
    auto [y, m, d] = CivilFromDays(days);
    return fmt::format("{:04}-{:02}-{:02}", y, m, d);
}

std::string FormatTimestampMicros(int64_t micros, bool utc) {
    int64_t days = micros >= 0 ? micros / 86400000000LL : -((-micros + 86400000000LL - 1) / 86400000000LL);
    int64_t rest = micros - days * 86400000000LL;
    int64_t secs = rest / 1000000, frac = rest % 1000000;
    return fmt::format("{}T{:02}:{:02}:{:02}.{:06}{}", FormatDate(days), secs / 3600, secs / 60 % 60,
                       secs % 60, frac, utc ? "Z" : "");
}

std::optional<std::string> NormalizeDecimal(std::string_view text, int precision, int scale) {
    size_t pos = 0;
    bool negative = false;
    if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
        negative = text[pos] == '-';
        ++pos;
    }
    std::string int_part, frac_part;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        int_part.push_back(text[pos++]);
    }
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            frac_part.push_back(text[pos++]);
        }
    }
    if (pos != text.size() || (int_part.empty() && frac_part.empty())) {
        return std::nullopt;
    }
    while (static_cast<int>(frac_part.size()) > scale) {
        if (frac_part.back() != '0') {
            return std::nullopt;
        }
        frac_part.pop_back();
    }
    frac_part.append(static_cast<size_t>(scale) - frac_part.size(), '0');
    size_t nz = int_part.find_first_not_of('0');
    int_part = nz == std::string::npos ? "" : int_part.substr(nz);
    if (precision > 0 && static_cast<int>(int_part.size()) > precision - scale) {
        return std::nullopt;
    }
    bool zero = int_part.empty() && frac_part.find_first_not_of('0') == std::string::npos;
    std::string out = (negative && !zero) ? "-" : "";
    out += int_part.empty() ? "0" : int_part;
    if (scale > 0) {
        out += "." + frac_part;
    }
    return out;
}

__int128 DecimalUnscaled(std::string_view normalized) {
    __int128 value = 0;
    bool negative = false;
    for (char c : normalized) {
        if (c == '-') {
            negative = true;
        } else if (c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
        }
    }
    return negative ? -value : value;
}

nlohmann::json PartitionValueToJson(const DataType& type, const std::optional<std::string>& raw,
                                    const std::string& where) {
    if (!raw) {
        return nullptr;
    }
    const std::string& s = *raw;
    auto parse_int = [&](int64_t lo, int64_t hi) -> nlohmann::json {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
            throw BadValue(where, type, s);
        }
        return v;
    };
    switch (type.kind) {
    case TypeKind::String:
        return s;
    case TypeKind::Binary:
        return Base64Encode(s);
    case TypeKind::Long:
        return parse_int(INT64_MIN, INT64_MAX);
    case TypeKind::Integer:
        return parse_int(INT32_MIN, INT32_MAX);
    case TypeKind::Short:
        return parse_int(INT16_MIN, INT16_MAX);
    case TypeKind::Byte:
        return parse_int(INT8_MIN, INT8_MAX);
    case TypeKind::Boolean:
        if (s == "true" || s == "TRUE" || s == "True") {
            return true;
        }
        if (s == "false" || s == "FALSE" || s == "False") {
            return false;
        }
        throw BadValue(where, type, s);
    case TypeKind::Float:
    case TypeKind::Double: {
        if (s == "NaN") {
            return "NaN";
        }
        if (s == "Infinity" || s == "+Infinity") {
            return "Infinity";
        }
        if (s == "-Infinity") {
            return "-Infinity";
        }
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size()) {
            throw BadValue(where, type, s);
        }
        if (type.kind == TypeKind::Float) {
            // Print as the float32 value it is, in its own shortest form.
            float f = static_cast<float>(v);
            return nlohmann::json::parse(fmt::format("{}", f).find_first_of(".eE") == std::string::npos
                                             ? fmt::format("{}.0", f)
                                             : fmt::format("{}", f));
        }
        return v;
    }
    case TypeKind::Date: {
        auto d = ParseDate(s);
        if (!d) {
            throw BadValue(where, type, s);
        }
        return FormatDate(*d);
    }
    case TypeKind::Timestamp:
    case TypeKind::TimestampNtz: {
        auto t = ParseTimestampMicros(s);
        if (!t) {
            throw BadValue(where, type, s);
        }
        return FormatTimestampMicros(*t, type.kind == TypeKind::Timestamp);
    }
    case TypeKind::Decimal: {
        auto d = NormalizeDecimal(s, type.precision, type.scale);
        if (!d) {
            throw BadValue(where, type, s);
        }
        return *d;
    }
    default:
        throw Error(ExitCode::Source,
                    fmt::format("{}: partition column of type {} is not supported", where, type.name));
    }
}

std::string Base64Encode(std::string_view bytes) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                     static_cast<uint8_t>(bytes[i + 2]);
        out += alphabet[n >> 18];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    if (i + 1 == bytes.size()) {
        uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
        out += alphabet[n >> 18];
        out += alphabet[(n >> 12) & 63];
        out += "==";
    } else if (i + 2 == bytes.size()) {
        uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
        out += alphabet[n >> 18];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string UriDecode(std::string_view text, const std::string& where) {
    std::string out;
    out.reserve(text.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0) {
            throw Error(ExitCode::Source, fmt::format("{}: bad percent escape in path '{}'", where, text),
                        "the add/remove path must be a valid URI reference");
        }
        out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
        i += 2;
    }
    return out;
}

} // namespace pgsplit::delta
