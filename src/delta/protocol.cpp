#include "core/error.h"
#include "delta/column_mapping.h"
#include "delta/log.h"

#include <algorithm>
#include <fmt/format.h>

namespace pgsplit::delta {
namespace {

// Reader features this reader implements fully:
// - timestampNtz: timestamp_ntz columns are read as zone-less microseconds.
// - vacuumProtocolCheck: asks nothing of readers (it only stops old writers from vacuuming).
// - deletionVectors: rows a file's deletion vector marks are dropped (delta/deletion_vector.h).
// - columnMapping: columns are found by physical name or field id (delta/column_mapping.h).
// - v2Checkpoint: UUID-named checkpoints in JSON or Parquet, with sidecars (delta/log.cpp).
// - typeWidening (and its preview name): files written before a widening are read at the table's
//   current type (delta/scan.cpp).
const std::vector<std::string> kSupported = {"timestampNtz",        "vacuumProtocolCheck", "deletionVectors",
                                             "columnMapping",       "v2Checkpoint",        "typeWidening",
                                             "typeWidening-preview"};

std::string Describe(const std::string& feature) {
    if (feature == "deletionVectors") {
        return "deletion vectors (reader feature deletionVectors)";
    }
    if (feature == "columnMapping") {
        return "column mapping (reader feature columnMapping)";
    }
    if (feature == "v2Checkpoint") {
        return "v2 checkpoints (reader feature v2Checkpoint)";
    }
    if (feature.rfind("typeWidening", 0) == 0) {
        return fmt::format("type widening (reader feature {})", feature);
    }
    if (feature.rfind("variantType", 0) == 0) {
        return fmt::format("the variant type (reader feature {})", feature);
    }
    return fmt::format("reader feature {}", feature);
}

Error Refuse(const std::string& table, const std::string& what) {
    return Error(
        ExitCode::Source, fmt::format("table '{}' uses {}, which pgsplit does not support", table, what),
        "pgsplit refuses rather than return rows a complete Delta reader would not; read the table with "
        "a Delta engine or rewrite it without the feature");
}

void CheckType(const DataType& type, const std::string& column, const std::string& table) {
    if (type.kind == TypeKind::Other) {
        throw Refuse(table, fmt::format("type '{}' (column '{}')", type.name, column));
    }
    for (const auto& f : type.fields) {
        CheckType(f.type, column + "." + f.name, table);
    }
    if (type.element) {
        CheckType(*type.element, column, table);
    }
    if (type.key) {
        CheckType(*type.key, column, table);
    }
}

} // namespace

const std::vector<std::string>& SupportedReaderFeatures() {
    return kSupported;
}

void CheckReadable(const Protocol& protocol, const Metadata& metadata, const std::vector<AddFile>& files,
                   const std::string& table) {
    int r = protocol.min_reader_version;
    if (r < 1 || r > 3) {
        throw Error(ExitCode::Source,
                    fmt::format("table '{}' needs Delta reader version {} (minReaderVersion); pgsplit reads "
                                "versions 1 to 3",
                                table, r),
                    "the table was written by a newer Delta engine or its protocol action is corrupt");
    }
    if (r == 3) {
        if (!protocol.reader_features) {
            throw Error(
                ExitCode::Source,
                fmt::format("table '{}': protocol has minReaderVersion 3 but no readerFeatures", table),
                "the protocol action is invalid; the table cannot be read safely");
        }
        for (const auto& feature : *protocol.reader_features) {
            if (std::find(kSupported.begin(), kSupported.end(), feature) == kSupported.end()) {
                throw Refuse(table, Describe(feature));
            }
        }
    }
    // Reader version 2 means column mapping may be in use; the mode in the configuration says how
    // files are read, and an unknown mode is refused (ColumnMappingMode throws).
    (void)ColumnMappingMode(metadata, table);
    (void)files;
    for (const auto& f : metadata.schema.fields) {
        CheckType(f.type, f.name, table);
    }
}

} // namespace pgsplit::delta
