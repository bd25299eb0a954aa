#pragma once

// A PostgreSQL table that receives replicated rows, as read from the catalog: its columns and
// types (for the COPY encoder and the stage table's DDL), how it is partitioned, who owns it and
// which indexes and key constraints a new partition must carry before it is attached.
//
// Everything here is read as structured catalog data (attribute numbers, operator classes,
// collations, sort flags, options), never as SQL text the server rendered: a name in the catalog is
// chosen by whoever created the object (any member of the table's owner role), so the stage DDL is
// assembled from quoted identifiers and literals only (see StageColumnSql and StageIndexSql).

#include "pg/connection.h"
#include "sync/copy_encoder.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgsplit::sync {

// A schema-qualified catalog name (operator class, collation), quoted when rendered.
struct QualifiedName {
    std::string schema;
    std::string name;
};

struct IndexKey {
    std::string column;                     // the table column (expression keys are not supported)
    std::optional<QualifiedName> opclass;   // always set for key columns, from pg_index.indclass
    std::optional<QualifiedName> collation; // set only when it differs from the column's own
    bool descending = false;
    bool nulls_first = false;
};

struct TargetIndex {
    enum class Kind { PrimaryKey, UniqueConstraint, Index };
    Kind kind = Kind::Index;
    std::string name;   // the parent's index name, for messages only (never put into SQL)
    std::string method; // pg_am.amname
    bool unique = false;
    bool nulls_not_distinct = false;
    bool deferrable = false;
    bool initially_deferred = false;
    std::vector<IndexKey> keys;
    std::vector<std::string> include;                         // INCLUDE (...) columns
    std::vector<std::pair<std::string, std::string>> options; // WITH (name = 'value')
    // Why pgsplit cannot rebuild this index on a stage table (an expression key, a predicate, ...),
    // or empty. Only the swap strategy builds stage indexes, so this is checked there.
    std::string unsupported;
};

struct Target {
    std::string schema;
    std::string name;
    std::string quoted; // "schema"."name", ready for SQL
    uint32_t oid = 0;
    std::vector<TargetColumn> columns;
    std::optional<std::string> list_partition_key; // the column of PARTITION BY LIST (col), if any
    std::string owner;
    std::vector<TargetIndex> indexes;

    const TargetColumn* Find(const std::string& column) const;
};

// Reads `table` ("schema.name") from the catalog. Throws Error(Config) when it does not exist (with a
// hint to run migrate) and Error(Source) when a column has a type pgsplit cannot write.
Target ReadTarget(pg::Connection& conn, const std::string& table);

// The column definition for the stage table's CREATE TABLE: quoted name, the type rendered from its
// OID and typmod, a COLLATE clause when the column has a non-default collation, NOT NULL.
std::string StageColumnSql(const pg::Connection& conn, const TargetColumn& column);

// Throws Error(Source) naming the first index of `target` that cannot be rebuilt on a stage table.
void CheckStageIndexes(const Target& target);

// The statement that builds `index` on the stage table `stage_quoted` (ALTER TABLE ... ADD PRIMARY KEY
// / UNIQUE for key constraints, CREATE [UNIQUE] INDEX ON ... otherwise). The index gets the server's
// default name, which the swap renames after the partition. Throws Error(Source) naming the index
// when it cannot be rebuilt faithfully (TargetIndex::unsupported).
std::string StageIndexSql(const pg::Connection& conn, const Target& target, const TargetIndex& index,
                          const std::string& stage_quoted);

// Renders untrusted catalog text (an index name) for a message: double-quoted, control characters
// escaped, so it cannot break the line or pass for pgsplit's own words.
std::string DisplayName(const std::string& name);

} // namespace pgsplit::sync
