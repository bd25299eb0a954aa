#include "config/read_limits.h"

#include "core/error.h"

#include <algorithm>
#include <fmt/format.h>

namespace pgsplit {

uint64_t ReadMemoryLimit(const Config& config) {
    constexpr uint64_t kDefaultMiB = 192;
    auto mb = config.Setting("PGSPLIT_READ_MEMORY_MB", "read.memory_mb");
    if (!mb) {
        return kDefaultMiB << 20;
    }
    bool digits = !mb->empty() && mb->size() <= 7 &&
                  std::all_of(mb->begin(), mb->end(), [](char c) { return c >= '0' && c <= '9'; });
    uint64_t v = digits ? std::stoull(*mb) : 0;
    if (v < 16 || v > 1048576) {
        throw Error(
            ExitCode::Config,
            fmt::format("PGSPLIT_READ_MEMORY_MB (or read.memory_mb) '{}' is not a whole number of MiB "
                        "between 16 and 1048576",
                        *mb),
            "give the memory limit of one Parquet reader in MiB, e.g. 1024");
    }
    return v << 20;
}

} // namespace pgsplit
