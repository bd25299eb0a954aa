#pragma once

// The ways a `pgsplit sync NAME` run is shown: one row per partition value that started (rows,
// skipped rows, strategy, duration, result) as a text table or one JSON document.

#include "sync/runner.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgsplit::sync {

std::string RenderPartitionsText(const std::vector<PartitionOutcome>& outcomes, bool color,
                                 size_t max_width = 0);

// {"ok", "table", "partitions": [...]} with each value's rows, Delta version and strategy, or its error.
nlohmann::ordered_json RenderPartitionsJson(const std::string& table,
                                            const std::vector<PartitionOutcome>& outcomes);

} // namespace pgsplit::sync
