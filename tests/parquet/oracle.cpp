// The Parquet corpus oracle: expected values written by DuckDB and hyparquet, compared with pgsplit's
// by their kind (exact floats by bits, timestamps with their UTC marker, one named tolerance for
// hyparquet's decimals). Long because each value kind has its own comparison; oracle_test.cpp
// holds their positive controls.
#include "oracle.h"

#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <sstream>

namespace pgsplit::test::pq {
namespace {

bool ParseDouble(const std::string& s, double& out) {
    std::string t = s;
    if (t == "nan" || t == "-nan" || t == "NaN") {
        out = std::nan("");
        return true;
    }
    if (t == "inf" || t == "Infinity") {
        out = INFINITY;
        return true;
    }
    if (t == "-inf" || t == "-Infinity") {
        out = -INFINITY;
        return true;
    }
    char* end = nullptr;
    out = std::strtod(t.c_str(), &end);
    return !t.empty() && end == t.c_str() + t.size();
}

bool SameDouble(double a, double b, bool as_float) {
    if (std::isnan(a) || std::isnan(b)) {
        return std::isnan(a) && std::isnan(b);
    }
    if (as_float) {
        return static_cast<float>(a) == static_cast<float>(b);
    }
    return a == b;
}

// A timestamp's (or time's) text split into its clock reading and its UTC-adjustment marker:
// "2009-03-01T00:00:00.000000Z" and DuckDB's "2009-03-01 00:00:00+00" are both
// {"2009-03-01 00:00:00", utc}; without a marker the value is local (not adjusted to UTC). The
// separator and the fraction's trailing zeros are canonicalised; the marker is compared, not dropped.
struct TimestampText {
    std::string clock;
    bool utc = false;
    bool operator==(const TimestampText&) const = default;
};

TimestampText SplitTimestamp(std::string s) {
    auto t = s.find('T');
    if (t != std::string::npos && t >= 10) {
        s[t] = ' ';
    }
    bool utc = false;
    if (s.size() >= 6 && s.compare(s.size() - 6, 6, "+00:00") == 0) {
        s.resize(s.size() - 6);
        utc = true;
    } else if (s.size() >= 3 && s.compare(s.size() - 3, 3, "+00") == 0) {
        s.resize(s.size() - 3);
        utc = true;
    } else if (!s.empty() && s.back() == 'Z') {
        s.pop_back();
        utc = true;
    }
    auto dot = s.find('.');
    if (dot != std::string::npos) {
        while (s.back() == '0') {
            s.pop_back();
        }
        if (s.back() == '.') {
            s.pop_back();
        }
    }
    return {s, utc};
}

// "YYYY-MM-DD HH:MM:SS…" or "HH:MM:SS…": a clock reading, as opposed to any other string.
bool LooksLikeClock(const std::string& s) {
    auto digits = [&](size_t at, size_t n) {
        for (size_t i = at; i < at + n; ++i) {
            if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) {
                return false;
            }
        }
        return true;
    };
    // Years may have more than four digits (nested_structs.rust.parquet has 52951-07-27).
    size_t y = 0;
    while (y < s.size() && std::isdigit(static_cast<unsigned char>(s[y]))) {
        ++y;
    }
    bool date = y >= 4 && s.size() >= y + 15 && s[y] == '-' && digits(y + 1, 2) && s[y + 3] == '-' &&
                digits(y + 4, 2) && s[y + 6] == ' ';
    size_t t = date ? y + 7 : 0;
    return digits(t, 2) && s.size() >= t + 8 && s[t + 2] == ':' && digits(t + 3, 2) && s[t + 5] == ':' &&
           digits(t + 6, 2);
}

// Whether a number read from JSON is a FLOAT's value in one of the two forms readers print: the float
// widened to double (10.33757495880127) or the float's shortest text (10.337575).
bool IsFloatForm(double v) {
    if (!std::isfinite(v)) {
        return true;
    }
    float f = static_cast<float>(v);
    if (static_cast<double>(f) == v) {
        return true;
    }
    double shortest = 0;
    return ParseDouble(fmt::format("{}", f), shortest) && shortest == v;
}

// Floats compared exactly: equal doubles, or two FLOAT forms with the same 32 bits. A double that is
// off in its last bits is not a FLOAT form and must be equal.
bool SameFloatingValue(double mine, double theirs) {
    if (SameDouble(mine, theirs, false)) {
        return true;
    }
    return IsFloatForm(mine) && IsFloatForm(theirs) && SameDouble(mine, theirs, true);
}

std::string Hex(const std::string& b) {
    static const char* h = "0123456789abcdef";
    std::string s;
    for (unsigned char c : b) {
        s.push_back(h[c >> 4]);
        s.push_back(h[c & 15]);
    }
    return s;
}

} // namespace

