#pragma once

// Rendering of `pgsplit provision` results: a text report for people, one JSON document for automation.
// DSNs are redacted unless the operator asked for the secrets.

#include "provision/steps.h"

#include <string>
#include <vector>

namespace pgsplit::provision {

std::string RenderText(const Outcome& out, bool emit_secrets, bool color);
std::string RenderJson(const Outcome& out, bool emit_secrets, const std::vector<std::string>& generated);

std::string RenderPlanText(const std::vector<PlannedCommand>& plan);
std::string RenderPlanJson(const std::vector<PlannedCommand>& plan);

// The GitHub Actions workflow commands that register each secret with the runner's log masker.
std::string AddMaskCommands(const SecretMask& mask);

} // namespace pgsplit::provision
