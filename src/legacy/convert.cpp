// convert-legacy: the steps of convert.h. Long because the steps share one set of names (legacy
// table, new parent, stage, partition) and one error policy ("the legacy table is untouched"); Table
// keeps that shared state in one object.
//
// Every identifier that reaches SQL is quoted here from catalog or option text (pg::QuoteIdent), every
// value is a bound parameter or a quoted literal; the only server-rendered SQL run is a dependent
// view's own definition (pg_get_viewdef, rendered with search_path = pg_catalog so every name in it is
// schema-qualified), which is what moving a view means.
#include "legacy/convert.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "output/numbers.h"
#include "pg/transaction.h"
#include "sync/partition_sync.h"
#include "sync/target.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <unistd.h>

namespace pgsplit::legacy {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr const char* kPartitionColumn = "year_month";
constexpr const char* kDateColumn = "date";
constexpr const char* kDeadlockDetected = "40P01";
// The comment of a partition the conversion attached, followed by "MONTH ROWS HASH" of what it copied
// (removed by the final step: after it, the partitions are the serving table's, written by others).
constexpr const char* kCopyComment = "pgsplit convert-legacy copy: ";
// The comment the legacy table carries after the final step, followed by the time of it.
constexpr const char* kLegacyComment = "pgsplit convert-legacy: the legacy table, kept until convert-legacy "
                                       "--drop-legacy (or --rollback); converted at ";

std::string Ident63(std::string s) {
    return s.size() > 63 ? s.substr(0, 63) : s;
}

struct Name {
    std::string schema;
    std::string name;
};

Name SplitName(const std::string& table) {
    auto dot = table.find('.');
    if (dot == std::string::npos) {
        return {"ranking", table};
    }
    return {table.substr(0, dot), table.substr(dot + 1)};
}

struct RelInfo {
    bool exists = false;
    std::string oid;
    char relkind = 0;
    std::optional<std::string> list_key; // PARTITION BY LIST (col)
};

RelInfo ReadRel(pg::Connection& conn, const std::string& schema, const std::string& name) {
    pg::Result r = conn.Exec(
        "SELECT c.oid, c.relkind, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid AND p.partstrat = 'l' AND p.partnatts = 1 "
        "LEFT JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
        "WHERE n.nspname = $1 AND c.relname = $2",
        {schema, name});
    RelInfo info;
    if (r.Rows() == 1) {
        info.exists = true;
        info.oid = r.Get(0, 0);
        info.relkind = r.Get(0, 1).empty() ? 0 : r.Get(0, 1)[0];
        info.list_key = r.GetOpt(0, 2);
    }
    return info;
}

// Per month: row count and the sum (as numeric: no overflow) of each row's 64-bit hashtextextended
// of its text form: order-independent, sensitive to a row twice, computed by the server. Not a
// cryptographic digest: it catches a writer's changes, not an adversary's; md5 cost 3x the time
// (1.2 s against 0.43 s for 960,000 rows here).
struct Digest {
    int64_t rows = 0;
    std::string hash;
    bool operator==(const Digest& o) const { return rows == o.rows && hash == o.hash; }
};
using Digests = std::map<std::string, Digest>;

// The privileges GRANT accepts on a table, as aclexplode names them (the only words put into a GRANT
// unquoted).
bool IsTablePrivilege(const std::string& p) {
    static const std::set<std::string> known = {"SELECT",   "INSERT",     "UPDATE",  "DELETE",
                                                "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"};
    return known.count(p) == 1;
}

// One progress line on stderr, redrawn at most 4 times a second.
class Progress {
public:
    Progress(bool enabled, std::string table, size_t total)
        : enabled_(enabled), table_(std::move(table)), total_(total), start_(Clock::now()) {}
    ~Progress() { Clear(); }
    void Month(int64_t rows) {
        ++done_;
        rows_ += rows;
        if (!enabled_) {
            return;
        }
        double secs = SecondsSince(start_);
        WriteAll(STDERR_FILENO,
                 fmt::format("\r\x1b[K{}: {}/{} months copied, {} rows, {:.0f} rows/s", table_, done_, total_,
                             GroupDigits(rows_), secs > 0 ? rows_ / secs : 0.0));
    }
    void Clear() {
        if (enabled_ && done_ > 0) {
            WriteAll(STDERR_FILENO, "\r\x1b[K");
        }
    }

private:
    bool enabled_;
    std::string table_;
    size_t total_;
    size_t done_ = 0;
    int64_t rows_ = 0;
    Clock::time_point start_;
};

// One table being converted: its names and the catalog facts every step uses.
class Table {
public:
    Table(const Logger& log, pg::Connection& conn, const Options& options, const std::string& table)
        : log_(log), conn_(conn), options_(options), display_(table) {
        Name n = SplitName(table);
        schema_ = n.schema;
        name_ = n.name;
        legacy_name_ = Ident63(name_ + "_legacy");
        new_name_ = Ident63(name_ + "_partitioned");
        quoted_ = Q(schema_) + "." + Q(name_);
        legacy_quoted_ = Q(schema_) + "." + Q(legacy_name_);
        new_quoted_ = Q(schema_) + "." + Q(new_name_);
    }

    TableState State() {
        RelInfo main = ReadRel(conn_, schema_, name_);
        if (!main.exists) {
            return TableState::Missing;
        }
        if (main.relkind == 'r') {
            return TableState::Legacy;
        }
        if (main.relkind == 'p' && main.list_key == std::string(kPartitionColumn)) {
            RelInfo old = ReadRel(conn_, schema_, legacy_name_);
            return old.exists && old.relkind == 'r' ? TableState::Converted : TableState::Partitioned;
        }
        return TableState::Other;
    }

    // What refuses a conversion (invalid rows, dependents that cannot be moved), for a plain table;
    // nothing for the others. Run for every table before any is converted.
    void Check() {
        if (State() != TableState::Legacy) {
            return;
        }
        ReadLegacy(quoted_);
        std::string oid = *conn_.QueryValue("SELECT to_regclass($1)::oid", {quoted_});
        // One scan for the plan's figures and the invalid rows; the list of those only when there are.
        int64_t invalid = 0;
        months_ = Figures(quoted_, &invalid);
        if (invalid > 0) {
            RefuseInvalidRows(quoted_);
        }
        views_.clear();
        for (const auto& v : Dependents(oid)) {
            views_.push_back(v.second);
        }
        checked_ = true;
    }
    TableReport Convert(bool dry_run);
    TableReport DropLegacy();
    TableReport Rollback();

private:
    std::string Q(const std::string& ident) const { return pg::QuoteIdent(conn_, ident); }
    std::string ColumnList() const {
        std::string out;
        for (size_t i = 0; i < legacy_.columns.size(); ++i) {
            out += (i ? ", " : "") + Q(legacy_.columns[i].name);
        }
        return out;
    }

