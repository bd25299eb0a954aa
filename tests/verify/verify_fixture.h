#pragma once

// Shared set-up of the verify tests: a migrated throwaway database, months synced from the fixture
// Delta tables (tests/fixtures/sync.mjs via scripts/fixtures.sh) by the built binary, and copies of a
// fixture table that tests may damage.

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

inline void MigrateForVerify(const TestDatabase& db) {
    migrate::Options o;
    o.dsn = db.Dsn();
    Logger quiet(LogFormat::Text, LogLevel::Error, false);
    migrate::Migrator(quiet, o).Apply(false);
}

// POSTGRES_DSN plus the two table locations of `dir` (a scenario directory or a copy of one).
inline std::map<std::string, std::string> VerifyEnv(const TestDatabase& db,
                                                    const std::filesystem::path& dir) {
    return {{"POSTGRES_DSN", db.Dsn()},
            {"PGSPLIT_SIGNALS_TABLE", (dir / "ranking_signal").string()},
            {"PGSPLIT_COMPOSITE_TABLE", (dir / "composite_signal_daily").string()}};
}

// Syncs with the real binary; `args` after "sync-signals".
inline void SyncMonths(const TestDatabase& db, const std::filesystem::path& dir,
                       std::vector<std::string> args) {
    args.insert(args.begin(), "sync-signals");
    auto r = RunPgsplit(args, VerifyEnv(db, dir));
    REQUIRE_MESSAGE(r.exit_code == 0, r.All());
}

inline bool VerifyHas(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Copies both tables of a scenario into `into`.
inline std::filesystem::path CopyScenario(const std::string& name, const std::filesystem::path& into) {
    std::filesystem::copy(SyncScenario(name), into, std::filesystem::copy_options::recursive);
    return into;
}

} // namespace pgsplit::test
