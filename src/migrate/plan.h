#pragma once

// What a run would do: the migration files matched against the history (one Entry per version,
// in version order), the checks that stop apply before anything runs (a changed file, a file older
// than the newest applied one), and the lint that refuses a file pgsplit cannot run as written.

#include "core/log.h"
#include "migrate/history.h"
#include "migrate/source.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::migrate {

enum class State {
    Applied,          // recorded, checksum matches (or legacy row adopted)
    Pending,          // file not yet applied
    OutOfOrder,       // pending, but older than the newest applied version
    ChecksumMismatch, // applied, file changed since
    MissingFile,      // recorded, no file for it
    Baseline,         // recorded by 'migrate baseline'
    AboveTarget,      // pending, beyond --target
};

const char* StateName(State s);

struct Entry {
    std::string version;
    std::string description;
    std::string name; // file name when there is a file
    State state = State::Pending;
    std::optional<std::string> applied_at;
    std::optional<int64_t> execution_ms;
    std::optional<std::string> stored_checksum;
    std::optional<std::string> file_checksum;
    std::optional<std::string> applied_by;
    std::optional<std::string> tool_version;
};

nlohmann::ordered_json EntryToJson(const Entry& e); // keys in reading order

// The newest version the history records (applied, baseline or changed since), or nullopt on a
// database nothing was applied to.
std::optional<std::string> CurrentVersion(const std::vector<Entry>& entries);

// Files and history side by side: every file (Applied, Baseline, ChecksumMismatch, Pending,
// OutOfOrder, or AboveTarget past `target`), then every recorded version without a file
// (MissingFile), sorted by version.
std::vector<Entry> Compute(const std::vector<MigrationFile>& files, const std::vector<HistoryRow>& history,
                           std::optional<long long> target);

// Throws Error(Verify) when apply must not start: an applied file changed (the hint names the
// repair, with `dir` when the run used one), or pending files older than the newest applied version
// without `allow_out_of_order`. Warns about versions recorded without a file.
void CheckRunnable(const std::vector<Entry>& entries, bool allow_out_of_order,
                   const std::optional<std::string>& dir, const Logger& log);

// A reason the file cannot be run as written, or nullopt.
std::optional<std::string> Lint(const MigrationFile& f);

} // namespace pgsplit::migrate
