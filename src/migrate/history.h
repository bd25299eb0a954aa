#pragma once

// public.schema_migrations, the history table: reading it (a legacy runner's table included),
// creating or upgrading it, and the rows apply, baseline and repair write.

#include "core/log.h"
#include "migrate/source.h"
#include "pg/connection.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::migrate {

// What `applied_by` ends with for a row recorded by 'migrate baseline'.
inline constexpr const char* kBaselineMark = " (baseline)";

// Numeric value of a version, accepting the legacy runner's forms ("0003", "0003_ranking_signals",
// "0003_ranking_signals.sql"). nullopt when the text does not start with digits.
std::optional<long long> VersionNumber(const std::string& v);

struct HistoryRow {
    std::string version; // as stored
    std::optional<std::string> applied_at, description, checksum, applied_by, tool_version;
    std::optional<int64_t> execution_ms;
};

// Every row, whatever columns the table has (none when it does not exist).
std::vector<HistoryRow> ReadHistory(pg::Connection& c);

// Creates or upgrades the history table (using migration 0001's own text, so there is one
// definition) and adopts rows written by the legacy runner: version names normalized, checksum
// filled in. Call it under the migration lock.
void Bootstrap(pg::Connection& c, const std::vector<MigrationFile>& files, const Logger& log);

// The row of a file just applied, in the caller's transaction (or alone, for a no-transaction file).
void RecordApplied(pg::Connection& c, const MigrationFile& f, int64_t execution_ms);

// The row of a file recorded as applied without running it.
void RecordBaseline(pg::Connection& c, const std::string& version, const std::string& description,
                    const std::optional<std::string>& checksum);

// A stored checksum and description realigned with the file.
void RecordRepair(pg::Connection& c, const std::string& version, const std::string& description,
                  const std::optional<std::string>& checksum);

} // namespace pgsplit::migrate
