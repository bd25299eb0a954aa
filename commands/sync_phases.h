#pragma once

// How `sync-signals` and `sync` run their partitions as phases (core/log.h LogPhase): one at a time, each
// month folded into its own ::group:: in GitHub Actions; with --jobs N > 1 the months run in parallel
// (their lines interleave, so no groups) and are recorded once they end. Either way the interrupt report
// can name the months rolled back and the months already committed.

#include "commands/context.h"
#include "sync/runner.h"

#include <functional>
#include <string>
#include <vector>

namespace pgsplit {

using PartitionRun =
    std::function<std::vector<sync::PartitionOutcome>(const std::vector<std::string>& values, int parallel)>;

// `title` prefixes each group's title ("sync-signals" -> "sync-signals 2024-03").
std::vector<sync::PartitionOutcome> RunPhased(Context& ctx, const std::vector<std::string>& values,
                                              int parallel, const std::string& title,
                                              const PartitionRun& run);

} // namespace pgsplit
