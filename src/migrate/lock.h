#pragma once

#include "core/log.h"
#include "pg/connection.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace pgsplit::migrate {

// Who holds an advisory lock, from pg_locks joined with pg_stat_activity.
struct LockHolder {
    int pid = 0;
    std::string application_name;
    std::string client_addr;   // "local" for unix-socket sessions
    std::string backend_start; // connected since
    std::string state_change;  // current state since
    std::string Describe() const;
};

// The advisory-lock key for migrations of one database: the first 8 bytes (big-endian, signed) of
// SHA-256("pgsplit:migrate:" + database + ":public.schema_migrations"). Documented in the README so an
// operator can find the holder with pg_locks (classid = key >> 32, objid = key & 0xffffffff).
int64_t MigrationLockKey(const std::string& database);

// A session-level advisory lock held on its own connection for as long as this object lives.
// Acquire polls pg_try_advisory_lock, logs once (and when the holder changes) who holds it, and throws
// Error(Lock) naming the holder when `wait` runs out.
class AdvisoryLock {
public:
    AdvisoryLock(const std::string& dsn, const std::string& application_name);
    void Acquire(std::chrono::milliseconds wait, const Logger& log);
    ~AdvisoryLock();

    int64_t Key() const { return key_; }
    const std::string& Database() const { return database_; }

private:
    pg::Connection conn_;
    std::string database_;
    int64_t key_ = 0;
    bool held_ = false;
    LockHolder FindHolder();
};

} // namespace pgsplit::migrate
