#pragma once

// Where the phase-2 signal tables live in Delta, shared by sync-signals and verify.

#include "config/config.h"

#include <string>

namespace pgsplit::sync {

// The Delta table URI for one source: `flag_value` when given, else env `env`, else the config-file
// key `file_key`. Throws Error(Config) naming all three when none is set.
std::string SourceFor(const Config& config, const std::string& flag_value, const char* flag, const char* env,
                      const char* file_key);

// The ranking_signal / composite_signal_daily sources with their documented flag, env and file key.
std::string SignalsSource(const Config& config, const std::string& flag_value);
std::string CompositeSource(const Config& config, const std::string& flag_value);

} // namespace pgsplit::sync
