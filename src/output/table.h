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
    std::string Render(bool color) const;

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<std::vector<Tone>> tones_;
};

// Rows of cells aligned in columns (no header, no colour), each line prefixed with `indent` and
// trailing spaces trimmed. Rows may have different lengths.
std::string RenderColumns(const std::vector<std::vector<std::string>>& rows, const std::string& indent);

// Display width of UTF-8 text (code points; no East Asian width handling).
size_t DisplayWidth(const std::string& s);

// "1.2 s", "340 ms", "2h 5m": durations for people.
std::string HumanDuration(double milliseconds);

} // namespace pgsplit
