#pragma once

// verify --replica-dsn: one read replica against the primary. Its counts (and digests with
// --content) are compared with the primary's own figures, not with Delta's, so a replica that lags
// is reported as lagging, not as holding wrong data; --max-replica-lag decides when lag fails.

#include "pg/connection.h"
#include "sync/target.h"
#include "verify/verify.h"

#include <string>

namespace pgsplit::verify {

// Connects to `dsn` (Error(Connect) when it cannot) and checks the months of `report`, whose
// Postgres figures are the primary's. The targets are nullptr without --content.
ReplicaReport CheckReplica(const std::string& dsn, pg::Connection& primary, const Report& report,
                           const Options& options, const sync::Target* signals_target,
                           const sync::Target* composite_target);

} // namespace pgsplit::verify
