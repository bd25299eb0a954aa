#include "sync/runner.h"

#include "core/interrupt.h"
#include "output/numbers.h"
#include "output/table.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace pgsplit::sync {
namespace {

// What the ledger records for a failed partition. A statement cancelled by SIGINT/SIGTERM reports
// "canceling statement due to user request"; the ledger names the signal instead of leaving the
// reader to guess who cancelled it.
std::string LedgerError(const Error& e) {
    std::string msg = e.what();
    int sig = InterruptSignal();
    const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : nullptr;
    if (name && msg.find(name) == std::string::npos) {
        msg = fmt::format("{} (stopped by {}; rolled back)", msg, name);
    }
    return msg;
}

using Clock = std::chrono::steady_clock;

// One line on stderr, redrawn at most 4 times a second: values done, rows sent, rows/s.
class Progress {
public:
    Progress(bool enabled, size_t total) : enabled_(enabled), total_(total), start_(Clock::now()) {}

    void AddRows(int64_t delta) {
        rows_ += delta;
        Draw(false);
    }
    void ValueDone() {
        ++done_;
        Draw(true);
    }
    void Clear() {
        if (enabled_) {
            std::lock_guard<std::mutex> lock(mu_);
            WriteAll(STDERR_FILENO, "\r\x1b[K");
        }
    }

private:
    void Draw(bool force) {
        if (!enabled_) {
            return;
        }
        std::lock_guard<std::mutex> lock(mu_);
        auto now = Clock::now();
        if (!force && now - last_ < std::chrono::milliseconds(250)) {
            return;
        }
        last_ = now;
        double secs = std::chrono::duration<double>(now - start_).count();
        int64_t rows = rows_.load();
        WriteAll(STDERR_FILENO, fmt::format("\r\x1b[K{}/{} done, {} rows, {:.0f} rows/s", done_.load(),
                                            total_, GroupDigits(rows), secs > 0 ? rows / secs : 0.0));
    }

    bool enabled_;
    size_t total_;
    Clock::time_point start_;
    Clock::time_point last_{};
    std::atomic<int64_t> rows_{0};
    std::atomic<size_t> done_{0};
    std::mutex mu_;
};

// Where a value ended, for the phase record.
PhaseEnd EndOf(const PartitionOutcome& oc) {
    if (oc.result || !oc.skipped.empty()) {
        return PhaseEnd::Completed;
    }
    bool interrupted = oc.error && (oc.error->code() == ExitCode::Interrupt ||
                                    oc.error->code() == ExitCode::Terminate || InterruptSignal() != 0);
    return interrupted ? PhaseEnd::Interrupted : PhaseEnd::Failed;
}

// The snapshot version each job reads, shared by the workers: the version asked for, else the one
// the first worker to open the table found.
class PinnedVersions {
public:
    PinnedVersions(size_t jobs, std::optional<int64_t> asked) : versions_(jobs, asked) {}

    std::vector<Source> Open(const std::vector<TableJob>& jobs, const StorageSettings& settings) {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<Source> sources;
        for (size_t j = 0; j < jobs.size(); ++j) {
            sources.emplace_back(jobs[j], settings, versions_[j]);
            versions_[j] = sources.back().GetSnapshot().Version();
        }
        return sources;
    }

private:
    std::mutex mu_;
    std::vector<std::optional<int64_t>> versions_;
};

// One worker: its connection and sources, opened on first use and again after they failed, and the
// values it runs.
class Worker {
public:
    Worker(const Config& config, const Logger& log, const RunPlan& plan, const RunnerHooks& hooks,
           PinnedVersions& versions, Progress& progress)
        : config_(config), log_(log), plan_(plan), hooks_(hooks), versions_(versions), progress_(progress) {
        options_ = plan.options;
        options_.on_progress = [this](const std::string& label, int64_t rows) {
            int64_t& prev = seen_[label];
            progress_.AddRows(rows - prev);
            prev = rows;
            if (plan_.options.on_progress) {
                plan_.options.on_progress(label, rows);
            }
        };
    }

    // How a value is taken: simply, or (--claim) only under its session lock, tried or waited for.
    enum class Claim { None, Try, Wait };

