#include "signals/ledger.h"

#include "core/error.h"
#include "pg/transaction.h"
#include "pgsplit_version.h"
#include "sync/partition_sync.h"

#include <fmt/format.h>

namespace pgsplit::signals {
namespace {

// A text[] literal; months from Delta partition values are quoted so any text is safe.
std::string ArrayLiteral(const std::vector<std::string>& values) {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
        out += i ? ",\"" : "\"";
        for (char c : values[i]) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

// Runs a read against the ranking schema, turning a missing table into a configuration error.
pg::Result Query(pg::Connection& conn, const std::string& sql, const pg::Params& params) {
    try {
        return conn.Exec(sql, params);
    } catch (const pg::SqlError& e) {
        // 42P01 undefined table, 3F000 the ranking schema itself is missing.
        if (e.sqlstate() == pg::kUndefinedTable || e.sqlstate() == "3F000") {
            throw Error(ExitCode::Config,
                        fmt::format("the signal tables are missing: {}", e.server_message()),
                        "run 'pgsplit migrate' against this database first");
        }
        throw;
    }
}

// " WHERE year_month = ANY($1::text[])" and its parameter when `months` is given.
std::string MonthFilter(const std::optional<std::vector<std::string>>& months, pg::Params& params) {
    if (!months) {
        return "";
    }
    params.push_back(ArrayLiteral(*months));
    return " WHERE year_month = ANY($1::text[])";
}

constexpr const char* kUtcText = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

} // namespace

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
        strategy += strategy.empty() ? "" : ",";
        strategy += sync::StrategyName(t.strategy);
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
    if (HasDigestColumns(conn)) {
        auto digest = [](const TableResult* t) -> std::optional<std::string> {
            if (!t || t->digest.empty()) {
                return std::nullopt;
            }
            return t->digest;
        };
        conn.Exec(
            fmt::format("UPDATE {} SET signals_digest = $2, composite_digest = $3 WHERE year_month = $1",
                        kLedgerTable),
            {r.value, digest(s), digest(c)});
    }
}

std::optional<std::string> SyncedAtVersions(pg::Connection& conn, const std::string& month,
                                            int64_t signals_version, int64_t composite_version) {
    auto r =
        Query(conn,
              fmt::format("SELECT to_char(synced_at AT TIME ZONE 'UTC', {}) FROM {} WHERE year_month = $1 "
                          "AND status = 'success' AND signals_delta_version = $2 "
                          "AND composite_delta_version = $3",
                          kUtcText, kLedgerTable),
              {month, std::to_string(signals_version), std::to_string(composite_version)});
    if (r.Rows() == 0) {
        return std::nullopt;
    }
    return fmt::format("already synced at Delta versions {} / {} ({})", signals_version, composite_version,
                       r.GetOpt(0, 0).value_or("?"));
}

bool HasDigestColumns(pg::Connection& conn) {
    return conn.QueryValue("SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) "
                           "AND attname IN ('signals_digest', 'composite_digest') AND NOT attisdropped",
                           {kLedgerTable}) == "2";
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

std::map<std::string, LedgerRow> ReadLedger(pg::Connection& conn,
                                            const std::optional<std::vector<std::string>>& months) {
    pg::Params params;
    // Months synced before migration 0005 (or a ledger not migrated yet) have no digest.
    const char* digests = HasDigestColumns(conn) ? "signals_digest, composite_digest" : "NULL, NULL";
    std::string sql = fmt::format(
        "SELECT year_month, status, to_char(synced_at AT TIME ZONE 'UTC', {0}), error, signals_rows, "
        "composite_rows, signals_delta_version, composite_delta_version, to_char(CASE WHEN status = "
        "'failed' THEN coalesce(last_error_at, last_attempt_at) END AT TIME ZONE 'UTC', {0}), {3} "
        "FROM {1}{2}",
        kUtcText, kLedgerTable, MonthFilter(months, params), digests);
    auto r = Query(conn, sql, params);
    std::map<std::string, LedgerRow> out;
    for (int i = 0; i < r.Rows(); ++i) {
        LedgerRow row;
        row.status = r.GetOpt(i, 1);
        row.synced_at = r.GetOpt(i, 2);
        row.error = r.GetOpt(i, 3);
        if (row.error) {
            row.error = RecordedError(*row.error);
        }
        row.signals_rows = r.GetOptInt(i, 4);
        row.composite_rows = r.GetOptInt(i, 5);
        row.signals_version = r.GetOptInt(i, 6);
        row.composite_version = r.GetOptInt(i, 7);
        row.last_error_at = r.GetOpt(i, 8);
        row.signals_digest = r.GetOpt(i, 9);
        row.composite_digest = r.GetOpt(i, 10);
        out[r.Get(i, 0)] = row;
    }
    return out;
}

std::map<std::string, int64_t> CountMonthRows(pg::Connection& conn, const char* target,
                                              const std::optional<std::vector<std::string>>& months) {
    pg::Params params;
    std::string where = MonthFilter(months, params);
    auto r =
        Query(conn, fmt::format("SELECT year_month, count(*) FROM {}{} GROUP BY 1", target, where), params);
    std::map<std::string, int64_t> out;
    for (int i = 0; i < r.Rows(); ++i) {
        out[r.Get(i, 0)] = r.GetInt(i, 1);
    }
    return out;
}

NewestSuccess ReadNewestSuccess(pg::Connection& conn) {
    auto r = Query(conn,
                   fmt::format("SELECT to_char(max(synced_at) AT TIME ZONE 'UTC', {}), "
                               "floor(extract(epoch FROM now() - max(synced_at)))::bigint FROM {} "
                               "WHERE synced_at IS NOT NULL AND (status = 'success' OR (status = 'failed' "
                               "AND last_error_at IS NOT NULL)) "
                               "AND coalesce(signals_rows, 0) + coalesce(composite_rows, 0) > 0",
                               kUtcText, kLedgerTable),
                   {});
    return {r.GetOpt(0, 0), r.GetOptInt(0, 1)};
}

} // namespace pgsplit::signals
