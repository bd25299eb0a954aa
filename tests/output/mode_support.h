#pragma once

// Helpers shared by the GitHub-mode, JSON-log-mode and interrupt tests: fixtures, the fake az, polling
// with a deadline, golden-file comparison with volatile parts normalised.

#include "migrate/migrator.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"

#include <chrono>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace pgsplit::test::modes {

using pgsplit::test::MigrateQuietly;
using pgsplit::test::SyncEnv;
using pgsplit::test::SyncScenario;

// The fake az of tests/provision/fake_az, with its log and state in a scratch dir.
inline std::map<std::string, std::string> FakeAzEnv(const ScratchDir& dir, const std::string& scenario,
                                                    std::map<std::string, std::string> extra = {}) {
    std::string fake = (SourceDir() / "tests" / "provision" / "fake_az").string();
    std::map<std::string, std::string> env = {
        {"PATH", fake + ":" + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin")},
        {"FAKE_AZ_LOG", dir / "az.log"},
        {"FAKE_AZ_SCENARIO", scenario},
        {"FAKE_AZ_STATE", dir / "state"},
    };
    for (auto& [k, v] : extra) {
        env[k] = v;
    }
    return env;
}

inline bool Has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Polls `ready` every 50 ms until it holds or `seconds` pass; returns whether it held.
inline bool WaitUntil(const std::function<bool()>& ready, double seconds = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (ready()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ready();
}

// Replaces what changes from run to run: durations, ages, timestamps, the random output delimiter, and the
// given literal strings (temp paths, DSNs) by their placeholders. Runs of spaces become one space so
// that table columns whose width follows a duration compare equal.
inline std::string Normalize(std::string text,
                             const std::vector<std::pair<std::string, std::string>>& literals) {
    for (const auto& [from, to] : literals) {
        for (size_t pos = text.find(from); !from.empty() && pos != std::string::npos;
             pos = text.find(from, pos + to.size())) {
            text.replace(pos, from.size(), to);
        }
    }
    static const std::regex kTimestamp(
        R"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)?)");
    static const std::regex kDuration(R"(\b\d+(\.\d+)? (ms|s)\b|\b\d+m \d+s\b|\b\d+h \d+m\b)");
    static const std::regex kDelimiter(R"(pgsplit_[0-9a-f]{16})");
    static const std::regex kSpaces(R"( {2,})");
    text = std::regex_replace(text, kTimestamp, "<TIME>");
    text = std::regex_replace(text, kDuration, "<DURATION>");
    text = std::regex_replace(text, kDelimiter, "<DELIM>");
    static const std::regex kAge(R"(just now|<DURATION> ago)");
    text = std::regex_replace(text, kAge, "<AGE>");
    text = std::regex_replace(text, kSpaces, " ");
    return text;
}

// Compares `actual` with tests/data/golden/NAME. PGSPLIT_UPDATE_GOLDEN=1 rewrites the file instead
// (then review the diff before committing it).
inline void CheckGolden(const std::string& name, const std::string& actual) {
    auto path = SourceDir() / "tests" / "data" / "golden" / name;
    if (const char* update = std::getenv("PGSPLIT_UPDATE_GOLDEN"); update && std::string(update) == "1") {
        WriteText(path.string(), actual);
    }
    REQUIRE_MESSAGE(std::filesystem::exists(path), "golden file missing: ", path.string());
    std::string expected = ReadText(path.string());
    INFO("golden file: " << path.string());
    INFO("actual:\n" << actual);
    CHECK(actual == expected);
}

// Every line of `text` that mentions any of `secrets` must be an ::add-mask:: line, and every
// ::add-mask:: line must come before the first line that is not one.
inline void CheckMasksFirst(const std::string& text, const std::vector<std::string>& secrets) {
    bool past_masks = false;
    for (const auto& line : Lines(text)) {
        bool is_mask = line.rfind("::add-mask::", 0) == 0;
        if (!is_mask) {
            past_masks = true;
        }
        CHECK_MESSAGE(!(is_mask && past_masks), "::add-mask:: after other output: ", line);
        for (const auto& s : secrets) {
            CHECK_MESSAGE((is_mask || !Has(line, s)), "a secret outside ::add-mask::: ", line);
        }
    }
}

// Parses every stdout line as a JSON object; fails the test for any that is not.
inline std::vector<nlohmann::json> JsonLines(const std::string& out) {
    std::vector<nlohmann::json> lines;
    for (const auto& line : Lines(out)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        CHECK_MESSAGE((!j.is_discarded() && j.is_object()), "not a JSON object line: ", line);
        if (!j.is_discarded()) {
            lines.push_back(j);
        }
    }
    return lines;
}

} // namespace pgsplit::test::modes
