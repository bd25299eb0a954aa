#pragma once

// verify --content: one table in one month compared row for row by digest (sync/row_digest.h), on
// the Delta side through the sync's own reader and encoder (so a row is what a sync would write),
// on the PostgreSQL side by the server, so the month does not cross the network. Equal digests end
// the check. Different ones are narrowed by the 4096 bucket digests: only the rows of the buckets
// that differ are read again (Delta) and fetched (PostgreSQL), then matched by primary key.

#include "core/log.h"
#include "pg/connection.h"
#include "sync/partition_sync.h"
#include "sync/row_digest.h"
#include "sync/target.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::verify {

struct ColumnDifference {
    std::string column;
    std::string delta; // the value as text (sync/row_digest.h FieldText)
    std::string postgres;
};

struct RowDifference {
    enum class Kind { MissingInPostgres, ExtraInPostgres, ValuesDiffer };
    Kind kind = Kind::ValuesDiffer;
    std::string key;                       // "date=2024-01-05, symbol=SYM0001, strategy=s_1"
    std::vector<ColumnDifference> columns; // ValuesDiffer: the columns that differ
};
const char* KindName(RowDifference::Kind kind); // "missing in Postgres", ...
std::string Describe(const RowDifference& row); // the key, the kind and the columns, one line

// The outcome for one table in one month.
struct ContentCheck {
    std::optional<sync::ContentDigest> delta;    // nullopt: Delta not read (--postgres-only)
    std::optional<sync::ContentDigest> postgres; // computed by the server
    int64_t invalid_rows = 0;        // Delta rows the target cannot hold: not compared (see --skip-invalid)
    int64_t differing_rows = 0;      // rows found missing, extra or different
    std::vector<RowDifference> rows; // the first `show` of them, by key
};

// The month's digest of `target` computed by the server (on whatever connection: a replica too).
sync::ContentDigest ServerDigest(pg::Connection& conn, const sync::Target& target,
                                 const std::string& partition_column, const std::string& value);

// Compares the rows of `value` in `source` (as a sync would write them into `target`) with those the
// server holds, and names up to `show` differing rows. The Delta side is read while the server
// computes its digest (a second connection is not needed: the server works alone).
ContentCheck CompareContent(const Logger& log, pg::Connection& conn, sync::Source& source,
                            const sync::Target& target, const std::string& value, size_t show);

} // namespace pgsplit::verify