    void ReadLegacy(const std::string& quoted);
    void RefuseInvalidRows(const std::string& quoted);
    // Dependent views that can be moved (schema-qualified, quoted) ; throws for anything else.
    std::vector<std::pair<std::string, std::string>> Dependents(const std::string& oid);
    void EnsureParent();
    std::vector<MonthFigures> Figures(const std::string& quoted, int64_t* invalid);
    Digests DigestsOf(const std::string& quoted);
    // The new parent's months as each copy recorded them (its partition's comment), scanned where a
    // partition has none.
    Digests CopyDigests();
    std::set<std::string> AttachedMonths();
    // Inside a transaction: the month copied from `source` into a stage, indexed, attached to `parent`
    // in place of the month's partition (if any).
    int64_t LoadMonth(const std::string& source, const std::string& parent, const sync::Target& target,
                      const std::string& month);
    void DropMonth(const std::string& parent, const std::string& month);
    void LockMonth(const std::string& month);
    // Months where the two sides differ: (month, present in source).
    std::vector<std::pair<std::string, bool>> Differences(const Digests& source, const Digests& copy);
    void FinalStep(TableReport& report);
    void MeasureRate(TableReport& report);
    // Runs `attempt` in a transaction until it commits, retrying lock timeouts and deadlocks.
    void WithRetries(const std::string& what, const std::function<void()>& attempt, int& attempts);
    void MoveGrants(const std::string& from_oid, const std::string& to);
    // Renames the indexes of `table` named `from`... to `to`... (key constraints follow their index).
    void RenameIndexes(const std::string& table, const std::string& from, const std::string& to);
    std::vector<std::pair<std::string, std::string>> ViewDefinitions(const std::string& oid);

