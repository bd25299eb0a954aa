#include "sync/sources.h"

#include "core/error.h"

#include <fmt/format.h>

namespace pgsplit::sync {

std::string SourceFor(const Config& config, const std::string& flag_value, const char* flag, const char* env,
                      const char* file_key) {
    if (!flag_value.empty()) {
        return flag_value;
    }
    if (auto v = config.Setting(env, file_key)) {
        return *v;
    }
    throw Error(ExitCode::Config, fmt::format("no Delta table location for {}", flag),
                fmt::format("pass {} URI, set {}, or set {} in pgsplit.yaml", flag, env, file_key));
}

std::string SignalsSource(const Config& config, const std::string& flag_value) {
    return SourceFor(config, flag_value, "--signals-table", "PGSPLIT_SIGNALS_TABLE", "signals.signals_table");
}

std::string CompositeSource(const Config& config, const std::string& flag_value) {
    return SourceFor(config, flag_value, "--composite-table", "PGSPLIT_COMPOSITE_TABLE",
                     "signals.composite_table");
}

} // namespace pgsplit::sync
