#include "signals/ledger.h"

#include "pg/transaction.h"
#include "pgsplit_version.h"
#include "sync/partition_sync.h"

#include <fmt/format.h>

namespace pgsplit::signals {

void RecordSignalSuccess(pg::Connection& conn, const sync::PartitionResult& r) {
    using sync::TableResult;
    const TableResult* s = r.Find(kSignalsLabel);
    const TableResult* c = r.Find(kCompositeLabel);
    auto num = [](const TableResult* t, int64_t TableResult::*field) -> std::optional<std::string> {
        if (!t) {
            return std::nullopt;
        }
        return std::to_string(t->*field);
    };
    int64_t skipped = (s ? s->skipped : 0) + (c ? c->skipped : 0);
    std::string strategy;
    for (const auto& t : r.tables) {
        strategy += (strategy.empty() ? "" : ",") + std::string(sync::StrategyName(t.strategy));
    }
    // One strategy name when both tables used the same one.
    if (s && c && s->strategy == c->strategy) {
        strategy = sync::StrategyName(s->strategy);
    }
    conn.Exec(
        "INSERT INTO ranking.signal_sync_state AS s (year_month, synced_at, signals_rows, composite_rows, "
        "status, "
        "error, signals_delta_version, composite_delta_version, duration_ms, skipped_rows, strategy, "
        "tool_version, last_attempt_at) "
        "VALUES ($1, now(), $2, $3, 'success', NULL, $4, $5, $6, $7, $8, $9, now()) "
        "ON CONFLICT (year_month) DO UPDATE SET synced_at = EXCLUDED.synced_at, "
        "signals_rows = EXCLUDED.signals_rows, composite_rows = EXCLUDED.composite_rows, status = 'success', "
        "error = NULL, signals_delta_version = EXCLUDED.signals_delta_version, "
        "composite_delta_version = EXCLUDED.composite_delta_version, duration_ms = EXCLUDED.duration_ms, "
        "skipped_rows = EXCLUDED.skipped_rows, strategy = EXCLUDED.strategy, "
        "tool_version = EXCLUDED.tool_version, last_attempt_at = EXCLUDED.last_attempt_at",
        {r.value, num(s, &TableResult::rows), num(c, &TableResult::rows), num(s, &TableResult::delta_version),
         num(c, &TableResult::delta_version), std::to_string(static_cast<int64_t>(r.seconds * 1000)),
         std::to_string(skipped), strategy, PGSPLIT_VERSION_FULL});
}

std::string RecordedError(const std::string& recorded) {
    size_t at = recorded.find(kLastSuccessNote);
    return at == std::string::npos ? recorded : recorded.substr(0, at);
}

std::string RecordSignalFailure(pg::Connection& conn, const std::string& month, const std::string& error) {
    try {
        pg::RollbackQuietly(conn);
        // Also after SIGINT/SIGTERM: the ledger must say the attempt failed. Bounded, so a row lock held
        // by another sync cannot keep a terminating process alive (ACA kills 30 s after SIGTERM).
        pg::Transaction tx(conn, pg::Transaction::Mode::DespiteInterrupt);
        conn.ExecDespiteInterrupt("SET LOCAL statement_timeout = '3s'");
        conn.ExecDespiteInterrupt(
            "INSERT INTO ranking.signal_sync_state AS s (year_month, status, error, last_attempt_at, "
            "last_error_at, tool_version) VALUES ($1, 'failed', $2, now(), now(), $3) "
            "ON CONFLICT (year_month) DO UPDATE SET status = 'failed', "
            "error = EXCLUDED.error || CASE WHEN s.synced_at IS NULL THEN '' ELSE $4 || "
            "to_char(s.synced_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' (' || "
            "coalesce(s.signals_rows::text, '?') || ' + ' || coalesce(s.composite_rows::text, '?') || "
            "' rows)' END, "
            "last_attempt_at = EXCLUDED.last_attempt_at, last_error_at = EXCLUDED.last_error_at",
            {month, error.substr(0, 4000), PGSPLIT_VERSION_FULL, std::string(kLastSuccessNote)});
        tx.Commit();
        return {};
    } catch (const std::exception& e) {
        return e.what(); // the transaction rolled back as it unwound
    }
}

} // namespace pgsplit::signals
