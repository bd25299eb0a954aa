#include "core/github_annotations.h"

#include <fmt/format.h>

namespace pgsplit {
namespace {

std::string Escape(std::string_view s, bool property) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '%':
            out += "%25";
            break;
        case '\r':
            out += "%0D";
            break;
        case '\n':
            out += "%0A";
            break;
        case ':':
            out += property ? "%3A" : ":";
            break;
        case ',':
            out += property ? "%2C" : ",";
            break;
        default:
            out += c;
        }
    }
    return out;
}

} // namespace

std::string GithubEscapeData(std::string_view s) {
    return Escape(s, false);
}
std::string GithubEscapeProperty(std::string_view s) {
    return Escape(s, true);
}

std::string GithubAnnotation(std::string_view level, std::string_view title, std::string_view message) {
    return fmt::format("::{} title={}::{}\n", level, GithubEscapeProperty(title), GithubEscapeData(message));
}

std::string NeutralizeWorkflowCommands(std::string_view text) {
    static constexpr std::string_view kZeroWidthSpace = "\xe2\x80\x8b";
    bool json = !text.empty() && (text[0] == '{' || text[0] == '[');
    std::string out;
    out.reserve(text.size());
    bool line_start = true;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (line_start && (c == ' ' || c == '\t')) {
            out += c;
            continue;
        }
        if (line_start && c == ':' && i + 1 < text.size() && text[i + 1] == ':') {
            out += ':';
            out += kZeroWidthSpace;
            line_start = false;
            continue;
        }
        line_start = c == '\n' || c == '\r';
        if (c == '#' && text.substr(i, 3) == "##[") {
            out += json ? "#\\u0023" : std::string("#").append(kZeroWidthSpace).append("#");
            ++i; // the second '#' was written
            continue;
        }
        out += c;
    }
    return out;
}

std::string EscapeControlChars(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += ch;
        }
    }
    return out;
}

} // namespace pgsplit