    const Logger& log_;
    pg::Connection& conn_;
    const Options& options_;
    std::string display_;
    std::string schema_, name_, legacy_name_, new_name_;
    std::string quoted_, legacy_quoted_, new_quoted_;
    sync::Target legacy_; // columns and indexes of the plain table
    bool checked_ = false;
    std::vector<std::string> views_;
    std::vector<MonthFigures> months_;
};

void Table::ReadLegacy(const std::string& quoted_name) {
    legacy_ = sync::ReadTarget(conn_, quoted_name);
    if (!legacy_.Find(kPartitionColumn) || !legacy_.Find(kDateColumn)) {
        throw Error(ExitCode::Source,
                    fmt::format("{} has no '{}' and '{}' columns; convert-legacy converts the signal tables "
                                "of the legacy runner, partitioned by year_month",
                                display_, kDateColumn, kPartitionColumn),
                    "pass --table only for tables with date and year_month columns");
    }
}

void Table::RefuseInvalidRows(const std::string& quoted) {
    pg::Result bad = conn_.Exec(
        fmt::format("SELECT {1}::text, {0}, count(*) FROM {2} WHERE {0} IS NULL OR {0} IS DISTINCT FROM "
                    "to_char({1}, 'YYYY-MM') GROUP BY 1, 2 ORDER BY 1, 2",
                    Q(kPartitionColumn), Q(kDateColumn), quoted));
    if (bad.Rows() == 0) {
        return;
    }
    std::string list;
    int64_t total = 0;
    for (int i = 0; i < bad.Rows(); ++i) {
        total += bad.GetInt(i, 2);
        if (i < 20) {
            list +=
                fmt::format("\n  date {} year_month {}: {} row(s)", bad.IsNull(i, 0) ? "NULL" : bad.Get(i, 0),
                            bad.IsNull(i, 1) ? "NULL" : sync::DisplayName(bad.Get(i, 1)), bad.GetInt(i, 2));
        }
    }
    if (bad.Rows() > 20) {
        list += fmt::format("\n  ... and {} more (date, year_month) pair(s)", bad.Rows() - 20);
    }
    throw Error(ExitCode::Source,
                fmt::format("{}: {} row(s) have a year_month that is NULL or not the month of their date; "
                            "refusing to convert (nothing was changed):{}",
                            display_, total, list),
                "correct year_month in those rows (UPDATE ... SET year_month = to_char(date, 'YYYY-MM')), "
                "then run convert-legacy again; conversion never drops rows");
}

std::vector<std::pair<std::string, std::string>> Table::Dependents(const std::string& oid) {
    std::vector<std::string> blocked;
    std::vector<std::pair<std::string, std::string>> views;
    pg::Result v = conn_.Exec(
        "SELECT DISTINCT vn.nspname, v.relname, v.relkind, v.reloptions IS NOT NULL, v.oid "
        "FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
        "JOIN pg_namespace vn ON vn.oid = v.relnamespace WHERE d.classid = 'pg_rewrite'::regclass "
        "AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1::oid AND v.oid <> $1::oid "
        "ORDER BY 1, 2",
        {oid});
    for (int i = 0; i < v.Rows(); ++i) {
        std::string shown = sync::DisplayName(v.Get(i, 0)) + "." + sync::DisplayName(v.Get(i, 1));
        if (v.Get(i, 2) != "v") {
            blocked.push_back("materialized view " + shown +
                              " (cannot be re-pointed; drop it and create it "
                              "again after the conversion)");
        } else if (v.Get(i, 3) == "t") {
            blocked.push_back("view " + shown + " has options (security_barrier, check_option)");
        } else {
            views.emplace_back(v.Get(i, 4), Q(v.Get(i, 0)) + "." + Q(v.Get(i, 1)));
        }
    }
    auto add = [&](const std::string& what, const std::string& sql) {
        pg::Result r = conn_.Exec(sql, {oid});
        for (int i = 0; i < r.Rows(); ++i) {
            blocked.push_back(what + " " + sync::DisplayName(r.Get(i, 0)));
        }
    };
    add("foreign key",
        "SELECT conname || ' on ' || conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND "
        "(confrelid = $1::oid OR conrelid = $1::oid) ORDER BY 1");
    add("trigger", "SELECT tgname FROM pg_trigger WHERE tgrelid = $1::oid AND NOT tgisinternal ORDER BY 1");
    add("rule",
        "SELECT rulename FROM pg_rewrite WHERE ev_class = $1::oid AND rulename <> '_RETURN' ORDER BY 1");
    add("row-level security policy", "SELECT polname FROM pg_policy WHERE polrelid = $1::oid ORDER BY 1");
    add("inheritance with",
        "SELECT inhrelid::regclass::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE inhparent = $1::oid AND NOT c.relispartition UNION ALL "
        "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = $1::oid");
    add("publication",
        "SELECT p.pubname FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid "
        "WHERE r.prrelid = $1::oid ORDER BY 1");
    add("column default or sequence",
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped AND "
        "(atthasdef OR attidentity <> '' OR attgenerated <> '') ORDER BY 1");
    for (const auto& ix : legacy_.indexes) {
        if (!ix.unsupported.empty()) {
            blocked.push_back("index " + sync::DisplayName(ix.name) + ": " + ix.unsupported);
        }
    }
    if (!blocked.empty()) {
        std::string list;
        for (const auto& b : blocked) {
            list += "\n  " + b;
        }
        throw Error(ExitCode::Source,
                    fmt::format("{}: {} object(s) depend on the table and cannot be moved to the partitioned "
                                "table; refusing to convert (nothing was changed):{}",
                                display_, blocked.size(), list),
                    "drop or change them, run convert-legacy, then create them again on the new table "
                    "(runbooks/convert-legacy.md)");
    }
    return views;
}

void Table::EnsureParent() {
    RelInfo existing = ReadRel(conn_, schema_, new_name_);
    if (existing.exists) {
        if (existing.relkind != 'p' || existing.list_key != std::string(kPartitionColumn)) {
            throw Error(
                ExitCode::Source,
                fmt::format("{}.{} exists but is not partitioned by LIST (year_month); convert-legacy "
                            "builds the new table under that name",
                            sync::DisplayName(schema_), sync::DisplayName(new_name_)),
                "rename or drop it, then run convert-legacy again");
        }
        log_.Info(fmt::format("{}: continuing with {}.{} from an earlier run", display_, schema_, new_name_));
        return;
    }
    if (conn_.QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = $1", {options_.owner}) != "1") {
        throw Error(ExitCode::Config, fmt::format("role {} does not exist", options_.owner),
                    "run pgsplit migrate first (migration 0003 creates it)");
    }
    pg::Transaction tx(conn_);
    std::string ddl = "CREATE TABLE " + new_quoted_ + " (";
    for (size_t i = 0; i < legacy_.columns.size(); ++i) {
        ddl += (i ? ", " : "") + sync::StageColumnSql(conn_, legacy_.columns[i]);
    }
    ddl += ") PARTITION BY LIST (" + Q(kPartitionColumn) + ")";
    conn_.Exec(ddl);
    // The legacy keys and unique indexes get year_month, as 0003's do (a partitioned table's unique
    // keys must hold the partition column; date determines it anyway).
    for (auto ix : legacy_.indexes) {
        if (ix.unique) {
            bool has = std::any_of(ix.keys.begin(), ix.keys.end(),
                                   [](const sync::IndexKey& k) { return k.column == kPartitionColumn; });
            if (!has) {
                sync::IndexKey k;
                k.column = kPartitionColumn;
                const sync::IndexKey* like = nullptr;
                for (const auto& other : ix.keys) {
                    if (legacy_.Find(other.column) &&
                        legacy_.Find(other.column)->type == sync::PgType::Text) {
                        like = &other;
                    }
                }
                if (like) {
                    k.opclass = like->opclass;
                } else {
                    k.opclass = sync::QualifiedName{"pg_catalog", "text_ops"};
                }
                ix.keys.push_back(k);
            }
        }
        conn_.Exec(sync::StageIndexSql(conn_, legacy_, ix, new_quoted_));
    }
    conn_.Exec("ALTER TABLE " + new_quoted_ + " OWNER TO " + Q(options_.owner));
    conn_.Exec("COMMENT ON TABLE " + new_quoted_ + " IS " +
               pg::QuoteLiteral(conn_, "pgsplit convert-legacy: the partitioned copy of " + display_ +
                                           ", renamed to it by the final step"));
    tx.Commit();
    log_.Info(fmt::format("{}: created {}.{} (PARTITION BY LIST (year_month), owner {})", display_, schema_,
                          new_name_, options_.owner));
}

std::vector<MonthFigures> Table::Figures(const std::string& quoted, int64_t* invalid) {
    pg::Result r = conn_.Exec(fmt::format(
        "SELECT {0}, count(*), sum(pg_column_size(t.*)), count(*) FILTER (WHERE {0} IS NULL OR {0} "
        "IS DISTINCT FROM to_char({1}, 'YYYY-MM')) FROM {2} t GROUP BY 1 ORDER BY 1",
        Q(kPartitionColumn), Q(kDateColumn), quoted));
    std::vector<MonthFigures> out;
    for (int i = 0; i < r.Rows(); ++i) {
        if (invalid) {
            *invalid += r.GetInt(i, 3);
        }
        if (!r.IsNull(i, 0)) {
            out.push_back({r.Get(i, 0), r.GetInt(i, 1), r.GetInt(i, 2)});
        }
    }
    return out;
}

Digests Table::CopyDigests() {
    pg::Result r =
        conn_.Exec("SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class') FROM pg_inherits i "
                   "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE i.inhparent = to_regclass($1)",
                   {new_quoted_});
    Digests out;
    for (int i = 0; i < r.Rows(); ++i) {
        std::string comment = r.Get(i, 2);
        std::string prefix = kCopyComment;
        if (comment.rfind(prefix, 0) == 0) {
            // "<prefix>MONTH ROWS HASH"
            std::string rest = comment.substr(prefix.size());
            auto a = rest.find(' '), b = rest.rfind(' ');
            if (a != std::string::npos && b != std::string::npos && b > a) {
                try {
                    out[rest.substr(0, a)] = {std::stoll(rest.substr(a + 1, b - a - 1)), rest.substr(b + 1)};
                    continue;
                } catch (const std::exception&) {
                }
            }
        }
        for (const auto& [month, d] : DigestsOf(Q(r.Get(i, 0)) + "." + Q(r.Get(i, 1)))) {
            out[month] = d;
        }
    }
    return out;
}

Digests Table::DigestsOf(const std::string& quoted) {
    std::string row;
    for (size_t i = 0; i < legacy_.columns.size(); ++i) {
        row += (i ? ", " : "") + Q(legacy_.columns[i].name);
    }
    pg::Result r = conn_.Exec(fmt::format(
        "SELECT {0}, count(*), coalesce(sum(hashtextextended(ROW({1})::text, 0)), 0)::text FROM {2} "
        "GROUP BY 1",
        Q(kPartitionColumn), row, quoted));
    Digests out;
    for (int i = 0; i < r.Rows(); ++i) {
        out[r.Get(i, 0)] = {r.GetInt(i, 1), r.Get(i, 2)};
    }
    return out;
}

std::set<std::string> Table::AttachedMonths() {
    // The bound's value, read back as the partition column's text through the catalog.
    pg::Result r = conn_.Exec("SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                              "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)",
                              {new_quoted_});
    std::set<std::string> months;
    for (int i = 0; i < r.Rows(); ++i) {
        std::string bound = r.Get(i, 0); // FOR VALUES IN ('2024-01')
        auto a = bound.find("('"), b = bound.rfind("')");
        if (a != std::string::npos && b != std::string::npos && b > a + 2) {
            months.insert(bound.substr(a + 2, b - a - 2));
        }
    }
    return months;
}

