#include "core/error.h"
#include "core/github_annotations.h"
#include "delta/types.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <regex>

namespace pgsplit::delta {
namespace {

Error BadSchema(const std::string& where, const std::string& what) {
    return Error(ExitCode::Source, fmt::format("{}: invalid schemaString: {}", where, what),
                 "the metaData action's schemaString must be a Delta struct type");
}

DataType ParseType(const nlohmann::json& j, const std::string& where);

StructField ParseField(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("type")) {
        throw BadSchema(where, "a field lacks a name or a type");
    }
    StructField f;
    f.name = j["name"].get<std::string>();
    f.type = ParseType(j["type"], where);
    f.nullable = !j.contains("nullable") || !j["nullable"].is_boolean() || j["nullable"].get<bool>();
    if (j.contains("metadata")) {
        f.metadata = j["metadata"];
    }
    return f;
}

DataType ParseType(const nlohmann::json& j, const std::string& where) {
    DataType t;
    if (j.is_string()) {
        t.name = j.get<std::string>();
        static const std::map<std::string, TypeKind> kinds = {
            {"string", TypeKind::String},       {"long", TypeKind::Long},
            {"integer", TypeKind::Integer},     {"short", TypeKind::Short},
            {"byte", TypeKind::Byte},           {"float", TypeKind::Float},
            {"double", TypeKind::Double},       {"boolean", TypeKind::Boolean},
            {"binary", TypeKind::Binary},       {"date", TypeKind::Date},
            {"timestamp", TypeKind::Timestamp}, {"timestamp_ntz", TypeKind::TimestampNtz},
        };
        if (auto it = kinds.find(t.name); it != kinds.end()) {
            t.kind = it->second;
            return t;
        }
        static const std::regex decimal(R"(decimal\(\s*(\d+)\s*,\s*(\d+)\s*\))");
        std::smatch m;
        if (std::regex_match(t.name, m, decimal)) {
            t.kind = TypeKind::Decimal;
            t.precision = std::stoi(m[1]);
            t.scale = std::stoi(m[2]);
            if (t.precision < 1 || t.precision > 38 || t.scale > t.precision) {
                throw BadSchema(where, fmt::format("bad decimal type '{}'", t.name));
            }
            return t;
        }
        t.kind = TypeKind::Other; // refused only if a reader needs its values
        return t;
    }
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
        throw BadSchema(where, "a type is neither a name nor an object with a \"type\"");
    }
    std::string kind = j["type"].get<std::string>();
    t.name = kind;
    if (kind == "struct") {
        t.kind = TypeKind::Struct;
        if (!j.contains("fields") || !j["fields"].is_array()) {
            throw BadSchema(where, "a struct type has no fields array");
        }
        for (const auto& f : j["fields"]) {
            t.fields.push_back(ParseField(f, where));
        }
    } else if (kind == "array") {
        t.kind = TypeKind::Array;
        if (!j.contains("elementType")) {
            throw BadSchema(where, "an array type has no elementType");
        }
        t.element = std::make_shared<DataType>(ParseType(j["elementType"], where));
    } else if (kind == "map") {
        t.kind = TypeKind::Map;
        if (!j.contains("keyType") || !j.contains("valueType")) {
            throw BadSchema(where, "a map type lacks keyType or valueType");
        }
        t.key = std::make_shared<DataType>(ParseType(j["keyType"], where));
        t.element = std::make_shared<DataType>(ParseType(j["valueType"], where));
    } else {
        t.kind = TypeKind::Other;
    }
    return t;
}

} // namespace

const StructField* Schema::Find(const std::string& name) const {
    for (const auto& f : fields) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

const StructField* Schema::FindColumn(const std::string& name) const {
    auto lower = [](std::string s) {
        for (auto& c : s) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return s;
    };
    std::string want = lower(name);
    const StructField* found = nullptr;
    for (const auto& f : fields) {
        if (lower(f.name) != want) {
            continue;
        }
        if (found) {
            throw Error(
                ExitCode::Source,
                fmt::format("the Delta schema has two columns '{}' and '{}' that differ only by case, so "
                            "'{}' is ambiguous",
                            EscapeControlChars(found->name), EscapeControlChars(f.name), name),
                "Delta column names are case-insensitive; the table's schema is damaged");
        }
        found = &f;
    }
    return found;
}

// Columns of type void (old Spark tables; every value is NULL) are dropped, as PROTOCOL.md recommends
// and Spark does: they carry no data and no reader can give them a type.
void DropVoid(std::vector<StructField>& fields) {
    fields.erase(std::remove_if(fields.begin(), fields.end(),
                                [](const StructField& f) {
                                    return f.type.kind == TypeKind::Other && f.type.name == "void";
                                }),
                 fields.end());
    for (auto& f : fields) {
        DropVoid(f.type.fields);
    }
}

Schema ParseSchema(const std::string& schema_string, const std::string& where) {
    nlohmann::json j = nlohmann::json::parse(schema_string, nullptr, false);
    if (j.is_discarded()) {
        throw BadSchema(where, "not JSON");
    }
    DataType root = ParseType(j, where);
    if (root.kind != TypeKind::Struct) {
        throw BadSchema(where, "the root is not a struct");
    }
    Schema s;
    s.fields = std::move(root.fields);
    DropVoid(s.fields);
    return s;
}

std::optional<std::string> AddFile::PartitionValue(const std::string& column) const {
    auto it = partition_values.find(column);
    return it == partition_values.end() ? std::nullopt : it->second;
}

} // namespace pgsplit::delta
