#pragma once

// Replaces one partition (a month) of one or more target tables from Delta, in ONE transaction.
//
// Sources are opened and checked before the transaction starts (a missing NOT NULL column or an
// unsupported Delta feature fails with nothing touched). Then, per table: a stage table built from
// the catalog with the partition's CHECK, binary COPY (FREEZE) streamed from the Delta scan, the
// parent's keys and indexes built on it, ANALYZE; then, behind a SAVEPOINT with a short lock_timeout
// and retries, DETACH the old partition, ATTACH the stage, DROP the old one and rename the stage.
// Readers see the old rows until COMMIT and wait only for the swap statements. Targets that are not
// LIST-partitioned by the partition column use DELETE + binary COPY in the same one transaction.

#include "config/settings.h"
#include "core/error.h"
#include "core/log.h"
#include "delta/table.h"
#include "pg/connection.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::sync {

enum class Strategy { Auto, Swap, Delete };
const char* StrategyName(Strategy s);

// One source table -> one target table.
struct TableJob {
    std::string label;            // short name for logs ("ranking_signal")
    std::string source_uri;       // Delta table: path, file://, abfss://, https://
    std::string target;           // "ranking.ranking_signal"
    std::string partition_column; // "year_month"
};

struct SyncOptions {
    Strategy strategy = Strategy::Auto;
    bool skip_invalid = false;
    bool verify_counts = false;
    bool truncate_timestamps = false;
    // Replace a populated value with zero rows when Delta has none, and sync a value that is empty on
    // both sides (else exit 7, nothing changed, nothing recorded).
    bool allow_empty = false;
    // The flag that names the values, for hints ("--month", "--partition").
    std::string value_flag = "--month";
    std::optional<int64_t> delta_version;
    std::chrono::milliseconds swap_lock_timeout{2000};
    int swap_retries = 5;
    std::chrono::milliseconds swap_backoff{250};
    size_t batch_rows = 8192;
    size_t flush_bytes = 1 << 20;
    int io_concurrency = 8; // requests in flight per remote table (StorageSettings::io_concurrency)
    // Called from the COPY loop after each flush with the rows sent so far for one table (progress).
    std::function<void(const std::string& label, int64_t rows)> on_progress;
};

struct TableResult {
    std::string label;
    std::string target;
    int64_t rows = 0;    // rows stored
    int64_t skipped = 0; // invalid rows dropped (--skip-invalid)
    int64_t files = 0;   // Delta files read
    int64_t delta_version = -1;
    Strategy strategy = Strategy::Auto; // the one that ran
    int swap_attempts = 0;
    std::string digest; // ContentDigest::Text() of the rows written (sync/row_digest.h)
    double seconds = 0;
};

struct PartitionResult {
    std::string value;
    std::vector<TableResult> tables;
    double seconds = 0;
    const TableResult* Find(const std::string& label) const;
};

// A value neither Delta nor PostgreSQL has rows for (a mistyped --month, most likely), refused without
// --allow-empty. Nothing was written, and the runner records nothing for it either: a ledger row
// would make a month that does not exist look synced (or failed).
class EmptyPartitionError : public Error {
public:
    using Error::Error;
};

// Called inside the transaction just before COMMIT (sync-signals upserts its ledger here).
using BeforeCommit = std::function<void(pg::Connection&, const PartitionResult&)>;

// A job's Delta side, opened once for a run of many values: its storage, table and one snapshot
// (the latest, or the version asked for). Every value of the run reads that snapshot, so a backfill
// reads one version of each table from its first month to its last. Scans only read it: one Source
// serves one worker at a time.
class Source {
public:
    // Throws Error(Source) for an unreadable or unsupported table (named), Error(Usage) for a URI
    // scheme no back-end serves.
    Source(const TableJob& job, const StorageSettings& settings, std::optional<int64_t> version);
    ~Source();
    Source(Source&&) noexcept;
    Source& operator=(Source&&) noexcept;

    const TableJob& Job() const { return *job_; }
    const delta::Snapshot& GetSnapshot() const { return snapshot_; }
    storage::Storage& GetStorage();

private:
    const TableJob* job_;
    std::unique_ptr<delta::Table> table_;
    delta::Snapshot snapshot_;
};

// Runs one partition value through every source's job on `conn` (which must be idle, outside a
// transaction). Throws pgsplit::Error on any failure after rolling back; the connection is then idle
// again if it is still usable.
PartitionResult SyncPartition(const Logger& log, pg::Connection& conn, std::vector<Source>& sources,
                              const std::string& value, const SyncOptions& options,
                              const BeforeCommit& before_commit);

struct Target;
class RowObserver;

// What EncodePartition read.
struct EncodedPartition {
    int64_t rows = 0;    // rows shown to the observer
    int64_t invalid = 0; // rows the target cannot hold, skipped
    int64_t files = 0;
};

// The rows of `value` in `source` exactly as SyncPartition writes them into `target` (same column
// mapping, conversions and row filter), each shown to `observer` as its COPY fields. Rows the target
// cannot hold are skipped and counted, as a sync with --skip-invalid drops them. Reads Delta only;
// throws the Error(Source/Config) of SyncPartition's checks (a column Delta lacks, a type mismatch).
EncodedPartition EncodePartition(const Logger& log, Source& source, const Target& target,
                                 const std::string& value, const SyncOptions& options, RowObserver& observer);

// The advisory lock every sync of `value` takes: ('pgsp' as a 32-bit integer, hashtext(SyncLockKey)),
// so concurrent syncs of one value queue and other values do not.
inline constexpr int32_t kSyncLockNamespace = 0x70677370;
std::string SyncLockKey(const std::string& value);

// With --claim for a table without a ledger (sync NAME): why `value` needs no sync, because the
// partition holding it was swapped in from the snapshot's Delta version (every swap marks its stage
// with the version it read, as the table's COMMENT), or nullopt. A value the delete strategy wrote
// has no such mark and is synced again.
std::optional<std::string> PartitionSyncedAtVersion(pg::Connection& conn, const Source& source,
                                                    const std::string& value);

// The identifier-safe form of a partition value ("2024-01" -> "2024_01").
std::string PartitionSuffix(const std::string& value);

} // namespace pgsplit::sync
