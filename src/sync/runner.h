#pragma once

// The one owner of a sync run: values (months) through SyncPartition, each its own transaction, in
// order on one connection or N at a time on N connections (--jobs). Each worker opens its sources
// (table + snapshot) once, before its first value; every worker reads the snapshot version the first
// open found. A failure is recorded (through the hook) in its own transaction and does not stop the
// other values. Values run in order are phases of the log (core/log.h LogPhase: one ::group:: per
// month in GitHub Actions); values run in parallel interleave their lines, so they are recorded as
// phases once they end. Either way the interrupt report can name the values rolled back and those
// already committed. On a TTY one progress line shows values done, rows and rows/s.
//
// Claims (--claim): any number of processes started with the same values share them. A worker takes
// a value only once its connection holds the value's session advisory lock (pg_try_advisory_lock, the
// key the sync's own transaction lock uses), then asks the already_synced hook whether the value is
// synced at the snapshot's Delta versions (skipped if so). A value another session holds is put aside
// and, once every other value is done, waited for (pg_advisory_lock) and checked again: either its
// holder finished it (skipped) or the holder died, its session and lock went with it, and this worker
// syncs it. So a run ends only when every value is done, by this process or another.

#include "config/config.h"
#include "core/error.h"
#include "sync/partition_sync.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::sync {

struct PartitionOutcome {
    std::string value;
    std::optional<PartitionResult> result;
    std::optional<Error> error;
    std::string skipped;      // with --claim: why this process did not sync it (neither result nor error)
    std::string record_error; // why the failure could not be recorded, if it could not
};

struct RunnerHooks {
    BeforeCommit before_commit; // e.g. the signals ledger upsert
    // Records a failure in its own transaction; returns an error text when it could not.
    std::function<std::string(pg::Connection&, const std::string& value, const std::string& error)>
        record_failure;
    // With --claim, under the value's lock: why `value` needs no sync at the sources' snapshot
    // versions (a ledger row recording them), or nullopt when it must be synced.
    std::function<std::optional<std::string>(pg::Connection&, const std::string& value,
                                             const std::vector<Source>& sources)>
        already_synced;
};

struct RunPlan {
    std::string dsn;
    std::vector<TableJob> jobs;
    std::vector<std::string> values;
    SyncOptions options;
    int parallel = 1;
    std::string title = "sync"; // prefixes each phase's title ("sync-signals" -> "sync-signals 2024-03")
    std::string application_name = "pgsplit sync";
    bool claim = false; // share the values with other processes (see the top of this file)
};

// The outcomes of the values that started, in the order of plan.values. After SIGINT/SIGTERM the
// values not yet started are left out (InterruptSignal() says why).
std::vector<PartitionOutcome> RunPartitions(const Config& config, const Logger& log, const RunPlan& plan,
                                            const RunnerHooks& hooks);

} // namespace pgsplit::sync
