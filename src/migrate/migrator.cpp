#include "migrate/migrator.h"

#include "core/error.h"
#include "migrate/embedded.h"
#include "migrate/lock.h"
#include "migrate/sql_scan.h"
#include "output/time.h"
#include "pg/connection.h"
#include "pg/transaction.h"
#include "pgsplit_version.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <map>

namespace pgsplit::migrate {
namespace {

constexpr const char* kHistoryColumns[] = {"version",      "applied_at", "description", "checksum",
                                           "execution_ms", "applied_by", "tool_version"};
constexpr const char* kBaselineMark = " (baseline)";

using Clock = std::chrono::steady_clock;

// Numeric value of a version, accepting the legacy runner's forms ("0003", "0003_ranking_signals",
// "0003_ranking_signals.sql"). nullopt when the text does not start with digits.
std::optional<long long> VersionNumber(const std::string& v) {
    size_t i = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
        ++i;
    }
    if (i == 0 || i > 18 || (i < v.size() && v[i] != '_' && v[i] != '.')) {
        return std::nullopt;
    }
    return std::stoll(v.substr(0, i));
}

struct HistoryRow {
    std::string version; // as stored
    std::optional<std::string> applied_at, description, checksum, applied_by, tool_version;
    std::optional<int64_t> execution_ms;
};

std::optional<std::string> JsonString(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return std::nullopt;
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
}

std::vector<HistoryRow> ReadHistory(pg::Connection& c) {
    std::vector<HistoryRow> rows;
    if (!c.QueryValue("SELECT to_regclass('public.schema_migrations')::text")) {
        return rows;
    }
    // to_jsonb copes with a legacy table that lacks pgsplit's columns.
    pg::Result r = c.Exec("SELECT to_jsonb(h)::text FROM public.schema_migrations h");
    for (int i = 0; i < r.Rows(); ++i) {
        auto j = nlohmann::json::parse(r.Get(i, 0));
        HistoryRow h;
        h.version = JsonString(j, "version").value_or("");
        h.applied_at = JsonString(j, "applied_at");
        h.description = JsonString(j, "description");
        h.checksum = JsonString(j, "checksum");
        h.applied_by = JsonString(j, "applied_by");
        h.tool_version = JsonString(j, "tool_version");
        if (auto ms = j.find("execution_ms"); ms != j.end() && ms->is_number_integer()) {
            h.execution_ms = ms->get<int64_t>();
        }
        rows.push_back(std::move(h));
    }
    return rows;
}

std::vector<Entry> Compute(const std::vector<MigrationFile>& files, const std::vector<HistoryRow>& history,
                           std::optional<long long> target) {
    std::map<long long, const HistoryRow*> by_number;
    std::vector<const HistoryRow*> unnumbered;
    long long max_applied = -1;
    for (const auto& h : history) {
        if (auto n = VersionNumber(h.version)) {
            by_number[*n] = &h;
            max_applied = std::max(max_applied, *n);
        } else {
            unnumbered.push_back(&h);
        }
    }
    std::vector<Entry> out;
    for (const auto& f : files) {
        long long n = std::stoll(f.version);
        Entry e;
        e.version = f.version;
        e.description = f.description;
        e.name = f.name;
        e.file_checksum = f.checksum;
        auto it = by_number.find(n);
        if (it != by_number.end()) {
            const HistoryRow& h = *it->second;
            e.applied_at = h.applied_at;
            e.execution_ms = h.execution_ms;
            e.stored_checksum = h.checksum;
            e.applied_by = h.applied_by;
            e.tool_version = h.tool_version;
            bool baseline = h.applied_by && h.applied_by->ends_with(kBaselineMark);
            if (h.checksum && *h.checksum != f.checksum) {
                e.state = State::ChecksumMismatch;
            } else {
                e.state = baseline ? State::Baseline : State::Applied;
            }
            by_number.erase(it);
        } else if (target && n > *target) {
            e.state = State::AboveTarget;
        } else if (n < max_applied) {
            e.state = State::OutOfOrder;
        } else {
            e.state = State::Pending;
        }
        out.push_back(std::move(e));
    }
    auto missing = [&](const HistoryRow& h) {
        Entry e;
        e.version = h.version;
        e.description = h.description.value_or("");
        e.state = State::MissingFile;
        e.applied_at = h.applied_at;
        e.execution_ms = h.execution_ms;
        e.stored_checksum = h.checksum;
        e.applied_by = h.applied_by;
        e.tool_version = h.tool_version;
        out.push_back(std::move(e));
    };
    for (const auto& [n, h] : by_number) {
        missing(*h);
    }
    for (const auto* h : unnumbered) {
        missing(*h);
    }
    std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
        auto na = VersionNumber(a.version), nb = VersionNumber(b.version);
        if (na && nb) {
            return *na < *nb;
        }
        return na.has_value() && !nb.has_value();
    });
    return out;
}

