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
    if (oc.result) {
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

    void Run(const std::string& value, PartitionOutcome& out) {
        out.value = value;
        seen_.clear();
        try {
            if (!sources_) {
                sources_ = versions_.Open(plan_.jobs, config_.Storage());
            }
            out.result = SyncPartition(log_, Conn(), *sources_, value, options_, hooks_.before_commit);
            progress_.Clear();
            LogSuccess(*out.result);
        } catch (const Error& e) {
            progress_.Clear();
            out.error = e;
            nlohmann::json fields = {{"partition", value}, {"exit_code", ToInt(e.code())}};
            if (!e.hint().empty()) {
                fields["hint"] = e.hint();
            }
            log_.Error(fmt::format("sync of {} failed: {}", value, e.what()), fields);
            RecordFailure(value, e, out);
        }
        progress_.ValueDone();
    }

private:
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

std::vector<PartitionOutcome> RunPartitions(const Config& config, const Logger& log, const RunPlan& plan,
                                            const RunnerHooks& hooks) {
    const auto& values = plan.values;
    Progress progress(config.stderr_tty && log.Format() == LogFormat::Text && log.Enabled(LogLevel::Info),
                      values.size());
    PinnedVersions versions(plan.jobs.size(), plan.options.delta_version);
    std::vector<PartitionOutcome> outcomes(values.size());
    int threads = std::max(1, std::min<int>(plan.parallel, static_cast<int>(values.size())));
    if (threads == 1) {
        Worker worker(config, log, plan, hooks, versions, progress);
        for (size_t i = 0; i < values.size() && InterruptSignal() == 0; ++i) {
            LogPhase phase(log, values[i], plan.title + " " + values[i]);
            worker.Run(values[i], outcomes[i]);
            phase.End(EndOf(outcomes[i]));
        }
    } else {
        std::atomic<size_t> next{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&]() {
                Worker worker(config, log, plan, hooks, versions, progress);
                for (size_t i = next.fetch_add(1); i < values.size() && InterruptSignal() == 0;
                     i = next.fetch_add(1)) {
                    worker.Run(values[i], outcomes[i]);
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
