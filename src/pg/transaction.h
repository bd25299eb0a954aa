#pragma once

// Transaction primitives: every BEGIN/COMMIT/ROLLBACK and every lock-timeout retry of pgsplit goes
// through here, so "an exception between BEGIN and COMMIT leaves nothing open" is written once.

#include "pg/connection.h"

#include <chrono>
#include <functional>
#include <string>

namespace pgsplit::pg {

// Rolls back whatever transaction the session has open. Quiet: a session that is idle, broken or
// already gone is left alone (the server discards an open transaction when the session ends), and it
// never throws, so it is safe in destructors and catch blocks.
void RollbackQuietly(Connection& conn) noexcept;

// One transaction: BEGIN at construction, ROLLBACK (quietly) at destruction unless Commit() ran.
// DespiteInterrupt runs BEGIN/COMMIT even after SIGINT/SIGTERM arrived: for the short transactions
// that record what happened before the process exits (bound them with SET LOCAL statement_timeout).
class Transaction {
public:
    enum class Mode { Normal, DespiteInterrupt };
    explicit Transaction(Connection& conn, Mode mode = Mode::Normal);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void Commit();

private:
    Connection& conn_;
    Mode mode_;
    bool done_ = false;
};

// A savepoint inside a transaction: Release() keeps what ran since it, Rollback() undoes it (both
// end the savepoint). Leaving scope without either rolls back to it, quietly, so the enclosing
// transaction can go on after a handled error. `name` is a constant of pgsplit's, never input.
class Savepoint {
public:
    Savepoint(Connection& conn, const char* name);
    ~Savepoint();
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;

    void Release();
    void Rollback();

private:
    Connection& conn_;
    std::string name_;
    bool done_ = false;
};

// How often and how patiently a step that hit lock_timeout (SQLSTATE 55P03) is run again.
struct LockRetryPolicy {
    int retries = 0;                        // attempts after the first
    std::chrono::milliseconds backoff{200}; // the first wait; doubled per attempt (at most 64x)
    bool jitter = false;                    // add up to a quarter of the wait at random
};

// Runs attempt(n) for n = 0, 1, ... until it returns, rethrowing at once every error that is not a
// lock timeout on a live connection. After a lock timeout with retries left, before_retry(n, wait)
// is told (to log it), the wait passes and interrupts are checked; with none left,
// exhausted(attempts, error) is called and must throw. `attempt` leaves the session as it found it
// (its Transaction or Savepoint unwinds), so the next attempt starts clean.
void RetryOnLockTimeout(const Connection& conn, const LockRetryPolicy& policy,
                        const std::function<void(int attempt)>& attempt,
                        const std::function<void(int attempt, std::chrono::milliseconds wait)>& before_retry,
                        const std::function<void(int attempts, const SqlError& error)>& exhausted);

} // namespace pgsplit::pg
