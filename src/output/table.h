#pragma once

#include <string>
#include <vector>

namespace pgsplit {

// A plain text table rendered to a string: a header row, aligned columns, two spaces between.
// Cells may carry a colour that is used only when rendering with colour on.
class TextTable {
public:
    enum class Tone { Plain, Good, Bad, Warn, Dim };

    explicit TextTable(std::vector<std::string> headers) : headers_(std::move(headers)) {}

    void AddRow(std::vector<std::string> cells, std::vector<Tone> tones = {});
    size_t Size() const { return rows_.size(); }
    // max_width > 0: the table is fitted to that many columns by cutting the longest cells (with
    // "\u2026"); 0 renders every cell whole.
    std::string Render(bool color, size_t max_width = 0) const;

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<std::vector<Tone>> tones_;
};

// Rows of cells aligned in columns (no header, no colour), each line prefixed with `indent` and
// trailing spaces trimmed. Rows may have different lengths.
std::string RenderColumns(const std::vector<std::vector<std::string>>& rows, const std::string& indent);

// Terminal columns UTF-8 text takes: East Asian wide/fullwidth characters and common emoji count 2,
// combining marks and zero-width joiners 0, everything else 1.
size_t DisplayWidth(const std::string& s);

// `s` cut to at most `width` terminal columns, ending in "\u2026" when something was cut.
std::string FitWidth(const std::string& s, size_t width);

// Durations for people, one format everywhere: "340 ms", "1.2 s", "4m 5s", "2h 5m", "3d 4h".
std::string HumanDuration(double milliseconds);

} // namespace pgsplit
