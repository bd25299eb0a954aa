// Helpers of the Delta tests: files and trees, the independent oracles' canonical forms (CSV and
// JSON cells, batches, the oracle's own timestamp parser) and row diffs. Long because each canonical
// form is written out per Delta type, on purpose apart from the product's own value code.
#include "tests/delta/delta_test_util.h"

#include "delta/values.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

namespace pgsplit::test {
namespace fs = std::filesystem;

void WriteFile(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int64_t LatestCommitVersion(const std::filesystem::path& table) {
    int64_t last = -1;
    for (const auto& e : std::filesystem::directory_iterator(table / "_delta_log")) {
        std::string name = e.path().filename().string();
        if (name.size() == 25 && name.substr(20) == ".json") {
            last = std::max<int64_t>(last, std::stoll(name.substr(0, 20)));
        }
    }
    return last;
}

void CopyTree(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

CsvTable ParseCsv(const std::string& text) {
    CsvTable t;
    std::vector<std::optional<std::string>> row;
    std::string cell;
    bool quoted = false, in_quotes = false, any = false;
    auto end_cell = [&]() {
        row.push_back(quoted || !cell.empty() ? std::optional<std::string>(cell) : std::nullopt);
        cell.clear();
        quoted = false;
    };
    auto end_row = [&]() {
        end_cell();
        if (t.header.empty()) {
            for (auto& c : row) {
                t.header.push_back(c.value_or(""));
            }
        } else {
            t.rows.push_back(std::move(row));
        }
        row.clear();
    };
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        any = true;
        if (in_quotes) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                cell += '"';
                ++i;
            } else if (c == '"') {
                in_quotes = false;
            } else {
                cell += c;
            }
        } else if (c == '"') {
            in_quotes = true;
            quoted = true;
        } else if (c == ',') {
            end_cell();
        } else if (c == '\n') {
            end_row();
            any = false;
        } else if (c != '\r') {
            cell += c;
        }
    }
    if (any) {
        end_row();
    }
    return t;
}

namespace {

std::string Hex(std::string_view bytes) {
    std::string out;
    for (unsigned char c : bytes) {
        out += fmt::format("{:02x}", c);
    }
    return out;
}

// DuckDB prints BLOBs with \xNN for bytes outside printable ASCII.
std::string UnescapeBlob(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() + 0 && s[i + 1] == 'x' &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 3]))) {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
            i += 3;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::string Base64Decode(const std::string& s) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=') {
            break;
        }
        auto pos = alphabet.find(c);
        if (pos == std::string::npos) {
            return "<bad base64 " + s + ">";
        }
        acc = (acc << 6) | static_cast<uint32_t>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

// The oracle's timestamp text ("YYYY-MM-DD[ T]HH:MM:SS[.f…][Z|±HH[:MM]]") as microseconds since the
// Unix epoch, parsed here on purpose and not with the product's delta::ParseTimestampMicros: an
// expected value must not be canonicalised by the code under test. Days are counted year by year
// (slow, obviously right); fractions beyond microseconds are truncated, as pgsplit documents.
bool LeapYear(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t DaysSinceEpoch(int64_t y, int m, int d) {
    static const int before_month[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t days = 0;
    for (int64_t k = 1970; k < y; ++k) {
        days += LeapYear(k) ? 366 : 365;
    }
    for (int64_t k = y; k < 1970; ++k) {
        days -= LeapYear(k) ? 366 : 365;
    }
    return days + before_month[m - 1] + ((m > 2 && LeapYear(y)) ? 1 : 0) + d - 1;
}

} // namespace

std::optional<int64_t> OracleTimestampMicros(const std::string& s) {
    size_t i = 0;
    auto number = [&](size_t width, int64_t& out) {
        if (i + width > s.size()) {
            return false;
        }
        out = 0;
        for (size_t k = 0; k < width; ++k, ++i) {
            if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
                return false;
            }
            out = out * 10 + (s[i] - '0');
        }
        return true;
    };
    auto expect = [&](char c) { return i < s.size() && s[i++] == c; };
    int64_t y, mo, d, h, mi, sec;
    if (!number(4, y) || !expect('-') || !number(2, mo) || !expect('-') || !number(2, d)) {
        return std::nullopt;
    }
    if (i >= s.size() || (s[i] != ' ' && s[i] != 'T')) {
        return std::nullopt;
    }
    ++i;
    if (!number(2, h) || !expect(':') || !number(2, mi) || !expect(':') || !number(2, sec)) {
        return std::nullopt;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) {
        return std::nullopt;
    }
    int64_t micros = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        int64_t scale = 100000;
        size_t digits = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            micros += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
            ++digits;
        }
        if (digits == 0) {
            return std::nullopt;
        }
    }
    int64_t offset_minutes = 0;
    if (i < s.size() && s[i] == 'Z') {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1;
        int64_t oh = 0, om = 0;
        if (!number(2, oh)) {
            return std::nullopt;
        }
        if (i < s.size() && s[i] == ':') {
            ++i;
            if (!number(2, om)) {
                return std::nullopt;
            }
        }
        offset_minutes = sign * (oh * 60 + om);
    }
    if (i != s.size()) {
        return std::nullopt;
    }
    int64_t seconds = DaysSinceEpoch(y, static_cast<int>(mo), static_cast<int>(d)) * 86400 + h * 3600 +
                      mi * 60 + sec - offset_minutes * 60;
    return seconds * 1000000 + micros;
}

