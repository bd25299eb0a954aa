#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pgsplit {

// Parses "90", "90s", "500ms", "5m", "36h", "7d" (a bare number is seconds). nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

// Like ParseDuration, but throws Error(Usage) naming the flag when malformed or negative.
std::chrono::milliseconds RequireDuration(const std::string& flag, const std::string& text);

} // namespace pgsplit
