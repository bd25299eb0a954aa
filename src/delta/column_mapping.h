#pragma once

// Column mapping (PROTOCOL.md, "Column Mapping"): in `name` and `id` mode a column's name in the
// schema (logical) differs from its name in the data files (physical, column metadata
// `delta.columnMapping.physicalName`) and carries a field id (`delta.columnMapping.id`, Parquet
// `field_id`). Partition values and statistics in the log are keyed by physical name too.
//
// The snapshot turns every log key into the logical name once (ToLogicalNames), so pruning,
// predicates and counting know only logical names; the readers of data files ask PhysicalName /
// FieldId when they match a schema column to a Parquet column.

#include "delta/types.h"

#include <optional>
#include <string>
#include <vector>

namespace pgsplit::delta {

enum class MappingMode { None, Name, Id };

// The mode of `delta.columnMapping.mode` (absent: None). Throws Error(Source) naming `table` for a
// mode this reader does not know.
MappingMode ColumnMappingMode(const Metadata& metadata, const std::string& table);

// The name of `field` in data files: its physical name in Name/Id mode, else its name.
const std::string& PhysicalName(const StructField& field, MappingMode mode);

// The field id of `field` (Id mode matching), nullopt when the schema gives none.
std::optional<int32_t> FieldId(const StructField& field);

// Checks that every field, nested ones included, has a physical name, that no two siblings share one,
// and rewrites the partition values and statistics of `files` from physical to logical names. A no-op
// in None mode. Throws Error(Source) naming `table`.
void ToLogicalNames(const Schema& schema, MappingMode mode, std::vector<AddFile>& files,
                    const std::string& table);

} // namespace pgsplit::delta
