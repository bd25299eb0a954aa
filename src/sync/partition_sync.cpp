// One partition value through every table of a sync, in one transaction: the sources checked against
// the target (Prepare), the stage built and loaded by binary COPY, its indexes, the swap behind a
// savepoint with lock_timeout retries, or DELETE + COPY for unpartitioned targets, and the refusals
// (an empty month, duplicate keys). Long because these steps share one transaction and one error
// policy ("nothing was changed"); PartitionWriter keeps their shared state in one object.
#include "sync/partition_sync.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "pg/transaction.h"
#include "storage/storage.h"
#include "sync/copy_encoder.h"
#include "sync/row_digest.h"
#include "sync/target.h"

#include <chrono>
#include <fmt/format.h>
#include <thread>

namespace pgsplit::sync {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The COMMENT a swapped-in partition carries: the Delta version its rows were read from.
std::string SyncMarker(int64_t delta_version) {
    return fmt::format("pgsplit sync: Delta version {}", delta_version);
}

// Whether a Delta column of this type can feed a target column of type `t` at all (the exact
// physical layout is checked again per file by the encoder).
bool DeltaTypeFits(const delta::DataType& d, PgType t) {
    using K = delta::TypeKind;
    switch (t) {
    case PgType::Bool:
        return d.kind == K::Boolean;
    case PgType::Int2:
    case PgType::Int4:
    case PgType::Int8:
        return d.kind == K::Byte || d.kind == K::Short || d.kind == K::Integer || d.kind == K::Long;
    case PgType::Float4:
        return d.kind == K::Float;
    case PgType::Float8:
        return d.kind == K::Float || d.kind == K::Double || d.kind == K::Byte || d.kind == K::Short ||
               d.kind == K::Integer || d.kind == K::Long;
    case PgType::Text:
        return d.kind == K::String;
    case PgType::Bytea:
        return d.kind == K::Binary;
    case PgType::Date:
    case PgType::Timestamp:
    case PgType::TimestampTz:
        return d.kind == K::Date || d.kind == K::Timestamp || d.kind == K::TimestampNtz;
    }
    return false;
}

// One job, checked and ready to run.
struct Prepared {
    const TableJob* job = nullptr;
    Source* source = nullptr;
    Target target;
    Strategy strategy = Strategy::Swap;
    std::string partition_source;          // the partition column's name in Delta (case may differ)
    std::vector<std::string> scan_columns; // Delta columns read, in scan order
    std::vector<int> scan_index;           // per target column: index in scan_columns, or -1 (NULLs)
    std::string stage;                     // unqualified stage table name (swap)
    std::string stage_quoted;              // schema-qualified, quoted
    TableResult result;
};

Prepared Prepare(const Logger& log, Target target, Source& source, const SyncOptions& options) {
    const TableJob& job = source.Job();
    Prepared p;
    p.job = &job;
    p.source = &source;
    p.target = std::move(target);
    p.result.label = job.label;
    p.result.target = job.target;
    p.result.delta_version = source.GetSnapshot().Version();

    const delta::Schema& schema = source.GetSnapshot().GetSchema();
    if (!p.target.Find(job.partition_column)) {
        throw Error(ExitCode::Config,
                    fmt::format("target {} has no column '{}' to hold the partition value", job.target,
                                job.partition_column),
                    "check the partition column in pgsplit.yaml");
    }
    const delta::StructField* partition_field = schema.FindColumn(job.partition_column);
    if (!partition_field) {
        throw Error(ExitCode::Source,
                    fmt::format("Delta table {} has no column '{}'", job.source_uri, job.partition_column),
                    "the source must have the partition column, as a partition column or a regular one");
    }
    p.partition_source = partition_field->name;
    for (const auto& col : p.target.columns) {
        // Delta names are case-insensitive (RANK feeds rank); an exact match wins.
        const delta::StructField* f = schema.FindColumn(col.name);
        if (!f) {
            if (col.not_null) {
                throw Error(
                    ExitCode::Source,
                    fmt::format("column '{}' is NOT NULL in {} but the Delta table {} (version {}) has no "
                                "such column; nothing was changed",
                                col.name, job.target, job.source_uri, source.GetSnapshot().Version()),
                    "add the column to the Delta table, or make the target column nullable");
            }
            log.Debug(
                fmt::format("{}: column '{}' is not in Delta; it is filled with NULL", job.label, col.name));
            p.scan_index.push_back(-1);
            continue;
        }
        if (!f->type.IsPrimitive() || !DeltaTypeFits(f->type, col.type)) {
            throw Error(
                ExitCode::Source,
                fmt::format("column '{}' is {} in Delta table {} but {} in {}; pgsplit does not convert "
                            "between them",
                            col.name, f->type.name, job.source_uri, col.sql_type, job.target),
                "make the Delta column's type match the target column");
        }
        p.scan_index.push_back(static_cast<int>(p.scan_columns.size()));
        p.scan_columns.push_back(f->name);
    }

    bool list_partitioned =
        p.target.list_partition_key && *p.target.list_partition_key == job.partition_column;
    switch (options.strategy) {
    case Strategy::Auto:
        p.strategy = list_partitioned ? Strategy::Swap : Strategy::Delete;
        break;
    case Strategy::Swap:
        if (!list_partitioned) {
            throw Error(ExitCode::Usage,
                        fmt::format("--strategy swap needs {} to be PARTITION BY LIST ({}), and it is not",
                                    job.target, job.partition_column),
                        "use --strategy auto (or delete) for tables created before pgsplit's migration 0003");
        }
        p.strategy = Strategy::Swap;
        break;
    case Strategy::Delete:
        p.strategy = Strategy::Delete;
        break;
    }
    if (p.strategy == Strategy::Swap) {
        CheckStageIndexes(p.target);
    }
    p.result.strategy = p.strategy;
    return p;
}

// A statement that failed because of the rows Delta holds (two rows with one key, a value an index
// cannot hold): a source-data error naming the table, the value and the server's key detail, without
// the server's connection prefix. Other failures are rethrown as they are.
[[noreturn]] void RethrowAsDataError(const pg::SqlError& e, const Prepared& p, const std::string& value) {
    const std::string& state = e.sqlstate();
    if (state == pg::kUniqueViolation) {
        throw Error(ExitCode::Source,
                    fmt::format("{} {} = {}: Delta holds two rows with the same key for {} ({}); nothing was "
                                "changed",
                                p.job->label, p.job->partition_column, value, p.job->target,
                                e.server_message()),
                    "deduplicate the rows in Delta (a writer appended the month twice?), then sync again");
    }
    if (state == "54000") { // program_limit_exceeded: an index row over the btree limit
        throw Error(ExitCode::Source,
                    fmt::format("{} {} = {}: a row is too large for an index of {} ({}); nothing was changed",
                                p.job->label, p.job->partition_column, value, p.job->target,
                                e.server_message()),
                    "the value is longer than a btree index entry can hold (about 2.7 kB); shorten it in "
                    "Delta or change the index");
    }
    throw;
}

// One partition value being written through one connection: the state every step of it shares.
class PartitionWriter {
public:
    PartitionWriter(const Logger& log, pg::Connection& conn, const std::string& value,
                    const SyncOptions& options)
        : log_(log), conn_(conn), value_(value), options_(options) {}

