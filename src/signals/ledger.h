#pragma once

// ranking.signal_sync_state: the per-month ledger of the phase-2 signals sync (migration 0003).

#include "pg/connection.h"
#include "signals/tables.h"

#include <string>

namespace pgsplit::sync {
struct PartitionResult;
}

namespace pgsplit::signals {

// Upserts the success row inside the sync's transaction: status, both counts, both Delta versions,
// duration, skipped rows, strategy, tool version.
void RecordSignalSuccess(pg::Connection& conn, const sync::PartitionResult& result);

// What a failure's error text carries after the error itself when the month had a successful sync
// before: "<error>; the month's data is from the successful sync at 2026-12-01T08:16:36Z (450 + 120
// rows)". The ledger has no column for it (status stays 'failed', truthfully, and synced_at and the
// counts stay the last success's), so the row says it in words; verify strips it with RecordedError().
inline constexpr const char* kLastSuccessNote = "; the month's data is from the successful sync at ";

// The recorded error of a failed attempt without the note above.
std::string RecordedError(const std::string& recorded);

// Records a failure in its own transaction without erasing the last success's figures (counts,
// versions, synced_at stay as they were); when there was a success, the error text says that the
// month's data is that success's (kLastSuccessNote). Never throws: a failure to record is logged by
// the caller through the returned message (empty on success).
std::string RecordSignalFailure(pg::Connection& conn, const std::string& month, const std::string& error);

} // namespace pgsplit::signals