std::string ReadFileText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<CsvRow> ParseCsv(const std::string& text) {
    std::vector<CsvRow> rows;
    CsvRow row;
    CsvField field;
    size_t i = 0;
    bool any = false;
    while (i < text.size()) {
        char c = text[i];
        if (c == '"' && field.text.empty() && !field.quoted) {
            field.quoted = true;
            ++i;
            while (i < text.size()) {
                if (text[i] == '"') {
                    if (i + 1 < text.size() && text[i + 1] == '"') {
                        field.text.push_back('"');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field.text.push_back(text[i++]);
            }
            any = true;
            continue;
        }
        if (c == ',') {
            row.push_back(std::move(field));
            field = CsvField{};
            any = true;
            ++i;
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
            row.push_back(std::move(field));
            field = CsvField{};
            rows.push_back(std::move(row));
            row.clear();
            any = false;
            ++i;
            continue;
        }
        field.text.push_back(c);
        any = true;
        ++i;
    }
    if (any) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string UnescapeDuckBlob(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
            i += 3;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::string DecodeBase64(const std::string& s) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        if (c == '+') {
            return 62;
        }
        if (c == '/') {
            return 63;
        }
        return -1;
    };
    std::string out;
    uint32_t buf = 0;
    int bits = 0;
    for (char c : s) {
        int v = val(c);
        if (v < 0) {
            continue;
        }
        buf = (buf << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xff));
        }
    }
    return out;
}

std::string CompareCsvCell(const parquet::Cell& mine, bool mine_null, const CsvField& theirs,
                           const std::string& type) {
    std::string mine_text;
    switch (mine.kind) {
    case parquet::CellKind::Null:
        mine_null = true;
        break;
    case parquet::CellKind::Boolean:
        mine_text = mine.boolean ? "true" : "false";
        break;
    case parquet::CellKind::Integer:
        mine_text = std::to_string(mine.integer);
        break;
    case parquet::CellKind::Unsigned:
        mine_text = std::to_string(mine.unsigned_integer);
        break;
    case parquet::CellKind::Real:
    case parquet::CellKind::String:
        mine_text = mine.text;
        break;
    }
    auto diff = [&] {
        return fmt::format("pgsplit '{}' vs oracle '{}' ({})", mine_null ? "NULL" : mine_text,
                           theirs.IsNull() ? "NULL" : theirs.text, type);
    };
    if (mine_null || theirs.IsNull()) {
        return mine_null == theirs.IsNull() ? "" : diff();
    }
    if (type == "FLOAT" || type == "DOUBLE") {
        double a, b;
        if (!ParseDouble(mine_text, a) || !ParseDouble(theirs.text, b) ||
            !SameDouble(a, b, type == "FLOAT")) {
            return diff();
        }
        return "";
    }
    if (type == "BLOB") {
        return DecodeBase64(mine_text) == UnescapeDuckBlob(theirs.text) ? "" : diff();
    }
    if (type.rfind("TIMESTAMP", 0) == 0 || type.rfind("TIME", 0) == 0) {
        // DuckDB marks TIMESTAMP WITH TIME ZONE with "+00", pgsplit marks isAdjustedToUTC with "Z".
        return SplitTimestamp(mine_text) == SplitTimestamp(theirs.text) ? "" : diff();
    }
    return mine_text == theirs.text ? "" : diff();
}

