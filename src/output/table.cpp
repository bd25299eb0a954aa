#include "output/table.h"

#include "core/github_annotations.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>

namespace pgsplit {

namespace {

// The next code point of UTF-8 text at `i` (advancing it); a malformed byte counts as one code point.
uint32_t NextCodePoint(const std::string& s, size_t& i) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    if (len == 1 || i + len > s.size()) {
        ++i;
        return b;
    }
    uint32_t cp = b & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    i += len;
    return cp;
}

bool In(uint32_t cp, uint32_t lo, uint32_t hi) {
    return cp >= lo && cp <= hi;
}

// Columns a code point takes in a terminal: 0 for combining marks, joiners and variation selectors,
// 2 for East Asian wide and fullwidth characters and the common emoji blocks, else 1.
size_t CodePointWidth(uint32_t cp) {
    if (In(cp, 0x0300, 0x036F) || In(cp, 0x1AB0, 0x1AFF) || In(cp, 0x1DC0, 0x1DFF) ||
        In(cp, 0x20D0, 0x20FF) || In(cp, 0xFE20, 0xFE2F) || In(cp, 0x200B, 0x200F) ||
        In(cp, 0xFE00, 0xFE0F) || In(cp, 0xE0100, 0xE01EF)) {
        return 0;
    }
    if (In(cp, 0x1100, 0x115F) || In(cp, 0x2E80, 0x303E) || In(cp, 0x3041, 0x33FF) ||
        In(cp, 0x3400, 0x4DBF) || In(cp, 0x4E00, 0x9FFF) || In(cp, 0xA000, 0xA4CF) ||
        In(cp, 0xAC00, 0xD7A3) || In(cp, 0xF900, 0xFAFF) || In(cp, 0xFE30, 0xFE4F) ||
        In(cp, 0xFF00, 0xFF60) || In(cp, 0xFFE0, 0xFFE6) || In(cp, 0x1F300, 0x1F64F) ||
        In(cp, 0x1F680, 0x1F6FF) || In(cp, 0x1F900, 0x1F9FF) || In(cp, 0x20000, 0x3FFFD)) {
        return 2;
    }
    return 1;
}

} // namespace

size_t DisplayWidth(const std::string& s) {
    size_t w = 0;
    for (size_t i = 0; i < s.size();) {
        w += CodePointWidth(NextCodePoint(s, i));
    }
    return w;
}

std::string FitWidth(const std::string& s, size_t width) {
    if (DisplayWidth(s) <= width) {
        return s;
    }
    if (width == 0) {
        return "";
    }
    // Keep whole code points up to width - 1 columns, then the one-column ellipsis.
    std::string out;
    size_t w = 0;
    for (size_t i = 0; i < s.size();) {
        size_t start = i;
        size_t cw = CodePointWidth(NextCodePoint(s, i));
        if (w + cw > width - 1) {
            break;
        }
        out.append(s, start, i - start);
        w += cw;
    }
    return out + "\u2026";
}

void TextTable::AddRow(std::vector<std::string> cells, std::vector<Tone> tones) {
    cells.resize(headers_.size());
    // Cells carry data (values, names, errors): an embedded newline must not start a line of its own.
    for (auto& cell : cells) {
        cell = EscapeControlChars(cell);
    }
    tones.resize(headers_.size(), Tone::Plain);
    rows_.push_back(std::move(cells));
    tones_.push_back(std::move(tones));
}

std::string TextTable::Render(bool color, size_t max_width) const {
    std::vector<size_t> widths(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) {
        widths[c] = DisplayWidth(headers_[c]);
        for (const auto& row : rows_) {
            widths[c] = std::max(widths[c], DisplayWidth(row[c]));
        }
    }
    // Too wide for the terminal: narrow the widest column one step at a time, never below its
    // header or 8 columns, so short columns (ids, states) stay whole and long text is cut.
    if (max_width > 0 && !widths.empty()) {
        auto total = [&] {
            size_t t = 2 * (widths.size() - 1);
            for (size_t w : widths) {
                t += w;
            }
            return t;
        };
        std::vector<size_t> floor(widths.size());
        for (size_t c = 0; c < widths.size(); ++c) {
            floor[c] = std::min(widths[c], std::max<size_t>(DisplayWidth(headers_[c]), 8));
        }
        while (total() > max_width) {
            size_t widest = widths.size();
            for (size_t c = 0; c < widths.size(); ++c) {
                if (widths[c] > floor[c] && (widest == widths.size() || widths[c] > widths[widest])) {
                    widest = c;
                }
            }
            if (widest == widths.size()) {
                break; // every column is at its floor: let the terminal wrap
            }
            --widths[widest];
        }
    }
    auto tone_code = [](Tone t) -> const char* {
        switch (t) {
        case Tone::Good:
            return "\x1b[32m";
        case Tone::Bad:
            return "\x1b[31m";
        case Tone::Warn:
            return "\x1b[33m";
        case Tone::Dim:
            return "\x1b[2m";
        case Tone::Plain:
            break;
        }
        return "";
    };
    std::string out;
    auto emit = [&](const std::vector<std::string>& cells, const std::vector<Tone>* tones, bool header) {
        std::string line;
        for (size_t c = 0; c < cells.size(); ++c) {
            const char* on = "";
            if (color) {
                on = header ? "\x1b[1m" : tone_code((*tones)[c]);
            }
            bool last = c + 1 == cells.size();
            std::string cell = FitWidth(cells[c], widths[c]);
            line += on;
            line += cell;
            if (*on) {
                line += "\x1b[0m";
            }
            if (!last) {
                line.append(widths[c] - DisplayWidth(cell) + 2, ' ');
            }
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out += line + "\n";
    };
    emit(headers_, nullptr, true);
    for (size_t r = 0; r < rows_.size(); ++r) {
        emit(rows_[r], &tones_[r], false);
    }
    return out;
}

std::string RenderColumns(const std::vector<std::vector<std::string>>& raw, const std::string& indent) {
    std::vector<std::vector<std::string>> rows = raw;
    for (auto& r : rows) {
        for (auto& cell : r) {
            cell = EscapeControlChars(cell);
        }
    }
    std::vector<size_t> width;
    for (const auto& r : rows) {
        width.resize(std::max(width.size(), r.size()));
        for (size_t i = 0; i < r.size(); ++i) {
            width[i] = std::max(width[i], DisplayWidth(r[i]));
        }
    }
    std::string out;
    for (const auto& r : rows) {
        std::string line = indent;
        for (size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) {
                line.append(width[i] - DisplayWidth(r[i]) + 2, ' ');
            }
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out += line + "\n";
    }
    return out;
}

std::string HumanDuration(double ms) {
    // One unit pair per scale, the larger unit always filled: "340 ms", "12.5 s", "4m 5s", "2h 5m",
    // "3d 4h" (never "60m 0s" or "119m 0s").
    if (ms < 999.5) {
        return fmt::format("{:.0f} ms", ms < 0 ? 0.0 : ms);
    }
    if (ms < 59950) {
        return fmt::format("{:.1f} s", ms / 1000);
    }
    auto total = static_cast<long long>(ms / 1000 + 0.5);
    if (total < 3600) {
        return fmt::format("{}m {}s", total / 60, total % 60);
    }
    if (total < 86400) {
        return fmt::format("{}h {}m", total / 3600, (total % 3600) / 60);
    }
    return fmt::format("{}d {}h", total / 86400, (total % 86400) / 3600);
}

} // namespace pgsplit