    // Swap: a stage table with the partition's CHECK, loaded, indexed and analysed.
    void LoadStage(Prepared& p);
    // Swap: the stage replaces the value's partition, behind a savepoint with lock_timeout retries.
    void Swap(Prepared& p);
    // Delete: the value's rows deleted and copied again, in place.
    void DeleteAndCopy(Prepared& p);

private:
    // Streams the partition's rows from Delta into `copy_sql`; sets p.result's rows, skipped, files.
    void CopyRows(Prepared& p, const std::string& copy_sql);

    const Logger& log_;
    pg::Connection& conn_;
    const std::string& value_;
    const SyncOptions& options_;
};

// Scans the value's rows of p's source and encodes them for p's target into `buf`, calling
// `flush(buf, rows so far)` whenever it passes flush_bytes; rows the encoder rejects go to
// `on_invalid` (false stops the scan: EncodeRows returns false). Each row written is also shown to
// `observer`. Says through `facts` how many files the scan opened and what the log records for them.
struct ScanFacts {
    int64_t files = 0;
    std::optional<int64_t> log_records; // the files' stats.numRecords, when every file has them
};
bool EncodeRows(const Prepared& p, const std::string& value, const SyncOptions& options, CopyBuffer& buf,
                RowObserver* observer, const std::function<bool(const InvalidRow&)>& on_invalid,
                const std::function<void(CopyBuffer&, int64_t)>& flush, ScanFacts& facts) {
    delta::ScanOptions so;
    so.columns = p.scan_columns;
    so.predicate = delta::Predicate{p.partition_source, value};
    so.batch_rows = options.batch_rows;
    storage::Storage& storage = p.source->GetStorage();
    delta::Scan scan(p.source->GetSnapshot(), storage, so);

    CopyEncoder encoder(p.target.columns, EncodeOptions{options.truncate_timestamps});
    encoder.SetObserver(observer);
    parquet::ColumnBatch absent; // column == nullptr: all NULL
    std::vector<const parquet::ColumnBatch*> cols(p.target.columns.size(), &absent);
    int64_t sent = 0;
    delta::ScanBatch batch;
    while (scan.Next(batch)) {
        CheckInterrupt();
        for (size_t t = 0; t < cols.size(); ++t) {
            cols[t] = p.scan_index[t] < 0 ? &absent : &batch.columns[static_cast<size_t>(p.scan_index[t])];
        }
        // Rows are named by their place in the data file (ScanBatch::RowNumber), which stays right
        // when the row filter dropped rows before them.
        RowOrigin origin{storage.Describe(batch.file->path), batch.first_row, &batch.row_numbers};
        int64_t written = 0;
        if (!encoder.Encode(cols, batch.size, origin, buf, written, on_invalid)) {
            facts.files = scan.Counters().files_opened;
            return false;
        }
        sent += written;
        if (buf.Size() >= options.flush_bytes) {
            flush(buf, sent);
        }
    }
    facts.files = scan.Counters().files_opened;
    facts.log_records = delta::Snapshot::CountRecords(scan.Files());
    return true;
}

void PartitionWriter::CopyRows(Prepared& p, const std::string& copy_sql) {
    CopyBuffer buf;
    CopyEncoder::AppendHeader(buf);
    std::optional<InvalidRow> first_invalid;
    auto on_invalid = [&](const InvalidRow& bad) {
        if (!options_.skip_invalid) {
            first_invalid = bad;
            return false;
        }
        if (p.result.skipped < 5) {
            log_.Warn(fmt::format("{} {}: skipping invalid row: {}", p.job->label, value_, bad.Describe()));
        }
        ++p.result.skipped;
        return true;
    };
    // The digest of what is written, for the ledger (verify --content --postgres-only), computed on
    // a thread of its own from each buffer as it is sent.
    struct RowSpans : RowObserver {
        const CopyBuffer& buf;
        std::vector<DigestPipeline::RowSpan> rows;
        explicit RowSpans(const CopyBuffer& b) : buf(b) {}
        void OnRow(const char* fields, size_t size) override {
            rows.push_back({static_cast<size_t>(fields - buf.Data()), size});
        }
    } spans(buf);
    DigestPipeline digest(p.target.columns);

    ScanFacts facts;
    conn_.CopyStart(copy_sql);
    try {
        auto flush = [&](CopyBuffer& b, int64_t sent) {
            digest.Submit(b.Data(), b.Size(), spans.rows);
            conn_.CopyData(b.Data(), b.Size());
            b.Clear();
            if (options_.on_progress) {
                options_.on_progress(p.job->label, sent);
            }
        };
        if (!EncodeRows(p, value_, options_, buf, &spans, on_invalid, flush, facts)) {
            throw Error(ExitCode::Source,
                        fmt::format("invalid row for {} in {} {}: {}; nothing was changed", p.job->target,
                                    p.job->partition_column, value_, first_invalid->Describe()),
                        "fix the data in Delta, or pass --skip-invalid to drop such rows (they are counted "
                        "and recorded)");
        }
        digest.Submit(buf.Data(), buf.Size(), spans.rows);
        CopyEncoder::AppendTrailer(buf);
        conn_.CopyData(buf.Data(), buf.Size());
        p.result.rows = conn_.CopyEnd();
    } catch (...) {
        if (conn_.Ok() && PQtransactionStatus(conn_.Raw()) == PQTRANS_ACTIVE) {
            conn_.CopyAbort("pgsplit: the sync was aborted");
        }
        throw;
    }
    p.result.files = facts.files;
    p.result.digest = digest.Finish().Text();

    // With the partition column a Delta partition column, every row of the selected files belongs to
    // the month, so the log's numRecords must equal what was read.
    if (options_.verify_counts && p.source->GetSnapshot().IsPartitionColumn(p.partition_source)) {
        if (auto expected = facts.log_records) {
            int64_t read = p.result.rows + p.result.skipped;
            if (*expected != read) {
                throw Error(ExitCode::Verify,
                            fmt::format("{} {}: the Delta log records {} rows for the month but {} were read",
                                        p.job->label, value_, *expected, read),
                            "the Delta files changed while they were read, or their stats are wrong; retry");
            }
        }
    }
}

void PartitionWriter::LoadStage(Prepared& p) {
    const Target& t = p.target;
    p.stage = fmt::format("{}_stage_{}", t.name, PartitionSuffix(value_));
    if (p.stage.size() > 63) {
        p.stage = p.stage.substr(0, 63);
    }
    p.stage_quoted = pg::QuoteIdent(conn_, t.schema) + "." + pg::QuoteIdent(conn_, p.stage);
    // Built from the catalog rather than LIKE: LIKE would take a lock on the parent for the whole
    // load and deadlock months synced in parallel at their swaps.
    std::string ddl = "CREATE TABLE " + p.stage_quoted + " (";
    std::string col_list;
    for (size_t i = 0; i < t.columns.size(); ++i) {
        const auto& c = t.columns[i];
        ddl += i ? ", " : "";
        ddl += StageColumnSql(conn_, c);
        col_list += i ? ", " : "";
        col_list += pg::QuoteIdent(conn_, c.name);
    }
    ddl += ", CHECK (" + pg::QuoteIdent(conn_, p.job->partition_column) + " = " +
           pg::QuoteLiteral(conn_, value_) + "))";
    conn_.Exec(ddl);
    // Partitions belong to the parent's owner, so any member of that role can swap them later.
    bool owner_ok = conn_.QueryValue("SELECT current_user = $1 OR pg_has_role(current_user, $1, 'MEMBER')",
                                     {t.owner}) == "t";
    if (conn_.QueryValue("SELECT current_user") != t.owner && owner_ok) {
        conn_.Exec("ALTER TABLE " + p.stage_quoted + " OWNER TO " + pg::QuoteIdent(conn_, t.owner));
    }
    CopyRows(p, "COPY " + p.stage_quoted + " (" + col_list + ") FROM STDIN (FORMAT binary, FREEZE)");
    // What the partition holds, for --claim (PartitionSyncedAtVersion); a number, never lake text.
    conn_.Exec("COMMENT ON TABLE " + p.stage_quoted + " IS " +
               pg::QuoteLiteral(conn_, SyncMarker(p.result.delta_version)));
    // Keys and indexes are built after the load (faster than maintaining them row by row) and before
    // the swap, so ATTACH finds matching ones and does not build them while holding the parent.
    for (const auto& ix : t.indexes) {
        try {
            conn_.Exec(StageIndexSql(conn_, t, ix, p.stage_quoted));
        } catch (const pg::SqlError& e) {
            RethrowAsDataError(e, p, value_);
        }
    }
    conn_.Exec("ANALYZE " + p.stage_quoted);
    if (options_.verify_counts) {
        auto n = conn_.QueryValue("SELECT count(*) FROM " + p.stage_quoted);
        if (!n || std::stoll(*n) != p.result.rows) {
            throw Error(ExitCode::Verify,
                        fmt::format("{} {}: {} rows were copied but the stage table holds {}", p.job->label,
                                    value_, p.result.rows, n.value_or("?")));
        }
    }
}

void PartitionWriter::Swap(Prepared& p) {
    const Target& t = p.target;
    std::string literal = pg::QuoteLiteral(conn_, value_);
    std::string canonical = fmt::format("{}_p{}", t.name, PartitionSuffix(value_));
    if (canonical.size() > 63) {
        canonical = canonical.substr(0, 63);
    }
    auto attempt_swap = [&](int attempt) {
        p.result.swap_attempts = attempt + 1;
        pg::Savepoint swap(conn_, "pgsplit_swap");
        conn_.Exec(fmt::format("SET LOCAL lock_timeout = '{}ms'", options_.swap_lock_timeout.count()));
        // The partition holding the value now (whatever its name: a member of the owner role may
        // have attached it), named by quoting its catalog name here, never by server-built text.
        pg::Result found =
            conn_.Exec("SELECT n.nspname, c.relname FROM pg_inherits i "
                       "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE i.inhparent = $1::oid AND pg_get_expr(c.relpartbound, c.oid) = $2",
                       {std::to_string(t.oid), "FOR VALUES IN (" + literal + ")"});
        std::optional<std::string> old;
        if (found.Rows() == 1) {
            old = pg::QuoteIdent(conn_, found.Get(0, 0)) + "." + pg::QuoteIdent(conn_, found.Get(0, 1));
        }
        if (old) {
            conn_.Exec("ALTER TABLE " + t.quoted + " DETACH PARTITION " + *old);
        }
        conn_.Exec("ALTER TABLE " + t.quoted + " ATTACH PARTITION " + p.stage_quoted + " FOR VALUES IN (" +
                   literal + ")");
        if (old) {
            conn_.Exec("DROP TABLE " + *old);
        }
        conn_.Exec("ALTER TABLE " + p.stage_quoted + " RENAME TO " + pg::QuoteIdent(conn_, canonical));
        // Index (and key constraint) names follow the partition's name, so no "stage" name outlives
        // the swap and the next sync of the month can reuse the stage names.
        pg::Result idx =
            conn_.Exec("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE i.indrelid = to_regclass($1)",
                       {pg::QuoteIdent(conn_, t.schema) + "." + pg::QuoteIdent(conn_, canonical)});
        for (int i = 0; i < idx.Rows(); ++i) {
            std::string name = idx.Get(i, 0);
            if (name.rfind(p.stage, 0) != 0) {
                continue;
            }
            std::string renamed = (canonical + name.substr(p.stage.size())).substr(0, 63);
            conn_.Exec("ALTER INDEX " + pg::QuoteIdent(conn_, t.schema) + "." + pg::QuoteIdent(conn_, name) +
                       " RENAME TO " + pg::QuoteIdent(conn_, renamed));
        }
        swap.Release();
        conn_.Exec("SET LOCAL lock_timeout = DEFAULT");
    };
    pg::RetryOnLockTimeout(
        conn_, {options_.swap_retries, options_.swap_backoff, /*jitter=*/false}, attempt_swap,
        [&](int attempt, std::chrono::milliseconds wait) {
            log_.Warn(fmt::format("{} {}: readers held {} longer than {} ms; swap retry {} in {} ms",
                                  p.job->label, value_, t.quoted, options_.swap_lock_timeout.count(),
                                  attempt + 1, wait.count()),
                      {{"month", value_}, {"table", p.job->target}, {"attempt", attempt + 1}});
        },
        [&](int attempts, const pg::SqlError&) {
            throw Error(
                ExitCode::Lock,
                fmt::format("{} {}: the swap could not lock {} within {} ms in {} attempts; nothing was "
                            "changed",
                            p.job->label, value_, t.quoted, options_.swap_lock_timeout.count(), attempts),
                "a long transaction is reading the table; find it in pg_stat_activity, or retry later");
        });
}

void PartitionWriter::DeleteAndCopy(Prepared& p) {
    const Target& t = p.target;
    std::string col_list;
    for (size_t i = 0; i < t.columns.size(); ++i) {
        col_list += (i ? ", " : "") + pg::QuoteIdent(conn_, t.columns[i].name);
    }
    std::string where = " WHERE " + pg::QuoteIdent(conn_, p.job->partition_column) + " = $1";
    pg::Result deleted = conn_.Exec("DELETE FROM " + t.quoted + where, {value_});
    log_.Debug(fmt::format("{} {}: deleted {} old rows", p.job->label, value_, deleted.CommandTuples()));
    try {
        CopyRows(p, "COPY " + t.quoted + " (" + col_list + ") FROM STDIN (FORMAT binary)");
    } catch (const pg::SqlError& e) {
        RethrowAsDataError(e, p, value_);
    }
    if (options_.verify_counts) {
        auto n = conn_.QueryValue("SELECT count(*) FROM " + t.quoted + where, {value_});
        if (!n || std::stoll(*n) != p.result.rows) {
            throw Error(ExitCode::Verify,
                        fmt::format("{} {}: {} rows were copied but the table holds {} for the month",
                                    p.job->label, value_, p.result.rows, n.value_or("?")));
        }
    }
}

} // namespace

