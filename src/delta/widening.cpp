#include "delta/widening.h"

#include "core/error.h"
#include "delta/values.h"

#include <fmt/format.h>

namespace pgsplit::delta {
namespace {

using parquet::Logical;
using parquet::Physical;

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

bool IsInteger(const parquet::Column& c) {
    return (c.physical == Physical::Int32 || c.physical == Physical::Int64) &&
           (c.logical.kind == Logical::None || c.logical.kind == Logical::Int);
}

bool IsDecimal(const parquet::Column& c) {
    return c.logical.kind == Logical::Decimal;
}

// The unscaled value of row i of a decimal batch.
__int128 Unscaled(const parquet::ColumnBatch& b, size_t i) {
    switch (b.column->physical) {
    case Physical::Int32:
        return b.i32[i];
    case Physical::Int64:
        return b.i64[i];
    default: {
        std::string_view bytes = b.Bytes(i);
        if (bytes.empty()) {
            return 0;
        }
        __int128 v = static_cast<int8_t>(bytes[0]); // sign
        for (size_t k = 1; k < bytes.size(); ++k) {
            v = v * 256 + static_cast<uint8_t>(bytes[k]);
        }
        return v;
    }
    }
}

__int128 Pow10(int n) {
    __int128 v = 1;
    for (int i = 0; i < n; ++i) {
        v *= 10;
    }
    return v;
}

Error DoesNotFit(const std::string& where, const parquet::Column& file, const DataType& type) {
    return Error(ExitCode::Source,
                 fmt::format("{}: column '{}' holds DECIMAL({},{}) values that do not fit the table's {}",
                             where, file.DottedPath(), file.logical.precision, file.logical.scale, type.name),
                 "a type change may only widen a decimal (precision and scale up by the same or more); the "
                 "file does not match the table schema");
}

} // namespace

bool NeedsWidening(const parquet::Column& file, const DataType& type) {
    switch (type.kind) {
    case TypeKind::Double:
        return file.physical == Physical::Float || IsInteger(file);
    case TypeKind::Timestamp:
    case TypeKind::TimestampNtz:
        return file.physical == Physical::Int32 && file.logical.kind == Logical::Date;
    case TypeKind::Decimal:
        return IsDecimal(file) &&
               (file.logical.precision != type.precision || file.logical.scale != type.scale);
    default:
        return false;
    }
}

void WidenBatch(parquet::ColumnBatch& b, const parquet::Column& file, const parquet::Column& synthetic,
                const DataType& type, const std::string& where) {
    const size_t n = b.size;
    switch (type.kind) {
    case TypeKind::Double: {
        std::vector<double> out(n);
        for (size_t i = 0; i < n; ++i) {
            out[i] = file.physical == Physical::Float   ? static_cast<double>(b.f32[i])
                     : file.physical == Physical::Int32 ? static_cast<double>(b.i32[i])
                                                        : static_cast<double>(b.i64[i]);
        }
        b.f64 = std::move(out);
        break;
    }
    case TypeKind::Timestamp:
    case TypeKind::TimestampNtz: {
        std::vector<int64_t> out(n);
        for (size_t i = 0; i < n; ++i) {
            out[i] = static_cast<int64_t>(b.i32[i]) * kMicrosPerDay;
        }
        b.i64 = std::move(out);
        break;
    }
    case TypeKind::Decimal: {
        if (type.scale < file.logical.scale ||
            type.precision - type.scale < file.logical.precision - file.logical.scale) {
            throw DoesNotFit(where, file, type);
        }
        const __int128 factor = Pow10(type.scale - file.logical.scale);
        std::vector<__int128> values(n);
        for (size_t i = 0; i < n; ++i) {
            values[i] = b.IsNull(i) ? 0 : Unscaled(b, i) * factor;
        }
        if (synthetic.physical == Physical::Int32) {
            b.i32.resize(n);
            for (size_t i = 0; i < n; ++i) {
                b.i32[i] = static_cast<int32_t>(values[i]);
            }
        } else if (synthetic.physical == Physical::Int64) {
            b.i64.resize(n);
            for (size_t i = 0; i < n; ++i) {
                b.i64[i] = static_cast<int64_t>(values[i]);
            }
        } else {
            b.offsets.resize(n + 1);
            b.bytes.resize(n * 16);
            for (size_t i = 0; i < n; ++i) {
                b.offsets[i] = static_cast<uint32_t>(i * 16);
                __int128 v = values[i];
                for (int k = 15; k >= 0; --k) {
                    b.bytes[i * 16 + static_cast<size_t>(k)] = static_cast<uint8_t>(v & 0xff);
                    v >>= 8;
                }
            }
            b.offsets[n] = static_cast<uint32_t>(n * 16);
        }
        break;
    }
    default:
        return;
    }
    b.column = &synthetic;
}

void WidenJson(nlohmann::json& v, const parquet::Column& file, const DataType& type,
               const std::string& where) {
    if (v.is_null()) {
        return;
    }
    switch (type.kind) {
    case TypeKind::Double:
        if (file.physical == Physical::Float && v.is_number()) {
            // The record holds the float's shortest form; the table's value is that float as a double.
            v = static_cast<double>(static_cast<float>(v.get<double>()));
        } else if (v.is_number_integer()) {
            v = static_cast<double>(v.get<int64_t>());
        }
        return;
    case TypeKind::Timestamp:
    case TypeKind::TimestampNtz:
        if (v.is_string()) {
            if (auto days = ParseDate(v.get<std::string>())) {
                v = FormatTimestampMicros(int64_t{*days} * kMicrosPerDay, type.kind == TypeKind::Timestamp);
            }
        }
        return;
    case TypeKind::Decimal:
        if (v.is_string()) {
            auto norm = NormalizeDecimal(v.get<std::string>(), type.precision, type.scale);
            if (!norm) {
                throw DoesNotFit(where, file, type);
            }
            v = *norm;
        }
        return;
    default:
        return;
    }
}

} // namespace pgsplit::delta
