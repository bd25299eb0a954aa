#pragma once

// Public API of the Delta reader, used by sync-signals, verify and `inspect delta`.
//
//   auto storage = storage::OpenStorage(uri, ctx.config.Storage());
//   delta::Table table(std::move(storage));
//   delta::Snapshot snap = table.LoadSnapshot();            // or LoadSnapshot(42)
//   delta::Predicate month{"year_month", "2024-03"};
//   for (const AddFile* f : snap.SelectFiles(&month)) { f->num_records ... }   // verify: count from stats
//   delta::Scan scan(snap, table.GetStorage(), {.columns = {...}, .predicate = month});
//   delta::ScanBatch batch;
//   while (scan.Next(batch)) { ... batch.columns[i] is the i-th wanted column ... }   // sync: COPY
//
// Every failure is an Error(ExitCode::Source) naming the table, the file and the stage; a table that
// needs a feature this reader lacks is refused at LoadSnapshot with the feature named.

#include "delta/column_mapping.h"
#include "delta/types.h"
#include "storage/storage.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::delta {

// `column = value`, with `value` written as text and typed by the column (nullopt: IS NULL).
// For a partition column it prunes files; for another column it skips files and row groups by their
// statistics, and the scan then filters rows.
struct Predicate {
    std::string column;
    std::optional<std::string> value;
};

// The state of a table at one version. Cheap to copy around by reference; owns its file list.
class Snapshot {
public:
    int64_t Version() const { return version_; }
    const std::string& TableName() const { return table_; }
    const Protocol& GetProtocol() const { return protocol_; }
    const Metadata& GetMetadata() const { return metadata_; }
    const Schema& GetSchema() const { return metadata_.schema; }
    const std::vector<std::string>& PartitionColumns() const { return metadata_.partition_columns; }
    bool IsPartitionColumn(const std::string& column) const;
    // How schema columns are found in data files (column mapping); the log's partition values and
    // stats are already keyed by logical name.
    MappingMode ColumnMapping() const { return mapping_; }
    // Reader features the table uses, for `inspect delta`: the protocol's readerFeatures, plus what a
    // reader-version-2 table implies (column mapping), deletion vectors present and a v2 checkpoint
    // read.
    std::vector<std::string> FeaturesInUse() const;

    // Every active file, sorted by path.
    const std::vector<AddFile>& Files() const { return files_; }

    // The files that may hold rows matching `predicate` (all files when null). Throws Error(Usage)
    // when the column is not in the schema. Files are never dropped unless the log or their stats
    // prove they cannot match.
    std::vector<const AddFile*> SelectFiles(const Predicate* predicate) const;

    // Rows of `files` from the log alone: the sum of stats.numRecords minus each deletion vector's
    // cardinality, or nullopt when any file lacks numRecords or the counts cannot be right (negative, a
    // DV deleting more rows than the file has, or a sum beyond int64): then count by reading.
    static std::optional<int64_t> CountRecords(const std::vector<const AddFile*>& files);

    // How the snapshot was built (checkpoint used, commits read, fallbacks taken), for inspect/logs.
    std::optional<int64_t> CheckpointVersion() const { return checkpoint_version_; }
    const std::vector<std::string>& CheckpointFiles() const { return checkpoint_files_; }
    int64_t CommitsRead() const { return commits_read_; }
    const std::vector<std::string>& Notes() const { return notes_; }

private:
    friend class Table;
    std::string table_;
    int64_t version_ = -1;
    Protocol protocol_;
    Metadata metadata_;
    MappingMode mapping_ = MappingMode::None;
    std::vector<AddFile> files_;
    std::optional<int64_t> checkpoint_version_;
    std::vector<std::string> checkpoint_files_;
    int64_t commits_read_ = 0;
    std::vector<std::string> notes_;
};

class Table {
public:
    explicit Table(std::unique_ptr<storage::Storage> storage);

    // Loads the latest snapshot, or the one at `version`. Throws Error(Source) for a damaged log and
    // for unsupported protocol features (named).
    Snapshot LoadSnapshot(std::optional<int64_t> version = std::nullopt);

    storage::Storage& GetStorage() { return *storage_; }
    const std::string& Name() const { return storage_->Root(); }

private:
    std::unique_ptr<storage::Storage> storage_;
};

} // namespace pgsplit::delta