const char* StrategyName(Strategy s) {
    switch (s) {
    case Strategy::Auto:
        return "auto";
    case Strategy::Swap:
        return "swap";
    case Strategy::Delete:
        return "delete";
    }
    return "?";
}

EncodedPartition EncodePartition(const Logger& log, Source& source, const Target& target,
                                 const std::string& value, const SyncOptions& options,
                                 RowObserver& observer) {
    SyncOptions encode = options;
    encode.strategy = Strategy::Delete; // no stage is built: its index checks do not apply
    Prepared p = Prepare(log, target, source, encode);
    EncodedPartition out;
    CopyBuffer buf;
    auto on_invalid = [&](const InvalidRow&) {
        ++out.invalid;
        return true;
    };
    auto discard = [](CopyBuffer& b, int64_t) { b.Clear(); };
    struct Counting : RowObserver {
        RowObserver& inner;
        int64_t rows = 0;
        explicit Counting(RowObserver& o) : inner(o) {}
        void OnRow(const char* fields, size_t size) override {
            ++rows;
            inner.OnRow(fields, size);
        }
    } counting(observer);
    ScanFacts facts;
    EncodeRows(p, value, encode, buf, &counting, on_invalid, discard, facts);
    out.rows = counting.rows;
    out.files = facts.files;
    return out;
}

