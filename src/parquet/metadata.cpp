// The Parquet footer: a Thrift compact-protocol reader for FileMetaData (schema, row groups, column
// chunks, statistics, logical and converted types), bounded by the reader's memory budget, and the
// schema tree built from it. Long because the Thrift structures are decoded field by field, as the
// format spec lists them; each decoder is short and they only make sense together.
#include "parquet/metadata.h"

#include "parquet/codec/codec.h"
#include "parquet/decoder/decoder.h"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>
#include <thrift/TConfiguration.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/transport/TBufferTransports.h>

namespace pgsplit::parquet {
namespace {

using apache::thrift::TConfiguration;
using apache::thrift::protocol::TCompactProtocolT;
using apache::thrift::protocol::TType;
using apache::thrift::transport::TMemoryBuffer;

constexpr int32_t kMaxContainer = 1 << 17;
constexpr int kMaxSchemaDepth = 64;

// Copied to locals: passing the static members by reference would odr-use them, and libthrift does not
// define them out of line (clang builds fail to link).
std::shared_ptr<TMemoryBuffer> ObserveBuffer(const uint8_t* data, size_t size) {
    if (size > INT32_MAX) {
        throw std::runtime_error("metadata larger than 2 GiB");
    }
    const int max_frame = TConfiguration::DEFAULT_MAX_FRAME_SIZE;
    const int max_depth = TConfiguration::DEFAULT_RECURSION_DEPTH;
    auto config = std::make_shared<TConfiguration>(INT32_MAX, max_frame, max_depth);
    return std::make_shared<TMemoryBuffer>(const_cast<uint8_t*>(data), static_cast<uint32_t>(size),
                                           TMemoryBuffer::OBSERVE, config);
}

// Every string and list element takes at least one byte, so neither can be longer than the input.
int32_t SizeLimit(size_t size) {
    return static_cast<int32_t>(std::max<size_t>(size, 1));
}

template <class T>
size_t DecodeThrift(const uint8_t* data, size_t size, T& out) {
    auto buffer = ObserveBuffer(data, size);
    auto limit = SizeLimit(size);
    TCompactProtocolT<TMemoryBuffer> protocol(buffer, limit, std::min(limit, kMaxContainer));
    out.read(&protocol);
    return size - buffer->available_read();
}

// The compact protocol, charging every container the footer announces to the reader's budget before
// the generated code sizes its vector: an empty struct is one byte on the wire and hundreds in memory,
// so the per-container cap alone lets a footer of a few MB claim millions of column chunks. The cost
// of an element is what it occupies once decoded, including the reader's own copies (Column, Field,
// ChunkInfo) for the lists it keeps. Containers skipped as unknown fields are not materialised and not
// charged.
class BudgetedCompact final : public TCompactProtocolT<TMemoryBuffer> {
public:
    BudgetedCompact(std::shared_ptr<TMemoryBuffer> buffer, int32_t string_limit, int32_t container_limit,
                    BudgetLease& lease)
        : TCompactProtocolT<TMemoryBuffer>(std::move(buffer), string_limit, container_limit), lease_(lease) {}

    uint32_t readStructBegin_virt(std::string& name) override {
        fields_.push_back(0);
        return TCompactProtocolT::readStructBegin(name);
    }
    uint32_t readStructEnd_virt() override {
        if (!fields_.empty()) {
            fields_.pop_back();
        }
        return TCompactProtocolT::readStructEnd();
    }
    uint32_t readFieldBegin_virt(std::string& name, TType& type, int16_t& id) override {
        uint32_t n = TCompactProtocolT::readFieldBegin(name, type, id);
        if (!fields_.empty()) {
            fields_.back() = id;
        }
        return n;
    }
    uint32_t readListBegin_virt(TType& type, uint32_t& size) override {
        uint32_t n = TCompactProtocolT::readListBegin(type, size);
        Charge(size, ElementCost(type));
        return n;
    }
    uint32_t readSetBegin_virt(TType& type, uint32_t& size) override {
        uint32_t n = TCompactProtocolT::readSetBegin(type, size);
        Charge(size, ElementCost(type) + kNodeCost);
        return n;
    }
    uint32_t readMapBegin_virt(TType& key, TType& value, uint32_t& size) override {
        uint32_t n = TCompactProtocolT::readMapBegin(key, value, size);
        Charge(size, GenericCost(key) + GenericCost(value) + kNodeCost);
        return n;
    }

    uint64_t row_groups = 0;
    uint64_t column_chunks = 0;

private:
    static constexpr uint64_t kNodeCost = 48; // a std::map / std::set node beside its value

