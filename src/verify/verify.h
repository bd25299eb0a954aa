#pragma once

// pgsplit verify: does PostgreSQL hold what Delta holds, and is the phase-2 sync recent (SPEC §7)?
//
// Verify gathers every problem into a Report and never stops at the first one; rendering (text, JSON,
// Markdown, GitHub annotations) lives in verify/render.h and the exit code is the caller's choice
// (5 when !report.Ok()).

#include "config/config.h"
#include "pg/connection.h"
#include "verify/content.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::verify {

struct Options {
    // Month selection: explicit months (already resolved from --month/--from/--to), else the `last`
    // newest months (0 = all) of Delta (of the ledger with freshness_only).
    std::vector<std::string> months;
    int last = 0;
    std::chrono::milliseconds max_age{std::chrono::hours(36)};
    std::string max_age_text = "36h";
    // Postgres alone: the ledger and the freshness, no Delta access and no source URIs.
    bool freshness_only = false;
    std::string signals_uri;
    std::string composite_uri;
    // --content: compare every row by digest (verify/content.h); with freshness_only, the server's
    // digest against the one the sync recorded.
    bool content = false;
    size_t show = 10; // differing rows named per month and table
    // Read replicas: counts (and digests with content) against the primary's, and replay lag.
    std::vector<std::string> replica_dsns;
    std::chrono::milliseconds max_replica_lag{std::chrono::minutes(5)};
    std::string max_replica_lag_text = "5m";
};

// One of the two replicated tables in one month.
struct TableCounts {
    std::string name;                      // "ranking_signal" / "composite_signal_daily"
    std::optional<int64_t> delta_rows;     // nullopt: not looked at (freshness_only)
    int64_t postgres_rows = 0;             // count(*) for the month
    std::optional<int64_t> ledger_rows;    // what signal_sync_state recorded
    std::optional<int64_t> synced_version; // the Delta version the sync read
    std::optional<int64_t> current_version;
    std::optional<ContentCheck> content;      // --content
    std::optional<std::string> ledger_digest; // what the sync recorded (migration 0005)
};

struct MonthReport {
    std::string month;
    bool in_delta = false;
    bool in_postgres = false;
    bool ledger_present = false;
    std::optional<std::string> status;        // signal_sync_state.status
    std::optional<std::string> synced_at;     // ISO 8601 UTC
    std::optional<std::string> error;         // the recorded error of a failed sync (without the ledger's
                                              // note on the last success, signals::kLastSuccessNote)
    std::optional<std::string> last_error_at; // ISO 8601 UTC of the failed last attempt (failed only)
    TableCounts signals;
    TableCounts composite;
    std::vector<std::string> problems; // empty: the month is fine
    std::vector<std::string> notes;    // worth knowing, not a failure

    bool Ok() const { return problems.empty(); }
    // "missing" when no ledger row, else its status.
    std::string State() const;
};

struct Freshness {
    // ISO 8601 UTC of the newest successful sync of a month with rows (an empty month recorded with
    // --allow-empty does not count; a month whose later attempt failed counts with its last success).
    std::optional<std::string> newest_success;
    std::optional<int64_t> age_seconds;
    int64_t max_age_seconds = 0;
    std::string max_age_text;
    std::optional<std::string> problem;

    bool Ok() const { return !problem.has_value(); }
};

// One read replica against the primary.
struct ReplicaReport {
    std::string name; // host:port of the connection (never the DSN: it may carry a password)
    bool in_recovery = false;
    bool replay_paused = false;
    std::optional<int64_t> behind_bytes;       // WAL the primary has written and the replica not replayed
    std::optional<double> lag_seconds;         // 0 when caught up, else since the last replayed commit
    std::optional<std::string> receiver;       // pg_stat_wal_receiver.status
    std::vector<std::string> differing_months; // months whose counts or digests differ from the primary's
    std::vector<std::string> problems;
    std::vector<std::string> notes;

    bool Ok() const { return problems.empty(); }
    bool Behind() const { return behind_bytes && *behind_bytes > 0; }
};

struct Report {
    bool freshness_only = false;
    bool content = false;
    std::optional<int64_t> signals_version; // current Delta versions (nullopt with freshness_only)
    std::optional<int64_t> composite_version;
    std::vector<MonthReport> months; // sorted by month
    Freshness freshness;
    std::vector<ReplicaReport> replicas;

    bool Ok() const;
    size_t FailedMonths() const;
    // Every problem as "MONTH: message" (freshness as "freshness: message", a replica's as "replica
    // NAME: message"), in report order.
    std::vector<std::string> AllProblems() const;
};

// Runs every check. Delta failures (unreadable table) and Postgres failures (connection, missing
// schema) are not verification results: they throw Error with their own exit code.
// `log` takes the debug lines of the Delta reads of --content.
Report Run(const Config& config, pg::Connection& conn, const Options& options, const Logger& log = Logger());

} // namespace pgsplit::verify
