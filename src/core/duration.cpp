#include "core/duration.h"

#include "core/error.h"

#include <cctype>
#include <fmt/format.h>

namespace pgsplit {

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        ++i;
    }
    if (i == 0 || i > 15) {
        return std::nullopt;
    }
    double value = 0;
    try {
        size_t used = 0;
        value = std::stod(text.substr(0, i), &used);
        if (used != i) {
            return std::nullopt;
        }
    } catch (...) {
        return std::nullopt;
    }
    std::string unit = text.substr(i);
    double factor = 0;
    if (unit.empty() || unit == "s") {
        factor = 1000;
    } else if (unit == "ms") {
        factor = 1;
    } else if (unit == "m" || unit == "min") {
        factor = 60'000;
    } else if (unit == "h") {
        factor = 3'600'000;
    } else if (unit == "d") {
        factor = 86'400'000;
    } else {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<long long>(value * factor));
}

std::chrono::milliseconds RequireDuration(const std::string& flag, const std::string& text) {
    auto d = ParseDuration(text);
    if (!d) {
        throw Error(ExitCode::Usage, fmt::format("{} '{}' is not a duration", flag, text),
                    "use a number with a unit: 500ms, 30s, 5m, 36h, 7d (a bare number is seconds)");
    }
    return *d;
}

} // namespace pgsplit
