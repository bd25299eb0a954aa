#include "delta/predicate.h"

#include "core/error.h"
#include "delta/values.h"

#include <cstring>
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

bool IsIntegerKind(TypeKind k) {
    return k == TypeKind::Long || k == TypeKind::Integer || k == TypeKind::Short || k == TypeKind::Byte;
}

bool IsAscii(std::string_view s) {
    for (unsigned char ch : s) {
        if (ch >= 0x80) {
            return false;
        }
    }
    return true;
}

std::string FilterWhere(const Snapshot& s, const std::string& column) {
    return fmt::format("table '{}': filter on '{}'", s.TableName(), column);
}

} // namespace

BoundPredicate::BoundPredicate(const Predicate& predicate, const Snapshot& snapshot)
    : predicate_(predicate), snapshot_(&snapshot), field_(snapshot.GetSchema().Find(predicate.column)),
      partition_(snapshot.IsPartitionColumn(predicate.column)) {
    if (!field_) {
        throw Error(ExitCode::Usage,
                    fmt::format("table '{}' has no column '{}'", snapshot.TableName(), predicate.column),
                    "check the column name with 'pgsplit inspect delta URI'");
    }
    if (predicate_.value) {
        integer_ = ParseInt64(*predicate_.value);
        date_ = ParseDate(*predicate_.value);
    }
    if (partition_) {
        // Compare typed values, so "2021.0" and "2021" or two spellings of a timestamp agree.
        partition_typed_ = TypedValue();
    }
}

nlohmann::json BoundPredicate::TypedValue() const {
    return PartitionValueToJson(field_->type, predicate_.value, FilterWhere(*snapshot_, predicate_.column));
}

bool BoundPredicate::MayMatchFile(const AddFile& f) const {
    if (!partition_) {
        return StatsMayMatch(f);
    }
    nlohmann::json have =
        PartitionValueToJson(field_->type, f.PartitionValue(predicate_.column),
                             fmt::format("table '{}': file '{}'", snapshot_->TableName(), f.path));
    return have == partition_typed_;
}

bool BoundPredicate::StatsMayMatch(const AddFile& file) const {
    const StructField& column = *field_;
    const std::optional<std::string>& value = predicate_.value;
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
        const std::optional<int64_t>& v = integer_;
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
        const std::optional<int32_t>& v = date_;
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

// Whether a row group may hold `value` in leaf `c`, by its chunk statistics. Strings are trusted only
// when everything is ASCII: legacy min/max of old writers used signed byte order (PARQUET-686), which
// agrees with the correct order below 0x80.
bool BoundPredicate::MayMatchRowGroup(const parquet::ChunkInfo& chunk, const parquet::Column& c) const {
    const StructField& field = *field_;
    const std::optional<std::string>& value = predicate_.value;
    const auto& st = chunk.stats;
    if (!value) {
        return !(st.null_count && *st.null_count == 0);
    }
    if (!st.min || !st.max) {
        return true;
    }
    if (c.physical == parquet::Physical::ByteArray && field.type.kind == TypeKind::String) {
        if (!IsAscii(*value) || !IsAscii(*st.min) || !IsAscii(*st.max)) {
            return true;
        }
        return !(*value < *st.min || *value > *st.max);
    }
    if ((c.physical == parquet::Physical::Int32 || c.physical == parquet::Physical::Int64) &&
        IsIntegerKind(field.type.kind) && c.logical.is_signed) {
        const std::optional<int64_t>& want = integer_;
        if (!want) {
            return true;
        }
        auto decode = [&](const std::string& s) -> std::optional<int64_t> {
            if (c.physical == parquet::Physical::Int32 && s.size() == 4) {
                int32_t v;
                std::memcpy(&v, s.data(), 4);
                return v;
            }
            if (c.physical == parquet::Physical::Int64 && s.size() == 8) {
                int64_t v;
                std::memcpy(&v, s.data(), 8);
                return v;
            }
            return std::nullopt;
        };
        auto lo = decode(*st.min), hi = decode(*st.max);
        if (!lo || !hi) {
            return true;
        }
        return !(*want < *lo || *want > *hi);
    }
    return true;
}

size_t BoundPredicate::Match(const parquet::ColumnBatch& b, std::vector<uint8_t>& keep) const {
    const StructField& field = *field_;
    const std::optional<std::string>& value = predicate_.value;
    keep.assign(b.size, 0);
    size_t kept = 0;
    auto mark = [&](auto pred) {
        for (size_t i = 0; i < b.size; ++i) {
            if (!b.IsNull(i) && pred(i)) {
                keep[i] = 1;
                ++kept;
            }
        }
    };
    if (!value) {
        for (size_t i = 0; i < b.size; ++i) {
            if (b.IsNull(i)) {
                keep[i] = 1;
                ++kept;
            }
        }
        return kept;
    }
    const parquet::Column& c = *b.column;
    auto unsupported = [&]() {
        return Error(ExitCode::Usage,
                     fmt::format("cannot filter rows on column '{}' of type {}", field.name, field.type.name),
                     "filter on a string, integer, date or boolean column");
    };
    switch (c.physical) {
    case parquet::Physical::ByteArray:
        if (field.type.kind != TypeKind::String && field.type.kind != TypeKind::Binary) {
            throw unsupported();
        }
        mark([&](size_t i) { return b.Bytes(i) == *value; });
        return kept;
    case parquet::Physical::Boolean: {
        bool want = *value == "true";
        mark([&](size_t i) { return (b.boolean[i] != 0) == want; });
        return kept;
    }
    case parquet::Physical::Int32:
    case parquet::Physical::Int64: {
        std::optional<int64_t> want;
        if (field.type.kind == TypeKind::Date && c.logical.kind == parquet::Logical::Date) {
            want = date_ ? std::optional<int64_t>(*date_) : std::nullopt;
        } else if (IsIntegerKind(field.type.kind)) {
            want = integer_;
        } else {
            throw unsupported();
        }
        if (!want) {
            return 0; // not a value of the column's type: nothing can match
        }
        if (c.physical == parquet::Physical::Int32) {
            mark([&](size_t i) { return b.i32[i] == *want; });
        } else {
            mark([&](size_t i) { return b.i64[i] == *want; });
        }
        return kept;
    }
    default:
        throw unsupported();
    }
}

} // namespace pgsplit::delta
