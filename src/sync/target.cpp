#include "sync/target.h"

#include "core/error.h"

#include <fmt/format.h>

namespace pgsplit::sync {
namespace {

// Identifiers pgsplit accepts as reloption names: what the server itself accepts unquoted (reloption
// names are keywords like fillfactor, deduplicate_items, pages_per_range).
bool IsOptionName(const std::string& s) {
    if (s.empty() || s.size() > 63) {
        return false;
    }
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return !(s[0] >= '0' && s[0] <= '9');
}

std::string Qualified(const pg::Connection& conn, const QualifiedName& q) {
    return pg::QuoteIdent(conn, q.schema) + "." + pg::QuoteIdent(conn, q.name);
}

void ReadIndexes(pg::Connection& conn, Target& t, const std::string& oid) {
    bool has_nulls_not_distinct = PQserverVersion(conn.Raw()) >= 150000;
    pg::Result idx = conn.Exec(
        fmt::format(
            "SELECT i.indexrelid, ic.relname, am.amname, i.indisunique, {}, i.indnkeyatts, "
            "i.indexprs IS NOT NULL, i.indpred IS NOT NULL, con.contype, "
            "coalesce(con.condeferrable, false), coalesce(con.condeferred, false), "
            "EXISTS (SELECT 1 FROM pg_attribute ia WHERE ia.attrelid = i.indexrelid "
            "AND ia.attoptions IS NOT NULL) "
            "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = ic.relam "
            "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
            "AND con.contype IN ('p', 'u', 'x') "
            "WHERE i.indrelid = $1::oid ORDER BY i.indexrelid",
            has_nulls_not_distinct ? "i.indnullsnotdistinct" : "false"),
        {oid});
    for (int i = 0; i < idx.Rows(); ++i) {
        TargetIndex ix;
        std::string index_oid = idx.Get(i, 0);
        ix.name = idx.Get(i, 1);
        ix.method = idx.Get(i, 2);
        ix.unique = idx.Get(i, 3) == "t";
        ix.nulls_not_distinct = idx.Get(i, 4) == "t";
        int64_t key_count = idx.GetInt(i, 5);
        std::string contype = idx.Get(i, 8);
        ix.deferrable = idx.Get(i, 9) == "t";
        ix.initially_deferred = idx.Get(i, 10) == "t";
        ix.kind = contype == "p"   ? TargetIndex::Kind::PrimaryKey
                  : contype == "u" ? TargetIndex::Kind::UniqueConstraint
                                   : TargetIndex::Kind::Index;
        if (idx.Get(i, 6) == "t") {
            ix.unsupported = "it has an expression key";
        } else if (idx.Get(i, 7) == "t") {
            ix.unsupported = "it is a partial index (WHERE predicate)";
        } else if (contype == "x") {
            ix.unsupported = "it backs an exclusion constraint";
        } else if (idx.Get(i, 11) == "t") {
            ix.unsupported = "it has operator class options";
        }

        pg::Result keys = conn.Exec(
            "SELECT k.ord, a.attname, opcn.nspname, opc.opcname, colln.nspname, coll.collname, "
            "coalesce(k.opt, 0), k.coll IS NOT NULL AND k.coll <> 0 AND k.coll <> a.attcollation "
            "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[], "
            "i.indoption::int2[], i.indcollation::oid[]) WITH ORDINALITY AS k(attnum, cls, opt, coll, ord) "
            "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "LEFT JOIN pg_opclass opc ON opc.oid = k.cls "
            "LEFT JOIN pg_namespace opcn ON opcn.oid = opc.opcnamespace "
            "LEFT JOIN pg_collation coll ON coll.oid = k.coll "
            "LEFT JOIN pg_namespace colln ON colln.oid = coll.collnamespace "
            "WHERE i.indexrelid = $1::oid ORDER BY k.ord",
            {index_oid});
        for (int k = 0; k < keys.Rows(); ++k) {
            if (keys.IsNull(k, 1)) {
                if (ix.unsupported.empty()) {
                    ix.unsupported = "it has an expression key";
                }
                continue;
            }
            if (keys.GetInt(k, 0) > key_count) {
                ix.include.push_back(keys.Get(k, 1));
                continue;
            }
            IndexKey key;
            key.column = keys.Get(k, 1);
            if (!keys.IsNull(k, 3)) {
                key.opclass = QualifiedName{keys.Get(k, 2), keys.Get(k, 3)};
            }
            if (keys.Get(k, 7) == "t" && !keys.IsNull(k, 5)) {
                key.collation = QualifiedName{keys.Get(k, 4), keys.Get(k, 5)};
            }
            int64_t opt = keys.GetInt(k, 6);
            key.descending = (opt & 1) != 0;  // INDOPTION_DESC
            key.nulls_first = (opt & 2) != 0; // INDOPTION_NULLS_FIRST
            ix.keys.push_back(std::move(key));
        }

        pg::Result opts = conn.Exec("SELECT o.option_name, o.option_value FROM pg_class c, "
                                    "pg_options_to_table(c.reloptions) o WHERE c.oid = $1::oid",
                                    {index_oid});
        for (int k = 0; k < opts.Rows(); ++k) {
            if (!IsOptionName(opts.Get(k, 0)) && ix.unsupported.empty()) {
                ix.unsupported = "it has a storage option pgsplit does not know";
            }
            ix.options.emplace_back(opts.Get(k, 0), opts.Get(k, 1));
        }
        t.indexes.push_back(std::move(ix));
    }
}

} // namespace

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

