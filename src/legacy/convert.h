#pragma once

// convert-legacy (SPEC §6c, issue 16): a plain signal table made by the legacy runner becomes the
// layout of migration 0003 (LIST partitions by year_month, keys with year_month, the same secondary
// indexes, owner ranking_owner, the legacy grants), online:
//
// 1. Checks, nothing changed yet: rows whose year_month is NULL or not their date's month (refused,
//    exit 7, listed), objects that depend on the table and cannot be moved (refused, exit 7, listed).
// 2. A new partitioned parent `<name>_partitioned` beside the legacy table (created once, reused by a
//    re-run).
// 3. Month by month, each in its own transaction under the per-month advisory lock sync-signals takes
//    (sync::SyncLockKey): a stage table with the month's CHECK, INSERT ... SELECT from the legacy table,
//    the parent's keys and indexes built after the load, ANALYZE, ATTACH as `<name>_pYYYY_MM`. Months a
//    previous run attached are not copied again here (step 4 checks them).
// 4. Every month compared by row count and an order-independent content hash (the sum of each row's
//    64-bit hashtextextended) on both sides, the copy's side recorded by the copy itself; a month that
//    differs (a writer that bypasses the lock changed it) is copied again, a partition for a month the
//    legacy table no longer has is dropped. A few rounds.
// 5. The final step, one transaction, retried on lock timeout or deadlock: every month's advisory lock,
//    SHARE on the legacy table (writers wait, readers do not), the comparison once more with any
//    differing month copied again, then ACCESS EXCLUSIVE on both tables behind lock_timeout (readers
//    wait at most the swap bound), the renames (`<name>` -> `<name>_legacy`, the new parent ->
//    `<name>`), the legacy grants and the dependent views moved.
//
// The legacy table is only ever read until step 5 renames it, so an interrupt, a killed backend or a
// lost connection at any point leaves it serving and untouched; a re-run continues.

#include "core/log.h"
#include "pg/connection.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::legacy {

// The tables converted when --table is not given.
const std::vector<std::string>& DefaultTables();

enum class TableState {
    Missing,     // no such table
    Legacy,      // a plain table: to convert
    Converted,   // partitioned by LIST (year_month), with `<name>_legacy` beside it (drop or roll back)
    Partitioned, // partitioned, no legacy copy: nothing to do
    Other,       // partitioned some other way, or not a table
};
const char* TableStateName(TableState s);

// What `table` ("schema.name") is now.
TableState ReadState(pg::Connection& conn, const std::string& table);

enum class Action { Convert, DryRun, DropLegacy, Rollback };

struct Options {
    std::vector<std::string> tables; // "schema.name"; empty: DefaultTables()
    Action action = Action::Convert;
    std::chrono::milliseconds swap_lock_timeout{2000};
    int swap_retries = 5;
    std::chrono::milliseconds swap_backoff{250};
    int verify_rounds = 3; // comparison passes before the final step
    bool progress = false; // a progress line on stderr (a TTY)
    std::string owner = "ranking_owner";
};

struct MonthFigures {
    std::string month;
    int64_t rows = 0;
    int64_t bytes = 0;
};

struct TableReport {
    std::string table;
    TableState before = TableState::Missing;
    std::string outcome; // "converted", "already partitioned", "planned", "legacy dropped", "rolled back"
    std::vector<MonthFigures> months;
    int64_t rows = 0;
    int64_t bytes = 0;
    int months_copied = 0;   // step 3
    int months_recopied = 0; // steps 4 and 5: changed behind the lock
    int final_attempts = 0;
    double seconds = 0;
    double final_lock_ms = 0; // how long the renames held ACCESS EXCLUSIVE (step 5)
    // --dry-run
    double copy_rows_per_s = 0; // measured on a sample of the largest month
    double estimated_s = 0;
    std::vector<std::string> views;     // dependent views that move with the table
    std::vector<std::string> differing; // --rollback: months the partitioned table changed since
};

struct Report {
    Action action = Action::Convert;
    std::vector<TableReport> tables;
};

// Runs `options.action` on every table, one after the other, on `conn` (idle). Throws pgsplit::Error:
// Source (7) for invalid rows or dependents that cannot be moved, Verify (5) when --drop-legacy finds
// the copies differ, Lock (6) when the final step could not lock in time, Config (3) without the owner
// role. Whatever it throws, the legacy table is untouched unless the final step committed.
Report Run(const Logger& log, pg::Connection& conn, const Options& options);

// The lock each step takes, for the plan (--dry-run) and the help.
std::vector<std::pair<std::string, std::string>> LockPlan();

// Plain tables among the signal tables that convert-legacy would convert (for migrate status and
// verify, which point at the command). Never throws for a missing schema.
std::vector<std::string> LegacyTables(pg::Connection& conn);
// The line those commands log for them.
std::string LegacyHint(const std::vector<std::string>& tables);

} // namespace pgsplit::legacy
