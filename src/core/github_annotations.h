#pragma once

// GitHub Actions workflow-command escaping and annotations. In core because the Logger emits
// annotations; the step summary and step outputs are in output/github.h.

#include <string>
#include <string_view>

namespace pgsplit {

// Escaping for workflow commands (::error title=...::message).
// Data: % CR LF. Properties additionally : and ,.
std::string GithubEscapeData(std::string_view s);
std::string GithubEscapeProperty(std::string_view s);

// "::error title=T::M\n" / "::warning title=T::M\n" with both parts escaped.
std::string GithubAnnotation(std::string_view level, std::string_view title, std::string_view message);

} // namespace pgsplit