std::string PartitionSuffix(const std::string& value) {
    std::string out;
    for (char c : value) {
        out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    }
    return out;
}

const TableResult* PartitionResult::Find(const std::string& label) const {
    for (const auto& t : tables) {
        if (t.label == label) {
            return &t;
        }
    }
    return nullptr;
}

Source::Source(const TableJob& job, const StorageSettings& settings, std::optional<int64_t> version)
    : job_(&job), table_(std::make_unique<delta::Table>(storage::OpenStorage(job.source_uri, settings))),
      snapshot_(table_->LoadSnapshot(version)) {}

Source::~Source() = default;
Source::Source(Source&&) noexcept = default;
Source& Source::operator=(Source&&) noexcept = default;

std::optional<std::string> PartitionSyncedAtVersion(pg::Connection& conn, const Source& source,
                                                    const std::string& value) {
    Target t = ReadTarget(conn, source.Job().target);
    pg::Result r =
        conn.Exec("SELECT obj_description(c.oid, 'pg_class') FROM pg_inherits i "
                  "JOIN pg_class c ON c.oid = i.inhrelid "
                  "WHERE i.inhparent = $1::oid AND pg_get_expr(c.relpartbound, c.oid) = $2",
                  {std::to_string(t.oid), "FOR VALUES IN (" + pg::QuoteLiteral(conn, value) + ")"});
    int64_t version = source.GetSnapshot().Version();
    if (r.Rows() != 1 || r.GetOpt(0, 0) != SyncMarker(version)) {
        return std::nullopt;
    }
    return fmt::format("its partition was synced from Delta version {}", version);
}

