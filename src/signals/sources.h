#pragma once

// Where the phase-2 signal tables live in Delta, shared by sync-signals and verify.

#include "config/config.h"

#include <string>

namespace pgsplit::signals {

// The ranking_signal / composite_signal_daily Delta URIs: the flag when given, else the configured
// location (Config::Signals). Throws Error(Config) naming the flag, variable and file key when unset.
std::string SignalsSource(const Config& config, const std::string& flag_value);
std::string CompositeSource(const Config& config, const std::string& flag_value);

} // namespace pgsplit::signals