    static uint64_t GenericCost(TType type) {
        switch (type) {
        case apache::thrift::protocol::T_STRUCT:
            return 128; // the small structs of the footer: KeyValue, SortingColumn, PageEncodingStats...
        case apache::thrift::protocol::T_STRING:
            return sizeof(std::string);
        case apache::thrift::protocol::T_LIST:
        case apache::thrift::protocol::T_SET:
        case apache::thrift::protocol::T_MAP:
            return 48;
        default:
            return 8;
        }
    }

    // The list's owner is the field being read at the current struct depth: FileMetaData is depth 1.
    uint64_t ElementCost(TType type) {
        const size_t depth = fields_.size();
        if (depth == 1 && fields_[0] == 2) {
            return sizeof(format::SchemaElement) + sizeof(Column) + sizeof(Field) + 2 * sizeof(std::string);
        }
        if (depth == 1 && fields_[0] == 4) {
            counting_ = &row_groups;
            return sizeof(format::RowGroup) + sizeof(RowGroupInfo);
        }
        if (depth == 2 && fields_[0] == 4 && fields_[1] == 1) {
            counting_ = &column_chunks;
            return sizeof(format::ColumnChunk) + sizeof(ChunkInfo);
        }
        counting_ = nullptr;
        return GenericCost(type);
    }

    void Charge(uint32_t count, uint64_t cost) {
        if (counting_) {
            *counting_ += count;
            counting_ = nullptr;
        }
        lease_.Resize(lease_.Bytes() + uint64_t{count} * cost, [&] {
            return fmt::format("footer metadata: {} row groups and {} column chunks so far", row_groups,
                               column_chunks);
        });
    }