    // Runs `value` into `out`; `started` is called once the value is this worker's (before anything
    // is logged about it). With Claim::Try, returns false (and leaves `out` alone) when another
    // session holds the value: the caller puts it aside for a Claim::Wait pass.
    bool Run(const std::string& value, PartitionOutcome& out, Claim claim,
             const std::function<void()>& started) {
        seen_.clear();
        bool claimed = false, announced = false;
        auto announce = [&] {
            if (!announced && started) {
                started();
            }
            announced = true;
        };
        try {
            if (!sources_) {
                StorageSettings storage = config_.Storage();
                storage.io_concurrency = plan_.options.io_concurrency;
                sources_ = versions_.Open(plan_.jobs, storage);
            }
            if (conn_ && conn_->AuthStale()) {
                // A month boundary, no claim held: a connection opened with a token past its refresh
                // point is replaced, so the next month authenticates with a current token.
                conn_.reset();
            }
            if (claim != Claim::None) {
                if (!TakeClaim(value, claim == Claim::Wait)) {
                    return false;
                }
                claimed = true;
                announce();
                if (hooks_.already_synced) {
                    if (auto why = hooks_.already_synced(Conn(), value, *sources_)) {
                        out.value = value;
                        out.skipped = *why;
                        log_.Info(fmt::format("{}: skipped, {}", value, *why),
                                  {{"partition", value}, {"skipped", *why}});
                        ReleaseClaim(value);
                        progress_.ValueDone();
                        return true;
                    }
                }
            }
            announce();
            out.value = value;
            out.result = SyncPartition(log_, Conn(), *sources_, value, options_, hooks_.before_commit);
            progress_.Clear();
            LogSuccess(*out.result);
        } catch (const Error& e) {
            announce();
            progress_.Clear();
            out.value = value;
            out.error = e;
            nlohmann::json fields = {{"partition", value}, {"exit_code", ToInt(e.code())}};
            if (!e.hint().empty()) {
                fields["hint"] = e.hint();
            }
            log_.Error(fmt::format("sync of {} failed: {}", value, e.what()), fields);
            RecordFailure(value, e, out);
        }
        if (claimed) {
            ReleaseClaim(value);
        }
        progress_.ValueDone();
        return true;
    }

private:
    // The value's session lock on this worker's connection: tried, or waited for (a wait is cancelled
    // by SIGINT/SIGTERM like any statement).
    bool TakeClaim(const std::string& value, bool wait) {
        pg::Params key = {std::to_string(kSyncLockNamespace), SyncLockKey(value)};
        if (!wait) {
            return Conn().QueryValue("SELECT pg_try_advisory_lock($1::int, hashtext($2))", key) == "t";
        }
        log_.Info(fmt::format("{}: another process holds it; waiting for it to finish", value),
                  {{"partition", value}});
        Conn().Exec("SELECT pg_advisory_lock($1::int, hashtext($2))", key);
        return true;
    }

    // Best effort: a connection that broke took the lock with its session.
    void ReleaseClaim(const std::string& value) {
        if (!conn_ || !conn_->Ok()) {
            return;
        }
        try {
            conn_->Exec("SELECT pg_advisory_unlock($1::int, hashtext($2))",
                        {std::to_string(kSyncLockNamespace), SyncLockKey(value)});
        } catch (const std::exception& e) {
            log_.Warn(fmt::format("could not release the claim on {}: {} (the session keeps it until it "
                                  "ends)",
                                  value, e.what()));
        }
    }

    pg::Connection& Conn() {
        if (!conn_ || !conn_->Ok()) {
            conn_.emplace(pg::Connection::Open(plan_.dsn, plan_.application_name));
        }
        return *conn_;
    }

    void LogSuccess(const PartitionResult& result) {
        std::string tables;
        nlohmann::json fields = {{"partition", result.value},
                                 {"duration_ms", static_cast<int64_t>(result.seconds * 1000)}};
        // Standard keys for log collectors: the month (when partitioned by it) and total rows.
        if (!plan_.jobs.empty() && plan_.jobs.front().partition_column == "year_month") {
            fields["month"] = result.value;
        }
        int64_t total_rows = 0, skipped = 0;
        for (const auto& t : result.tables) {
            total_rows += t.rows;
            skipped += t.skipped;
            tables += fmt::format("{}{} {} rows", tables.empty() ? "" : ", ", t.label, GroupDigits(t.rows));
            fields[t.label + "_rows"] = t.rows;
            fields[t.label + "_delta_version"] = t.delta_version;
            fields[t.label + "_skipped"] = t.skipped;
            fields["strategy"] = StrategyName(t.strategy);
        }
        fields["rows"] = total_rows;
        log_.Info(fmt::format("synced {}: {} ({}) in {}", result.value, tables,
                              result.tables.empty() ? "" : StrategyName(result.tables[0].strategy),
                              HumanDuration(result.seconds * 1000)),
                  fields);
        if (skipped > 0) {
            log_.Warn(fmt::format("{}: {} invalid row(s) skipped and recorded", result.value, skipped));
        }
    }