// A path as a shell word: as is when it is plain, else in single quotes.
std::string ShellWord(const std::string& s) {
    if (!s.empty() &&
        s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") ==
            std::string::npos) {
        return s;
    }
    std::string out = "'";
    for (char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// A reason the file cannot be run as written, or nullopt.
std::optional<std::string> Lint(const MigrationFile& f) {
    auto statements = SplitStatements(f.sql);
    if (auto t = FindTransactionControl(statements)) {
        return fmt::format(
            "{} line {}: contains {}; pgsplit runs each file in its own transaction together with "
            "its history row, so remove the file's own transaction control",
            f.name, t->line, t->what);
    }
    auto nt = FindNonTransactional(statements);
    if (f.no_transaction) {
        if (statements.size() != 1) {
            return fmt::format(
                "{}: declares '-- pgsplit:no-transaction' but holds {} statements; such a file must "
                "hold exactly one, so a failure cannot leave half of it applied",
                f.name, statements.size());
        }
        return std::nullopt;
    }
    if (nt) {
        return fmt::format(
            "{} line {}: {} cannot run inside a transaction; move it alone into its own file that "
            "starts with '-- pgsplit:no-transaction'",
            f.name, nt->line, nt->what);
    }
    return std::nullopt;
}

bool HistoryComplete(pg::Connection& c) {
    auto n = c.QueryValue("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND "
                          "table_name = 'schema_migrations' AND column_name = ANY($1::text[])",
                          {"{version,applied_at,description,checksum,execution_ms,applied_by,tool_version}"});
    return n && std::stoi(*n) == static_cast<int>(std::size(kHistoryColumns));
}

} // namespace

const char* StateName(State s) {
    switch (s) {
    case State::Applied:
        return "applied";
    case State::Pending:
        return "pending";
    case State::OutOfOrder:
        return "out-of-order";
    case State::ChecksumMismatch:
        return "checksum-mismatch";
    case State::MissingFile:
        return "missing-file";
    case State::Baseline:
        return "baseline";
    case State::AboveTarget:
        return "above-target";
    }
    return "unknown";
}

nlohmann::ordered_json EntryToJson(const Entry& e) {
    auto opt = [](const auto& v) -> nlohmann::ordered_json {
        if (v) {
            return *v;
        }
        return nullptr;
    };
    return {{"version", e.version},
            {"description", e.description},
            {"file", e.name.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.name)},
            {"state", StateName(e.state)},
            {"applied_at", e.applied_at ? nlohmann::ordered_json(JsonTime(*e.applied_at)) : nullptr},
            {"execution_ms", opt(e.execution_ms)},
            {"checksum", opt(e.stored_checksum)},
            {"file_checksum", opt(e.file_checksum)},
            {"applied_by", opt(e.applied_by)},
            {"tool_version", opt(e.tool_version)}};
}

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

std::vector<Entry> Migrator::Status() {
    pg::Connection c = pg::Connection::Open(opt_.dsn, opt_.application_name);
    std::optional<long long> target = opt_.target ? VersionNumber(*opt_.target) : std::nullopt;
    return Compute(files_, ReadHistory(c), target);
}

namespace {

// Creates or upgrades the history table (using migration 0001's own text, so there is one definition)
// and adopts rows written by the legacy runner: version names normalized, checksum filled in.
void Bootstrap(pg::Connection& c, const std::vector<MigrationFile>& files, const Logger& log) {
    if (!HistoryComplete(c)) {
        std::string sql;
        for (const auto& e : EmbeddedMigrations()) {
            if (e.name.rfind("0001_", 0) == 0) {
                sql = NormalizeSql(e.contents);
            }
        }
        pg::Transaction tx(c);
        c.ExecScript(sql);
        tx.Commit();
        log.Debug("history table public.schema_migrations created or upgraded");
    }
    auto history = ReadHistory(c);
    std::map<long long, const MigrationFile*> by_number;
    for (const auto& f : files) {
        by_number[std::stoll(f.version)] = &f;
    }
    int adopted = 0;
    {
        pg::Transaction tx(c);
        for (const auto& h : history) {
            auto n = VersionNumber(h.version);
            if (!n || h.checksum) {
                continue;
            }
            auto it = by_number.find(*n);
            if (it == by_number.end()) {
                continue;
            }
            const MigrationFile& f = *it->second;
            c.Exec(
                "UPDATE public.schema_migrations SET version = $1, description = coalesce(description, $2), "
                "checksum = $3, applied_by = coalesce(applied_by, 'legacy runner') WHERE version = $4",
                {f.version, f.description, f.checksum, h.version});
            ++adopted;
        }
        tx.Commit();
    }
    if (adopted > 0) {
        log.Info(fmt::format("adopted {} history row(s) written by the legacy migration runner", adopted));
    }
}

} // namespace

