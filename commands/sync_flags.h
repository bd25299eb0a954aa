#pragma once

// Flags shared by `sync-signals` and `sync` (one definition, so the two commands cannot drift).

#include "commands/context.h"
#include "sync/partition_sync.h"

#include <CLI/CLI.hpp>
#include <string>

namespace pgsplit {

struct SyncFlags {
    std::string strategy = "auto";
    bool skip_invalid = false;
    bool truncate_timestamps = false;
    bool allow_empty = false;
    int64_t delta_version = -1;
    int jobs = 1;
    std::string swap_lock_timeout = "2s";
    int swap_retries = 5;
    bool claim = false;
    int io_concurrency = 8;
};

// Adds --strategy, --skip-invalid, --truncate-timestamps, --allow-empty, --delta-version, --jobs,
// --swap-lock-timeout, --swap-retries, --claim and --io-concurrency. `unit` names what --jobs runs in
// parallel ("months").
void AddSyncFlags(CLI::App& app, SyncFlags& flags, const std::string& unit);

// SyncOptions from the flags and the environment (POSTGRES_SIGNALS_VERIFY_COUNTS). Throws
// Error(Usage) for a bad duration and Error(Config) for a bad boolean.
sync::SyncOptions ToSyncOptions(const Context& ctx, const SyncFlags& flags);

} // namespace pgsplit
