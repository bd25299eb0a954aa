#pragma once

// The migration engine (SPEC §4): status, apply, validate, baseline and repair over the files
// (embedded or --dir) and the history table. The pieces: history.h (the table), plan.h (what would
// run and what stops it), session.h (the lock and connection a call works through).

#include "core/log.h"
#include "migrate/plan.h"
#include "migrate/source.h"
#include "pg/connection.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::migrate {

struct Options {
    std::string dsn;
    std::optional<std::string> dir;    // --dir; embedded migrations otherwise
    std::optional<std::string> target; // --target V: stop after V
    bool out_of_order = false;
    bool ignore_pending = false; // validate only
    std::chrono::milliseconds lock_wait{60000};
    std::string lock_timeout = "10s";
    std::string statement_timeout = "30min";
    int lock_timeout_retries = 3;
    std::chrono::milliseconds retry_backoff{1000};
    std::string application_name = "pgsplit migrate";
};

// One finding of Validate: a stable code for machines, the version it is about, a sentence for people.
struct Problem {
    std::string code; // lint, checksum_mismatch, missing_file, out_of_order, pending
    std::string version;
    std::string message;
};

struct ApplyResult {
    std::vector<Entry> applied; // in order, with execution_ms
    std::vector<Entry> pending; // what is left (after --target) or what would run (dry run)
    bool dry_run = false;
};

// The migration engine. Each public call connects, does its work and disconnects.
class Migrator {
public:
    Migrator(const Logger& log, Options options);

    const std::vector<MigrationFile>& Files() const { return files_; }

    // Read-only view of files vs history (no lock, nothing created).
    std::vector<Entry> Status();

    // Applies pending files under the migration lock. Throws Error(Verify) on checksum mismatch or
    // out-of-order files, Error(Lock) when the lock or a DDL lock is not obtained in time.
    ApplyResult Apply(bool dry_run);

    // Every problem found (checksum, missing file, out-of-order, pending unless ignored, bad files).
    std::vector<Problem> Validate();

    // Records files up to `version` as applied without running them. Returns the versions recorded.
    std::vector<Entry> Baseline(const std::string& version);

    // Realigns stored checksums/descriptions with the files. With apply=false, only reports.
    std::vector<Entry> Repair(bool apply);

private:
    std::optional<long long> Target() const;
    Entry ApplyFile(pg::Connection& c, const MigrationFile& f);

    const Logger& log_;
    Options opt_;
    std::vector<MigrationFile> files_;
};

} // namespace pgsplit::migrate
