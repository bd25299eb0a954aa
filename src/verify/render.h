#pragma once

// The ways a verify Report is shown: a text table (colour optional), one JSON document, a Markdown
// table for the GitHub step summary, and GitHub ::error annotations.

#include "verify/verify.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgsplit::verify {

// One line per month (month, Delta rows, Postgres rows, state, synced at, verdict), then every
// problem, the freshness line and a one-line summary.
std::string RenderText(const Report& report, bool color, size_t max_width = 0);

// Every month with its counts, versions and problems, the freshness and `ok`.
nlohmann::ordered_json RenderJson(const Report& report);

// The step-summary Markdown: a heading, the month table, freshness and the problems.
std::string RenderMarkdown(const Report& report);

// What to annotate in GitHub Actions: one error per failing month (its problems joined), and one for
// freshness when it fails. The logger escapes and caps them (Logger::Annotate).
struct Annotation {
    std::string title;
    std::string message;
};
std::vector<Annotation> Annotations(const Report& report);

} // namespace pgsplit::verify
