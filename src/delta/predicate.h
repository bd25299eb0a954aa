#pragma once

// A filter `column = value` (value nullopt: IS NULL) bound to its schema column, its value parsed
// once into the column's type, and asked at each level a read passes: a file (its partition value,
// else the min/max/null counts of its log stats), a row group (its chunk statistics), and the rows
// of a batch or of a record. The file and row-group answers are "may match": true whenever the
// statistics cannot tell.

#include "delta/table.h"
#include "parquet/reader.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::delta {

class BoundPredicate {
public:
    // Throws Error(Usage) naming the table when its schema has no such column; for a partition
    // column, Error(Source) when the value is not one of the column's type.
    BoundPredicate(const Predicate& predicate, const Snapshot& snapshot);

    const Predicate& Get() const { return predicate_; }
    const StructField& Field() const { return *field_; }
    bool OnPartitionColumn() const { return partition_; }

    // A file's partition value equals the value (typed: "2021.0" and "2021" agree), or, for another
    // column, its stats do not rule the value out.
    bool MayMatchFile(const AddFile& file) const;

    // Whether a row group may hold the value in `leaf`, by its chunk statistics. Strings are trusted
    // only when everything is ASCII: legacy min/max of old writers used signed byte order
    // (PARQUET-686), which agrees with the correct order below 0x80.
    bool MayMatchRowGroup(const parquet::ChunkInfo& chunk, const parquet::Column& leaf) const;

    // Marks in `keep` the rows of `b` (the column's batch) equal to the value; returns how many. NULL
    // matches only IS NULL. Throws Error(Usage) for a type rows cannot be filtered on.
    size_t Match(const parquet::ColumnBatch& b, std::vector<uint8_t>& keep) const;

    // The value in the SPEC §6b form rows are rendered in (what a record's value is compared to).
    // Throws Error(Source) when the value is not one of the column's type.
    nlohmann::json TypedValue() const;

private:
    bool StatsMayMatch(const AddFile& file) const;

    Predicate predicate_;
    const Snapshot* snapshot_;
    const StructField* field_;
    bool partition_;
    std::optional<int64_t> integer_; // the value as an integer, when it is one
    std::optional<int32_t> date_;    // the value as a date (days since 1970), when it is one
    nlohmann::json partition_typed_; // partition columns: the typed value files are compared to
};

} // namespace pgsplit::delta
