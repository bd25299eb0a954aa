#include "signals/months.h"

#include "core/error.h"

#include <algorithm>
#include <fmt/format.h>
#include <regex>

namespace pgsplit::signals {

std::optional<std::pair<int, int>> ParseMonth(const std::string& text) {
    static const std::regex pattern(R"(^(\d{4})-(0[1-9]|1[0-2])$)");
    std::smatch m;
    if (!std::regex_match(text, m, pattern)) {
        return std::nullopt;
    }
    return std::make_pair(std::stoi(m[1]), std::stoi(m[2]));
}

namespace {

std::pair<int, int> RequireMonth(const std::string& flag, const std::string& text) {
    auto m = ParseMonth(text);
    if (!m) {
        throw Error(ExitCode::Usage, fmt::format("{} '{}' is not a month", flag, text),
                    "write months as YYYY-MM, e.g. 2024-03");
    }
    return *m;
}

} // namespace

std::vector<std::string> ResolveMonths(const std::vector<std::string>& months, const std::string& from,
                                       const std::string& to) {
    std::vector<std::string> out;
    for (const auto& m : months) {
        RequireMonth("--month", m);
        out.push_back(m);
    }
    if (from.empty() != to.empty()) {
        throw Error(ExitCode::Usage, "--from and --to go together",
                    "pass both, e.g. --from 2023-01 --to 2023-12");
    }
    if (!from.empty()) {
        auto [fy, fm] = RequireMonth("--from", from);
        auto [ty, tm] = RequireMonth("--to", to);
        int start = fy * 12 + fm - 1;
        int end = ty * 12 + tm - 1;
        if (start > end) {
            throw Error(ExitCode::Usage, fmt::format("--from {} is after --to {}", from, to));
        }
        if (end - start >= 1200) {
            throw Error(ExitCode::Usage,
                        fmt::format("--from {} --to {} spans more than 100 years", from, to));
        }
        for (int i = start; i <= end; ++i) {
            out.push_back(fmt::format("{:04}-{:02}", i / 12, i % 12 + 1));
        }
    }
    if (out.empty()) {
        throw Error(ExitCode::Usage, "no month to sync", "pass --month YYYY-MM (repeatable) or --from/--to");
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace pgsplit::signals
