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

} // namespace

std::vector<PartitionOutcome> RunPartitions(const Config& config, const Logger& log, const std::string& dsn,
                                            const std::vector<TableJob>& jobs,
                                            const std::vector<std::string>& values, SyncOptions options,
                                            int parallel, const RunnerHooks& hooks) {
    std::vector<PartitionOutcome> outcomes(values.size());
    Progress progress(config.stderr_tty && log.Format() == LogFormat::Text && log.Enabled(LogLevel::Info),
                      values.size());
    // Rows reported per (thread-local) table so far, to turn running totals into deltas.
    auto user_progress = options.on_progress;
    std::atomic<size_t> next{0};

    auto worker = [&]() {
        std::optional<pg::Connection> conn;
        std::map<std::string, int64_t> seen;
        SyncOptions mine = options;
        mine.on_progress = [&](const std::string& label, int64_t rows) {
            int64_t& prev = seen[label];
            progress.AddRows(rows - prev);
            prev = rows;
            if (user_progress) {
                user_progress(label, rows);
            }
        };
        while (true) {
            size_t i = next.fetch_add(1);
            if (i >= values.size() || InterruptSignal() != 0) {
                return;
            }
            PartitionOutcome& out = outcomes[i];
            out.value = values[i];
            seen.clear();
            try {
                if (!conn || !conn->Ok()) {
                    conn.emplace(pg::Connection::Open(dsn, hooks.application_name));
                }
                out.result = SyncPartition(config, log, *conn, jobs, out.value, mine, hooks.before_commit);
                progress.Clear();
                std::string tables;
                nlohmann::json fields = {{"partition", out.value},
                                         {"duration_ms", static_cast<int64_t>(out.result->seconds * 1000)}};
                // Standard keys for log collectors: the month (when partitioned by it) and total rows.
                if (!jobs.empty() && jobs.front().partition_column == "year_month") {
                    fields["month"] = out.value;
                }
                int64_t total_rows = 0;
                for (const auto& t : out.result->tables) {
                    total_rows += t.rows;
                }
                fields["rows"] = total_rows;
                for (const auto& t : out.result->tables) {
                    tables +=
                        fmt::format("{}{} {} rows", tables.empty() ? "" : ", ", t.label, GroupDigits(t.rows));
                    fields[t.label + "_rows"] = t.rows;
                    fields[t.label + "_delta_version"] = t.delta_version;
                    fields[t.label + "_skipped"] = t.skipped;
                    fields["strategy"] = StrategyName(t.strategy);
                }
                log.Info(fmt::format(
                             "synced {}: {} ({}) in {}", out.value, tables,
                             out.result->tables.empty() ? "" : StrategyName(out.result->tables[0].strategy),
                             HumanDuration(out.result->seconds * 1000)),
                         fields);
                int64_t skipped = 0;
                for (const auto& t : out.result->tables) {
                    skipped += t.skipped;
                }
                if (skipped > 0) {
                    log.Warn(fmt::format("{}: {} invalid row(s) skipped and recorded", out.value, skipped));
                }
            } catch (const Error& e) {
                progress.Clear();
                out.error = e;
                nlohmann::json fields = {{"partition", out.value}, {"exit_code", ToInt(e.code())}};
                if (!e.hint().empty()) {
                    fields["hint"] = e.hint();
                }
                log.Error(fmt::format("sync of {} failed: {}", out.value, e.what()), fields);
                // An empty value refused (EmptyPartitionError) is not an attempt at a real month: a
                // ledger row for it would be a month that does not exist.
                if (hooks.record_failure && !dynamic_cast<const EmptyPartitionError*>(&e)) {
                    try {
                        if (!conn || !conn->Ok()) {
                            conn.emplace(pg::Connection::Open(dsn, hooks.application_name));
                        }
                        out.record_error = hooks.record_failure(*conn, out.value, LedgerError(e));
                    } catch (const std::exception& re) {
                        out.record_error = re.what();
                    }
                    if (!out.record_error.empty()) {
                        log.Warn(fmt::format("could not record the failure of {}: {}", out.value,
                                             out.record_error));
                    }
                }
            }
            progress.ValueDone();
        }
    };
    int threads = std::max(1, std::min<int>(parallel, static_cast<int>(values.size())));
    if (threads == 1) {
        worker();
    } else {
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back(worker);
        }
        for (auto& t : pool) {
            t.join();
        }
    }
    progress.Clear();
    return outcomes;
}

} // namespace pgsplit::sync
