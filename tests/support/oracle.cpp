#include "support/oracle.h"

#include <stdexcept>

namespace pgsplit::test {

namespace {

const nlohmann::json& Oracle(const nlohmann::json& expected) {
    if (!expected.contains("oracle")) {
        throw std::runtime_error("expected.json has no content oracle: re-run scripts/fixtures.sh");
    }
    return expected["oracle"];
}

void Replace(std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
}

} // namespace

std::string OracleWant(const nlohmann::json& expected, const std::string& target, const std::string& version,
                       const std::string& month) {
    const auto& per_version = Oracle(expected).at(target).at(version);
    if (!per_version.contains(month)) {
        return "0:d41d8cd98f00b204e9800998ecf8427e";
    }
    return per_version[month].get<std::string>();
}

std::string OracleGot(const TestDatabase& db, const nlohmann::json& expected, const std::string& target,
                      const std::string& month, const std::string& table) {
    std::string sql = Oracle(expected).at("targets").at(target).at("sql").get<std::string>();
    Replace(sql, "{table}", table.empty() ? "ranking." + target : table);
    Replace(sql, "{month}", month);
    return db.Value(sql);
}

} // namespace pgsplit::test
