#include "runs/run_store.h"

#include "core/error.h"
#include "pg/transaction.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <string_view>

namespace pgsplit::runs {
namespace {

// The server renders timestamps in UTC itself (AT TIME ZONE 'UTC' on a timestamptz), so neither the
// session TimeZone nor the client's clock can shift what operators see.
std::string Utc(std::string_view expr) {
    return fmt::format("to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", expr);
}

// An interval expression as whole milliseconds.
std::string Ms(std::string_view interval) {
    return fmt::format("round(extract(epoch FROM {}) * 1000)::bigint", interval);
}

// Every column of backtest.runs plus the derived durations, over the alias `r`. Used by SELECTs and
// by the UPDATE's RETURNING, so both produce the same Run. Column order matches RunFromRow.
const std::string& RunColumns() {
    static const std::string columns =
        fmt::format("r.run_id, r.status, {}, {}, {}, r.run_name, r.start_date, r.end_date, r.output_dir, "
                    "r.adls_container, r.adls_prefix, r.error, r.config_json, r.effective_config_json, "
                    "{} AS queue_wait_ms, {} AS run_time_ms, "
                    "CASE r.status WHEN 'queued' THEN {} WHEN 'running' THEN {} END AS active_for_ms",
                    Utc("r.submitted_at"), Utc("r.started_at"), Utc("r.completed_at"),
                    Ms("r.started_at - r.submitted_at"), Ms("r.completed_at - r.started_at"),
                    Ms("now() - r.submitted_at"), Ms("now() - coalesce(r.started_at, r.submitted_at)"));
    return columns;
}

// The --since / --older-than window: an interval from bigint parameter $n, in milliseconds.
std::string MsWindow(int param) {
    return fmt::format("(${}::bigint * interval '1 millisecond')", param);
}

Run RunFromRow(const pg::Result& r, int row) {
    Run run;
    int c = 0;
    run.run_id = r.Get(row, c++);
    run.status = r.Get(row, c++);
    run.submitted_at = r.Get(row, c++);
    run.started_at = r.GetOpt(row, c++);
    run.completed_at = r.GetOpt(row, c++);
    run.run_name = r.GetOpt(row, c++);
    run.start_date = r.GetOpt(row, c++);
    run.end_date = r.GetOpt(row, c++);
    run.output_dir = r.GetOpt(row, c++);
    run.adls_container = r.GetOpt(row, c++);
    run.adls_prefix = r.GetOpt(row, c++);
    run.error = r.GetOpt(row, c++);
    run.config_json = r.Get(row, c++);
    run.effective_config_json = r.Get(row, c++);
    run.queue_wait_ms = r.GetOptInt(row, c++);
    run.run_time_ms = r.GetOptInt(row, c++);
    run.active_for_ms = r.GetOptInt(row, c++);
    return run;
}

pg::Params::value_type MsParam(std::optional<std::chrono::milliseconds> d) {
    if (!d) {
        return std::nullopt;
    }
    return std::to_string(d->count());
}

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string Trim(const std::string& s) {
    auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return "";
    }
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

} // namespace

bool IsKnownStatus(const std::string& status) {
    return std::find_if(std::begin(kStatuses), std::end(kStatuses),
                        [&](const char* s) { return status == s; }) != std::end(kStatuses);
}

bool IsActiveStatus(const std::string& status) {
    return status == "queued" || status == "running";
}

void RequirePostgresMode(const std::optional<std::string>& mode) {
    if (!mode) {
        return;
    }
    std::string value = Lower(Trim(*mode));
    if (value.empty() || value == "postgres") {
        return;
    }
    if (value == "adls" || value == "sqlite") {
        throw Error(
            ExitCode::Config,
            fmt::format("the backtest run store is not in PostgreSQL: BACKTEST_RUN_STORE_MODE={}", *mode),
            fmt::format("with mode '{}' the backtest API keeps run state outside backtest.runs (the "
                        "phase-3 rollback); set BACKTEST_RUN_STORE_MODE=postgres once the API is "
                        "back on the PostgreSQL store",
                        value));
    }
    throw Error(ExitCode::Config,
                fmt::format("BACKTEST_RUN_STORE_MODE '{}' is not a known run store mode", *mode),
                "use postgres (runs live in backtest.runs), or adls / sqlite (they do not, and pgsplit runs "
                "refuses to read a table the API is not writing)");
}

void ThrowUnknownRun(const std::string& run_id) {
    throw Error(ExitCode::Usage, fmt::format("no run '{}' in backtest.runs", run_id),
                "list recent runs with 'pgsplit runs list' (or 'pgsplit runs list --since 30d --limit 0')");
}

pg::Result RunStore::Query(const std::string& sql, const pg::Params& params) {
    try {
        return conn_.Exec(sql, params);
    } catch (const pg::SqlError& e) {
        if (e.sqlstate() == pg::kUndefinedTable) {
            throw Error(ExitCode::Config,
                        fmt::format("backtest.runs does not exist on {}", conn_.RedactedDsn()),
                        "apply the schema with 'pgsplit migrate' (migration 0004 creates backtest.runs)");
        }
        if (e.sqlstate() == "42501") {
            throw Error(
                ExitCode::Config,
                fmt::format("permission denied on backtest.runs for the role in {}", conn_.RedactedDsn()),
                "connect as a role migration 0004 grants access to (api_service, backtest_service) "
                "or as the owner");
        }
        if (e.sqlstate() == pg::kLockNotAvailable) {
            throw Error(ExitCode::Lock,
                        "the run's row stayed locked by another session for 10 s; nothing was changed",
                        "the backtest API may be updating it right now; retry in a moment");
        }
        throw;
    }
}

ListResult RunStore::List(const ListFilter& filter) {
    std::string sql = fmt::format("SELECT {}, count(*) OVER () AS matching FROM backtest.runs r "
                                  "WHERE ($1::text IS NULL OR r.status = $1::text) "
                                  "AND ($2::bigint IS NULL OR r.submitted_at >= now() - {}) "
                                  "ORDER BY r.submitted_at DESC, r.run_id DESC LIMIT $3::bigint",
                                  RunColumns(), MsWindow(2));
    pg::Params params = {filter.status, MsParam(filter.since),
                         filter.limit ? std::optional<std::string>(std::to_string(*filter.limit))
                                      : std::nullopt};
    auto r = Query(sql, params);
    ListResult out;
    for (int i = 0; i < r.Rows(); ++i) {
        out.runs.push_back(RunFromRow(r, i));
    }
    if (r.Rows() > 0) {
        out.matching = r.GetInt(0, r.ColumnIndex("matching"));
    }
    return out;
}

std::optional<Run> RunStore::Find(const std::string& run_id) {
    auto r = Query(fmt::format("SELECT {} FROM backtest.runs r WHERE r.run_id = $1", RunColumns()), {run_id});
    if (r.Rows() == 0) {
        return std::nullopt;
    }
    return RunFromRow(r, 0);
}

std::optional<Run> RunStore::FindByPrefix(const std::string& id_or_prefix) {
    if (auto exact = Find(id_or_prefix)) {
        return exact;
    }
    if (id_or_prefix.empty()) {
        return std::nullopt;
    }
    auto r = Query("SELECT run_id FROM backtest.runs WHERE left(run_id, length($1)) = $1 ORDER BY run_id "
                   "LIMIT 6",
                   {id_or_prefix});
    if (r.Rows() == 0) {
        return std::nullopt;
    }
    if (r.Rows() == 1) {
        return Find(r.Get(0, 0));
    }
    std::string ids;
    for (int i = 0; i < r.Rows() && i < 5; ++i) {
        ids += (i ? ", " : "") + r.Get(i, 0);
    }
    throw Error(ExitCode::Usage,
                fmt::format("run id prefix '{}' matches {} runs: {}", id_or_prefix,
                            r.Rows() > 5 ? std::string("more than 5") : std::to_string(r.Rows()), ids),
                "give more of the run id ('pgsplit runs list' shows them)");
}

Stats RunStore::ComputeStats(std::optional<std::chrono::milliseconds> since) {
    // percentile_cont interpolates linearly between the nearest samples; the result is rounded to
    // whole milliseconds so that equal inputs give equal, exactly comparable figures.
    constexpr const char* kRunTime = "extract(epoch FROM r.completed_at - r.started_at) * 1000";
    constexpr const char* kRunTimeWhere =
        "r.status IN ('completed', 'failed') AND r.started_at IS NOT NULL AND r.completed_at IS NOT NULL";
    constexpr const char* kQueueWait = "extract(epoch FROM r.started_at - r.submitted_at) * 1000";
    constexpr const char* kQueueWaitWhere = "r.status <> 'queued' AND r.started_at IS NOT NULL";
    std::string sql = fmt::format(
        "SELECT count(*) FILTER (WHERE r.status = 'queued'), count(*) FILTER (WHERE r.status = 'running'), "
        "count(*) FILTER (WHERE r.status = 'completed'), count(*) FILTER (WHERE r.status = 'failed'), "
        "count(*), "
        "count(*) FILTER (WHERE {1}), "
        "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ({0})::double precision) FILTER (WHERE "
        "{1}))::bigint, "
        "round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ({0})::double precision) FILTER (WHERE "
        "{1}))::bigint, "
        "count(*) FILTER (WHERE {3}), "
        "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ({2})::double precision) FILTER (WHERE "
        "{3}))::bigint, "
        "round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ({2})::double precision) FILTER (WHERE "
        "{3}))::bigint, "
        "CASE WHEN $1::bigint IS NULL THEN NULL ELSE {4} END "
        "FROM backtest.runs r WHERE ($1::bigint IS NULL OR r.submitted_at >= now() - {5})",
        kRunTime, kRunTimeWhere, kQueueWait, kQueueWaitWhere, Utc("now() - " + MsWindow(1)), MsWindow(1));
    auto r = Query(sql, {MsParam(since)});
    Stats s;
    s.since = since;
    int c = 0;
    for (const char* status : kStatuses) {
        s.counts.emplace_back(status, r.GetInt(0, c++));
    }
    s.total = r.GetInt(0, c++);
    s.run_time.samples = r.GetInt(0, c++);
    s.run_time.p50_ms = r.GetOptInt(0, c++);
    s.run_time.p95_ms = r.GetOptInt(0, c++);
    s.queue_wait.samples = r.GetInt(0, c++);
    s.queue_wait.p50_ms = r.GetOptInt(0, c++);
    s.queue_wait.p95_ms = r.GetOptInt(0, c++);
    s.since_at = r.GetOpt(0, c++);
    return s;
}

StaleResult RunStore::Stale(std::chrono::milliseconds older_than) {
    std::string window = MsWindow(1);
    std::string sql =
        fmt::format("SELECT {0}, {2} AS as_of FROM backtest.runs r "
                    "WHERE (r.status = 'queued' AND r.submitted_at < now() - {1}) "
                    "OR (r.status = 'running' AND coalesce(r.started_at, r.submitted_at) < now() - {1}) "
                    "ORDER BY active_for_ms DESC, r.run_id",
                    RunColumns(), window, Utc("now()"));
    auto r = Query(sql, {std::to_string(older_than.count())});
    StaleResult out;
    out.older_than = older_than;
    for (int i = 0; i < r.Rows(); ++i) {
        out.runs.push_back(RunFromRow(r, i));
    }
    if (r.Rows() > 0) {
        out.as_of = r.Get(0, r.ColumnIndex("as_of"));
    } else {
        out.as_of = Query("SELECT " + Utc("now()"), {}).Get(0, 0);
    }
    return out;
}

FailResult RunStore::Fail(const std::string& run_id, const std::string& reason) {
    pg::Transaction tx(conn_);
    // The row lock only makes the reported previous status exact; the UPDATE's WHERE is the guard.
    conn_.Exec("SET LOCAL lock_timeout = '10s'");
    auto current = Query("SELECT status, error FROM backtest.runs WHERE run_id = $1 FOR UPDATE", {run_id});
    if (current.Rows() == 0) {
        ThrowUnknownRun(run_id);
    }
    std::string previous = current.Get(0, 0);
    if (!IsActiveStatus(previous)) {
        throw Error(ExitCode::Verify,
                    fmt::format("run '{}' is {}, not queued or running; refusing to mark it failed", run_id,
                                previous),
                    "only a stuck queued or running run can be failed; 'pgsplit runs show " + run_id +
                        "' shows its state");
    }
    auto updated = Query(fmt::format("UPDATE backtest.runs AS r SET status = 'failed', error = $2, "
                                     "completed_at = now() "
                                     "WHERE r.run_id = $1 AND r.status IN ('queued', 'running') RETURNING {}",
                                     RunColumns()),
                         {run_id, reason});
    if (updated.Rows() != 1) {
        // Cannot happen while we hold the row lock; refuse rather than guess.
        throw Error(ExitCode::Verify,
                    fmt::format("run '{}' changed state while being failed; nothing was changed", run_id),
                    "run 'pgsplit runs show " + run_id + "' and retry if it is still stuck");
    }
    FailResult out{previous, RunFromRow(updated, 0)};
    tx.Commit();
    return out;
}

} // namespace pgsplit::runs
