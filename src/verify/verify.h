#pragma once

// pgsplit verify: does PostgreSQL hold what Delta holds, and is the phase-2 sync recent (SPEC §7)?
//
// Verify gathers every problem into a Report and never stops at the first one; rendering (text, JSON,
// Markdown, GitHub annotations) lives in verify/render.h and the exit code is the caller's choice
// (5 when !report.Ok()).

#include "config/config.h"
#include "pg/connection.h"

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
};

// One of the two replicated tables in one month.
struct TableCounts {
    std::string name;                      // "ranking_signal" / "composite_signal_daily"
    std::optional<int64_t> delta_rows;     // nullopt: not looked at (freshness_only)
    int64_t postgres_rows = 0;             // count(*) for the month
    std::optional<int64_t> ledger_rows;    // what signal_sync_state recorded
    std::optional<int64_t> synced_version; // the Delta version the sync read
    std::optional<int64_t> current_version;
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

struct Report {
    bool freshness_only = false;
    std::optional<int64_t> signals_version; // current Delta versions (nullopt with freshness_only)
    std::optional<int64_t> composite_version;
    std::vector<MonthReport> months; // sorted by month
    Freshness freshness;

    bool Ok() const;
    size_t FailedMonths() const;
    // Every problem as "MONTH: message" (freshness as "freshness: message"), in report order.
    std::vector<std::string> AllProblems() const;
};

// Runs every check. Delta failures (unreadable table) and Postgres failures (connection, missing
// schema) are not verification results: they throw Error with their own exit code.
Report Run(const Config& config, pg::Connection& conn, const Options& options);

} // namespace pgsplit::verify
