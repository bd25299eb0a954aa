#pragma once

#include <string>
#include <string_view>

namespace pgsplit {

// Escaping for GitHub Actions workflow commands (::error title=...::message).
// Data: % CR LF. Properties additionally : and ,.
std::string GithubEscapeData(std::string_view s);
std::string GithubEscapeProperty(std::string_view s);

} // namespace pgsplit
