#pragma once

// Shared set-up of the verify tests: a migrated throwaway database, months synced from the fixture
// Delta tables (tests/fixtures/sync.mjs via scripts/fixtures.sh) by the built binary, and copies of a
// fixture table that tests may damage.

#include "migrate/migrator.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"
#include "verify/verify.h"

#include <algorithm>
#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgsplit::test {

inline void MigrateForVerify(const TestDatabase& db) {
    MigrateQuietly(db);
}

// POSTGRES_DSN plus the two table locations of `dir` (a scenario directory or a copy of one).
inline std::map<std::string, std::string> VerifyEnv(const TestDatabase& db,
                                                    const std::filesystem::path& dir) {
    return SyncTablesEnv(db.Dsn(), dir);
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

// Every problem of a report, one per line, for failure messages.
inline std::string ReportProblems(const verify::Report& r) {
    std::string out;
    for (const auto& p : r.AllProblems()) {
        out += p + "\n";
    }
    return out;
}

// The report's month `month` (the test fails when the report has none).
inline const verify::MonthReport& ReportMonth(const verify::Report& r, const std::string& month) {
    auto it = std::find_if(r.months.begin(), r.months.end(), [&](const auto& m) { return m.month == month; });
    REQUIRE_MESSAGE(it != r.months.end(), "month ", month, " not in the report");
    return *it;
}

// Copies both tables of a scenario into `into`.
inline std::filesystem::path CopyScenario(const std::string& name, const std::filesystem::path& into) {
    std::filesystem::copy(SyncScenario(name), into, std::filesystem::copy_options::recursive);
    return into;
}

} // namespace pgsplit::test
