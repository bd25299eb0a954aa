#include "verify/replica.h"

#include "output/table.h"
#include "signals/ledger.h"
#include "signals/tables.h"
#include "verify/content.h"

#include <chrono>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <thread>
#include <tuple>

namespace pgsplit::verify {
namespace {

// The primary's WAL position, or nullopt when the primary is itself a standby.
std::optional<std::string> PrimaryLsn(pg::Connection& conn) {
    return conn.QueryValue(
        "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_insert_lsn()::text END");
}

std::string ConnectionName(const pg::Connection& conn) {
    const char* host = PQhost(conn.Raw());
    const char* port = PQport(conn.Raw());
    return fmt::format("{}:{}", host ? host : "?", port ? port : "?");
}

// Replay position of a replica, waiting up to a second for it to reach `primary_lsn` (a replica that
// streams catches up in milliseconds; one that does not is behind).
void ReadReplayState(pg::Connection& replica, const std::optional<std::string>& primary_lsn,
                     ReplicaReport& rr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (;;) {
        pg::Result r = replica.Exec(
            "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() AND $1::text IS NOT NULL THEN "
            "greatest(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::bigint END, "
            "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, "
            "CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END, "
            "(SELECT status FROM pg_stat_wal_receiver LIMIT 1)",
            {primary_lsn});
        rr.in_recovery = r.Get(0, 0) == "t";
        rr.behind_bytes = r.GetOptInt(0, 1);
        rr.replay_paused = r.Get(0, 3) == "t";
        rr.receiver = r.GetOpt(0, 4);
        if (!rr.Behind() || std::chrono::steady_clock::now() > deadline || rr.replay_paused) {
            if (rr.Behind()) {
                auto since = r.GetOpt(0, 2);
                rr.lag_seconds = since ? std::optional<double>(std::stod(*since)) : std::nullopt;
            } else if (rr.behind_bytes) {
                rr.lag_seconds = 0;
            }
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

} // namespace

ReplicaReport CheckReplica(const std::string& dsn, pg::Connection& primary, const Report& report,
                           const Options& options, const sync::Target* signals_target,
                           const sync::Target* composite_target) {
    ReplicaReport rr;
    std::optional<std::string> primary_lsn = PrimaryLsn(primary);
    auto replica = pg::Connection::Open(dsn, "pgsplit verify (replica)");
    rr.name = ConnectionName(replica);
    ReadReplayState(replica, primary_lsn, rr);
    if (!rr.in_recovery) {
        rr.notes.push_back(
            "not a standby (pg_is_in_recovery() is false): its rows are compared, its lag is not");
    }
    if (!primary_lsn) {
        rr.notes.push_back("the primary DSN names a standby too: replay lag is not measured");
    }

    std::vector<std::string> months;
    for (const auto& m : report.months) {
        months.push_back(m.month);
    }
    auto rs = signals::CountMonthRows(replica, signals::kSignalsTarget, months);
    auto rc = signals::CountMonthRows(replica, signals::kCompositeTarget, months);
    for (const auto& m : report.months) {
        std::vector<std::string> what;
        for (auto [t, counts, target] :
             {std::tuple{&m.signals, &rs, signals_target}, std::tuple{&m.composite, &rc, composite_target}}) {
            int64_t n = counts->count(m.month) ? counts->at(m.month) : 0;
            if (n != t->postgres_rows) {
                what.push_back(fmt::format("{} has {} rows, the primary {}", t->name, n, t->postgres_rows));
                continue;
            }
            if (t->content && t->content->postgres && target) {
                auto digest = ServerDigest(replica, *target, "year_month", m.month);
                if (digest != *t->content->postgres) {
                    what.push_back(fmt::format("{} content differs from the primary's", t->name));
                }
            }
        }
        if (what.empty()) {
            continue;
        }
        rr.differing_months.push_back(m.month);
        std::string joined;
        for (const auto& w : what) {
            joined += (joined.empty() ? "" : "; ") + w;
        }
        if (rr.Behind()) {
            rr.notes.push_back(fmt::format("{}: {} (the replica has not replayed it yet)", m.month, joined));
        } else {
            rr.problems.push_back(fmt::format("{}: {}, and the replica is not behind", m.month, joined));
        }
    }

    if (rr.Behind()) {
        std::string lag = rr.lag_seconds ? HumanDuration(*rr.lag_seconds * 1000) : "an unknown time";
        std::string why = rr.replay_paused ? " (replay is paused: pg_wal_replay_pause())" : "";
        std::string msg =
            fmt::format("replay is {} behind the primary ({} bytes of WAL){}{}", lag, *rr.behind_bytes, why,
                        rr.differing_months.empty()
                            ? ""
                            : fmt::format("; {} month(s) differ because of it", rr.differing_months.size()));
        // Without a replayed transaction since the standby started there is no time to measure from:
        // said, and not counted against --max-replica-lag.
        if (!rr.lag_seconds) {
            rr.notes.push_back(msg +
                               "; its lag in time is unknown (no transaction replayed since it started)");
        } else if (*rr.lag_seconds * 1000 > static_cast<double>(options.max_replica_lag.count())) {
            rr.problems.push_back(msg + ", more than --max-replica-lag " + options.max_replica_lag_text);
        } else {
            rr.notes.push_back(msg);
        }
    }
    return rr;
}

} // namespace pgsplit::verify