    void RecordFailure(const std::string& value, const Error& e, PartitionOutcome& out) {
        // An empty value refused (EmptyPartitionError) is not an attempt at a real month: a ledger row
        // for it would be a month that does not exist.
        if (!hooks_.record_failure || dynamic_cast<const EmptyPartitionError*>(&e)) {
            return;
        }
        try {
            out.record_error = hooks_.record_failure(Conn(), value, LedgerError(e));
        } catch (const std::exception& re) {
            out.record_error = re.what();
        }
        if (!out.record_error.empty()) {
            log_.Warn(fmt::format("could not record the failure of {}: {}", value, out.record_error));
        }
    }

    const Config& config_;
    const Logger& log_;
    const RunPlan& plan_;
    const RunnerHooks& hooks_;
    PinnedVersions& versions_;
    Progress& progress_;
    SyncOptions options_;
    std::map<std::string, int64_t> seen_; // rows reported per table so far, to turn totals into deltas
    std::optional<pg::Connection> conn_;
    std::optional<std::vector<Source>> sources_;
};

} // namespace

namespace {

// Hands out value indexes: each once in order, then (with --claim) the ones other sessions held when
// they came up, to be waited for.
class WorkQueue {
public:
    explicit WorkQueue(size_t size) : size_(size) {}

    // The next index and how to claim it; nullopt when nothing is left (or a signal arrived).
    std::optional<std::pair<size_t, bool>> Next() {
        if (InterruptSignal() != 0) {
            return std::nullopt;
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (next_ < size_) {
            return std::make_pair(next_++, false);
        }
        if (!held_.empty()) {
            size_t i = held_.front();
            held_.erase(held_.begin());
            return std::make_pair(i, true);
        }
        return std::nullopt;
    }
    void Held(size_t i) {
        std::lock_guard<std::mutex> lock(mu_);
        held_.push_back(i);
    }

private:
    std::mutex mu_;
    size_t size_;
    size_t next_ = 0;
    std::vector<size_t> held_;
};

} // namespace

std::vector<PartitionOutcome> RunPartitions(const Config& config, const Logger& log, const RunPlan& plan,
                                            const RunnerHooks& hooks) {
    const auto& values = plan.values;
    Progress progress(config.stderr_tty && log.Format() == LogFormat::Text && log.Enabled(LogLevel::Info),
                      values.size());
    PinnedVersions versions(plan.jobs.size(), plan.options.delta_version);
    std::vector<PartitionOutcome> outcomes(values.size());
    WorkQueue queue(values.size());
    auto claim_of = [&](bool waited) {
        return !plan.claim ? Worker::Claim::None : waited ? Worker::Claim::Wait : Worker::Claim::Try;
    };
    int threads = std::max(1, std::min<int>(plan.parallel, static_cast<int>(values.size())));
    if (threads == 1) {
        Worker worker(config, log, plan, hooks, versions, progress);
        while (auto next = queue.Next()) {
            const size_t i = next->first; // not a structured binding: clang 14 cannot capture one
            const bool waited = next->second;
            std::optional<LogPhase> phase; // opened once the value is taken: a held one is no step
            if (!worker.Run(values[i], outcomes[i], claim_of(waited),
                            [&] { phase.emplace(log, values[i], plan.title + " " + values[i]); })) {
                queue.Held(i);
                continue;
            }
            phase->End(EndOf(outcomes[i]));
        }
    } else {
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&]() {
                Worker worker(config, log, plan, hooks, versions, progress);
                while (auto next = queue.Next()) {
                    const size_t i = next->first; // not a structured binding: clang 14 cannot capture one
                    const bool waited = next->second;
                    if (!worker.Run(values[i], outcomes[i], claim_of(waited), nullptr)) {
                        queue.Held(i);
                    }
                }
            });
        }
        for (auto& t : pool) {
            t.join();
        }
        for (const auto& oc : outcomes) {
            if (!oc.value.empty()) {
                log.RecordPhase(oc.value, EndOf(oc));
            }
        }
    }
    progress.Clear();
    std::erase_if(outcomes, [](const PartitionOutcome& oc) { return oc.value.empty(); });
    return outcomes;
}

} // namespace pgsplit::sync