std::string SyncLockKey(const std::string& value) {
    return "pgsplit:sync:" + value;
}

storage::Storage& Source::GetStorage() {
    return table_->GetStorage();
}

PartitionResult SyncPartition(const Logger& log, pg::Connection& conn, std::vector<Source>& sources,
                              const std::string& value, const SyncOptions& options,
                              const BeforeCommit& before_commit) {
    auto t0 = Clock::now();
    // Everything that can be checked without writing is checked first.
    std::vector<Prepared> prepared;
    for (auto& source : sources) {
        prepared.push_back(Prepare(log, ReadTarget(conn, source.Job().target), source, options));
    }
    PartitionWriter writer(log, conn, value, options);
    PartitionResult result;
    result.value = value;
    {
        pg::Transaction tx(conn);
        conn.Exec("SELECT pg_advisory_xact_lock($1::int, hashtext($2))",
                  {std::to_string(kSyncLockNamespace), SyncLockKey(value)});
        // Whether a target holds the value now: asked only when Delta gave it no rows (a value Delta
        // has no rows for must not silently empty a populated month; a mistyped --month would
        // otherwise do it). For a swap, not asked up front: the query takes ACCESS SHARE on the parent until
        // COMMIT, and every other month's swap (ACCESS EXCLUSIVE on the parent) would then wait for
        // this month's whole load: syncs of other months, in this process or another, would fail
        // their swaps. The value's own lock keeps other syncs of it out meanwhile.
        std::vector<std::optional<bool>> populated_cache(prepared.size());
        auto populated = [&](size_t i) {
            if (!populated_cache[i]) {
                const auto& p = prepared[i];
                populated_cache[i] =
                    conn.QueryValue(fmt::format("SELECT EXISTS (SELECT 1 FROM {} WHERE {} = $1)",
                                                p.target.quoted,
                                                pg::QuoteIdent(conn, p.job->partition_column)),
                                    {value})
                        .value_or("f") == "t";
            }
            return *populated_cache[i];
        };
        for (size_t i = 0; i < prepared.size(); ++i) {
            if (prepared[i].strategy != Strategy::Swap) {
                populated(i); // DELETE + COPY changes the answer, and locks the table anyway
            }
        }
        for (size_t i = 0; i < prepared.size(); ++i) {
            auto& p = prepared[i];
            auto tt = Clock::now();
            if (p.strategy == Strategy::Swap) {
                writer.LoadStage(p);
            } else {
                writer.DeleteAndCopy(p);
            }
            p.result.seconds = SecondsSince(tt);
            if (p.result.rows == 0 && !options.allow_empty && populated(i)) {
                throw Error(
                    ExitCode::Source,
                    fmt::format("{} has no rows for {} = {} in Delta{} but {} holds rows for it; refusing "
                                "to replace them with nothing (rolled back, nothing changed)",
                                p.job->label, p.job->partition_column, value,
                                p.result.skipped > 0 ? fmt::format(" that PostgreSQL can store ({} "
                                                                   "skipped as invalid)",
                                                                   p.result.skipped)
                                                     : "",
                                p.target.quoted),
                    "check the value (a mistyped --month reads an empty month); to empty it on purpose, "
                    "pass --allow-empty");
            }
        }
        // Empty in Delta and in PostgreSQL: there is nothing to replace, and recording the value as
        // synced would let a mistyped --month pass for the newest successful sync.
        bool all_empty = !options.allow_empty && !prepared.empty();
        int64_t skipped = 0;
        std::string labels, targets;
        for (size_t i = 0; i < prepared.size(); ++i) {
            const auto& p = prepared[i];
            all_empty = all_empty && p.result.rows == 0 && !populated(i);
            skipped += p.result.skipped;
            labels += (i ? ", " : "") + p.job->label;
            targets += (i ? ", " : "") + p.job->target;
        }
        if (all_empty) {
            const std::string& column = prepared.front().job->partition_column;
            bool month = column == "year_month";
            throw EmptyPartitionError(
                ExitCode::Source,
                fmt::format("no rows for {} = {} in Delta ({}{}) nor in PostgreSQL ({}); refusing to sync "
                            "an empty {} (nothing changed, nothing recorded)",
                            column, value, labels,
                            skipped > 0 ? fmt::format("; {} skipped as invalid", skipped) : "", targets,
                            month ? "month" : "partition"),
                fmt::format("check {}; pass --allow-empty to record an empty {}", options.value_flag,
                            month ? "month" : "partition"));
        }
        for (auto& p : prepared) {
            if (p.strategy == Strategy::Swap) {
                auto ts = Clock::now();
                writer.Swap(p);
                p.result.seconds += SecondsSince(ts);
            }
            result.tables.push_back(p.result);
        }
        result.seconds = SecondsSince(t0);
        if (before_commit) {
            before_commit(conn, result);
        }
        tx.Commit();
    }
    result.seconds = SecondsSince(t0);
    return result;
}

} // namespace pgsplit::sync
