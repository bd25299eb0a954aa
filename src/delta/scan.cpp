#include "delta/scan.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "delta/predicate.h"
#include "delta/values.h"
#include "delta/widening.h"

#include <cstring>
#include <fmt/format.h>

namespace pgsplit::delta {
namespace {

// The files a scan opens, for Storage::Prefetch.
std::vector<storage::PlannedFile> Planned(const std::vector<const AddFile*>& files) {
    std::vector<storage::PlannedFile> out;
    out.reserve(files.size());
    for (const AddFile* f : files) {
        out.push_back({f->path, f->size > 0 ? static_cast<uint64_t>(f->size) : 0});
    }
    return out;
}

// Announces files to a storage for as long as it lives.
class PrefetchScope {
public:
    PrefetchScope(storage::Storage& storage, const std::vector<const AddFile*>& files) : storage_(storage) {
        storage_.Prefetch(Planned(files));
    }
    ~PrefetchScope() { storage_.Prefetch({}); }
    PrefetchScope(const PrefetchScope&) = delete;
    PrefetchScope& operator=(const PrefetchScope&) = delete;

private:
    storage::Storage& storage_;
};

parquet::Column SyntheticColumn(const StructField& field) {
    parquet::Column c;
    c.index = -1;
    c.path = {field.name};
    c.repetition = parquet::Repetition::Optional;
    c.max_def = 1;
    const DataType& t = field.type;
    switch (t.kind) {
    case TypeKind::String:
        c.physical = parquet::Physical::ByteArray;
        c.logical.kind = parquet::Logical::String;
        break;
    case TypeKind::Binary:
        c.physical = parquet::Physical::ByteArray;
        break;
    case TypeKind::Long:
        c.physical = parquet::Physical::Int64;
        c.logical = {parquet::Logical::Int, 64};
        break;
    case TypeKind::Integer:
        c.physical = parquet::Physical::Int32;
        c.logical = {parquet::Logical::Int, 32};
        break;
    case TypeKind::Short:
        c.physical = parquet::Physical::Int32;
        c.logical = {parquet::Logical::Int, 16};
        break;
    case TypeKind::Byte:
        c.physical = parquet::Physical::Int32;
        c.logical = {parquet::Logical::Int, 8};
        break;
    case TypeKind::Float:
        c.physical = parquet::Physical::Float;
        break;
    case TypeKind::Double:
        c.physical = parquet::Physical::Double;
        break;
    case TypeKind::Boolean:
        c.physical = parquet::Physical::Boolean;
        break;
    case TypeKind::Date:
        c.physical = parquet::Physical::Int32;
        c.logical.kind = parquet::Logical::Date;
        break;
    case TypeKind::Timestamp:
    case TypeKind::TimestampNtz:
        c.physical = parquet::Physical::Int64;
        c.logical.kind = parquet::Logical::Timestamp;
        c.logical.unit = parquet::TimeUnit::Micros;
        c.logical.utc_adjusted = t.kind == TypeKind::Timestamp;
        break;
    case TypeKind::Decimal:
        c.physical = t.precision <= 9    ? parquet::Physical::Int32
                     : t.precision <= 18 ? parquet::Physical::Int64
                                         : parquet::Physical::FixedLenByteArray;
        c.type_length = c.physical == parquet::Physical::FixedLenByteArray ? 16 : 0;
        c.logical.kind = parquet::Logical::Decimal;
        c.logical.precision = t.precision;
        c.logical.scale = t.scale;
        break;
    default:
        break;
    }
    return c;
}

// A batch of `n` copies of one value (a partition value) or of NULL, in the synthetic layout.
void FillConstant(parquet::ColumnBatch& b, const ScanColumn& col, size_t n,
                  const std::optional<std::string>& raw, const std::string& where) {
    const parquet::Column& c = col.synthetic;
    b.Reset(&c);
    b.size = n;
    bool null = !raw.has_value();
    b.defined.assign(n, null ? 0 : 1);
    const DataType& t = col.field->type;
    switch (c.physical) {
    case parquet::Physical::ByteArray:
    case parquet::Physical::FixedLenByteArray: {
        std::string bytes;
        if (!null && t.kind == TypeKind::Decimal) {
            auto norm = NormalizeDecimal(*raw, t.precision, t.scale);
            if (!norm) {
                throw Error(ExitCode::Source, fmt::format("{}: '{}' is not a valid {}", where, *raw, t.name));
            }
            __int128 v = DecimalUnscaled(*norm);
            bytes.resize(16);
            for (int i = 15; i >= 0; --i) {
                bytes[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint8_t>(v & 0xff));
                v >>= 8; // arithmetic shift keeps the two's complement sign
            }
        } else if (!null) {
            bytes = *raw;
        } else if (c.physical == parquet::Physical::FixedLenByteArray) {
            bytes.assign(static_cast<size_t>(c.type_length), '\0');
        }
        b.offsets.resize(n + 1);
        b.bytes.reserve(bytes.size() * n);
        for (size_t i = 0; i < n; ++i) {
            b.offsets[i] = static_cast<uint32_t>(b.bytes.size());
            if (!null || c.physical == parquet::Physical::FixedLenByteArray) {
                b.bytes.insert(b.bytes.end(), bytes.begin(), bytes.end());
            }
        }
        b.offsets[n] = static_cast<uint32_t>(b.bytes.size());
        return;
    }
    default:
        break;
    }
    nlohmann::json v = null ? nlohmann::json(nullptr) : PartitionValueToJson(t, raw, where);
    switch (c.physical) {
    case parquet::Physical::Boolean:
        b.boolean.assign(n, null ? 0 : (v.get<bool>() ? 1 : 0));
        break;
    case parquet::Physical::Int32: {
        int32_t x = 0;
        if (!null && t.kind == TypeKind::Date) {
            x = *ParseDate(v.get<std::string>());
        } else if (!null && t.kind == TypeKind::Decimal) {
            x = static_cast<int32_t>(DecimalUnscaled(v.get<std::string>()));
        } else if (!null) {
            x = static_cast<int32_t>(v.get<int64_t>());
        }
        b.i32.assign(n, x);
        break;
    }
    case parquet::Physical::Int64: {
        int64_t x = 0;
        if (!null && (t.kind == TypeKind::Timestamp || t.kind == TypeKind::TimestampNtz)) {
            x = *ParseTimestampMicros(*raw);
        } else if (!null && t.kind == TypeKind::Decimal) {
            x = static_cast<int64_t>(DecimalUnscaled(v.get<std::string>()));
        } else if (!null) {
            x = v.get<int64_t>();
        }
        b.i64.assign(n, x);
        break;
    }
    case parquet::Physical::Float:
        b.f32.assign(n, null            ? 0.0f
                        : v.is_string() ? static_cast<float>(std::stod(*raw == "Infinity" ? "inf" : *raw))
                                        : v.get<float>());
        break;
    case parquet::Physical::Double:
        b.f64.assign(n, null            ? 0.0
                        : v.is_string() ? std::stod(*raw == "Infinity" ? "inf" : *raw)
                                        : v.get<double>());
        break;
    default:
        throw Error(ExitCode::Source,
                    fmt::format("{}: cannot materialise a value of type {}", where, t.name));
    }
}

std::string FileWhere(const Snapshot& s, const AddFile& f) {
    return fmt::format("table '{}': file '{}'", s.TableName(), f.path);
}

// The top-level field of a data file that holds schema column `field`, or null when the file predates
// the column. Without column mapping it is found by name; in name mode by physical name; in id mode by
// field id when the file carries field ids, else by physical name (files written before ids were
// recorded).
const parquet::Field* FileField(const parquet::Field& root, const StructField& field, MappingMode mode) {
    if (mode == MappingMode::Id) {
        if (auto id = FieldId(field)) {
            bool file_has_ids = false;
            for (const auto& child : root.children) {
                if (child.field_id) {
                    file_has_ids = true;
                    if (*child.field_id == *id) {
                        return &child;
                    }
                }
            }
            if (file_has_ids) {
                return nullptr;
            }
        }
    }
    const std::string& name = PhysicalName(field, mode);
    for (const auto& child : root.children) {
        if (child.name == name) {
            return &child;
        }
    }
    return nullptr;
}

// The deletion vector of `file` (opened as `reader`), or nullopt when it has none.
std::optional<DeletionVector> FileDeletionVector(storage::Storage& storage, const AddFile& file,
                                                 const parquet::FileReader& reader,
                                                 const std::string& where) {
    if (!file.dv) {
        return std::nullopt;
    }
    return LoadDeletionVector(storage, *file.dv, reader.Info().num_rows,
                              parquet::DefaultReadLimits().memory_bytes, where);
}

} // namespace

Scan::Scan(const Snapshot& snapshot, storage::Storage& storage, ScanOptions options)
    : snapshot_(snapshot), storage_(storage), options_(std::move(options)) {
    std::vector<std::string> names = options_.columns;
    if (names.empty()) {
        for (const auto& f : snapshot_.GetSchema().fields) {
            names.push_back(f.name);
        }
    }
    auto add_column = [&](const std::string& name) {
        const StructField* field = snapshot_.GetSchema().Find(name);
        if (!field) {
            throw Error(ExitCode::Usage,
                        fmt::format("table '{}' has no column '{}'", snapshot_.TableName(), name),
                        "check the column names with 'pgsplit inspect delta URI'");
        }
        if (!field->type.IsPrimitive()) {
            throw Error(
                ExitCode::Source,
                fmt::format("table '{}': column '{}' is a {}; the columnar scan reads flat columns only",
                            snapshot_.TableName(), name, field->type.name),
                "leave nested columns out of the wanted columns");
        }
        ScanColumn col;
        col.name = name;
        col.field = field;
        col.partition = snapshot_.IsPartitionColumn(name);
        col.synthetic = SyntheticColumn(*field);
        columns_.push_back(std::move(col));
    };
    for (const auto& n : names) {
        add_column(n);
    }
    visible_ = columns_.size();
    if (options_.predicate) {
        predicate_.emplace(*options_.predicate, snapshot_);
    }
    if (predicate_ && !predicate_->OnPartitionColumn()) {
        for (size_t i = 0; i < columns_.size(); ++i) {
            if (columns_[i].name == options_.predicate->column) {
                filter_column_ = static_cast<int>(i);
            }
        }
        if (filter_column_ < 0) {
            add_column(options_.predicate->column);
            filter_column_ = static_cast<int>(columns_.size() - 1);
        }
    }
    for (const auto& f : snapshot_.Files()) {
        if (!predicate_ || predicate_->MayMatchFile(f)) {
            files_.push_back(&f);
        }
    }
    counters_.files_selected = static_cast<int64_t>(files_.size());
    storage_.Prefetch(Planned(files_));
}

Scan::~Scan() {
    storage_.Prefetch({}); // what was fetched for files not opened is let go
}

bool Scan::OpenNextFile() {
    cursor_.reset();
    reader_.reset();
    if (next_file_ >= files_.size()) {
        return false;
    }
    file_ = files_[next_file_++];
    reader_ = parquet::FileReader::Open(storage_.Open(file_->path));
    ++counters_.files_opened;
    leaf_of_.assign(columns_.size(), -1);
    widen_.assign(columns_.size(), 0);
    read_leaves_.clear();
    const std::string where = FileWhere(snapshot_, *file_);
    for (size_t i = 0; i < columns_.size(); ++i) {
        if (columns_[i].partition) {
            continue; // the log's value wins over anything a writer also put in the file
        }
        const parquet::Field* node =
            FileField(reader_->Root(), *columns_[i].field, snapshot_.ColumnMapping());
        if (!node) {
            continue;
        }
        if (!node->IsLeaf() || !reader_->Columns()[static_cast<size_t>(node->column)].IsFlat()) {
            throw Error(ExitCode::Source,
                        fmt::format("{}: column '{}' is nested in the data file but {} in the schema", where,
                                    columns_[i].name, columns_[i].field->type.name),
                        "the file does not match the table schema");
        }
        leaf_of_[i] = node->column;
        widen_[i] =
            NeedsWidening(reader_->Columns()[static_cast<size_t>(node->column)], columns_[i].field->type);
        read_leaves_.push_back(node->column);
    }
    dv_ = FileDeletionVector(storage_, *file_, *reader_, where);
    next_row_group_ = 0;
    return true;
}

bool Scan::OpenNextRowGroup() {
    cursor_.reset();
    const auto& groups = reader_->Info().row_groups;
    while (next_row_group_ < static_cast<int>(groups.size())) {
        int rg = next_row_group_++;
        if (groups[static_cast<size_t>(rg)].num_rows == 0) {
            continue;
        }
        if (filter_column_ >= 0) {
            int leaf = leaf_of_[static_cast<size_t>(filter_column_)];
            if (leaf < 0) {
                // The file predates the column: every row is NULL there.
                if (predicate_->Get().value) {
                    ++counters_.row_groups_skipped;
                    continue;
                }
            } else {
                const auto& chunks = groups[static_cast<size_t>(rg)].chunks;
                if (static_cast<size_t>(leaf) < chunks.size() &&
                    !predicate_->MayMatchRowGroup(chunks[static_cast<size_t>(leaf)],
                                                  reader_->Columns()[static_cast<size_t>(leaf)])) {
                    ++counters_.row_groups_skipped;
                    continue;
                }
            }
        }
        ++counters_.row_groups_read;
        row_group_first_row_ = 0;
        for (int g = 0; g < rg; ++g) {
            row_group_first_row_ += groups[static_cast<size_t>(g)].num_rows;
        }
        row_group_consumed_ = 0;
        if (read_leaves_.empty()) {
            // Only partition / absent columns wanted: the row count comes from the footer.
            remaining_only_count_ = groups[static_cast<size_t>(rg)].num_rows;
            return true;
        }
        cursor_ = reader_->ReadRowGroup(rg, read_leaves_, options_.batch_rows);
        return true;
    }
    return false;
}

void Scan::FillBatch(ScanBatch& out, std::vector<parquet::ColumnBatch>& read, size_t rows) {
    out.file = file_;
    out.size = rows;
    out.columns.resize(columns_.size());
    size_t r = 0;
    for (size_t i = 0; i < columns_.size(); ++i) {
        const auto& col = columns_[i];
        if (col.partition) {
            FillConstant(out.columns[i], col, rows, file_->PartitionValue(col.name),
                         FileWhere(snapshot_, *file_));
        } else if (leaf_of_[i] < 0) {
            FillConstant(out.columns[i], col, rows, std::nullopt, FileWhere(snapshot_, *file_));
        } else {
            std::swap(out.columns[i], read[r++]);
            if (widen_[i]) {
                WidenBatch(out.columns[i], reader_->Columns()[static_cast<size_t>(leaf_of_[i])],
                           col.synthetic, col.field->type, FileWhere(snapshot_, *file_));
            }
        }
    }
}

bool Scan::Next(ScanBatch& out) {
    for (;;) {
        CheckInterrupt();
        if (!reader_) {
            if (!OpenNextFile()) {
                out.size = 0;
                out.columns.clear();
                return false;
            }
        }
        size_t rows = 0;
        if (cursor_) {
            if (!cursor_->Next(read_)) {
                cursor_.reset();
                continue;
            }
            rows = read_.empty() ? 0 : read_[0].size;
        } else if (remaining_only_count_ > 0) {
            rows = static_cast<size_t>(
                std::min<int64_t>(remaining_only_count_, static_cast<int64_t>(options_.batch_rows)));
            remaining_only_count_ -= static_cast<int64_t>(rows);
        } else {
            if (!OpenNextRowGroup()) {
                reader_.reset();
            }
            continue;
        }
        if (rows == 0) {
            continue;
        }
        counters_.rows_read += static_cast<int64_t>(rows);
        FillBatch(out, read_, rows);
        out.first_row = row_group_first_row_ + row_group_consumed_;
        out.row_numbers.clear();
        row_group_consumed_ += static_cast<int64_t>(rows);
        const bool deletes = dv_ && !dv_->Empty();
        if (filter_column_ >= 0 || deletes) {
            size_t kept = rows;
            if (filter_column_ >= 0) {
                kept = predicate_->Match(out.columns[static_cast<size_t>(filter_column_)], keep_);
                counters_.rows_filtered += static_cast<int64_t>(rows - kept);
            } else {
                keep_.assign(rows, 1);
            }
            if (deletes) {
                for (size_t i = 0; i < rows; ++i) {
                    if (keep_[i] && dv_->Contains(static_cast<uint64_t>(out.first_row) + i)) {
                        keep_[i] = 0;
                        --kept;
                        ++counters_.rows_deleted;
                    }
                }
            }
            if (kept == 0) {
                continue;
            }
            if (kept != rows) {
                for (auto& b : out.columns) {
                    b.KeepRows(keep_, kept);
                }
                out.row_numbers.reserve(kept);
                for (size_t i = 0; i < rows; ++i) {
                    if (keep_[i]) {
                        out.row_numbers.push_back(out.first_row + static_cast<int64_t>(i));
                    }
                }
                out.first_row = out.row_numbers.front();
                out.size = kept;
            }
        }
        out.columns.resize(visible_);
        return true;
    }
}

// --- JSON rows ---------------------------------------------------------------------------------

namespace {

// Puts struct fields in schema order (the parquet reader's JSON objects are sorted by key).
// With column mapping, nested struct fields are found by their physical names.
nlohmann::ordered_json Ordered(const nlohmann::json& v, const DataType& type, MappingMode mode) {
    if (v.is_object() && type.kind == TypeKind::Struct) {
        nlohmann::ordered_json out = nlohmann::ordered_json::object();
        for (const auto& f : type.fields) {
            auto it = v.find(PhysicalName(f, mode));
            out[f.name] = it == v.end() ? nlohmann::ordered_json(nullptr) : Ordered(*it, f.type, mode);
        }
        return out;
    }
    if (v.is_array() && type.kind == TypeKind::Array && type.element) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& e : v) {
            out.push_back(Ordered(e, *type.element, mode));
        }
        return out;
    }
    if (v.is_object() && type.kind == TypeKind::Map && type.element) {
        nlohmann::ordered_json out = nlohmann::ordered_json::object();
        for (const auto& [k, e] : v.items()) {
            out[k] = Ordered(e, *type.element, mode);
        }
        return out;
    }
    return nlohmann::ordered_json::parse(v.dump());
}

} // namespace

