#include "runs/runs_fixture.h"

#include "migrate/migrator.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit::test {
namespace {

const Logger& QuietLog() {
    static Logger log(LogFormat::Text, LogLevel::Error, false);
    return log;
}

void Insert(pg::Connection& conn, const std::string& run_id, const std::string& status,
            const std::string& submitted, const std::string& started, const std::string& completed,
            const std::optional<std::string>& run_name, const std::optional<std::string>& error,
            const std::string& config) {
    // Times are SQL expressions over the transaction's now(); text values go as parameters.
    std::string sql = fmt::format(
        "INSERT INTO backtest.runs (run_id, status, submitted_at, started_at, completed_at, run_name, "
        "start_date, end_date, output_dir, adls_container, adls_prefix, error, config_json, "
        "effective_config_json) "
        "SELECT $1, $2, s, ({1})::timestamptz, ({2})::timestamptz, $3, '2020-01-01', '2024-12-31', $4, "
        "'backtests', $5, $6, $7, $8 "
        "FROM (SELECT ({0})::timestamptz AS s) t",
        submitted, started, completed);
    nlohmann::json effective = nlohmann::json::parse(config);
    effective["resolved"] = true;
    conn.Exec(sql, {run_id, status, run_name, "/runs/" + run_id, "runs/" + run_id, error, config,
                    effective.dump()});
}

} // namespace

const std::string& LongConfigJson() {
    static const std::string text = [] {
        nlohmann::ordered_json j;
        j["zeta_strategy"] = "momentum";
        j["alpha"] = 0.25;
        j["universe"] = {{"name", "S&P 500 — 全部"}, {"exclude", {"BRK.B", "GOOG"}}};
        for (int i = 0; i < 150; ++i) {
            j["params"][fmt::format("param_{:03}", 149 - i)] = i;
        }
        j["notes"] = std::string(2000, 'x');
        return j.dump();
    }();
    return text;
}

void ApplySchema(const TestDatabase& db) {
    migrate::Options o;
    o.dsn = db.Dsn();
    migrate::Migrator(QuietLog(), o).Apply(false);
}

void SeedRuns(const TestDatabase& db) {
    ApplySchema(db);
    auto conn = db.Connect();
    conn.Exec("BEGIN");
    const std::string small = R"({"strategy":"momentum","lookback":12})";
    Insert(conn, "q1", "queued", "now() - interval '5 minutes'", "NULL", "NULL", std::nullopt, std::nullopt,
           small);
    Insert(conn, "q3", "queued", "now() - interval '2 hours'", "NULL", "NULL", std::string(kUnicodeName),
           std::nullopt, small);
    Insert(conn, "r2", "running", "now() - interval '7 hours' - interval '210 seconds'",
           "now() - interval '7 hours'", "NULL", std::string("long running"), std::nullopt, small);
    Insert(conn, "q2", "queued", "now() - interval '8 hours'", "NULL", "NULL", std::string("stuck in queue"),
           std::nullopt, small);
    Insert(conn, "r1", "running", "now() - interval '10 hours'", "now() - interval '1 hour'", "NULL",
           std::string("waited long"), std::nullopt, small);
    for (int i = 1; i <= 18; ++i) {
        std::string submitted = fmt::format("now() - interval '1 day' - interval '{} hours'", i);
        std::string started = fmt::format("s + interval '{} seconds'", i * 10);
        std::string completed = fmt::format("s + interval '{} seconds' + interval '{} minutes'", i * 10, i);
        Insert(conn, fmt::format("c{:02}", i), "completed", submitted, started, completed,
               fmt::format("completed {}", i), std::nullopt, i == 1 ? LongConfigJson() : small);
    }
    Insert(conn, "f1", "failed", "now() - interval '3 days'", "s + interval '190 seconds'",
           "s + interval '190 seconds' + interval '19 minutes'", std::string("oom"),
           std::string("out of memory in worker"), small);
    Insert(
        conn, "f2", "failed", "now() - interval '4 days'", "s + interval '200 seconds'",
        "s + interval '200 seconds' + interval '20 minutes'", std::string("traceback"),
        std::string("Traceback (most recent call last):\n  File \"run.py\", line 3\nValueError: bad window"),
        small);
    Insert(conn, "f3", "failed", "now() - interval '10 days'", "NULL", "now() - interval '9 days'",
           std::string("never started"), std::string("rejected: " + std::string(300, 'e')), small);
    conn.Exec("COMMIT");
}

} // namespace pgsplit::test
