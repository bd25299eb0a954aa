#pragma once

// The ways a sync-signals run is shown: one row per month that started (both tables' rows, skipped
// rows, strategy, duration, result) as a text table, one JSON document and the Markdown table of the
// GitHub step summary. All three are built from the same rows (SyncRows), so they cannot disagree.

#include "sync/runner.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgsplit::signals {

struct SyncRow {
    std::string month;
    bool ok = false;
    int64_t signals_rows = 0, composite_rows = 0, skipped = 0;
    int64_t signals_version = -1, composite_version = -1;
    std::string strategy;
    double seconds = 0;
    std::string skipped_reason; // --claim: ok, but synced by another process (why it was skipped)
    std::string error;          // when !ok
    int exit_code = 0;          // when !ok
};

std::vector<SyncRow> SyncRows(const std::vector<sync::PartitionOutcome>& outcomes);

std::string RenderSyncText(const std::vector<SyncRow>& rows, bool color, size_t max_width = 0);

// {"ok", "months": [...]} with each month's counts and versions, or its error and exit code.
nlohmann::ordered_json RenderSyncJson(const std::vector<SyncRow>& rows);

std::string RenderSyncMarkdown(const std::vector<SyncRow>& rows);

} // namespace pgsplit::signals
