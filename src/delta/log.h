#pragma once

// Log replay (internal to src/delta): turns `_delta_log/` into the state of one version.

#include "delta/types.h"
#include "storage/storage.h"

#include <optional>
#include <string>
#include <vector>

namespace pgsplit::delta {

// One file of `_delta_log/` that matters for replay.
struct LogFile {
    enum class Kind { Commit, Checkpoint, CheckpointPart, CheckpointV2 };
    Kind kind = Kind::Commit;
    int64_t version = 0;
    int part = 0;  // CheckpointPart: 1-based part number
    int parts = 0; // CheckpointPart: number of parts
    std::string name;
    uint64_t size = 0;
};

// Classifies a `_delta_log/` file name; nullopt for anything replay ignores (.crc, _last_checkpoint,
// compacted logs, temporary files).
std::optional<LogFile> ParseLogFileName(const std::string& name, uint64_t size);

struct LogState {
    int64_t version = -1;
    std::optional<Protocol> protocol;
    std::optional<Metadata> metadata;
    std::vector<AddFile> files;                // sorted by path
    std::optional<int64_t> checkpoint_version; // the checkpoint replay started from
    std::vector<std::string> checkpoint_files; // its file names
    int64_t commits_read = 0;
    std::vector<std::string> notes; // fallbacks taken (corrupt _last_checkpoint, ...)
};

// Replays the log up to `version` (latest when nullopt). Throws Error(Source) naming the table, the
// file and the stage for a missing or non-contiguous commit, unparsable JSON, an unreadable
// checkpoint, or a requested version that does not exist.
LogState ReplayLog(storage::Storage& storage, std::optional<int64_t> version);

// Refuses (Error(Source), naming the feature) a table whose protocol or metadata needs something this
// reader does not implement.
void CheckReadable(const Protocol& protocol, const Metadata& metadata, const std::vector<AddFile>& files,
                   const std::string& table);

// Reader features this reader implements.
const std::vector<std::string>& SupportedReaderFeatures();

} // namespace pgsplit::delta
