#pragma once

// Runs several partition values (months) through SyncPartition: in order, or N at a time on separate
// connections, each value its own transaction. A failure is recorded (through the hook) in its own
// transaction and does not stop the other values. On a TTY, a progress line shows values done, rows
// and rows/s.

#include "core/error.h"
#include "sync/partition_sync.h"

#include <optional>
#include <string>
#include <vector>

namespace pgsplit::sync {

struct PartitionOutcome {
    std::string value;
    std::optional<PartitionResult> result;
    std::optional<Error> error;
    std::string record_error; // why the failure could not be recorded, if it could not
};

struct RunnerHooks {
    BeforeCommit before_commit; // e.g. the signals ledger upsert
    // Records a failure in its own transaction; returns an error text when it could not.
    std::function<std::string(pg::Connection&, const std::string& value, const std::string& error)>
        record_failure;
    std::string application_name = "pgsplit sync";
};

std::vector<PartitionOutcome> RunPartitions(const Config& config, const Logger& log, const std::string& dsn,
                                            const std::vector<TableJob>& jobs,
                                            const std::vector<std::string>& values, SyncOptions options,
                                            int parallel, const RunnerHooks& hooks);

} // namespace pgsplit::sync
