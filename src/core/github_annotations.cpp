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

} // namespace pgsplit
