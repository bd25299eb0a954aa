#include "migrate/lock.h"

#include "core/error.h"
#include "core/interrupt.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <thread>

namespace pgsplit::migrate {

std::string LockHolder::Describe() const {
    if (pid == 0) {
        return "an unknown session";
    }
    return fmt::format("pid {} (application_name '{}', client {}, connected since {}, state since {})", pid,
                       application_name, client_addr.empty() ? "local" : client_addr, backend_start,
                       state_change);
}

int64_t MigrationLockKey(const std::string& database) {
    std::string text = "pgsplit:migrate:" + database + ":public.schema_migrations";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
    uint64_t key = 0;
    for (int i = 0; i < 8; ++i) {
        key = (key << 8) | digest[i];
    }
    return static_cast<int64_t>(key);
}

AdvisoryLock::AdvisoryLock(const std::string& dsn, const std::string& application_name)
    : conn_(pg::Connection::Open(dsn, application_name)) {
    database_ = conn_.QueryValue("SELECT current_database()").value_or("");
    key_ = MigrationLockKey(database_);
}

LockHolder AdvisoryLock::FindHolder() {
    auto key = static_cast<uint64_t>(key_);
    pg::Result r = conn_.Exec(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'), "
        "to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "coalesce(to_char(a.state_change AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid "
        "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = "
        "current_database()) "
        "LIMIT 1",
        {std::to_string(key >> 32), std::to_string(key & 0xffffffffu)});
    LockHolder h;
    if (r.Rows() == 1) {
        h.pid = static_cast<int>(r.GetInt(0, 0));
        h.application_name = r.Get(0, 1);
        h.client_addr = r.Get(0, 2);
        h.backend_start = r.Get(0, 3);
        h.state_change = r.Get(0, 4);
    }
    return h;
}

void AdvisoryLock::Acquire(std::chrono::milliseconds wait, const Logger& log) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + wait;
    int last_pid = -1;
    LockHolder holder;
    while (true) {
        if (conn_.QueryValue("SELECT pg_try_advisory_lock($1::bigint)", {std::to_string(key_)}) == "t") {
            held_ = true;
            if (last_pid != -1) {
                double waited =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                log.Info(fmt::format("migration lock acquired after waiting {:.1f} s", waited),
                         {{"database", database_}, {"lock_key", key_}});
            }
            return;
        }
        holder = FindHolder();
        if (holder.pid != last_pid) {
            log.Info(
                fmt::format("waiting for the migration lock on database '{}': held by {}", database_,
                            holder.Describe()),
                {{"lock_key", key_}, {"holder_pid", holder.pid}, {"lock_wait_s", wait.count() / 1000.0}});
            last_pid = holder.pid;
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            throw Error(
                ExitCode::Lock,
                fmt::format("migration lock on database '{}' not acquired within {:.0f} s: held by {}",
                            database_, wait.count() / 1000.0, holder.Describe()),
                holder.pid ? fmt::format("another migrate is running or a session holds advisory lock {}; "
                                         "wait, raise --lock-wait, or end it with SELECT "
                                         "pg_terminate_backend({})",
                                         key_, holder.pid)
                           : "raise --lock-wait");
        }
        CheckInterrupt();
        auto step =
            std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(250), deadline - now);
        std::this_thread::sleep_for(step);
    }
}

AdvisoryLock::~AdvisoryLock() {
    if (held_ && conn_.Ok()) {
        try {
            conn_.Exec("SELECT pg_advisory_unlock(" + std::to_string(key_) + ")");
        } catch (...) {
            // Closing the connection releases the lock anyway.
        }
    }
}

} // namespace pgsplit::migrate