namespace {

std::string CanonDecimal(std::string s) {
    bool neg = !s.empty() && s[0] == '-';
    if (neg || (!s.empty() && s[0] == '+')) {
        s = s.substr(1);
    }
    if (s.find_first_of("eE") != std::string::npos) {
        // A JSON number in exponent form: go through a long double, fine for test-sized values.
        s = fmt::format("{:.18f}", std::stold(s));
    }
    std::string ip = s, fp;
    if (auto dot = s.find('.'); dot != std::string::npos) {
        ip = s.substr(0, dot);
        fp = s.substr(dot + 1);
    }
    while (!fp.empty() && fp.back() == '0') {
        fp.pop_back();
    }
    auto nz = ip.find_first_not_of('0');
    ip = nz == std::string::npos ? "0" : ip.substr(nz);
    std::string out = ip + (fp.empty() ? "" : "." + fp);
    return (neg && out != "0") ? "-" + out : out;
}

std::string CanonFloating(const std::string& s, bool single) {
    std::string l = s;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    if (l == "nan" || l == "-nan") {
        return "nan";
    }
    if (l == "inf" || l == "infinity" || l == "+infinity") {
        return "inf";
    }
    if (l == "-inf" || l == "-infinity") {
        return "-inf";
    }
    double d = std::stod(s);
    if (single) {
        return fmt::format("{}", static_cast<float>(d));
    }
    return fmt::format("{}", d);
}

std::string CanonText(const std::string& s, const delta::DataType& type, bool blob_escaped) {
    using delta::TypeKind;
    switch (type.kind) {
    case TypeKind::String:
        return s;
    case TypeKind::Binary:
        return "0x" + Hex(blob_escaped ? UnescapeBlob(s) : Base64Decode(s));
    case TypeKind::Long:
    case TypeKind::Integer:
    case TypeKind::Short:
    case TypeKind::Byte:
        return std::to_string(std::stoll(s));
    case TypeKind::Float:
        return CanonFloating(s, true);
    case TypeKind::Double:
        return CanonFloating(s, false);
    case TypeKind::Boolean:
        return s == "true" || s == "1" ? "true" : "false";
    case TypeKind::Decimal:
        return CanonDecimal(s);
    case TypeKind::Date:
        return s;
    case TypeKind::Timestamp:
    case TypeKind::TimestampNtz: {
        auto t = OracleTimestampMicros(s);
        return t ? "ts:" + std::to_string(*t) : "<bad timestamp " + s + ">";
    }
    default:
        return s;
    }
}

} // namespace

std::string CanonCsv(const std::optional<std::string>& cell, const delta::DataType& type) {
    if (!cell) {
        return "<null>";
    }
    return CanonText(*cell, type, true);
}

