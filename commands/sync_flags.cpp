#include "commands/sync_flags.h"

#include "core/duration.h"

namespace pgsplit {

void AddSyncFlags(CLI::App& app, SyncFlags& f, const std::string& unit) {
    app.add_option("--strategy", f.strategy, "swap (stage + partition swap), delete (DELETE + COPY), auto")
        ->check(CLI::IsMember({"auto", "swap", "delete"}));
    app.add_flag("--skip-invalid", f.skip_invalid, "drop rows Postgres cannot store; count and record them");
    app.add_flag("--truncate-timestamps", f.truncate_timestamps, "keep the date of non-midnight timestamps");
    app.add_flag("--allow-empty", f.allow_empty,
                 "replace " + unit + " Delta has no rows for with nothing, and record " + unit +
                     " empty on both sides (default: refuse, exit 7)");
    app.add_option("--delta-version", f.delta_version, "read this Delta version instead of the latest")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--jobs", f.jobs, unit + " synced in parallel, each on its own connection (default 1)")
        ->check(CLI::Range(1, 32));
    app.add_option("--swap-lock-timeout", f.swap_lock_timeout,
                   "lock_timeout of each swap attempt (default 2s)")
        ->type_name("DURATION");
    app.add_option("--swap-retries", f.swap_retries, "swap attempts after the first (default 5)")
        ->check(CLI::Range(0, 50));
    app.add_flag("--claim", f.claim,
                 "share the " + unit + " with other processes started with the same range: each " +
                     "takes the ones no other holds (runbooks/backfill.md)");
    app.add_option("--io-concurrency", f.io_concurrency,
                   "requests in flight per remote table, reading ahead (default 8; 1 = one at a time)")
        ->check(CLI::Range(1, 64));
}

sync::SyncOptions ToSyncOptions(const Context& ctx, const SyncFlags& f) {
    sync::SyncOptions o;
    o.strategy = f.strategy == "swap"     ? sync::Strategy::Swap
                 : f.strategy == "delete" ? sync::Strategy::Delete
                                          : sync::Strategy::Auto;
    o.skip_invalid = f.skip_invalid;
    o.truncate_timestamps = f.truncate_timestamps;
    o.allow_empty = f.allow_empty;
    o.verify_counts = ctx.config.SignalsVerifyCounts();
    o.swap_lock_timeout = RequireDuration("--swap-lock-timeout", f.swap_lock_timeout);
    o.swap_retries = f.swap_retries;
    o.io_concurrency = f.io_concurrency;
    if (f.delta_version >= 0) {
        o.delta_version = f.delta_version;
    }
    return o;
}

} // namespace pgsplit
