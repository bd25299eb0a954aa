#pragma once

// The phase-3 backtest run store (backtest.runs, migration 0004) as operators query it: list, show,
// stats, stale and the one write, fail. The backtest API owns the rows; pgsplit reads them and, on
// request, marks a stuck run failed. Every timestamp comes back from the server already in UTC
// ("2026-11-22T00:12:18.625166Z") whatever the session TimeZone, and every duration is computed by
// the server in whole milliseconds, so output does not depend on the client's clock.

#include "pg/connection.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::runs {

// The statuses the table's CHECK constraint allows, in lifecycle order.
inline constexpr const char* kStatuses[] = {"queued", "running", "completed", "failed"};

bool IsKnownStatus(const std::string& status);
// Queued and running runs are "active": the only ones stale can report and fail can change.
bool IsActiveStatus(const std::string& status);

// Checks BACKTEST_RUN_STORE_MODE before anything touches the database. Unset or empty: proceed
// (pgsplit may inspect backtest.runs from a machine that is not the backtest API). "postgres" (any
// case, surrounding blanks ignored): proceed. Anything else, e.g. "adls" or "sqlite" after the
// phase-3 rollback: Error(Config) saying the run store is not in PostgreSQL.
void RequirePostgresMode(const std::optional<std::string>& mode);

// One row of backtest.runs plus the durations derived from it.
struct Run {
    std::string run_id;
    std::string status;
    std::string submitted_at; // ISO 8601 UTC with microseconds and 'Z'
    std::optional<std::string> started_at;
    std::optional<std::string> completed_at;
    std::optional<std::string> run_name;
    std::optional<std::string> start_date;
    std::optional<std::string> end_date;
    std::optional<std::string> output_dir;
    std::optional<std::string> adls_container;
    std::optional<std::string> adls_prefix;
    std::optional<std::string> error;
    std::string config_json;
    std::string effective_config_json;

    // started_at - submitted_at; nullopt until the run starts.
    std::optional<int64_t> queue_wait_ms;
    // completed_at - started_at; nullopt until it ends (or when it ended without starting).
    std::optional<int64_t> run_time_ms;
    // For an active run, how long it has been in its state: now() - submitted_at while queued,
    // now() - started_at (submitted_at if the service left started_at NULL) while running.
    std::optional<int64_t> active_for_ms;
};

struct ListFilter {
    std::optional<std::string> status;              // one of kStatuses
    std::optional<std::chrono::milliseconds> since; // submitted_at >= now() - since
    std::optional<int64_t> limit = 50;              // nullopt: every matching run
};

struct ListResult {
    std::vector<Run> runs; // newest submitted first (run_id breaks ties)
    int64_t matching = 0;  // how many runs match the filter before --limit
};

// p50 and p95 over one duration, in milliseconds. Computed by PostgreSQL's percentile_cont (linear
// interpolation between the two nearest samples, as numpy's default) and rounded to the millisecond.
struct Percentiles {
    int64_t samples = 0;
    std::optional<int64_t> p50_ms; // nullopt without samples
    std::optional<int64_t> p95_ms;
};

struct Stats {
    std::optional<std::chrono::milliseconds> since;
    std::optional<std::string> since_at;                 // now() - since, ISO UTC
    std::vector<std::pair<std::string, int64_t>> counts; // every status of kStatuses, zeros included
    int64_t total = 0;
    // completed_at - started_at over completed and failed runs that have both timestamps.
    Percentiles run_time;
    // started_at - submitted_at over runs that have started (running, completed, failed).
    Percentiles queue_wait;
};

struct StaleResult {
    std::chrono::milliseconds older_than{0};
    std::string as_of;     // the server's now(), ISO UTC
    std::vector<Run> runs; // longest in their state first
};

struct FailResult {
    std::string previous_status; // queued or running
    Run run;                     // the row after the update
};

// Queries over one connection. Database errors surface as pgsplit::Error with SPEC §3 codes; a
// database without backtest.runs is a configuration error (exit 3) pointing at `pgsplit migrate`.
class RunStore {
public:
    explicit RunStore(pg::Connection& conn) : conn_(conn) {}

    ListResult List(const ListFilter& filter);
    std::optional<Run> Find(const std::string& run_id);
    // The run with this exact id, else the only run whose id starts with it (as git takes a commit
    // prefix). Throws Error(Usage) naming the candidates when the prefix matches several runs.
    std::optional<Run> FindByPrefix(const std::string& id_or_prefix);
    Stats ComputeStats(std::optional<std::chrono::milliseconds> since);
    // Queued longer than older_than since submitted_at, or running longer since started_at.
    StaleResult Stale(std::chrono::milliseconds older_than);

    // Marks an active run failed: status 'failed', error = reason, completed_at = now(). The guard
    // lives in the UPDATE's own WHERE (status IN ('queued','running')), so a run the service
    // completes concurrently is never overwritten. Throws Error(Usage) for an unknown run_id and
    // Error(Verify) when the run is not queued or running (nothing changes in either case).
    FailResult Fail(const std::string& run_id, const std::string& reason);

private:
    pg::Connection& conn_;
    pg::Result Query(const std::string& sql, const pg::Params& params);
};

// The error raised for a run_id that is not in backtest.runs (exit 2, with a hint).
[[noreturn]] void ThrowUnknownRun(const std::string& run_id);

} // namespace pgsplit::runs