namespace {

std::string CanonJsonImpl(const nlohmann::json& v, const delta::DataType& type, bool blob_escaped) {
    using delta::TypeKind;
    if (v.is_null()) {
        return "<null>";
    }
    switch (type.kind) {
    case TypeKind::Struct: {
        std::string out = "{";
        for (const auto& f : type.fields) {
            auto it = v.find(f.name);
            out += f.name + ":" + (it == v.end() ? "<null>" : CanonJsonImpl(*it, f.type, blob_escaped)) + ",";
        }
        return out + "}";
    }
    case TypeKind::Array: {
        std::string out = "[";
        for (const auto& e : v) {
            out += CanonJsonImpl(e, *type.element, blob_escaped) + ",";
        }
        return out + "]";
    }
    case TypeKind::Map: {
        std::vector<std::string> items;
        for (const auto& [k, e] : v.items()) {
            items.push_back(k + "=>" + CanonJsonImpl(e, *type.element, blob_escaped));
        }
        std::sort(items.begin(), items.end());
        std::string out = "map{";
        for (const auto& i : items) {
            out += i + ",";
        }
        return out + "}";
    }
    default:
        break;
    }
    if (v.is_string()) {
        return CanonText(v.get<std::string>(), type, blob_escaped);
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? "true" : "false";
    }
    return CanonText(v.dump(), type, blob_escaped);
}

} // namespace

std::string CanonJson(const nlohmann::json& value, const delta::DataType& type) {
    return CanonJsonImpl(value, type, false);
}

std::string CanonBatch(const parquet::ColumnBatch& b, size_t i, const delta::DataType& type) {
    using parquet::Physical;
    if (b.IsNull(i)) {
        return "<null>";
    }
    const parquet::Column& c = *b.column;
    auto decimal_text = [&](__int128 unscaled) {
        bool neg = unscaled < 0;
        unsigned __int128 u =
            neg ? static_cast<unsigned __int128>(-unscaled) : static_cast<unsigned __int128>(unscaled);
        std::string digits;
        do {
            digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
            u /= 10;
        } while (u > 0);
        int scale = c.logical.scale;
        while (static_cast<int>(digits.size()) <= scale) {
            digits.insert(digits.begin(), '0');
        }
        std::string s = digits.substr(0, digits.size() - static_cast<size_t>(scale));
        if (scale > 0) {
            s += "." + digits.substr(digits.size() - static_cast<size_t>(scale));
        }
        return CanonDecimal((neg ? "-" : "") + s);
    };
    auto ts = [&](int64_t v) {
        switch (c.logical.unit) {
        case parquet::TimeUnit::Millis:
            return "ts:" + std::to_string(v * 1000);
        case parquet::TimeUnit::Nanos:
            return "ts:" + std::to_string(v / 1000);
        default:
            return "ts:" + std::to_string(v);
        }
    };
    switch (c.physical) {
    case Physical::Boolean:
        return b.boolean[i] ? "true" : "false";
    case Physical::Int32:
        if (c.logical.kind == parquet::Logical::Date) {
            return delta::FormatDate(b.i32[i]);
        }
        if (c.logical.kind == parquet::Logical::Decimal) {
            return decimal_text(b.i32[i]);
        }
        return std::to_string(b.i32[i]);
    case Physical::Int64:
        if (c.logical.kind == parquet::Logical::Timestamp) {
            return ts(b.i64[i]);
        }
        if (c.logical.kind == parquet::Logical::Decimal) {
            return decimal_text(b.i64[i]);
        }
        return std::to_string(b.i64[i]);
    case Physical::Int96: {
        int64_t micros = (static_cast<int64_t>(b.int96[i].julian_day) - 2440588LL) * 86400000000LL +
                         static_cast<int64_t>(b.int96[i].nanos_of_day / 1000);
        return "ts:" + std::to_string(micros);
    }
    case Physical::Float:
        return CanonFloating(fmt::format("{}", b.f32[i]), true);
    case Physical::Double:
        return CanonFloating(fmt::format("{}", b.f64[i]), false);
    case Physical::ByteArray:
    case Physical::FixedLenByteArray: {
        auto bytes = b.Bytes(i);
        if (c.logical.kind == parquet::Logical::Decimal) {
            __int128 v = bytes.empty() ? 0 : (static_cast<signed char>(bytes[0]) < 0 ? -1 : 0);
            for (unsigned char ch : bytes) {
                v = (v << 8) | ch;
            }
            return decimal_text(v);
        }
        if (type.kind == delta::TypeKind::Binary) {
            return "0x" + Hex(bytes);
        }
        return std::string(bytes);
    }
    }
    return "<?>";
}