    BudgetLease& lease_;
    std::vector<int16_t> fields_;
    uint64_t* counting_ = nullptr;
};

} // namespace

size_t DecodeFileMetaData(const uint8_t* data, size_t size, format::FileMetaData& out, BudgetLease& lease) {
    auto buffer = ObserveBuffer(data, size);
    auto limit = SizeLimit(size);
    BudgetedCompact protocol(buffer, limit, std::min(limit, kMaxContainer), lease);
    out.read(&protocol);
    return size - buffer->available_read();
}

namespace {

Repetition ToRepetition(const format::SchemaElement& e) {
    if (!e.__isset.repetition_type) {
        return Repetition::Required;
    }
    switch (e.repetition_type) {
    case format::FieldRepetitionType::REQUIRED:
        return Repetition::Required;
    case format::FieldRepetitionType::OPTIONAL:
        return Repetition::Optional;
    case format::FieldRepetitionType::REPEATED:
        return Repetition::Repeated;
    }
    throw std::runtime_error(
        fmt::format("field '{}' has invalid repetition {}", e.name, static_cast<int>(e.repetition_type)));
}

TimeUnit ToUnit(const format::TimeUnit& u) {
    if (u.__isset.MILLIS) {
        return TimeUnit::Millis;
    }
    if (u.__isset.NANOS) {
        return TimeUnit::Nanos;
    }
    return TimeUnit::Micros;
}

LogicalType FromConverted(const format::SchemaElement& e) {
    LogicalType t;
    if (!e.__isset.converted_type) {
        return t;
    }
    auto set_int = [&](int bits, bool is_signed) {
        t.kind = Logical::Int;
        t.bit_width = bits;
        t.is_signed = is_signed;
    };
    switch (e.converted_type) {
    case format::ConvertedType::UTF8:
        t.kind = Logical::String;
        break;
    case format::ConvertedType::ENUM:
        t.kind = Logical::Enum;
        break;
    case format::ConvertedType::JSON:
        t.kind = Logical::Json;
        break;
    case format::ConvertedType::BSON:
        t.kind = Logical::Bson;
        break;
    case format::ConvertedType::DECIMAL:
        t.kind = Logical::Decimal;
        t.precision = e.precision;
        t.scale = e.scale;
        break;
    case format::ConvertedType::DATE:
        t.kind = Logical::Date;
        break;
    // The legacy time and timestamp annotations are UTC-normalised by definition.
    case format::ConvertedType::TIME_MILLIS:
        t.kind = Logical::Time;
        t.unit = TimeUnit::Millis;
        t.utc_adjusted = true;
        break;
    case format::ConvertedType::TIME_MICROS:
        t.kind = Logical::Time;
        t.unit = TimeUnit::Micros;
        t.utc_adjusted = true;
        break;
    case format::ConvertedType::TIMESTAMP_MILLIS:
        t.kind = Logical::Timestamp;
        t.unit = TimeUnit::Millis;
        t.utc_adjusted = true;
        break;
    case format::ConvertedType::TIMESTAMP_MICROS:
        t.kind = Logical::Timestamp;
        t.unit = TimeUnit::Micros;
        t.utc_adjusted = true;
        break;
    case format::ConvertedType::UINT_8:
        set_int(8, false);
        break;
    case format::ConvertedType::UINT_16:
        set_int(16, false);
        break;
    case format::ConvertedType::UINT_32:
        set_int(32, false);
        break;
    case format::ConvertedType::UINT_64:
        set_int(64, false);
        break;
    case format::ConvertedType::INT_8:
        set_int(8, true);
        break;
    case format::ConvertedType::INT_16:
        set_int(16, true);
        break;
    case format::ConvertedType::INT_32:
        set_int(32, true);
        break;
    case format::ConvertedType::INT_64:
        set_int(64, true);
        break;
    default:
        break;
    }
    return t;
}

LogicalType ToLogical(const format::SchemaElement& e) {
    if (!e.__isset.logicalType) {
        return FromConverted(e);
    }
    const auto& l = e.logicalType;
    LogicalType t;
    if (l.__isset.STRING) {
        t.kind = Logical::String;
    } else if (l.__isset.ENUM) {
        t.kind = Logical::Enum;
    } else if (l.__isset.JSON) {
        t.kind = Logical::Json;
    } else if (l.__isset.BSON) {
        t.kind = Logical::Bson;
    } else if (l.__isset.UUID) {
        t.kind = Logical::Uuid;
    } else if (l.__isset.FLOAT16) {
        t.kind = Logical::Float16;
    } else if (l.__isset.DATE) {
        t.kind = Logical::Date;
    } else if (l.__isset.UNKNOWN) {
        t.kind = Logical::Unknown;
    } else if (l.__isset.DECIMAL) {
        t.kind = Logical::Decimal;
        t.precision = l.DECIMAL.precision;
        t.scale = l.DECIMAL.scale;
    } else if (l.__isset.TIME) {
        t.kind = Logical::Time;
        t.unit = ToUnit(l.TIME.unit);
        t.utc_adjusted = l.TIME.isAdjustedToUTC;
    } else if (l.__isset.TIMESTAMP) {
        t.kind = Logical::Timestamp;
        t.unit = ToUnit(l.TIMESTAMP.unit);
        t.utc_adjusted = l.TIMESTAMP.isAdjustedToUTC;
    } else if (l.__isset.INTEGER) {
        t.kind = Logical::Int;
        t.bit_width = l.INTEGER.bitWidth;
        t.is_signed = l.INTEGER.isSigned;
    } else {
        // A logical type newer than this reader (or one it renders as raw bytes, such as GEOMETRY):
        // fall back to the legacy annotation, as the format asks of old readers.
        return FromConverted(e);
    }
    return t;
}

// Drops an annotation that does not fit the physical type, so values are never misread (for example
// a DATE annotation on a BYTE_ARRAY).
LogicalType Sanitize(LogicalType t, Physical p, int type_length) {
    bool ok = true;
    switch (t.kind) {
    case Logical::None:
    case Logical::Unknown:
        break;
    case Logical::String:
    case Logical::Enum:
    case Logical::Json:
    case Logical::Bson:
        ok = p == Physical::ByteArray || p == Physical::FixedLenByteArray;
        break;
    case Logical::Uuid:
        ok = p == Physical::FixedLenByteArray && type_length == 16;
        break;
    case Logical::Float16:
        ok = p == Physical::FixedLenByteArray && type_length == 2;
        break;
    case Logical::Int:
        ok = p == Physical::Int32 || p == Physical::Int64;
        break;
    case Logical::Decimal:
        ok = (p == Physical::Int32 || p == Physical::Int64 || p == Physical::FixedLenByteArray ||
              p == Physical::ByteArray) &&
             t.scale >= 0 && t.scale <= 1000 && t.precision >= 0;
        break;
    case Logical::Date:
        ok = p == Physical::Int32;
        break;
    case Logical::Time:
        ok = (p == Physical::Int32 && t.unit == TimeUnit::Millis) ||
             (p == Physical::Int64 && t.unit != TimeUnit::Millis);
        break;
    case Logical::Timestamp:
        ok = p == Physical::Int64;
        break;
    }
    if (!ok) {
        return LogicalType{};
    }
    return t;
}

Physical ToPhysical(const format::SchemaElement& e) {
    int v = static_cast<int>(e.type);
    if (v < 0 || v > 7) {
        throw std::runtime_error(fmt::format("field '{}' has invalid physical type {}", e.name, v));
    }
    return static_cast<Physical>(v);
}

struct SchemaBuilder {
    const std::vector<format::SchemaElement>& schema;
    std::vector<Column>& columns;
    size_t next = 1;

