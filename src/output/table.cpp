#include "output/table.h"

#include "core/github_annotations.h"

#include <algorithm>
#include <fmt/format.h>

namespace pgsplit {

size_t DisplayWidth(const std::string& s) {
    size_t w = 0;
    for (unsigned char c : s) {
        if ((c & 0xC0) != 0x80) {
            ++w;
        }
    }
    return w;
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

std::string TextTable::Render(bool color) const {
    std::vector<size_t> widths(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) {
        widths[c] = DisplayWidth(headers_[c]);
        for (const auto& row : rows_) {
            widths[c] = std::max(widths[c], DisplayWidth(row[c]));
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
            line += on;
            line += cells[c];
            if (*on) {
                line += "\x1b[0m";
            }
            if (!last) {
                line.append(widths[c] - DisplayWidth(cells[c]) + 2, ' ');
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
    if (ms < 1000) {
        return fmt::format("{:.0f} ms", ms);
    }
    double s = ms / 1000;
    if (s < 120) {
        return fmt::format("{:.1f} s", s);
    }
    auto total = static_cast<long long>(s);
    if (total < 7200) {
        return fmt::format("{}m {}s", total / 60, total % 60);
    }
    return fmt::format("{}h {}m", total / 3600, (total % 3600) / 60);
}

} // namespace pgsplit
