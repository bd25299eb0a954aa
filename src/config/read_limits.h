#pragma once

// The memory limit of one Parquet reader (data files and Delta checkpoints), from the configuration.

#include "config/config.h"

#include <cstdint>

namespace pgsplit {

// PGSPLIT_READ_MEMORY_MB > file `read.memory_mb` > 192 MiB, in bytes (the rest of the
// process fits beside it in 256 MiB). A value that is not a whole
// number of MiB between 16 and 1048576 is Error(Config) naming the setting.
uint64_t ReadMemoryLimit(const Config& config);

} // namespace pgsplit
