#include "migrate/session.h"

#include "migrate/history.h"
#include "migrate/migrator.h"

namespace pgsplit::migrate {
namespace {

std::unique_ptr<AdvisoryLock> LockFor(const Options& options, const Logger& log, Session::Mode mode) {
    if (mode == Session::Mode::ReadOnly) {
        return nullptr;
    }
    auto lock = std::make_unique<AdvisoryLock>(options.dsn, options.application_name + " (lock)");
    lock->Acquire(options.lock_wait, log);
    return lock;
}

} // namespace

Session::Session(const Options& options, const Logger& log, const std::vector<MigrationFile>& files,
                 Mode mode, std::optional<long long> target)
    : lock_(LockFor(options, log, mode)), conn_(pg::Connection::Open(options.dsn, options.application_name)) {
    if (mode == Mode::Write) {
        Bootstrap(conn_, files, log);
    }
    entries_ = Compute(files, ReadHistory(conn_), target);
}

} // namespace pgsplit::migrate
