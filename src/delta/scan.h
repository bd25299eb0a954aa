#pragma once

// Reading the rows of a snapshot.
//
// Scan is the data path (sync-signals COPY): columnar, one file and one row group at a time, with
// the same wanted columns in every batch whatever each file holds. Partition columns come from the
// log, columns a file lacks (written before the column existed) are all NULL, and columns are
// matched by name, never by position.
//
// ReadRows is the inspection path (`inspect delta --rows`, tests): whole records as JSON objects,
// nested columns included, keys in schema order.

#include "delta/deletion_vector.h"
#include "delta/predicate.h"
#include "delta/table.h"
#include "parquet/reader.h"

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::delta {

struct ScanOptions {
    std::vector<std::string> columns;   // wanted columns by name; empty = every schema column, in order
    std::optional<Predicate> predicate; // partition pruning, stats skipping and a row filter
    size_t batch_rows = 4096;
};

// A wanted column as the scan hands it out.
struct ScanColumn {
    std::string name;
    const StructField* field = nullptr; // the Delta schema field (its type is the logical truth)
    bool partition = false;
    // The layout used for values the scan makes up (partition values, NULLs for absent columns):
    // string/binary BYTE_ARRAY, byte/short/integer/date INT32, long/timestamp(_ntz) INT64 micros,
    // float, double, boolean, decimal INT32/INT64/FIXED_LEN_BYTE_ARRAY(16) by precision.
    parquet::Column synthetic;
};

// One batch: `size` rows of one file. columns[i] belongs to Columns()[i]. Each ColumnBatch::column
// describes the physical layout of that batch (the file's column, or ScanColumn::synthetic), which can
// differ between files (e.g. INT32 vs INT64 for the same Delta column written by different writers):
// consumers switch on it per batch. A batch stays valid until the next call to Next.
struct ScanBatch {
    const AddFile* file = nullptr;
    size_t size = 0;
    std::vector<parquet::ColumnBatch> columns;
    // Where the rows sit in the data file (0-based), for error messages that name a row: the first
    // row is first_row; when the row filter dropped rows, row_numbers holds each row's number.
    int64_t first_row = 0;
    std::vector<int64_t> row_numbers;

    int64_t RowNumber(size_t i) const {
        return row_numbers.empty() ? first_row + static_cast<int64_t>(i) : row_numbers[i];
    }
};

struct ScanCounters {
    int64_t files_selected = 0;
    int64_t files_opened = 0;
    int64_t row_groups_read = 0;
    int64_t row_groups_skipped = 0; // by row-group statistics
    int64_t rows_read = 0;
    int64_t rows_filtered = 0; // dropped by the row filter
    int64_t rows_deleted = 0;  // dropped by deletion vectors
};

class Scan {
public:
    // Selects the files (Snapshot::SelectFiles) and checks the wanted columns: an unknown column is
    // Error(Usage); a nested one (struct/array/map) is Error(Source), the columnar scan is flat only.
    Scan(const Snapshot& snapshot, storage::Storage& storage, ScanOptions options);
    ~Scan();
    Scan(const Scan&) = delete;
    Scan& operator=(const Scan&) = delete;

    const std::vector<ScanColumn>& Columns() const { return columns_; }
    const std::vector<const AddFile*>& Files() const { return files_; }

    // Fills `out` with the next non-empty batch; false at the end. Throws Error(Source) naming the
    // file for a missing or malformed data file.
    bool Next(ScanBatch& out);

    const ScanCounters& Counters() const { return counters_; }

private:
    bool OpenNextFile();
    bool OpenNextRowGroup();
    void FillBatch(ScanBatch& out, std::vector<parquet::ColumnBatch>& read, size_t rows);

    const Snapshot& snapshot_;
    storage::Storage& storage_;
    ScanOptions options_;
    std::optional<BoundPredicate> predicate_;
    std::vector<ScanColumn> columns_; // wanted, then (hidden) the predicate column when not wanted
    size_t visible_ = 0;              // how many of columns_ are handed out
    int filter_column_ = -1;          // index in columns_ of the row-filter column, -1 when none
    std::vector<const AddFile*> files_;
    size_t next_file_ = 0;
    const AddFile* file_ = nullptr;
    std::unique_ptr<parquet::FileReader> reader_;
    std::vector<int> leaf_of_;         // per column: leaf index in the current file, -1 absent/partition
    std::vector<uint8_t> widen_;       // per column: 1 when the file's type must be widened to the table's
    std::optional<DeletionVector> dv_; // of the current file, when it has one
    std::vector<int> read_leaves_;     // leaves requested from the cursor
    int next_row_group_ = 0;
    std::unique_ptr<parquet::RowGroupCursor> cursor_;
    std::vector<parquet::ColumnBatch> read_;
    std::vector<uint8_t> keep_;
    int64_t remaining_only_count_ = 0;
    int64_t row_group_first_row_ = 0; // file row number of the current row group's first row
    int64_t row_group_consumed_ = 0;  // rows of the current row group handed to batches so far // rows left
                                      // when no leaf is read (partition/absent columns only)
    ScanCounters counters_;
};

// Calls `on_row` for every row of `files` (from snapshot.SelectFiles), as a JSON object with every
// schema column in schema order (SPEC §6b value forms). When `predicate` names a non-partition column
// rows are filtered on it. Return false from `on_row` to stop.
void ReadRows(const Snapshot& snapshot, storage::Storage& storage, const std::vector<const AddFile*>& files,
              const std::optional<Predicate>& predicate,
              const std::function<bool(nlohmann::ordered_json&)>& on_row);

} // namespace pgsplit::delta
