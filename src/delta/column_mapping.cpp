#include "delta/column_mapping.h"

#include "core/error.h"

#include <fmt/format.h>
#include <map>
#include <set>

namespace pgsplit::delta {
namespace {

constexpr const char* kPhysicalName = "delta.columnMapping.physicalName";
constexpr const char* kId = "delta.columnMapping.id";

Error BadMapping(const std::string& table, const std::string& what) {
    return Error(ExitCode::Source, fmt::format("table '{}': column mapping: {}", table, what),
                 "the schema's column mapping metadata is damaged; the table cannot be read safely");
}

const std::vector<StructField>* ChildFields(const DataType& t) {
    if (t.kind == TypeKind::Struct) {
        return &t.fields;
    }
    return nullptr;
}

void CheckFields(const std::vector<StructField>& fields, const std::string& prefix,
                 const std::string& table) {
    std::set<std::string> seen;
    for (const auto& f : fields) {
        if (!f.metadata.is_object() || !f.metadata.contains(kPhysicalName) ||
            !f.metadata[kPhysicalName].is_string() || f.metadata[kPhysicalName].get<std::string>().empty()) {
            throw BadMapping(table, fmt::format("column '{}{}' has no {}", prefix, f.name, kPhysicalName));
        }
        const std::string& physical = f.metadata[kPhysicalName].get_ref<const std::string&>();
        if (!seen.insert(physical).second) {
            throw BadMapping(table, fmt::format("two columns under '{}' share the physical name '{}'",
                                                prefix.empty() ? "the root" : prefix, physical));
        }
        const DataType* t = &f.type;
        // Struct fields inside arrays and maps carry physical names too.
        while (t->kind == TypeKind::Array || t->kind == TypeKind::Map) {
            if (t->key && t->key->kind == TypeKind::Struct) {
                CheckFields(t->key->fields, prefix + f.name + ".", table);
            }
            if (!t->element) {
                break;
            }
            t = t->element.get();
        }
        if (const auto* children = ChildFields(*t)) {
            CheckFields(*children, prefix + f.name + ".", table);
        }
    }
}

// Renames the keys of a stats object (minValues, maxValues, nullCount) from physical to logical
// names, struct by struct. Keys the schema does not know are dropped: their statistics describe a
// column that no longer exists (dropped, or re-added with a new physical name).
nlohmann::json RenameStats(const nlohmann::json& stats, const std::vector<StructField>& fields,
                           MappingMode mode) {
    if (!stats.is_object()) {
        return stats;
    }
    std::map<std::string, const StructField*> by_physical;
    for (const auto& f : fields) {
        by_physical[PhysicalName(f, mode)] = &f;
    }
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : stats.items()) {
        auto it = by_physical.find(key);
        if (it == by_physical.end()) {
            continue;
        }
        const StructField& f = *it->second;
        out[f.name] = f.type.kind == TypeKind::Struct ? RenameStats(value, f.type.fields, mode) : value;
    }
    return out;
}

} // namespace

MappingMode ColumnMappingMode(const Metadata& metadata, const std::string& table) {
    auto it = metadata.configuration.find("delta.columnMapping.mode");
    if (it == metadata.configuration.end() || it->second.empty() || it->second == "none") {
        return MappingMode::None;
    }
    if (it->second == "name") {
        return MappingMode::Name;
    }
    if (it->second == "id") {
        return MappingMode::Id;
    }
    throw Error(ExitCode::Source,
                fmt::format("table '{}' uses column mapping mode '{}', which pgsplit does not support", table,
                            it->second),
                "pgsplit reads the modes none, name and id; read the table with a Delta engine");
}

const std::string& PhysicalName(const StructField& field, MappingMode mode) {
    if (mode != MappingMode::None && field.metadata.is_object()) {
        auto it = field.metadata.find(kPhysicalName);
        if (it != field.metadata.end() && it->is_string()) {
            return it->get_ref<const std::string&>();
        }
    }
    return field.name;
}

std::optional<int32_t> FieldId(const StructField& field) {
    if (!field.metadata.is_object()) {
        return std::nullopt;
    }
    auto it = field.metadata.find(kId);
    if (it == field.metadata.end() || !it->is_number_integer()) {
        return std::nullopt;
    }
    int64_t v = it->get<int64_t>();
    if (v < INT32_MIN || v > INT32_MAX) {
        return std::nullopt;
    }
    return static_cast<int32_t>(v);
}

void ToLogicalNames(const Schema& schema, MappingMode mode, std::vector<AddFile>& files,
                    const std::string& table) {
    if (mode == MappingMode::None) {
        return;
    }
    CheckFields(schema.fields, "", table);
    std::map<std::string, std::string> logical; // physical -> logical, top level
    for (const auto& f : schema.fields) {
        logical[PhysicalName(f, mode)] = f.name;
    }
    for (auto& file : files) {
        std::map<std::string, std::optional<std::string>> renamed;
        for (auto& [key, value] : file.partition_values) {
            auto it = logical.find(key);
            renamed[it == logical.end() ? key : it->second] = std::move(value);
        }
        file.partition_values = std::move(renamed);
        file.min_values = RenameStats(file.min_values, schema.fields, mode);
        file.max_values = RenameStats(file.max_values, schema.fields, mode);
        file.null_count = RenameStats(file.null_count, schema.fields, mode);
    }
}

} // namespace pgsplit::delta