void Table::LockMonth(const std::string& month) {
    conn_.Exec("SELECT pg_advisory_xact_lock($1::int, hashtext($2))",
               {std::to_string(sync::kSyncLockNamespace), sync::SyncLockKey(month)});
}

int64_t Table::LoadMonth(const std::string& source, const std::string& parent, const sync::Target& target,
                         const std::string& month) {
    std::string suffix = sync::PartitionSuffix(month);
    std::string stage = Ident63(name_ + "_cstage_" + suffix);
    std::string canonical = Ident63(name_ + "_p" + suffix);
    std::string stage_quoted = Q(schema_) + "." + Q(stage);
    std::string literal = pg::QuoteLiteral(conn_, month);
    std::string ddl = "CREATE TABLE " + stage_quoted + " (";
    for (size_t i = 0; i < target.columns.size(); ++i) {
        ddl += (i ? ", " : "") + sync::StageColumnSql(conn_, target.columns[i]);
    }
    ddl += ", CHECK (" + Q(kPartitionColumn) + " = " + literal + "))";
    conn_.Exec(ddl);
    if (conn_.QueryValue("SELECT current_user") != target.owner) {
        conn_.Exec("ALTER TABLE " + stage_quoted + " OWNER TO " + Q(target.owner));
    }
    std::string cols = ColumnList();
    pg::Result ins = conn_.Exec("INSERT INTO " + stage_quoted + " (" + cols + ") SELECT " + cols + " FROM " +
                                    source + " WHERE " + Q(kPartitionColumn) + " = $1",
                                {month});
    int64_t rows = std::stoll(ins.CommandTuples().empty() ? "0" : ins.CommandTuples());
    // What was copied, hashed once here (the month is in cache), so each comparison reads only the
    // legacy side.
    Digests copied = DigestsOf(stage_quoted);
    Digest d = copied.count(month) ? copied[month] : Digest{0, "0"};
    conn_.Exec("COMMENT ON TABLE " + stage_quoted + " IS " +
               pg::QuoteLiteral(conn_, fmt::format("{}{} {} {}", kCopyComment, month, d.rows, d.hash)));
    for (const auto& ix : target.indexes) {
        conn_.Exec(sync::StageIndexSql(conn_, target, ix, stage_quoted));
    }
    conn_.Exec("ANALYZE " + stage_quoted);
    DropMonth(parent, month);
    conn_.Exec("ALTER TABLE " + parent + " ATTACH PARTITION " + stage_quoted + " FOR VALUES IN (" + literal +
               ")");
    conn_.Exec("ALTER TABLE " + stage_quoted + " RENAME TO " + Q(canonical));
    // Index names follow the partition's, as after a sync's swap.
    pg::Result idx = conn_.Exec("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                "WHERE i.indrelid = to_regclass($1)",
                                {Q(schema_) + "." + Q(canonical)});
    for (int i = 0; i < idx.Rows(); ++i) {
        std::string n = idx.Get(i, 0);
        if (n.rfind(stage, 0) == 0) {
            conn_.Exec("ALTER INDEX " + Q(schema_) + "." + Q(n) + " RENAME TO " +
                       Q(Ident63(canonical + n.substr(stage.size()))));
        }
    }
    return rows;
}

void Table::DropMonth(const std::string& parent, const std::string& month) {
    pg::Result found =
        conn_.Exec("SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = to_regclass($1) AND "
                   "pg_get_expr(c.relpartbound, c.oid) = $2",
                   {parent, "FOR VALUES IN (" + pg::QuoteLiteral(conn_, month) + ")"});
    if (found.Rows() == 1) {
        std::string old = Q(found.Get(0, 0)) + "." + Q(found.Get(0, 1));
        conn_.Exec("ALTER TABLE " + parent + " DETACH PARTITION " + old);
        conn_.Exec("DROP TABLE " + old);
    }
}

