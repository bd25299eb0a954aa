#include "delta/table.h"

#include "core/error.h"
#include "delta/log.h"
#include "delta/values.h"

#include <charconv>
#include <fmt/format.h>

namespace pgsplit::delta {
namespace {

// Spark and delta-rs truncate string stats to 32 characters; a shorter max is exact, a longer one may
// be a truncated prefix and cannot prove that a larger value is absent.
constexpr size_t kStringStatsPrefix = 32;

const nlohmann::json* StatFor(const nlohmann::json& stats, const std::string& column) {
    if (!stats.is_object()) {
        return nullptr;
    }
    auto it = stats.find(column);
    return it == stats.end() || it->is_null() ? nullptr : &*it;
}

} // namespace

bool Snapshot::IsPartitionColumn(const std::string& column) const {
    for (const auto& c : metadata_.partition_columns) {
        if (c == column) {
            return true;
        }
    }
    return false;
}

bool StatsMayMatch(const AddFile& file, const StructField& column, const std::optional<std::string>& value) {
    const nlohmann::json* nulls = StatFor(file.null_count, column.name);
    if (!value) {
        return !(nulls && nulls->is_number_integer() && nulls->get<int64_t>() == 0);
    }
    if (nulls && nulls->is_number_integer() && file.num_records &&
        nulls->get<int64_t>() == *file.num_records) {
        return false; // every value is NULL
    }
    const nlohmann::json* lo = StatFor(file.min_values, column.name);
    const nlohmann::json* hi = StatFor(file.max_values, column.name);
    switch (column.type.kind) {
    case TypeKind::String: {
        if (lo && lo->is_string() && *value < lo->get<std::string>()) {
            return false;
        }
        if (hi && hi->is_string()) {
            const auto max = hi->get<std::string>();
            if (max.size() < kStringStatsPrefix && *value > max) {
                return false;
            }
        }
        return true;
    }
    case TypeKind::Long:
    case TypeKind::Integer:
    case TypeKind::Short:
    case TypeKind::Byte: {
        auto v = ParseInt64(*value);
        if (!v) {
            return true;
        }
        if (lo && lo->is_number_integer() && *v < lo->get<int64_t>()) {
            return false;
        }
        if (hi && hi->is_number_integer() && *v > hi->get<int64_t>()) {
            return false;
        }
        return true;
    }
    case TypeKind::Date: {
        auto v = ParseDate(*value);
        if (!v) {
            return true;
        }
        if (lo && lo->is_string()) {
            auto d = ParseDate(lo->get<std::string>());
            if (d && *v < *d) {
                return false;
            }
        }
        if (hi && hi->is_string()) {
            auto d = ParseDate(hi->get<std::string>());
            if (d && *v > *d) {
                return false;
            }
        }
        return true;
    }
    default:
        return true;
    }
}

std::vector<const AddFile*> Snapshot::SelectFiles(const Predicate* predicate) const {
    std::vector<const AddFile*> out;
    if (!predicate) {
        for (const auto& f : files_) {
            out.push_back(&f);
        }
        return out;
    }
    const StructField* field = metadata_.schema.Find(predicate->column);
    if (!field) {
        throw Error(ExitCode::Usage, fmt::format("table '{}' has no column '{}'", table_, predicate->column),
                    "check the column name with 'pgsplit inspect delta URI'");
    }
    if (IsPartitionColumn(predicate->column)) {
        // Compare typed values, so "2021.0" and "2021" or two spellings of a timestamp agree.
        std::string where = fmt::format("table '{}': filter on '{}'", table_, predicate->column);
        nlohmann::json wanted = PartitionValueToJson(field->type, predicate->value, where);
        for (const auto& f : files_) {
            nlohmann::json have = PartitionValueToJson(field->type, f.PartitionValue(predicate->column),
                                                       fmt::format("table '{}': file '{}'", table_, f.path));
            if (have == wanted) {
                out.push_back(&f);
            }
        }
        return out;
    }
    for (const auto& f : files_) {
        if (StatsMayMatch(f, *field, predicate->value)) {
            out.push_back(&f);
        }
    }
    return out;
}

std::optional<int64_t> Snapshot::CountRecords(const std::vector<const AddFile*>& files) {
    int64_t total = 0;
    for (const auto* f : files) {
        // A negative count, or counts whose sum overflows, come from a damaged log: the stats cannot be
        // trusted, so the caller counts by reading (tests/data/fuzz/delta_log_fuzz: the sum overflowed).
        if (!f->num_records || *f->num_records < 0 ||
            __builtin_add_overflow(total, *f->num_records, &total)) {
            return std::nullopt;
        }
    }
    return total;
}

Table::Table(std::unique_ptr<storage::Storage> storage) : storage_(std::move(storage)) {}

Snapshot Table::LoadSnapshot(std::optional<int64_t> version) {
    LogState state = ReplayLog(*storage_, version);
    CheckReadable(*state.protocol, *state.metadata, state.files, storage_->Root());
    Snapshot s;
    s.table_ = storage_->Root();
    s.version_ = state.version;
    s.protocol_ = std::move(*state.protocol);
    s.metadata_ = std::move(*state.metadata);
    s.files_ = std::move(state.files);
    s.checkpoint_version_ = state.checkpoint_version;
    s.checkpoint_files_ = std::move(state.checkpoint_files);
    s.commits_read_ = state.commits_read;
    s.notes_ = std::move(state.notes);
    return s;
}

} // namespace pgsplit::delta
