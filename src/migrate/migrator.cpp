#include "migrate/migrator.h"

#include "core/error.h"
#include "migrate/history.h"
#include "migrate/session.h"
#include "pg/connection.h"
#include "pg/transaction.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <map>

namespace pgsplit::migrate {
namespace {

using Clock = std::chrono::steady_clock;

} // namespace

Migrator::Migrator(const Logger& log, Options options) : log_(log), opt_(std::move(options)) {
    files_ = opt_.dir ? LoadDirectory(*opt_.dir) : LoadEmbedded();
    if (opt_.target) {
        auto n = VersionNumber(*opt_.target);
        bool known = n && std::any_of(files_.begin(), files_.end(),
                                      [&](const MigrationFile& f) { return std::stoll(f.version) == *n; });
        if (!known) {
            std::string first = files_.empty() ? "none" : files_.front().version;
            std::string last = files_.empty() ? "none" : files_.back().version;
            throw Error(
                ExitCode::Usage, fmt::format("--target '{}' is not a known migration version", *opt_.target),
                fmt::format("use one of the versions {}..{} (see 'pgsplit migrate status')", first, last));
        }
    }
}

std::optional<long long> Migrator::Target() const {
    return opt_.target ? VersionNumber(*opt_.target) : std::nullopt;
}

std::vector<Entry> Migrator::Status() {
    return Session(opt_, log_, files_, Session::Mode::ReadOnly, Target()).Entries();
}

ApplyResult Migrator::Apply(bool dry_run) {
    ApplyResult result;
    result.dry_run = dry_run;
    Session session(opt_, log_, files_, dry_run ? Session::Mode::ReadOnly : Session::Mode::Write, Target());
    const auto& entries = session.Entries();
    CheckRunnable(entries, opt_.out_of_order, opt_.dir, log_);

    std::map<std::string, const MigrationFile*> by_version;
    for (const auto& f : files_) {
        by_version[f.version] = &f;
    }
    std::vector<const MigrationFile*> todo;
    for (const auto& e : entries) {
        if (e.state == State::Pending || (e.state == State::OutOfOrder && opt_.out_of_order)) {
            todo.push_back(by_version[e.version]);
            result.pending.push_back(e);
        }
    }
    for (const auto* f : todo) {
        if (auto problem = Lint(*f)) {
            throw Error(
                ExitCode::Verify,
                fmt::format("refusing {}: {}", f->origin == "embedded" ? f->name : f->origin, *problem),
                "fix the file; nothing was applied");
        }
    }
    if (dry_run) {
        return result;
    }
    result.pending.clear();
    for (const auto* f : todo) {
        result.applied.push_back(ApplyFile(session.Conn(), *f));
    }
    for (const auto& e : entries) {
        if (e.state == State::AboveTarget) {
            result.pending.push_back(e);
        }
    }
    return result;
}

// One file in its own transaction with its history row (or, for a no-transaction file, the one
// statement and then the row), retried when a table lock is not granted within lock_timeout.
Entry Migrator::ApplyFile(pg::Connection& c, const MigrationFile& f) {
    const pg::LockRetryPolicy retry{opt_.lock_timeout_retries, opt_.retry_backoff, /*jitter=*/true};
    // Folds the file's lines in GitHub Actions and records it as in flight until its COMMIT, so an
    // interrupt report can say which file was rolled back and which were already committed.
    LogPhase phase(log_, f.name, "migrate " + f.name);
    if (f.no_transaction) {
        phase.SetCaveat(f.name +
                        " runs outside a transaction: a cancelled CREATE INDEX CONCURRENTLY leaves an "
                        "INVALID index behind; drop it before running migrate again");
    }
    int64_t ms = 0;
    auto apply_once = [&](int) {
        if (f.no_transaction) {
            c.Exec("SET lock_timeout = " + pg::QuoteLiteral(c, opt_.lock_timeout));
            c.Exec("SET statement_timeout = " + pg::QuoteLiteral(c, opt_.statement_timeout));
            auto t0 = Clock::now();
            c.ExecScript(f.sql);
            ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
            c.Exec("RESET lock_timeout");
            c.Exec("RESET statement_timeout");
            RecordApplied(c, f, ms);
            return;
        }
        pg::Transaction tx(c);
        c.Exec("SET LOCAL lock_timeout = " + pg::QuoteLiteral(c, opt_.lock_timeout));
        c.Exec("SET LOCAL statement_timeout = " + pg::QuoteLiteral(c, opt_.statement_timeout));
        auto t0 = Clock::now();
        c.ExecScript(f.sql);
        ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
        RecordApplied(c, f, ms);
        tx.Commit();
    };
    try {
        pg::RetryOnLockTimeout(
            c, retry, apply_once,
            [&](int attempt, std::chrono::milliseconds wait) {
                log_.Warn(fmt::format("{} waited longer than lock_timeout {} for a table lock; retrying in "
                                      "{} ms",
                                      f.name, opt_.lock_timeout, wait.count()),
                          {{"version", f.version}, {"attempt", attempt + 1}});
            },
            [&](int attempts, const pg::SqlError&) {
                throw Error(ExitCode::Lock,
                            fmt::format("{} could not take a table lock within lock_timeout {} after {} "
                                        "attempts; rolled back, nothing recorded",
                                        f.name, opt_.lock_timeout, attempts),
                            "a long transaction holds a lock on a table this migration changes; find it "
                            "in pg_stat_activity, or retry later");
            });
    } catch (const pg::SqlError& e) {
        int line = e.position() > 0 ? pg::LineOfPosition(f.sql, e.position()) : 0;
        std::string where = line > 0 ? fmt::format(" at line {}", line) : "";
        std::string state = e.sqlstate().empty() ? "" : fmt::format(" (SQLSTATE {})", e.sqlstate());
        std::string hint =
            e.code() == ExitCode::Connect
                ? "the connection was lost; the server rolled the file back. Run migrate again"
                : (f.no_transaction ? "fix the file and run migrate again; a failed CREATE INDEX "
                                      "CONCURRENTLY may leave an INVALID index to drop first"
                                    : "fix the file and run migrate again");
        throw Error(e.code(),
                    fmt::format("migration {} failed{}: {}{}; rolled back, nothing recorded", f.name, where,
                                e.server_message().empty() ? e.what() : e.server_message(), state),
                    hint);
    }
    Entry done;
    done.version = f.version;
    done.description = f.description;
    done.name = f.name;
    done.state = State::Applied;
    done.execution_ms = ms;
    done.file_checksum = f.checksum;
    done.stored_checksum = f.checksum;
    log_.Info(fmt::format("applied {} ({} ms)", f.name, ms), {{"version", f.version}, {"duration_ms", ms}});
    return done;
}

std::vector<Problem> Migrator::Validate() {
    std::vector<Problem> problems;
    for (const auto& f : files_) {
        if (auto p = Lint(f)) {
            problems.push_back({"lint", f.version, *p});
        }
    }
    for (const auto& e : Status()) {
        switch (e.state) {
        case State::ChecksumMismatch:
            problems.push_back({"checksum_mismatch", e.version,
                                fmt::format("{}: checksum mismatch: stored {}, file {}", e.name,
                                            e.stored_checksum.value_or(""), e.file_checksum.value_or(""))});
            break;
        case State::MissingFile:
            problems.push_back(
                {"missing_file", e.version,
                 fmt::format("version {}: recorded as applied but no migration file", e.version)});
            break;
        case State::OutOfOrder:
            problems.push_back(
                {"out_of_order", e.version,
                 fmt::format("{}: pending and older than the newest applied version", e.name)});
            break;
        case State::Pending:
            if (!opt_.ignore_pending) {
                problems.push_back({"pending", e.version, fmt::format("{}: not applied yet", e.name)});
            }
            break;
        default:
            break;
        }
    }
    return problems;
}

std::vector<Entry> Migrator::Baseline(const std::string& version) {
    auto n = VersionNumber(version);
    if (!n) {
        throw Error(ExitCode::Usage, fmt::format("baseline version '{}' is not a number", version),
                    "pass --version 0002 to record 0001..0002 as applied");
    }
    Session session(opt_, log_, files_, Session::Mode::Write, std::nullopt);
    pg::Connection& c = session.Conn();
    std::vector<Entry> recorded;
    pg::Transaction tx(c);
    for (Entry e : session.Entries()) {
        auto en = VersionNumber(e.version);
        if ((e.state != State::Pending && e.state != State::OutOfOrder) || !en || *en > *n) {
            continue;
        }
        RecordBaseline(c, e.version, e.description, e.file_checksum);
        e.state = State::Baseline;
        recorded.push_back(std::move(e));
    }
    tx.Commit();
    return recorded;
}

std::vector<Entry> Migrator::Repair(bool apply) {
    Session session(opt_, log_, files_, apply ? Session::Mode::Write : Session::Mode::ReadOnly, std::nullopt);
    std::vector<Entry> changed;
    for (const auto& e : session.Entries()) {
        if (e.state == State::ChecksumMismatch ||
            ((e.state == State::Applied || e.state == State::Baseline) && !e.stored_checksum)) {
            changed.push_back(e);
        }
    }
    if (!apply || changed.empty()) {
        return changed;
    }
    pg::Transaction tx(session.Conn());
    for (const auto& e : changed) {
        RecordRepair(session.Conn(), e.version, e.description, e.file_checksum);
        log_.Info(fmt::format("repaired {}: checksum {} -> {}", e.name, e.stored_checksum.value_or("(none)"),
                              e.file_checksum.value_or("")),
                  {{"version", e.version}});
    }
    tx.Commit();
    return changed;
}

} // namespace pgsplit::migrate