ApplyResult Migrator::Apply(bool dry_run) {
    ApplyResult result;
    result.dry_run = dry_run;
    std::optional<long long> target = opt_.target ? VersionNumber(*opt_.target) : std::nullopt;

    std::unique_ptr<AdvisoryLock> lock;
    if (!dry_run) {
        lock = std::make_unique<AdvisoryLock>(opt_.dsn, opt_.application_name + " (lock)");
        lock->Acquire(opt_.lock_wait, log_);
    }
    pg::Connection c = pg::Connection::Open(opt_.dsn, opt_.application_name);
    if (!dry_run) {
        Bootstrap(c, files_, log_);
    }
    auto entries = Compute(files_, ReadHistory(c), target);

    std::vector<std::string> mismatches;
    std::vector<std::string> out_of_order;
    for (const auto& e : entries) {
        if (e.state == State::ChecksumMismatch) {
            mismatches.push_back(fmt::format("{} (applied {}): stored {}, file now {}", e.name,
                                             e.applied_at.value_or("?"), e.stored_checksum.value_or(""),
                                             e.file_checksum.value_or("")));
        } else if (e.state == State::OutOfOrder && !opt_.out_of_order) {
            out_of_order.push_back(e.name);
        } else if (e.state == State::MissingFile) {
            log_.Warn(fmt::format("version {} is recorded as applied but has no migration file", e.version),
                      {{"version", e.version}});
        }
    }
    if (!mismatches.empty()) {
        std::string msg = "applied migration changed since it was applied, nothing was run: ";
        for (size_t i = 0; i < mismatches.size(); ++i) {
            msg += (i ? "; " : "") + mismatches[i];
        }
        // The repair must read the same files: keep the --dir this run used.
        std::string dir = opt_.dir ? " --dir " + ShellWord(*opt_.dir) : "";
        throw Error(ExitCode::Verify, msg,
                    fmt::format("restore the file as applied and put the change in a new migration, or, if "
                                "the edit is cosmetic, run 'pgsplit migrate repair{} --yes'",
                                dir));
    }
    if (!out_of_order.empty()) {
        std::string names;
        for (const auto& n : out_of_order) {
            names += (names.empty() ? "" : ", ") + n;
        }
        throw Error(
            ExitCode::Verify,
            fmt::format("pending migration(s) older than the newest applied version: {}", names),
            "renumber them after the newest applied version, or pass --out-of-order to apply them anyway");
    }

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

    const std::string insert =
        "INSERT INTO public.schema_migrations (version, applied_at, description, checksum, execution_ms, "
        "applied_by, tool_version) VALUES ($1, now(), $2, $3, $4, current_user, $5)";
    const pg::LockRetryPolicy retry{opt_.lock_timeout_retries, opt_.retry_backoff, /*jitter=*/true};
    for (const auto* f : todo) {
        // Folds the file's lines in GitHub Actions and records it as in flight until its COMMIT, so an
        // interrupt report can say which file was rolled back and which were already committed.
        LogPhase phase(log_, f->name, "migrate " + f->name);
        if (f->no_transaction) {
            phase.SetCaveat(f->name +
                            " runs outside a transaction: a cancelled CREATE INDEX CONCURRENTLY leaves an "
                            "INVALID index behind; drop it before running migrate again");
        }
        int64_t ms = 0;
        auto apply_once = [&](int) {
            if (f->no_transaction) {
                c.Exec("SET lock_timeout = " + pg::QuoteLiteral(c, opt_.lock_timeout));
                c.Exec("SET statement_timeout = " + pg::QuoteLiteral(c, opt_.statement_timeout));
                auto t0 = Clock::now();
                c.ExecScript(f->sql);
                ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
                c.Exec("RESET lock_timeout");
                c.Exec("RESET statement_timeout");
                c.Exec(insert,
                       {f->version, f->description, f->checksum, std::to_string(ms), PGSPLIT_VERSION_FULL});
                return;
            }
            pg::Transaction tx(c);
            c.Exec("SET LOCAL lock_timeout = " + pg::QuoteLiteral(c, opt_.lock_timeout));
            c.Exec("SET LOCAL statement_timeout = " + pg::QuoteLiteral(c, opt_.statement_timeout));
            auto t0 = Clock::now();
            c.ExecScript(f->sql);
            ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
            c.Exec(insert,
                   {f->version, f->description, f->checksum, std::to_string(ms), PGSPLIT_VERSION_FULL});
            tx.Commit();
        };
        try {
            pg::RetryOnLockTimeout(
                c, retry, apply_once,
                [&](int attempt, std::chrono::milliseconds wait) {
                    log_.Warn(
                        fmt::format("{} waited longer than lock_timeout {} for a table lock; retrying in "
                                    "{} ms",
                                    f->name, opt_.lock_timeout, wait.count()),
                        {{"version", f->version}, {"attempt", attempt + 1}});
                },
                [&](int attempts, const pg::SqlError&) {
                    throw Error(ExitCode::Lock,
                                fmt::format("{} could not take a table lock within lock_timeout {} after {} "
                                            "attempts; rolled back, nothing recorded",
                                            f->name, opt_.lock_timeout, attempts),
                                "a long transaction holds a lock on a table this migration changes; find it "
                                "in pg_stat_activity, or retry later");
                });
        } catch (const pg::SqlError& e) {
            int line = e.position() > 0 ? pg::LineOfPosition(f->sql, e.position()) : 0;
            std::string where = line > 0 ? fmt::format(" at line {}", line) : "";
            std::string state = e.sqlstate().empty() ? "" : fmt::format(" (SQLSTATE {})", e.sqlstate());
            std::string hint =
                e.code() == ExitCode::Connect
                    ? "the connection was lost; the server rolled the file back. Run migrate again"
                    : (f->no_transaction ? "fix the file and run migrate again; a failed CREATE INDEX "
                                           "CONCURRENTLY may leave an INVALID index to drop first"
                                         : "fix the file and run migrate again");
            throw Error(e.code(),
                        fmt::format("migration {} failed{}: {}{}; rolled back, nothing recorded", f->name,
                                    where, e.server_message().empty() ? e.what() : e.server_message(), state),
                        hint);
        }
        Entry done;
        done.version = f->version;
        done.description = f->description;
        done.name = f->name;
        done.state = State::Applied;
        done.execution_ms = ms;
        done.file_checksum = f->checksum;
        done.stored_checksum = f->checksum;
        log_.Info(fmt::format("applied {} ({} ms)", f->name, ms),
                  {{"version", f->version}, {"duration_ms", ms}});
        result.applied.push_back(std::move(done));
    }
    for (const auto& e : entries) {
        if (e.state == State::AboveTarget) {
            result.pending.push_back(e);
        }
    }
    return result;
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
    AdvisoryLock lock(opt_.dsn, opt_.application_name + " (lock)");
    lock.Acquire(opt_.lock_wait, log_);
    pg::Connection c = pg::Connection::Open(opt_.dsn, opt_.application_name);
    Bootstrap(c, files_, log_);
    auto entries = Compute(files_, ReadHistory(c), std::nullopt);
    std::vector<Entry> recorded;
    {
        pg::Transaction tx(c);
        for (auto& e : entries) {
            auto en = VersionNumber(e.version);
            if ((e.state != State::Pending && e.state != State::OutOfOrder) || !en || *en > *n) {
                continue;
            }
            c.Exec("INSERT INTO public.schema_migrations (version, applied_at, description, checksum, "
                   "execution_ms, "
                   "applied_by, tool_version) VALUES ($1, now(), $2, $3, 0, current_user || $4, $5)",
                   {e.version, e.description, e.file_checksum, std::string(kBaselineMark),
                    PGSPLIT_VERSION_FULL});
            e.state = State::Baseline;
            recorded.push_back(e);
        }
        tx.Commit();
    }
    return recorded;
}