std::string CompareJson(const nlohmann::json& mine, const nlohmann::json& theirs, Oracle oracle,
                        const std::string& path) {
    auto diff = [&] { return fmt::format("{}: pgsplit {} vs oracle {}", path, mine.dump(), theirs.dump()); };
    if (theirs.is_object() && theirs.size() == 1 && theirs.contains("hex") && mine.is_string()) {
        return Hex(DecodeBase64(mine.get<std::string>())) == theirs["hex"].get<std::string>() ? "" : diff();
    }
    if (mine.is_null() || theirs.is_null()) {
        return mine.is_null() == theirs.is_null() ? "" : diff();
    }
    if (mine.is_object() || theirs.is_object()) {
        if (!mine.is_object() || !theirs.is_object() || mine.size() != theirs.size()) {
            return diff();
        }
        for (auto it = theirs.begin(); it != theirs.end(); ++it) {
            if (!mine.contains(it.key())) {
                return fmt::format("{}: key '{}' missing in pgsplit output", path, it.key());
            }
            std::string d = CompareJson(mine[it.key()], it.value(), oracle, path + "." + it.key());
            if (!d.empty()) {
                return d;
            }
        }
        return "";
    }
    if (mine.is_array() || theirs.is_array()) {
        if (!mine.is_array() || !theirs.is_array() || mine.size() != theirs.size()) {
            return diff();
        }
        for (size_t i = 0; i < mine.size(); ++i) {
            std::string d = CompareJson(mine[i], theirs[i], oracle, fmt::format("{}[{}]", path, i));
            if (!d.empty()) {
                return d;
            }
        }
        return "";
    }
    if (mine.is_boolean() || theirs.is_boolean()) {
        return mine == theirs ? "" : diff();
    }
    if (mine.is_number_integer() && theirs.is_number_integer()) {
        return mine.get<int64_t>() == theirs.get<int64_t>() || mine.dump() == theirs.dump() ? "" : diff();
    }
    // Text forms: strings that differ only by the oracle's conventions.
    std::string a = mine.is_string() ? mine.get<std::string>() : mine.dump();
    std::string b = theirs.is_string() ? theirs.get<std::string>() : theirs.dump();
    if (a == b) {
        return "";
    }
    double x, y;
    if ((mine.is_number() || theirs.is_number()) && ParseDouble(a, x) && ParseDouble(b, y)) {
        if (SameFloatingValue(x, y)) {
            return "";
        }
        // The one known-lossy oracle value: hyparquet gives DECIMALs as JS doubles, where pgsplit gives
        // the exact decimal text. Only that pair (a string of ours, a number of hyparquet's) gets a
        // relative tolerance of 1e-12; every other number is compared exactly.
        if (oracle == Oracle::Hyparquet && mine.is_string() && theirs.is_number() &&
            std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y))) {
            return "";
        }
        return diff();
    }
    if (mine.is_string() && theirs.is_string()) {
        TimestampText ta = SplitTimestamp(a), tb = SplitTimestamp(b);
        if (ta.clock == tb.clock && LooksLikeClock(ta.clock)) {
            // hyparquet prints every timestamp through JS toISOString, always with "Z", so only DuckDB's
            // text says whether the value is UTC-adjusted; with DuckDB the markers must agree.
            if (ta.utc == tb.utc || oracle == Oracle::Hyparquet) {
                return "";
            }
            return diff() + " (UTC adjustment differs)";
        }
        std::string raw = DecodeBase64(a);
        if (raw == b || raw == UnescapeDuckBlob(b)) {
            return "";
        }
    }
    return diff();
}

std::vector<nlohmann::json> DecodeAllAsJson(parquet::FileReader& reader) {
    std::vector<nlohmann::json> out;
    if (!reader.AllFlat()) {
        reader.ReadRecords({}, [&](nlohmann::json& rec) {
            out.push_back(std::move(rec));
            return true;
        });
        return out;
    }
    std::vector<int> cols;
    for (const auto& c : reader.Columns()) {
        cols.push_back(c.index);
    }
    parquet::Cell cell;
    for (size_t g = 0; g < reader.Info().row_groups.size(); ++g) {
        auto cursor = reader.ReadRowGroup(static_cast<int>(g), cols, 1000);
        std::vector<parquet::ColumnBatch> batches;
        while (cursor->Next(batches)) {
            for (size_t r = 0; r < batches[0].size; ++r) {
                nlohmann::json rec = nlohmann::json::object();
                for (size_t c = 0; c < batches.size(); ++c) {
                    const auto& b = batches[c];
                    if (b.IsNull(r)) {
                        rec[b.column->path[0]] = nullptr;
                        continue;
                    }
                    parquet::RenderCell(*b.column, b, r, cell);
                    rec[b.column->path[0]] = parquet::CellToJson<nlohmann::json>(cell);
                }
                out.push_back(std::move(rec));
            }
        }
    }
    return out;
}

