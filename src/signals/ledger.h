#pragma once

// ranking.signal_sync_state: the per-month ledger of the phase-2 signals sync (migration 0003), as
// the sync writes it and verify reads it, and the month counts of the two signal tables.

#include "pg/connection.h"
#include "signals/tables.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::sync {
struct PartitionResult;
}

namespace pgsplit::signals {

// Upserts the success row inside the sync's transaction: status, both counts, both Delta versions,
// duration, skipped rows, strategy, tool version.
void RecordSignalSuccess(pg::Connection& conn, const sync::PartitionResult& result);

// With --claim: why `month` needs no sync (its ledger row records a success at exactly these Delta
// versions), or nullopt.
std::optional<std::string> SyncedAtVersions(pg::Connection& conn, const std::string& month,
                                            int64_t signals_version, int64_t composite_version);

// Whether the ledger has the digest columns of migration 0005.
bool HasDigestColumns(pg::Connection& conn);

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

// The reads below turn a missing ledger or ranking schema into Error(Config) ("run pgsplit migrate
// first"). `months`, when given, restricts them to those months; any text is safe in it.

// A month's ledger row; NULL columns are nullopt, and `error` is without kLastSuccessNote.
struct LedgerRow {
    std::optional<std::string> status;
    std::optional<std::string> synced_at; // RFC 3339 UTC
    std::optional<std::string> error;
    std::optional<std::string> last_error_at; // RFC 3339 UTC, failed rows only
    std::optional<int64_t> signals_rows, composite_rows, signals_version, composite_version;
    // The content digests of what the sync wrote (migration 0005; sync/row_digest.h's text form).
    std::optional<std::string> signals_digest, composite_digest;
};
std::map<std::string, LedgerRow> ReadLedger(pg::Connection& conn,
                                            const std::optional<std::vector<std::string>>& months);

// Rows per month of one signal table (kSignalsTarget or kCompositeTarget).
std::map<std::string, int64_t> CountMonthRows(pg::Connection& conn, const char* target,
                                              const std::optional<std::vector<std::string>>& months);

// The newest successful sync of a month that has rows, and its age by the server's clock; both
// nullopt when there is none. An empty month recorded on purpose (--allow-empty) says nothing about
// the pipeline. A failed attempt after a success keeps that success's synced_at and counts
// (RecordSignalFailure never touches them), so that month's data still dates from its success.
struct NewestSuccess {
    std::optional<std::string> synced_at; // RFC 3339 UTC
    std::optional<int64_t> age_seconds;
};
NewestSuccess ReadNewestSuccess(pg::Connection& conn);

} // namespace pgsplit::signals