std::vector<Entry> Migrator::Repair(bool apply) {
    std::unique_ptr<AdvisoryLock> lock;
    if (apply) {
        lock = std::make_unique<AdvisoryLock>(opt_.dsn, opt_.application_name + " (lock)");
        lock->Acquire(opt_.lock_wait, log_);
    }
    pg::Connection c = pg::Connection::Open(opt_.dsn, opt_.application_name);
    if (apply) {
        Bootstrap(c, files_, log_);
    }
    auto entries = Compute(files_, ReadHistory(c), std::nullopt);
    std::vector<Entry> changed;
    for (const auto& e : entries) {
        if (e.state == State::ChecksumMismatch ||
            ((e.state == State::Applied || e.state == State::Baseline) && !e.stored_checksum)) {
            changed.push_back(e);
        }
    }
    if (!apply || changed.empty()) {
        return changed;
    }
    {
        pg::Transaction tx(c);
        for (const auto& e : changed) {
            c.Exec("UPDATE public.schema_migrations SET checksum = $1, description = $2 WHERE version = $3",
                   {e.file_checksum, e.description, e.version});
            log_.Info(fmt::format("repaired {}: checksum {} -> {}", e.name,
                                  e.stored_checksum.value_or("(none)"), e.file_checksum.value_or("")),
                      {{"version", e.version}});
        }
        tx.Commit();
    }
    return changed;
}

} // namespace pgsplit::migrate
