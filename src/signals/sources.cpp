#include "signals/sources.h"

#include "core/error.h"

#include <fmt/format.h>

namespace pgsplit::signals {

namespace {

std::string SourceFor(const std::string& flag_value, const std::optional<std::string>& configured,
                      const char* flag, const char* setting_names) {
    if (!flag_value.empty()) {
        return flag_value;
    }
    if (configured) {
        return *configured;
    }
    throw Error(ExitCode::Config, fmt::format("no Delta table location for {}", flag),
                fmt::format("pass {} URI, set {}", flag, setting_names));
}

} // namespace

std::string SignalsSource(const Config& config, const std::string& flag_value) {
    return SourceFor(flag_value, config.Signals().signals_table, "--signals-table",
                     "PGSPLIT_SIGNALS_TABLE, or set signals.signals_table in pgsplit.yaml");
}

std::string CompositeSource(const Config& config, const std::string& flag_value) {
    return SourceFor(flag_value, config.Signals().composite_table, "--composite-table",
                     "PGSPLIT_COMPOSITE_TABLE, or set signals.composite_table in pgsplit.yaml");
}

} // namespace pgsplit::signals
