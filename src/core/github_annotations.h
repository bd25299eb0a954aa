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

// Text that may carry bytes pgsplit did not write (a Delta path, a symbol in a server error, a
// partition value, a run's column) rendered so that it cannot start a GitHub workflow command: a line
// whose first non-blank characters are "::" and any "##[" get a zero-width space between the two
// characters (U+200B, invisible in the job log). In text that is a JSON document the "##[" inside
// strings becomes "#\u0023[" instead, which every JSON parser reads back as the same string.
std::string NeutralizeWorkflowCommands(std::string_view text);

// One line for people: CR, LF and the other C0 control characters (and DEL) in untrusted text become
// visible escapes (\n, \r, \t is kept, \xNN), so an embedded newline cannot start a line of its own.
std::string EscapeControlChars(std::string_view text);

} // namespace pgsplit
