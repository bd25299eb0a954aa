#pragma once

// A PostgreSQL table that receives replicated rows, as read from the catalog: its columns and
// types (for the COPY encoder and the stage table's DDL), how it is partitioned, who owns it and
// which indexes and key constraints a new partition must carry before it is attached.

#include "pg/connection.h"
#include "sync/copy_encoder.h"

#include <optional>
#include <string>
#include <vector>

namespace pgsplit::sync {

struct TargetIndex {
    bool is_constraint = false; // PRIMARY KEY / UNIQUE constraint: added with ALTER TABLE ... ADD
    bool unique = false;        // a plain unique index (CREATE UNIQUE INDEX)
    std::string definition;     // "PRIMARY KEY (date, symbol)" or "USING btree (year_month)"
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

} // namespace pgsplit::sync
