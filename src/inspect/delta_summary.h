#pragma once

// `pgsplit inspect delta` without --rows: what a snapshot holds, from its log alone (no data file is
// opened): partitions with file counts, stats.numRecords and bytes, the schema and protocol, and
// optionally every file; shown as text or one JSON document.

#include "delta/table.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::inspect {

struct PartitionSummary {
    nlohmann::json values = nlohmann::json::object(); // partition column -> value (or null)
    int64_t files = 0;
    int64_t bytes = 0;
    int64_t records = 0;       // live rows: numRecords minus what deletion vectors delete
    bool records_known = true; // false when a file has no stats.numRecords
    int64_t deleted = 0;       // rows deletion vectors delete (already left out of `records`)
};

struct DeltaSummary {
    std::map<std::string, PartitionSummary> partitions; // by label ("2024-03", "a=1/b=2", "" unpartitioned)
    PartitionSummary total;
};

DeltaSummary Summarise(const delta::Snapshot& snap, const std::vector<const delta::AddFile*>& files);

struct DeltaView {
    const std::string& uri;
    const delta::Snapshot& snap;
    const std::vector<const delta::AddFile*>& files; // the selected files
    const DeltaSummary& summary;
    std::optional<std::string> month; // --month, when the files were selected by it
    bool by_stats = false;            // ... by file statistics (an upper bound), not by partition
    bool show_files = false;          // --files
};

std::string RenderDeltaText(const DeltaView& v);
nlohmann::ordered_json RenderDeltaJson(const DeltaView& v);

} // namespace pgsplit::inspect
