#pragma once

// Small helpers for building JSON output.

#include <nlohmann/json.hpp>
#include <optional>

namespace pgsplit {

// An optional value as JSON: the value, or null.
template <class T>
nlohmann::ordered_json OptJson(const std::optional<T>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

} // namespace pgsplit