    pg::Result cols = conn.Exec(
        "SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attnum, "
        "a.atttypmod, colln.nspname, coll.collname "
        "FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
        "LEFT JOIN pg_collation coll ON coll.oid = a.attcollation AND a.attcollation <> ty.typcollation "
        "LEFT JOIN pg_namespace colln ON colln.oid = coll.collnamespace "
        "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        {oid});
    for (int i = 0; i < cols.Rows(); ++i) {
        TargetColumn c;
        c.name = cols.Get(i, 0);
        c.sql_type = cols.Get(i, 2);
        c.not_null = cols.Get(i, 3) == "t";
        c.attnum = static_cast<int>(cols.GetInt(i, 4));
        c.type_oid = static_cast<uint32_t>(cols.GetInt(i, 1));
        c.typmod = static_cast<int32_t>(cols.GetInt(i, 5));
        if (!cols.IsNull(i, 7)) {
            c.collation_schema = cols.Get(i, 6);
            c.collation_name = cols.Get(i, 7);
        }
        auto type = PgTypeFromOid(c.type_oid);
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
    ReadIndexes(conn, t, oid);
    return t;
}

std::string StageColumnSql(const pg::Connection& conn, const TargetColumn& c) {
    // The type comes from the OID pgsplit accepted (PgTypeFromOid), not from catalog text.
    std::string type;
    switch (c.type_oid) {
    case 16:
        type = "boolean";
        break;
    case 21:
        type = "smallint";
        break;
    case 23:
        type = "integer";
        break;
    case 20:
        type = "bigint";
        break;
    case 700:
        type = "real";
        break;
    case 701:
        type = "double precision";
        break;
    case 25:
        type = "text";
        break;
    case 1043:
        type = c.typmod >= 4 ? fmt::format("varchar({})", c.typmod - 4) : "varchar";
        break;
    case 17:
        type = "bytea";
        break;
    case 1082:
        type = "date";
        break;
    case 1114:
    case 1184: {
        const char* base = c.type_oid == 1114 ? "timestamp" : "timestamptz";
        type = c.typmod >= 0 && c.typmod <= 6 ? fmt::format("{}({})", base, c.typmod) : base;
        break;
    }
    default:
        throw Error(ExitCode::Failure,
                    fmt::format("column '{}': no stage type for OID {}", c.name, c.type_oid));
    }
    std::string sql = pg::QuoteIdent(conn, c.name) + " " + type;
    if (!c.collation_name.empty()) {
        sql += " COLLATE " + pg::QuoteIdent(conn, c.collation_schema) + "." +
               pg::QuoteIdent(conn, c.collation_name);
    }
    if (c.not_null) {
        sql += " NOT NULL";
    }
    return sql;
}

void CheckStageIndexes(const Target& target) {
    for (const auto& ix : target.indexes) {
        if (!ix.unsupported.empty()) {
            throw Error(ExitCode::Source,
                        fmt::format("index {} of {} cannot be rebuilt on a new partition: {}; nothing was "
                                    "changed",
                                    DisplayName(ix.name), target.quoted, ix.unsupported),
                        "pgsplit copies indexes over plain columns (any method, operator class, collation, "
                        "order, INCLUDE, options); drop or replace this index, or use --strategy delete");
        }
    }
}

std::string StageIndexSql(const pg::Connection& conn, const Target& target, const TargetIndex& ix,
                          const std::string& stage_quoted) {
    if (!ix.unsupported.empty()) {
        CheckStageIndexes(target);
    }
    auto column_list = [&](const std::vector<std::string>& cols) {
        std::string out;
        for (size_t i = 0; i < cols.size(); ++i) {
            out += (i ? ", " : "") + pg::QuoteIdent(conn, cols[i]);
        }
        return out;
    };
    std::string include = ix.include.empty() ? "" : " INCLUDE (" + column_list(ix.include) + ")";
    std::string with;
    for (size_t i = 0; i < ix.options.size(); ++i) {
        with += (i ? ", " : " WITH (") + ix.options[i].first + " = " +
                pg::QuoteLiteral(conn, ix.options[i].second);
    }
    if (!with.empty()) {
        with += ")";
    }

    if (ix.kind != TargetIndex::Kind::Index) {
        // A key constraint's columns use their default operator class and collation (PostgreSQL has
        // no syntax for anything else in PRIMARY KEY / UNIQUE), so the names alone are faithful.
        std::vector<std::string> cols;
        for (const auto& k : ix.keys) {
            cols.push_back(k.column);
        }
        std::string sql = "ALTER TABLE " + stage_quoted + " ADD ";
        sql += ix.kind == TargetIndex::Kind::PrimaryKey ? "PRIMARY KEY" : "UNIQUE";
        if (ix.nulls_not_distinct) {
            sql += " NULLS NOT DISTINCT";
        }
        sql += " (" + column_list(cols) + ")" + include + with;
        if (ix.deferrable) {
            sql += ix.initially_deferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE";
        }
        return sql;
    }

    std::string keys;
    for (size_t i = 0; i < ix.keys.size(); ++i) {
        const IndexKey& k = ix.keys[i];
        keys += (i ? ", " : "") + pg::QuoteIdent(conn, k.column);
        if (k.collation) {
            keys += " COLLATE " + Qualified(conn, *k.collation);
        }
        if (k.opclass) {
            keys += " " + Qualified(conn, *k.opclass);
        }
        if (k.descending) {
            keys += k.nulls_first ? " DESC" : " DESC NULLS LAST";
        } else if (k.nulls_first) {
            keys += " NULLS FIRST";
        }
    }
    std::string sql = std::string("CREATE ") + (ix.unique ? "UNIQUE " : "") + "INDEX ON " + stage_quoted +
                      " USING " + pg::QuoteIdent(conn, ix.method) + " (" + keys + ")" + include;
    if (ix.nulls_not_distinct) {
        sql += " NULLS NOT DISTINCT";
    }
    return sql + with;
}

std::string DisplayName(const std::string& name) {
    std::string out = "\"";
    for (unsigned char c : name) {
        if (c == '"') {
            out += "\"\"";
        } else if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

} // namespace pgsplit::sync