    void Build(Field& parent, int32_t num_children, std::vector<std::string>& path, int16_t def, int16_t rep,
               int depth) {
        if (depth > kMaxSchemaDepth) {
            throw std::runtime_error("schema is nested more than 64 levels deep");
        }
        if (num_children < 0) {
            throw std::runtime_error(fmt::format("group '{}' has a negative child count", parent.name));
        }
        for (int32_t c = 0; c < num_children; ++c) {
            if (next >= schema.size()) {
                throw std::runtime_error(fmt::format(
                    "group '{}' declares {} children but the schema ends first", parent.name, num_children));
            }
            const format::SchemaElement& e = schema[next++];
            Field f;
            f.name = e.name;
            f.repetition = ToRepetition(e);
            if (e.__isset.field_id) {
                f.field_id = e.field_id;
            }
            int16_t d = def + (f.repetition != Repetition::Required ? 1 : 0);
            int16_t r = rep + (f.repetition == Repetition::Repeated ? 1 : 0);
            path.push_back(f.name);
            bool is_group = !e.__isset.type || (e.__isset.num_children && e.num_children > 0);
            if (is_group) {
                if (e.__isset.type && e.__isset.num_children && e.num_children > 0) {
                    throw std::runtime_error(fmt::format("field '{}' has both a type and children", e.name));
                }
                if (e.__isset.converted_type) {
                    if (e.converted_type == format::ConvertedType::LIST) {
                        f.annotation = "LIST";
                    } else if (e.converted_type == format::ConvertedType::MAP) {
                        f.annotation = "MAP";
                    } else if (e.converted_type == format::ConvertedType::MAP_KEY_VALUE) {
                        f.annotation = "MAP_KEY_VALUE";
                    }
                }
                if (e.__isset.logicalType) {
                    if (e.logicalType.__isset.LIST) {
                        f.annotation = "LIST";
                    } else if (e.logicalType.__isset.MAP) {
                        f.annotation = "MAP";
                    }
                }
                Build(f, e.__isset.num_children ? e.num_children : 0, path, d, r, depth + 1);
            } else {
                Column col;
                col.index = static_cast<int>(columns.size());
                col.path = path;
                col.physical = ToPhysical(e);
                col.type_length = e.__isset.type_length ? e.type_length : 0;
                if (col.physical == Physical::FixedLenByteArray &&
                    (col.type_length <= 0 || col.type_length > (1 << 24))) {
                    throw std::runtime_error(fmt::format("fixed-length column '{}' has invalid length {}",
                                                         e.name, col.type_length));
                }
                col.logical = Sanitize(ToLogical(e), col.physical, col.type_length);
                col.repetition = f.repetition;
                col.max_def = d;
                col.max_rep = r;
                col.field_id = f.field_id;
                f.column = col.index;
                columns.push_back(std::move(col));
            }
            path.pop_back();
            parent.children.push_back(std::move(f));
        }
    }
};

} // namespace

size_t DecodePageHeader(const uint8_t* data, size_t size, format::PageHeader& out) {
    return DecodeThrift(data, size, out);
}

void BuildSchema(const std::vector<format::SchemaElement>& schema, std::vector<Column>& columns,
                 Field& root) {
    if (schema.empty()) {
        throw std::runtime_error("schema is empty");
    }
    const auto& r = schema[0];
    root = Field{};
    root.name = r.name;
    std::vector<std::string> path;
    SchemaBuilder b{schema, columns};
    b.Build(root, r.__isset.num_children ? r.num_children : 0, path, 0, 0, 0);
    if (b.next != schema.size()) {
        throw std::runtime_error(
            fmt::format("schema has {} elements but the tree uses {}", schema.size(), b.next));
    }
    if (columns.empty()) {
        throw std::runtime_error("schema has no columns");
    }
}

FileInfo BuildFileInfo(const format::FileMetaData& meta, const std::vector<Column>& columns) {
    FileInfo info;
    info.version = meta.version;
    info.num_rows = meta.num_rows;
    info.created_by = meta.created_by;
    for (const auto& kv : meta.key_value_metadata) {
        info.key_value_metadata.emplace_back(kv.key, kv.value);
    }
    for (size_t g = 0; g < meta.row_groups.size(); ++g) {
        const auto& rg = meta.row_groups[g];
        RowGroupInfo ri;
        ri.num_rows = rg.num_rows;
        ri.total_byte_size = rg.total_byte_size;
        if (rg.columns.size() != columns.size()) {
            throw std::runtime_error(
                fmt::format("row group {} has {} column chunks but the schema has {} columns", g,
                            rg.columns.size(), columns.size()));
        }
        for (size_t c = 0; c < rg.columns.size(); ++c) {
            const auto& cc = rg.columns[c];
            if (!cc.__isset.meta_data) {
                throw std::runtime_error(fmt::format("row group {}, column '{}' has no column metadata", g,
                                                     columns[c].DottedPath()));
            }
            const auto& md = cc.meta_data;
            ChunkInfo ci;
            ci.column = static_cast<int>(c);
            ci.codec = CodecName(static_cast<int>(md.codec));
            for (auto e : md.encodings) {
                ci.encodings.emplace_back(EncodingName(static_cast<int>(e)));
            }
            ci.num_values = md.num_values;
            ci.compressed_size = md.total_compressed_size;
            ci.uncompressed_size = md.total_uncompressed_size;
            ci.data_page_offset = md.data_page_offset;
            if (md.__isset.dictionary_page_offset) {
                ci.dictionary_page_offset = md.dictionary_page_offset;
            }
            if (md.__isset.statistics) {
                const auto& s = md.statistics;
                if (s.__isset.min_value) {
                    ci.stats.min = s.min_value;
                } else if (s.__isset.min) {
                    ci.stats.min = s.min;
                }
                if (s.__isset.max_value) {
                    ci.stats.max = s.max_value;
                } else if (s.__isset.max) {
                    ci.stats.max = s.max;
                }
                if (s.__isset.null_count) {
                    ci.stats.null_count = s.null_count;
                }
                if (s.__isset.distinct_count) {
                    ci.stats.distinct_count = s.distinct_count;
                }
            }
            ri.chunks.push_back(std::move(ci));
        }
        info.row_groups.push_back(std::move(ri));
    }
    return info;
}

std::string PhysicalName(Physical p) {
    switch (p) {
    case Physical::Boolean:
        return "BOOLEAN";
    case Physical::Int32:
        return "INT32";
    case Physical::Int64:
        return "INT64";
    case Physical::Int96:
        return "INT96";
    case Physical::Float:
        return "FLOAT";
    case Physical::Double:
        return "DOUBLE";
    case Physical::ByteArray:
        return "BYTE_ARRAY";
    case Physical::FixedLenByteArray:
        return "FIXED_LEN_BYTE_ARRAY";
    }
    return "?";
}

std::string LogicalName(const LogicalType& t) {
    auto unit = [](TimeUnit u) {
        return u == TimeUnit::Millis ? "MILLIS" : u == TimeUnit::Micros ? "MICROS" : "NANOS";
    };
    switch (t.kind) {
    case Logical::None:
        return "";
    case Logical::String:
        return "STRING";
    case Logical::Enum:
        return "ENUM";
    case Logical::Json:
        return "JSON";
    case Logical::Bson:
        return "BSON";
    case Logical::Uuid:
        return "UUID";
    case Logical::Float16:
        return "FLOAT16";
    case Logical::Unknown:
        return "UNKNOWN";
    case Logical::Date:
        return "DATE";
    case Logical::Int:
        return fmt::format("INT({},{})", t.bit_width, t.is_signed ? "signed" : "unsigned");
    case Logical::Decimal:
        return fmt::format("DECIMAL({},{})", t.precision, t.scale);
    case Logical::Time:
        return fmt::format("TIME({}{})", unit(t.unit), t.utc_adjusted ? ",UTC" : "");
    case Logical::Timestamp:
        return fmt::format("TIMESTAMP({}{})", unit(t.unit), t.utc_adjusted ? ",UTC" : "");
    }
    return "";
}

std::string RepetitionName(Repetition r) {
    switch (r) {
    case Repetition::Required:
        return "REQUIRED";
    case Repetition::Optional:
        return "OPTIONAL";
    case Repetition::Repeated:
        return "REPEATED";
    }
    return "?";
}

std::string Column::DottedPath() const {
    std::string s;
    for (const auto& p : path) {
        if (!s.empty()) {
            s += '.';
        }
        s += p;
    }
    return s;
}

} // namespace pgsplit::parquet
