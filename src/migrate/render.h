#pragma once

// The ways `pgsplit migrate` results are shown, one function per form: text (tables and sentences),
// one JSON document per call, and the Markdown of the GitHub step summary.

#include "migrate/migrator.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::migrate {

// status: one row per entry (version, description, state, applied at, duration), states coloured.
std::string RenderStatusText(const std::vector<Entry>& entries, bool color, size_t max_width = 0);
nlohmann::ordered_json RenderStatusJson(const std::vector<Entry>& entries);

// apply / plan: what ran (or would run) and what --target left pending.
std::string RenderApplyText(const ApplyResult& result);
nlohmann::ordered_json RenderApplyJson(const ApplyResult& result, const std::optional<std::string>& before,
                                       const std::optional<std::string>& after);
std::string RenderApplyMarkdown(const ApplyResult& result);

// validate: the problems, or what was looked at ("valid" on an empty database is not "all applied").
struct ValidateSummary {
    size_t files = 0, applied = 0, pending = 0;
    bool pending_checked = true;
};
ValidateSummary SummariseValidate(const std::vector<Entry>& status, size_t files, bool ignore_pending);
std::string RenderValidateText(const std::vector<Problem>& problems, const ValidateSummary& s);
nlohmann::ordered_json RenderValidateJson(const std::vector<Problem>& problems, const ValidateSummary& s);

std::string RenderBaselineText(const std::vector<Entry>& recorded, const std::string& version);
nlohmann::ordered_json RenderBaselineJson(const std::vector<Entry>& recorded);

// repair: each change, done (`applied`) or only shown.
std::string RenderRepairText(const std::vector<Entry>& changed, bool applied);
nlohmann::ordered_json RenderRepairJson(const std::vector<Entry>& changed, bool applied);

} // namespace pgsplit::migrate
