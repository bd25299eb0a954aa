#pragma once

// GitHub Actions step summary and step outputs. Annotations (and escaping) are in
// core/github_annotations.h, because the Logger emits them.

#include "config/config.h"
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

// Every secret the configuration holds, in each spelling it could be printed in, for ::add-mask:: before
// anything runs: the password of POSTGRES_DSN/--dsn and of PGSPLIT_ADMIN_DSN (decoded, as written in the
// URI, and fully percent-encoded), PGSPLIT_*_PASSWORD (provision), AZURE_STORAGE_SAS_TOKEN /
// storage.sas_token, AZURE_STORAGE_KEY / storage.account_key, IDENTITY_HEADER, and the query of a SAS URL
// given as a table location. Provision passwords come first, in the order provision registers them.
std::vector<std::string> ConfigSecrets(const Config& config);

// The password of a DSN (URI or key=value) in the spellings listed above; empty when it has none.
std::vector<std::string> DsnPasswordForms(const std::string& dsn);

} // namespace pgsplit
