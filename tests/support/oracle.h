#pragma once

// The content oracle of the sync fixtures (tests/fixtures/lib/oracle.mjs): for every month of every
// target at every Delta version, expected.json's "oracle" holds "ROWS:DIGEST" as DuckDB reads the
// Parquet files, and the Postgres query that gives the same string for the synced month. Comparing
// the two checks every value bit for bit, both ways (a missing, extra or duplicated row changes it).

#include "support/pg_cluster.h"

#include <nlohmann/json.hpp>
#include <string>

namespace pgsplit::test {

// What DuckDB says month `month` of `target` holds at `version` ("v0", "v1", ..., "latest"); a month
// the version does not have is empty ("0:<md5 of nothing>").
std::string OracleWant(const nlohmann::json& expected, const std::string& target, const std::string& version,
                       const std::string& month);

// The same summary of what Postgres holds for `month` in `table` (default ranking.<target>).
std::string OracleGot(const TestDatabase& db, const nlohmann::json& expected, const std::string& target,
                      const std::string& month, const std::string& table = "");

} // namespace pgsplit::test