// Compares a flat file with DuckDB's CSV. Returns problems (empty when equal).
std::vector<std::string> CompareWithCsv(const std::string& rel, parquet::FileReader& reader,
                                        const std::filesystem::path& csv, const nlohmann::json& meta,
                                        size_t& compared, size_t& skipped, const SkipCell& skip) {
    std::vector<std::string> problems;
    auto rows = ParseCsv(ReadFileText(csv.string()));
    if (rows.empty()) {
        return {"oracle CSV is empty"};
    }
    const auto& header = rows[0];
    const auto& cols = reader.Columns();
    if (header.size() != cols.size()) {
        return {fmt::format("oracle has {} columns, pgsplit {}", header.size(), cols.size())};
    }
    std::vector<std::string> types;
    for (size_t c = 0; c < cols.size(); ++c) {
        if (header[c].text != cols[c].path[0]) {
            problems.push_back(fmt::format("column {} is '{}' in the oracle, '{}' in pgsplit", c,
                                           header[c].text, cols[c].path[0]));
        }
        types.push_back(meta["columns"][c]["duckdb_type"].get<std::string>());
    }
    std::vector<int> idx;
    for (const auto& c : cols) {
        idx.push_back(c.index);
    }
    size_t row = 0;
    parquet::Cell cell;
    for (size_t g = 0; g < reader.Info().row_groups.size(); ++g) {
        auto cursor = reader.ReadRowGroup(static_cast<int>(g), idx, 777);
        std::vector<parquet::ColumnBatch> batches;
        while (cursor->Next(batches)) {
            for (size_t r = 0; r < batches[0].size; ++r, ++row) {
                if (row + 1 >= rows.size()) {
                    continue;
                }
                const auto& expect = rows[row + 1];
                for (size_t c = 0; c < batches.size(); ++c) {
                    // GEOMETRY: DuckDB prints WKT, pgsplit keeps the WKB bytes (base64); not comparable.
                    if (types[c].rfind("GEOMETRY", 0) == 0 || (skip && skip(rel, row, cols[c].path[0]))) {
                        ++skipped;
                        continue;
                    }
                    bool null = batches[c].IsNull(r);
                    if (!null) {
                        parquet::RenderCell(cols[c], batches[c], r, cell);
                    } else {
                        cell.kind = parquet::CellKind::Null;
                    }
                    std::string d = CompareCsvCell(cell, null, expect[c], types[c]);
                    ++compared;
                    if (!d.empty() && problems.size() < 5) {
                        problems.push_back(fmt::format("row {}, column '{}': {}", row, cols[c].path[0], d));
                    }
                }
            }
        }
    }
    if (row != rows.size() - 1) {
        problems.push_back(fmt::format("pgsplit decoded {} rows, the oracle has {}", row, rows.size() - 1));
    }
    return problems;
}

std::vector<std::string> CompareWithJsonl(parquet::FileReader& reader, const std::filesystem::path& jsonl,
                                          Oracle oracle, size_t& compared,
                                          const std::function<void(nlohmann::json&)>& adapt) {
    std::vector<std::string> problems;
    std::vector<nlohmann::json> expect;
    std::istringstream in(ReadFileText(jsonl.string()));
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            expect.push_back(nlohmann::json::parse(line));
        }
    }
    auto mine = DecodeAllAsJson(reader);
    if (mine.size() != expect.size()) {
        problems.push_back(
            fmt::format("pgsplit decoded {} rows, the oracle has {}", mine.size(), expect.size()));
    }
    for (size_t i = 0; i < std::min(mine.size(), expect.size()); ++i) {
        if (adapt) {
            adapt(expect[i]);
        }
        std::string d = CompareJson(mine[i], expect[i], oracle);
        ++compared;
        if (!d.empty() && problems.size() < 5) {
            problems.push_back(fmt::format("row {}: {}", i, d));
        }
    }
    return problems;
}

} // namespace pgsplit::test::pq
