#pragma once

// The sync fixtures (tests/fixtures/sync.mjs, written by DuckDB) as the sync, CLI and output tests use
// them: a scenario's folder and expected.json, the environment that points sync-signals at it, the
// schema applied through the library, and one sync-signals run of the built binary.

#include "migrate/migrator.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgsplit::test {

inline std::filesystem::path SyncScenario(const std::string& name) {
    auto dir = FixturesDir() / "sync" / name;
    REQUIRE_MESSAGE(std::filesystem::exists(dir / "expected.json"),
                    "sync fixtures are missing: run scripts/fixtures.sh (expected ", dir.string(), ")");
    return dir;
}

inline nlohmann::json SyncExpected(const std::string& name) {
    return nlohmann::json::parse(ReadText((SyncScenario(name) / "expected.json").string()));
}

// POSTGRES_DSN and both signal tables of a scenario (or of `dir`, a folder holding the two tables).
inline std::map<std::string, std::string> SyncTablesEnv(const std::string& dsn,
                                                        const std::filesystem::path& dir) {
    return {{"POSTGRES_DSN", dsn},
            {"PGSPLIT_SIGNALS_TABLE", (dir / "ranking_signal").string()},
            {"PGSPLIT_COMPOSITE_TABLE", (dir / "composite_signal_daily").string()}};
}

inline std::map<std::string, std::string> SyncEnv(const std::string& dsn, const std::string& scenario) {
    return SyncTablesEnv(dsn, SyncScenario(scenario));
}

// Migrations 0001-0004 through the library, quietly.
inline void MigrateQuietly(const TestDatabase& db) {
    migrate::Options o;
    o.dsn = db.Dsn();
    Logger quiet(LogFormat::Text, LogLevel::Error, false);
    migrate::Migrator(quiet, o).Apply(false);
}

// `pgsplit sync-signals ARGS` against a scenario, with `extra` environment on top.
inline ProcResult RunSyncSignals(const TestDatabase& db, const std::string& scenario,
                                 std::vector<std::string> args,
                                 const std::map<std::string, std::string>& extra = {}) {
    auto env = SyncEnv(db.Dsn(), scenario);
    for (const auto& [k, v] : extra) {
        env[k] = v;
    }
    args.insert(args.begin(), "sync-signals");
    return RunPgsplit(args, env);
}

// A user-declared target for the generic `pgsplit sync NAME`: monitoring.composite_copy, four columns
// of the composite fixture (plus `extra` column definitions), list-partitioned like the signal tables.
inline void CreateCopyTable(const TestDatabase& db, const std::string& extra = "") {
    db.Connect().Exec("CREATE TABLE monitoring.composite_copy (date DATE NOT NULL, year_month TEXT NOT NULL, "
                      "symbol TEXT, composite_rank INTEGER" +
                      extra + ", PRIMARY KEY (date, symbol, year_month)) PARTITION BY LIST (year_month)");
}

// The pgsplit.yaml declaring `composite_copy`: the scenario's composite table into `target`.
inline std::string CopyTableConfig(const std::string& target = "monitoring.composite_copy",
                                   const std::string& scenario = "basic") {
    return "tables:\n  composite_copy:\n    source: " +
           (SyncScenario(scenario) / "composite_signal_daily").string() + "\n    target: " + target +
           "\n    partition_column: year_month\n";
}

} // namespace pgsplit::test
