#include "pg/transaction.h"

#include "core/interrupt.h"

#include <algorithm>
#include <random>
#include <thread>

namespace pgsplit::pg {

void RollbackQuietly(Connection& conn) noexcept {
    if (!conn.Ok() || PQtransactionStatus(conn.Raw()) == PQTRANS_IDLE) {
        return;
    }
    // Raw libpq on purpose: this runs while an error (or an interrupt) is on its way out, and must
    // neither throw nor be refused because SIGTERM arrived.
    PQclear(PQexec(conn.Raw(), "ROLLBACK"));
}

Transaction::Transaction(Connection& conn, Mode mode) : conn_(conn), mode_(mode) {
    if (mode_ == Mode::DespiteInterrupt) {
        conn_.ExecDespiteInterrupt("BEGIN");
    } else {
        conn_.Exec("BEGIN");
    }
}

Transaction::~Transaction() {
    if (!done_) {
        RollbackQuietly(conn_);
    }
}

void Transaction::Commit() {
    if (mode_ == Mode::DespiteInterrupt) {
        conn_.ExecDespiteInterrupt("COMMIT");
    } else {
        conn_.Exec("COMMIT");
    }
    done_ = true;
}

Savepoint::Savepoint(Connection& conn, const char* name) : conn_(conn), name_(name) {
    conn_.Exec("SAVEPOINT " + name_);
}

Savepoint::~Savepoint() {
    if (done_ || !conn_.Ok()) {
        return;
    }
    // In an aborted transaction only ROLLBACK TO works; it is what undoes the failed step.
    PQclear(PQexec(conn_.Raw(), ("ROLLBACK TO SAVEPOINT " + name_).c_str()));
    PQclear(PQexec(conn_.Raw(), ("RELEASE SAVEPOINT " + name_).c_str()));
}

void Savepoint::Release() {
    conn_.Exec("RELEASE SAVEPOINT " + name_);
    done_ = true;
}

void Savepoint::Rollback() {
    conn_.Exec("ROLLBACK TO SAVEPOINT " + name_);
    conn_.Exec("RELEASE SAVEPOINT " + name_);
    done_ = true;
}

void RetryOnLockTimeout(const Connection& conn, const LockRetryPolicy& policy,
                        const std::function<void(int attempt)>& attempt,
                        const std::function<void(int attempt, std::chrono::milliseconds wait)>& before_retry,
                        const std::function<void(int attempts, const SqlError& error)>& exhausted) {
    std::mt19937 rng(std::random_device{}());
    for (int n = 0;; ++n) {
        try {
            attempt(n);
            return;
        } catch (const SqlError& e) {
            if (e.sqlstate() != kLockNotAvailable || !conn.Ok()) {
                throw;
            }
            if (n >= policy.retries) {
                exhausted(n + 1, e);
                throw; // exhausted() must throw; if it does not, the lock timeout stands
            }
            auto wait = policy.backoff * (1 << std::min(n, 6));
            if (policy.jitter && wait.count() >= 4) {
                wait += std::chrono::milliseconds(
                    std::uniform_int_distribution<int64_t>(0, wait.count() / 4)(rng));
            }
            before_retry(n, wait);
            std::this_thread::sleep_for(wait);
            CheckInterrupt();
        }
    }
}

} // namespace pgsplit::pg
