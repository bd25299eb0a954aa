#include "sync/target.h"

#include "core/error.h"

#include <fmt/format.h>

namespace pgsplit::sync {

const TargetColumn* Target::Find(const std::string& column) const {
    for (const auto& c : columns) {
        if (c.name == column) {
            return &c;
        }
    }
    return nullptr;
}

Target ReadTarget(pg::Connection& conn, const std::string& table) {
    Target t;
    pg::Result r =
        conn.Exec("SELECT c.oid, n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
                  "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
                  {table});
    if (r.Rows() != 1) {
        throw Error(ExitCode::Config,
                    fmt::format("target table {} does not exist in {}", table, conn.RedactedDsn()),
                    "run 'pgsplit migrate' against this database, or fix the table name");
    }
    t.oid = static_cast<uint32_t>(r.GetInt(0, 0));
    t.schema = r.Get(0, 1);
    t.name = r.Get(0, 2);
    t.owner = r.Get(0, 3);
    t.quoted = pg::QuoteIdent(conn, t.schema) + "." + pg::QuoteIdent(conn, t.name);
    std::string oid = std::to_string(t.oid);

    pg::Result cols =
        conn.Exec("SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), a.attnotnull "
                  "FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
                  "ORDER BY a.attnum",
                  {oid});
    for (int i = 0; i < cols.Rows(); ++i) {
        TargetColumn c;
        c.name = cols.Get(i, 0);
        c.sql_type = cols.Get(i, 2);
        c.not_null = cols.Get(i, 3) == "t";
        auto type = PgTypeFromOid(static_cast<uint32_t>(cols.GetInt(i, 1)));
        if (!type) {
            throw Error(
                ExitCode::Source,
                fmt::format("column '{}' of {} has type {}, which pgsplit cannot write", c.name, table,
                            c.sql_type),
                "supported: boolean, smallint, integer, bigint, real, double precision, text, varchar, "
                "bytea, date, timestamp, timestamptz");
        }
        c.type = *type;
        t.columns.push_back(std::move(c));
    }

    pg::Result part =
        conn.Exec("SELECT p.partstrat, p.partnatts, a.attname FROM pg_partitioned_table p "
                  "LEFT JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
                  "WHERE p.partrelid = $1::oid",
                  {oid});
    if (part.Rows() == 1 && part.Get(0, 0) == "l" && part.Get(0, 1) == "1" && !part.IsNull(0, 2)) {
        t.list_partition_key = part.Get(0, 2);
    }

    pg::Result idx =
        conn.Exec("SELECT pg_get_indexdef(i.indexrelid), con.contype, pg_get_constraintdef(con.oid) "
                  "FROM pg_index i LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid "
                  "AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u') "
                  "WHERE i.indrelid = $1::oid ORDER BY i.indexrelid",
                  {oid});
    for (int i = 0; i < idx.Rows(); ++i) {
        TargetIndex ix;
        if (!idx.IsNull(i, 1)) {
            ix.is_constraint = true;
            ix.definition = idx.Get(i, 2);
        } else {
            std::string def = idx.Get(i, 0);
            auto using_pos = def.find(" USING ");
            if (using_pos == std::string::npos) {
                continue;
            }
            ix.definition = def.substr(using_pos + 1);
            ix.unique = def.rfind("CREATE UNIQUE INDEX", 0) == 0;
        }
        t.indexes.push_back(std::move(ix));
    }
    return t;
}

} // namespace pgsplit::sync