std::vector<std::string> SchemaColumns(const delta::Snapshot& snap) {
    std::vector<std::string> out;
    for (const auto& f : snap.GetSchema().fields) {
        out.push_back(f.name);
    }
    return out;
}

CanonRows ExpectedRows(const fs::path& file, const delta::Schema& schema,
                       const std::vector<std::string>& columns, const std::string& where_column,
                       const std::optional<std::string>& where_value) {
    CanonRows out;
    std::string text = ReadFile(file);
    if (file.extension() == ".csv") {
        CsvTable t = ParseCsv(text);
        std::vector<int> idx;
        for (const auto& c : columns) {
            auto it = std::find(t.header.begin(), t.header.end(), c);
            idx.push_back(it == t.header.end() ? -1 : static_cast<int>(it - t.header.begin()));
        }
        for (const auto& r : t.rows) {
            std::string line;
            for (size_t k = 0; k < columns.size(); ++k) {
                const auto* f = schema.Find(columns[k]);
                line +=
                    (idx[k] < 0 ? "<missing column>" : CanonCsv(r[static_cast<size_t>(idx[k])], f->type)) +
                    " | ";
            }
            out.push_back(line);
        }
    } else {
        std::istringstream in(text);
        std::string l;
        while (std::getline(in, l)) {
            if (l.empty()) {
                continue;
            }
            auto j = nlohmann::json::parse(l);
            if (!where_column.empty()) {
                const auto& cell = j[where_column];
                bool match = where_value ? (cell.is_string() && cell.get<std::string>() == *where_value)
                                         : cell.is_null();
                if (!match) {
                    continue;
                }
            }
            std::string line;
            for (const auto& c : columns) {
                const auto* f = schema.Find(c);
                line += (j.contains(c) ? CanonJsonImpl(j[c], f->type, true) : "<missing column>") + " | ";
            }
            out.push_back(line);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

CanonRows RowsViaReadRows(const delta::Snapshot& snap, storage::Storage& storage,
                          const std::vector<std::string>& columns) {
    CanonRows out;
    delta::ReadRows(snap, storage, snap.SelectFiles(nullptr), std::nullopt, [&](nlohmann::ordered_json& row) {
        auto j = nlohmann::json::parse(row.dump());
        std::string line;
        for (const auto& c : columns) {
            line += CanonJson(j[c], snap.GetSchema().Find(c)->type) + " | ";
        }
        out.push_back(line);
        return true;
    });
    std::sort(out.begin(), out.end());
    return out;
}

CanonRows RowsViaScan(const delta::Snapshot& snap, storage::Storage& storage,
                      const std::vector<std::string>& columns,
                      const std::optional<delta::Predicate>& predicate) {
    CanonRows out;
    delta::Scan scan(snap, storage, {columns, predicate, 3}); // tiny batches exercise batch boundaries
    delta::ScanBatch batch;
    while (scan.Next(batch)) {
        for (size_t r = 0; r < batch.size; ++r) {
            std::string line;
            for (size_t k = 0; k < columns.size(); ++k) {
                line += CanonBatch(batch.columns[k], r, scan.Columns()[k].field->type) + " | ";
            }
            out.push_back(line);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string DiffRows(const CanonRows& want, const CanonRows& got) {
    std::string out = fmt::format("expected {} rows, got {}\n", want.size(), got.size());
    std::vector<std::string> missing, extra;
    std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
    for (size_t i = 0; i < missing.size() && i < 5; ++i) {
        out += "  missing: " + missing[i] + "\n";
    }
    for (size_t i = 0; i < extra.size() && i < 5; ++i) {
        out += "  extra:   " + extra[i] + "\n";
    }
    return out;
}

} // namespace pgsplit::test