std::vector<std::pair<std::string, bool>> Table::Differences(const Digests& source, const Digests& copy) {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& [month, d] : source) {
        auto it = copy.find(month);
        if (it == copy.end() || !(it->second == d)) {
            out.emplace_back(month, true);
        }
    }
    for (const auto& [month, d] : copy) {
        if (!source.count(month)) {
            out.emplace_back(month, false);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

void Table::WithRetries(const std::string& what, const std::function<void()>& attempt, int& attempts) {
    for (int n = 0;; ++n) {
        attempts = n + 1;
        try {
            attempt();
            return;
        } catch (const pg::SqlError& e) {
            bool retryable =
                conn_.Ok() && (e.sqlstate() == pg::kLockNotAvailable || e.sqlstate() == kDeadlockDetected);
            if (!retryable) {
                throw;
            }
            if (n >= options_.swap_retries) {
                throw Error(ExitCode::Lock,
                            fmt::format("{}: {} could not lock its tables within {} ms in {} attempts; the "
                                        "legacy table is unchanged and serving",
                                        display_, what, options_.swap_lock_timeout.count(), n + 1),
                            "a long transaction (or a running sync) holds the table; find it in "
                            "pg_stat_activity, or run convert-legacy again later: it continues where it "
                            "stopped");
            }
            auto wait = options_.swap_backoff * (1 << std::min(n, 6));
            log_.Warn(fmt::format("{}: {} did not get its locks within {} ms ({}); retry {} in {} ms",
                                  display_, what, options_.swap_lock_timeout.count(),
                                  e.sqlstate() == kDeadlockDetected ? "deadlock" : "lock timeout", n + 1,
                                  wait.count()),
                      {{"table", display_}, {"attempt", n + 1}});
            auto until = Clock::now() + wait;
            while (Clock::now() < until) {
                CheckInterrupt();
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    }
}

void Table::MoveGrants(const std::string& from_oid, const std::string& to) {
    pg::Result g = conn_.Exec("SELECT a.grantee = 0, r.rolname, a.privilege_type, a.is_grantable "
                              "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
                              "LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE c.oid = $1::oid",
                              {from_oid});
    for (int i = 0; i < g.Rows(); ++i) {
        std::string priv = g.Get(i, 2);
        if (!IsTablePrivilege(priv) || (g.Get(i, 0) != "t" && g.IsNull(i, 1))) {
            continue;
        }
        std::string grantee = g.Get(i, 0) == "t" ? "PUBLIC" : Q(g.Get(i, 1));
        if (g.Get(i, 0) != "t" && g.Get(i, 1) == options_.owner) {
            continue; // the new owner has every privilege
        }
        conn_.Exec("GRANT " + priv + " ON " + to + " TO " + grantee +
                   (g.Get(i, 3) == "t" ? " WITH GRANT OPTION" : ""));
    }
}

void Table::RenameIndexes(const std::string& table, const std::string& from, const std::string& to) {
    pg::Result idx = conn_.Exec("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                "WHERE i.indrelid = to_regclass($1) ORDER BY 1",
                                {table});
    for (int i = 0; i < idx.Rows(); ++i) {
        std::string n = idx.Get(i, 0);
        // A name already carrying the new prefix (from + "_partitioned_...") stays as it is.
        bool already = to.size() > from.size() && n.rfind(to + "_", 0) == 0;
        if (n.rfind(from + "_", 0) == 0 && !already) {
            conn_.Exec("ALTER INDEX " + Q(schema_) + "." + Q(n) + " RENAME TO " +
                       Q(Ident63(to + n.substr(from.size()))));
        }
    }
}

std::vector<std::pair<std::string, std::string>> Table::ViewDefinitions(const std::string& oid) {
    std::vector<std::pair<std::string, std::string>> out;
    auto views = Dependents(oid);
    if (views.empty()) {
        return out;
    }
    conn_.Exec("SET LOCAL search_path = pg_catalog");
    for (const auto& [view_oid, quoted] : views) {
        auto def = conn_.QueryValue("SELECT pg_get_viewdef($1::oid)", {view_oid});
        out.emplace_back(quoted, def.value_or(""));
    }
    conn_.Exec("SET LOCAL search_path = DEFAULT");
    return out;
}

void Table::FinalStep(TableReport& report) {
    sync::Target target = sync::ReadTarget(conn_, new_quoted_);
    WithRetries(
        "the final step",
        [&] {
            pg::Transaction tx(conn_);
            conn_.Exec(fmt::format("SET LOCAL lock_timeout = '{}ms'", options_.swap_lock_timeout.count()));
            // No sync of a copied month (it takes the month's lock) runs during the final check; writers
            // that bypass the lock wait at the SHARE lock; readers go on. (A sync of a month not copied
            // holds the table: this attempt times out, or loses a deadlock, and is retried.)
            int recopied = 0; // counted once the attempt commits
            std::set<std::string> months = AttachedMonths();
            for (const auto& m : months) {
                LockMonth(m);
            }
            conn_.Exec("LOCK TABLE " + quoted_ + " IN SHARE MODE");
            auto diffs = Differences(DigestsOf(quoted_), CopyDigests());
            for (const auto& [month, present] : diffs) {
                if (present) {
                    int64_t rows = LoadMonth(quoted_, new_quoted_, target, month);
                    log_.Info(fmt::format("{} {}: changed since it was copied; copied again ({} rows) in the "
                                          "final step",
                                          display_, month, rows),
                              {{"table", display_}, {"month", month}, {"rows", rows}});
                } else {
                    DropMonth(new_quoted_, month);
                }
                ++recopied;
            }
            std::string legacy_oid = *conn_.QueryValue("SELECT to_regclass($1)::oid", {quoted_});
            auto views = ViewDefinitions(legacy_oid);
            conn_.Exec("LOCK TABLE " + quoted_ + ", " + new_quoted_ + " IN ACCESS EXCLUSIVE MODE");
            auto locked = Clock::now();
            // The index names follow the tables' (the legacy's first, to free its names).
            RenameIndexes(quoted_, name_, legacy_name_);
            RenameIndexes(new_quoted_, new_name_, name_);
            conn_.Exec("ALTER TABLE " + quoted_ + " RENAME TO " + Q(legacy_name_));
            conn_.Exec("ALTER TABLE " + new_quoted_ + " RENAME TO " + Q(name_));
            MoveGrants(legacy_oid, quoted_);
            // 0003's grants on the signal tables (only on those), when the roles exist.
            bool signal_table =
                std::find(DefaultTables().begin(), DefaultTables().end(), display_) != DefaultTables().end();
            for (const auto& [role, privileges] : std::vector<std::pair<std::string, std::string>>{
                     {"ranking_writer", "SELECT, INSERT, UPDATE, DELETE"}, {"api_service", "SELECT"}}) {
                if (signal_table &&
                    conn_.QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = $1", {role}) == "1") {
                    conn_.Exec("GRANT " + privileges + " ON " + quoted_ + " TO " + Q(role));
                }
            }
            for (const auto& [view, def] : views) {
                conn_.Exec("SET LOCAL search_path = pg_catalog");
                conn_.Exec("CREATE OR REPLACE VIEW " + view + " AS " + def);
                conn_.Exec("SET LOCAL search_path = DEFAULT");
            }
            // When the conversion happened, for --drop-legacy (months synced since are not compared).
            std::string at = *conn_.QueryValue("SELECT now()::text");
            conn_.Exec("COMMENT ON TABLE " + legacy_quoted_ + " IS " +
                       pg::QuoteLiteral(conn_, std::string(kLegacyComment) + at));
            conn_.Exec("COMMENT ON TABLE " + quoted_ + " IS NULL");
            pg::Result parts = conn_.Exec(
                "SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN "
                "pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = to_regclass($1) AND "
                "starts_with(obj_description(c.oid, 'pg_class'), $2)",
                {quoted_, kCopyComment});
            for (int i = 0; i < parts.Rows(); ++i) {
                conn_.Exec("COMMENT ON TABLE " + Q(parts.Get(i, 0)) + "." + Q(parts.Get(i, 1)) + " IS NULL");
            }
            tx.Commit();
            report.final_lock_ms = SecondsSince(locked) * 1000;
            report.months_recopied += recopied;
            for (const auto& v : views) {
                report.views.push_back(v.first);
            }
        },
        report.final_attempts);
}

void Table::MeasureRate(TableReport& report) {
    if (report.months.empty()) {
        return;
    }
    auto largest = std::max_element(report.months.begin(), report.months.end(),
                                    [](const auto& a, const auto& b) { return a.rows < b.rows; });
    pg::Transaction tx(conn_); // rolled back: the probe leaves nothing
    std::string probe = "pg_temp.pgsplit_convert_probe";
    std::string ddl = "CREATE TEMP TABLE pgsplit_convert_probe (";
    for (size_t i = 0; i < legacy_.columns.size(); ++i) {
        ddl += (i ? ", " : "") + sync::StageColumnSql(conn_, legacy_.columns[i]);
    }
    auto td = Clock::now();
    conn_.Exec(ddl + ")");
    // Each month pays a few catalog statements besides its rows (stage, indexes, attach, renames).
    double ddl_s = SecondsSince(td) * static_cast<double>(4 + legacy_.indexes.size());
    std::string cols = ColumnList();
    auto t0 = Clock::now();
    pg::Result ins = conn_.Exec("INSERT INTO " + probe + " (" + cols + ") SELECT " + cols + " FROM " +
                                    quoted_ + " WHERE " + Q(kPartitionColumn) + " = $1 LIMIT 50000",
                                {largest->month});
    for (const auto& ix : legacy_.indexes) {
        conn_.Exec(sync::StageIndexSql(conn_, legacy_, ix, probe));
    }
    double copy_s = SecondsSince(t0);
    int64_t rows = std::stoll(ins.CommandTuples().empty() ? "0" : ins.CommandTuples());
    auto t1 = Clock::now();
    DigestsOf(probe);
    double hash_s = SecondsSince(t1);
    if (rows > 0 && copy_s > 0) {
        report.copy_rows_per_s = rows / copy_s;
        // Copy and hash what was copied once, then hash the legacy side twice (before and in the
        // final step).
        double per_row = copy_s / rows + 3 * hash_s / rows;
        report.estimated_s =
            per_row * static_cast<double>(report.rows) + ddl_s * static_cast<double>(report.months.size());
    }
}

TableReport Table::Convert(bool dry_run) {
    auto t0 = Clock::now();
    TableReport report;
    report.table = display_;
    report.before = State();
    switch (report.before) {
    case TableState::Missing:
        throw Error(ExitCode::Config, fmt::format("table {} does not exist", display_),
                    "check --table (schema.name), or the database the DSN names");
    case TableState::Other:
        throw Error(ExitCode::Source,
                    fmt::format("{} is not a plain table nor partitioned by LIST (year_month); "
                                "convert-legacy does not know what to make of it",
                                display_),
                    "convert-legacy converts the legacy runner's plain signal tables");
    case TableState::Partitioned:
    case TableState::Converted:
        report.outcome = "already partitioned";
        log_.Info(fmt::format("{} is already partitioned by LIST (year_month){}; nothing to do", display_,
                              report.before == TableState::Converted
                                  ? fmt::format(" ({}.{} is kept until --drop-legacy)", schema_, legacy_name_)
                                  : ""),
                  {{"table", display_}, {"state", TableStateName(report.before)}});
        return report;
    case TableState::Legacy:
        break;
    }
    if (!checked_) {
        Check();
    }
    report.views = views_;
    report.months = months_;
    for (const auto& m : report.months) {
        report.rows += m.rows;
        report.bytes += m.bytes;
    }
    if (dry_run) {
        MeasureRate(report);
        report.outcome = "planned";
        report.seconds = SecondsSince(t0);
        return report;
    }

    LogPhase phase(log_, "convert " + display_, "convert-legacy " + display_);
    EnsureParent();
    sync::Target target = sync::ReadTarget(conn_, new_quoted_);
    std::set<std::string> attached = AttachedMonths();
    {
        Progress progress(options_.progress, display_, report.months.size());
        for (const auto& m : report.months) {
            CheckInterrupt();
            if (attached.count(m.month)) {
                progress.Month(0);
                continue; // committed by an earlier run; the comparison below checks it
            }
            auto tm = Clock::now();
            pg::Transaction tx(conn_);
            LockMonth(m.month);
            int64_t rows = LoadMonth(quoted_, new_quoted_, target, m.month);
            tx.Commit();
            ++report.months_copied;
            progress.Month(rows);
            log_.Info(fmt::format("{} {}: copied {} rows in {:.2f} s", display_, m.month, GroupDigits(rows),
                                  SecondsSince(tm)),
                      {{"table", display_}, {"month", m.month}, {"rows", rows}});
        }
    }
    // Writers that bypass the lock: compare, copy again what changed, until the sides agree.
    for (int round = 0; round < options_.verify_rounds; ++round) {
        CheckInterrupt();
        auto diffs = Differences(DigestsOf(quoted_), CopyDigests());
        if (diffs.empty()) {
            log_.Info(fmt::format("{}: every month equal by count and content hash", display_),
                      {{"table", display_}, {"months", report.months.size()}});
            break;
        }
        for (const auto& [month, present] : diffs) {
            CheckInterrupt();
            pg::Transaction tx(conn_);
            LockMonth(month);
            int64_t rows = 0;
            if (present) {
                rows = LoadMonth(quoted_, new_quoted_, target, month);
            } else {
                DropMonth(new_quoted_, month);
            }
            tx.Commit();
            ++report.months_recopied;
            log_.Warn(
                fmt::format("{} {}: changed behind the lock since it was copied (a writer that does not "
                            "take the sync lock?); {}",
                            display_, month,
                            present ? fmt::format("copied again ({} rows)", rows)
                                    : "gone from the legacy table, partition dropped"),
                {{"table", display_}, {"month", month}});
        }
    }
    CheckInterrupt();
    FinalStep(report);
    report.outcome = "converted";
    report.seconds = SecondsSince(t0);
    log_.Info(
        fmt::format("{}: converted, {} months, {} rows in {:.1f} s; readers were locked out for {:.0f} ms; "
                    "the legacy table is kept as {}.{}",
                    display_, report.months.size(), GroupDigits(report.rows), report.seconds,
                    report.final_lock_ms, schema_, legacy_name_),
        {{"table", display_},
         {"months", report.months.size()},
         {"rows", report.rows},
         {"final_lock_ms", report.final_lock_ms}});
    return report;
}

TableReport Table::DropLegacy() {
    TableReport report;
    report.table = display_;
    report.before = State();
    if (report.before != TableState::Converted) {
        report.outcome = "nothing to drop";
        log_.Info(fmt::format("{}: no {}.{} beside a partitioned table; nothing to drop", display_, schema_,
                              legacy_name_),
                  {{"table", display_}, {"state", TableStateName(report.before)}});
        return report;
    }
    ReadLegacy(legacy_quoted_);
    // Months sync-signals replaced from Delta since the conversion differ by design: the ledger says
    // which (for the signal tables, whose ledger it is), and they are not compared.
    std::set<std::string> synced_since;
    bool signal_table =
        std::find(DefaultTables().begin(), DefaultTables().end(), display_) != DefaultTables().end();
    if (signal_table &&
        conn_.QueryValue("SELECT to_regclass('ranking.signal_sync_state') IS NOT NULL") == "t") {
        pg::Result since = conn_.Exec(
            "SELECT year_month FROM ranking.signal_sync_state WHERE status = 'success' AND synced_at > "
            "(SELECT substring(obj_description(to_regclass($1), 'pg_class') FROM length($2) + "
            "1)::timestamptz "
            "WHERE starts_with(obj_description(to_regclass($1), 'pg_class'), $2)) ORDER BY 1",
            {legacy_quoted_, kLegacyComment});
        for (int i = 0; i < since.Rows(); ++i) {
            synced_since.insert(since.Get(i, 0));
        }
    }
    // A fresh check: every other month of the legacy copy equal in the serving table.
    Digests old = DigestsOf(legacy_quoted_);
    Digests now = DigestsOf(quoted_);
    std::vector<std::string> differing;
    for (const auto& [month, d] : old) {
        report.rows += d.rows;
        if (synced_since.count(month)) {
            continue;
        }
        auto it = now.find(month);
        if (it == now.end() || !(it->second == d)) {
            differing.push_back(month);
        }
    }
    if (!synced_since.empty()) {
        std::string list;
        for (const auto& m : synced_since) {
            list += (list.empty() ? "" : " ") + m;
        }
        log_.Info(
            fmt::format("{}: {} month(s) were synced from Delta since the conversion and are not compared "
                        "with the legacy copy: {}",
                        display_, synced_since.size(), list),
            {{"table", display_}, {"months_synced_since", synced_since}});
    }
    if (!differing.empty()) {
        std::string list;
        for (const auto& m : differing) {
            list += (list.empty() ? "" : ", ") + m;
        }
        throw Error(
            ExitCode::Verify,
            fmt::format("{}: {} month(s) of {}.{} differ from {}: {}; the legacy table was not dropped",
                        display_, differing.size(), schema_, legacy_name_, display_, list),
            "a sync replaced them since the conversion (check with pgsplit verify --content); the "
            "legacy copy is the state before it: keep it, or drop it by hand if that is expected");
    }
    int attempts = 0;
    WithRetries(
        "dropping the legacy table",
        [&] {
            pg::Transaction tx(conn_);
            conn_.Exec(fmt::format("SET LOCAL lock_timeout = '{}ms'", options_.swap_lock_timeout.count()));
            conn_.Exec("DROP TABLE " + legacy_quoted_);
            tx.Commit();
        },
        attempts);
    report.final_attempts = attempts;
    report.months.clear();
    for (const auto& [month, d] : old) {
        report.months.push_back({month, d.rows, 0});
    }
    report.outcome = "legacy dropped";
    log_.Info(fmt::format("{}: every month equal; dropped {}.{}", display_, schema_, legacy_name_),
              {{"table", display_}, {"months", old.size()}});
    return report;
}

TableReport Table::Rollback() {
    TableReport report;
    report.table = display_;
    report.before = State();
    if (report.before == TableState::Legacy) {
        report.outcome = "already legacy";
        log_.Info(fmt::format("{} is a plain table already; nothing to roll back", display_),
                  {{"table", display_}});
        return report;
    }
    if (report.before != TableState::Converted) {
        throw Error(ExitCode::Usage,
                    fmt::format("{} has no {}.{} to roll back to", display_, schema_, legacy_name_),
                    "--rollback swaps back a conversion whose legacy table was not dropped yet");
    }
    if (ReadRel(conn_, schema_, new_name_).exists) {
        throw Error(ExitCode::Source,
                    fmt::format("{}.{} exists; --rollback renames the partitioned table to that name",
                                sync::DisplayName(schema_), sync::DisplayName(new_name_)),
                    "rename or drop it, then run convert-legacy --rollback again");
    }
    ReadLegacy(legacy_quoted_);
    WithRetries(
        "the rollback",
        [&] {
            report.differing.clear();
            pg::Transaction tx(conn_);
            conn_.Exec(fmt::format("SET LOCAL lock_timeout = '{}ms'", options_.swap_lock_timeout.count()));
            std::set<std::string> months = AttachedMonths();
            for (const auto& m : months) {
                LockMonth(m);
            }
            conn_.Exec("LOCK TABLE " + quoted_ + " IN SHARE MODE");
            for (const auto& [month, present] : Differences(DigestsOf(legacy_quoted_), DigestsOf(quoted_))) {
                report.differing.push_back(month);
            }
            std::string oid = *conn_.QueryValue("SELECT to_regclass($1)::oid", {quoted_});
            auto views = ViewDefinitions(oid);
            conn_.Exec("LOCK TABLE " + quoted_ + ", " + legacy_quoted_ + " IN ACCESS EXCLUSIVE MODE");
            RenameIndexes(quoted_, name_, new_name_);
            RenameIndexes(legacy_quoted_, legacy_name_, name_);
            conn_.Exec("ALTER TABLE " + quoted_ + " RENAME TO " + Q(new_name_));
            conn_.Exec("ALTER TABLE " + legacy_quoted_ + " RENAME TO " + Q(name_));
            for (const auto& [view, def] : views) {
                conn_.Exec("SET LOCAL search_path = pg_catalog");
                conn_.Exec("CREATE OR REPLACE VIEW " + view + " AS " + def);
                conn_.Exec("SET LOCAL search_path = DEFAULT");
            }
            conn_.Exec("COMMENT ON TABLE " + quoted_ + " IS NULL");
            tx.Commit();
        },
        report.final_attempts);
    report.outcome = "rolled back";
    if (!report.differing.empty()) {
        std::string list;
        for (const auto& m : report.differing) {
            list += (list.empty() ? "" : " ") + m;
        }
        log_.Warn(fmt::format("{}: {} month(s) changed in the partitioned table since the conversion and are "
                              "served from the legacy table as they were before it: {}",
                              display_, report.differing.size(), list),
                  {{"table", display_}, {"months_differing", report.differing}});
        log_.Info("re-sync them from Delta (pgsplit sync-signals --month M); convert-legacy continues from "
                  "the partitioned copy, now " +
                  schema_ + "." + new_name_);
    }
    log_.Info(fmt::format("{}: rolled back; the plain table serves again, the partitioned one is {}.{}",
                          display_, schema_, new_name_),
              {{"table", display_}});
    return report;
}

} // namespace

const std::vector<std::string>& DefaultTables() {
    static const std::vector<std::string> tables = {"ranking.ranking_signal",
                                                    "ranking.composite_signal_daily"};
    return tables;
}

const char* TableStateName(TableState s) {
    switch (s) {
    case TableState::Missing:
        return "missing";
    case TableState::Legacy:
        return "legacy";
    case TableState::Converted:
        return "converted";
    case TableState::Partitioned:
        return "partitioned";
    case TableState::Other:
        return "other";
    }
    return "?";
}

TableState ReadState(pg::Connection& conn, const std::string& table) {
    Options o;
    Logger quiet;
    return Table(quiet, conn, o, table).State();
}

Report Run(const Logger& log, pg::Connection& conn, const Options& options) {
    Report report;
    report.action = options.action;
    const auto& tables = options.tables.empty() ? DefaultTables() : options.tables;
    std::set<std::string> seen;
    std::vector<std::unique_ptr<Table>> todo;
    for (const auto& t : tables) {
        if (t.find('.') == std::string::npos || t.front() == '.' || t.back() == '.' ||
            t.find('.') != t.rfind('.')) {
            throw Error(ExitCode::Usage, fmt::format("--table {}: expected schema.name", t),
                        "e.g. --table ranking.ranking_signal");
        }
        if (seen.insert(t).second) {
            todo.push_back(std::make_unique<Table>(log, conn, options, t));
        }
    }
    if (options.action == Action::Convert || options.action == Action::DryRun) {
        // Every table's refusals first: a refused second table must not find the first converted.
        for (auto& table : todo) {
            table->Check();
        }
    }
    if (options.action == Action::Convert) {
        // The legacy ledger has no `error` column, which 0003 creates only on a new database and
        // sync-signals writes: without it the first sync after the conversion could not record
        // anything. Added here, where the legacy database is adopted.
        if (conn.QueryValue(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                "to_regclass('ranking.signal_sync_state') AND attname = 'error' AND NOT attisdropped") ==
                "0" &&
            conn.QueryValue("SELECT to_regclass('ranking.signal_sync_state') IS NOT NULL") == "t") {
            conn.Exec("ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS error TEXT");
            log.Info("added the column error to the legacy ledger ranking.signal_sync_state (sync-signals "
                     "records failures there)");
        }
    }
    for (auto& table : todo) {
        switch (options.action) {
        case Action::Convert:
            report.tables.push_back(table->Convert(false));
            break;
        case Action::DryRun:
            report.tables.push_back(table->Convert(true));
            break;
        case Action::DropLegacy:
            report.tables.push_back(table->DropLegacy());
            break;
        case Action::Rollback:
            report.tables.push_back(table->Rollback());
            break;
        }
    }
    return report;
}

std::vector<std::pair<std::string, std::string>> LockPlan() {
    return {
        {"checks (invalid rows, dependents, figures)", "ACCESS SHARE on the legacy table: nobody waits"},
        {"create the partitioned table", "a new table: nobody waits"},
        {"copy a month (one transaction each)",
         "the month's sync advisory lock (a sync of that month waits, and the copy waits for a running "
         "one); ACCESS SHARE on the legacy table: readers and writers go on"},
        {"compare every month (count + content hash)", "ACCESS SHARE: nobody waits"},
        {"final step (one transaction)",
         "every month's sync lock; SHARE on the legacy table (writers wait during the last comparison, "
         "readers do not); then ACCESS EXCLUSIVE on both tables for the renames, grants and views: readers "
         "wait at most --swap-lock-timeout per attempt"},
    };
}

std::vector<std::string> LegacyTables(pg::Connection& conn) {
    std::vector<std::string> out;
    for (const auto& t : DefaultTables()) {
        if (ReadState(conn, t) == TableState::Legacy) {
            out.push_back(t);
        }
    }
    return out;
}

std::string LegacyHint(const std::vector<std::string>& tables) {
    std::string list;
    for (const auto& t : tables) {
        list += (list.empty() ? "" : " and ") + t;
    }
    return fmt::format(
        "{} {} a legacy unpartitioned table{}: sync-signals uses its slower delete strategy "
        "there; convert with `pgsplit convert-legacy --dry-run`, then `pgsplit convert-legacy` "
        "(runbooks/convert-legacy.md)",
        list, tables.size() == 1 ? "is a" : "are", tables.size() == 1 ? "" : "s");
}

} // namespace pgsplit::legacy