void ReadRows(const Snapshot& snapshot, storage::Storage& storage, const std::vector<const AddFile*>& files,
              const std::optional<Predicate>& predicate,
              const std::function<bool(nlohmann::ordered_json&)>& on_row) {
    const Schema& schema = snapshot.GetSchema();
    const StructField* filter_field = nullptr;
    nlohmann::ordered_json filter_value;
    if (predicate) {
        BoundPredicate bound(*predicate, snapshot);
        if (!bound.OnPartitionColumn()) {
            // Rows carry SPEC §6b values; so does the typed predicate value, so they compare as JSON.
            filter_field = &bound.Field();
            filter_value = nlohmann::ordered_json::parse(bound.TypedValue().dump());
        }
    }
    PrefetchScope ahead(storage, files);
    for (const AddFile* file : files) {
        std::string where = FileWhere(snapshot, *file);
        std::vector<nlohmann::json> partition_json(schema.fields.size());
        for (size_t i = 0; i < schema.fields.size(); ++i) {
            if (snapshot.IsPartitionColumn(schema.fields[i].name)) {
                partition_json[i] = PartitionValueToJson(schema.fields[i].type,
                                                         file->PartitionValue(schema.fields[i].name), where);
            }
        }
        auto reader = parquet::FileReader::Open(storage.Open(file->path));
        const MappingMode mode = snapshot.ColumnMapping();
        // Per schema column: the file's top-level field holding it (null: partition column, or a file
        // written before the column existed).
        std::vector<const parquet::Field*> node_of(schema.fields.size(), nullptr);
        std::vector<std::string> present;
        for (size_t i = 0; i < schema.fields.size(); ++i) {
            if (snapshot.IsPartitionColumn(schema.fields[i].name)) {
                continue;
            }
            node_of[i] = FileField(reader->Root(), schema.fields[i], mode);
            if (node_of[i]) {
                present.push_back(node_of[i]->name);
            }
        }
        std::optional<DeletionVector> dv = FileDeletionVector(storage, *file, *reader, where);
        uint64_t record_index = 0;
        bool stop = false;
        auto emit = [&](const nlohmann::json* record) {
            if (dv && dv->Contains(record_index++)) {
                return true;
            }
            nlohmann::ordered_json row = nlohmann::ordered_json::object();
            for (size_t i = 0; i < schema.fields.size(); ++i) {
                const auto& f = schema.fields[i];
                if (snapshot.IsPartitionColumn(f.name)) {
                    row[f.name] = nlohmann::ordered_json::parse(partition_json[i].dump());
                    continue;
                }
                if (!record || !node_of[i]) {
                    row[f.name] = nullptr;
                    continue;
                }
                auto it = record->find(node_of[i]->name);
                if (it == record->end()) {
                    row[f.name] = nullptr;
                    continue;
                }
                if (node_of[i]->IsLeaf() && f.type.IsPrimitive()) {
                    const auto& leaf = reader->Columns()[static_cast<size_t>(node_of[i]->column)];
                    if (NeedsWidening(leaf, f.type)) {
                        nlohmann::json widened = *it;
                        WidenJson(widened, leaf, f.type, where);
                        row[f.name] = Ordered(widened, f.type, mode);
                        continue;
                    }
                }
                row[f.name] = Ordered(*it, f.type, mode);
            }
            if (filter_field && row[filter_field->name] != filter_value) {
                return true;
            }
            if (!on_row(row)) {
                stop = true;
                return false;
            }
            return true;
        };
        if (present.empty()) {
            // Only partition columns (or none the file has): one row per record from the footer count.
            for (int64_t i = 0; i < reader->Info().num_rows && !stop; ++i) {
                if ((i & 4095) == 0) {
                    CheckInterrupt();
                }
                emit(nullptr);
            }
        } else {
            reader->ReadRecords(present, [&](nlohmann::json& record) { return emit(&record); });
        }
        if (stop) {
            return;
        }
    }
}

} // namespace pgsplit::delta
