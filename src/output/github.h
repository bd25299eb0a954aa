#pragma once

// GitHub Actions step summary and step outputs. Annotations (and escaping) are in
// core/github_annotations.h, because the Logger emits them.

#include "core/github_annotations.h"

#include <string>
#include <vector>

namespace pgsplit {

// Appends `markdown` to the step summary file ($GITHUB_STEP_SUMMARY) when `path` is set. The file is
// kept under GitHub's 1 MiB limit: what would pass it is replaced by a note. Never throws.
void AppendStepSummary(const std::string& path, const std::string& markdown);

// Writes `key=value` to the step output file ($GITHUB_OUTPUT) when `path` is set, using the
// delimiter form for multi-line values. Never throws.
void SetStepOutput(const std::string& path, const std::string& key, const std::string& value);

} // namespace pgsplit
