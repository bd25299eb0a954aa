#pragma once

// What one Migrator call works through: the migration lock when the call writes (its own session,
// held until the Session ends), one connection for the work, the history table bootstrapped when
// the call writes, and the entries computed from it. A read-only session takes no lock and creates
// nothing.

#include "core/log.h"
#include "migrate/lock.h"
#include "migrate/plan.h"
#include "pg/connection.h"

#include <memory>
#include <optional>
#include <vector>

namespace pgsplit::migrate {

struct Options;

class Session {
public:
    enum class Mode { ReadOnly, Write };

    // Throws Error(Lock) when the lock is not obtained within options.lock_wait, Error(Connect) when
    // the server cannot be reached.
    Session(const Options& options, const Logger& log, const std::vector<MigrationFile>& files, Mode mode,
            std::optional<long long> target);

    pg::Connection& Conn() { return conn_; }
    const std::vector<Entry>& Entries() const { return entries_; }

private:
    std::unique_ptr<AdvisoryLock> lock_; // before conn_: taken first, released last
    pg::Connection conn_;
    std::vector<Entry> entries_;
};

} // namespace pgsplit::migrate
