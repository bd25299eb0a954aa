#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgsplit::signals {

// "YYYY-MM" with a month 01-12, or nullopt.
std::optional<std::pair<int, int>> ParseMonth(const std::string& text);

// The months to sync from repeated --month and/or --from/--to, sorted, without duplicates.
// Throws Error(Usage) naming the bad value (format, --from after --to, only one of --from/--to,
// nothing given, more than 1200 months).
std::vector<std::string> ResolveMonths(const std::vector<std::string>& months, const std::string& from,
                                       const std::string& to);

} // namespace pgsplit::signals
