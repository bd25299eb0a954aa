#pragma once

// Record assembly for nested columns: turns the definition/repetition levels and values of the leaf
// columns of one row group into JSON records (structs as objects, lists as arrays, maps as objects).

#include "parquet/memory_budget.h"
#include "parquet/reader.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pgsplit::parquet {

// Every level entry of one leaf column chunk, with its non-null values (compact).
struct LeafStream {
    const Column* column = nullptr;
    std::vector<int16_t> def;
    std::vector<int16_t> rep;
    ColumnBatch values;
    size_t count = 0; // level entries
    size_t pos = 0;
    size_t vpos = 0;
    BudgetLease lease; // what def, rep and values hold, in the reader's budget
};

// Assembles the records of one row group. `leaves` is indexed by leaf column index (null for leaves
// not selected). Returns false when `on_record` asked to stop. Throws Error(Source) naming
// `file` and `row_group` when the levels are inconsistent.
template <class Json>
bool AssembleRecords(const std::string& file, int row_group, const std::vector<const Field*>& fields,
                     std::vector<LeafStream*>& leaves, const std::function<bool(Json&)>& on_record);

} // namespace pgsplit::parquet
