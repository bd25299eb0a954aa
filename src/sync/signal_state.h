#pragma once

// ranking.signal_sync_state: the per-month ledger of the phase-2 signals sync (migration 0003).

#include "pg/connection.h"
#include "sync/partition_sync.h"

#include <string>

namespace pgsplit::sync {

inline constexpr const char* kSignalsLabel = "ranking_signal";
inline constexpr const char* kCompositeLabel = "composite_signal_daily";

// Upserts the success row inside the sync's transaction: status, both counts, both Delta versions,
// duration, skipped rows, strategy, tool version.
void RecordSignalSuccess(pg::Connection& conn, const PartitionResult& result);

// Records a failure in its own transaction without erasing the last success's figures (counts,
// versions, synced_at stay as they were). Never throws: a failure to record is logged by the caller
// through the returned message (empty on success).
std::string RecordSignalFailure(pg::Connection& conn, const std::string& month, const std::string& error);

} // namespace pgsplit::sync
