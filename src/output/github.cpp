#include "output/github.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <random>

namespace pgsplit {
namespace {

constexpr uintmax_t kSummaryLimit = 1024 * 1024 - 4096; // GitHub's 1 MiB, with room for the note

} // namespace

void AppendStepSummary(const std::string& path, const std::string& markdown) {
    if (path.empty()) {
        return;
    }
    std::error_code ec;
    uintmax_t size = std::filesystem::exists(path, ec) ? std::filesystem::file_size(path, ec) : 0;
    std::ofstream out(path, std::ios::app | std::ios::binary);
    if (!out) {
        return;
    }
    if (size + markdown.size() > kSummaryLimit) {
        out << "\n_pgsplit: summary truncated to stay under GitHub's 1 MiB step-summary limit_\n";
        return;
    }
    out << markdown;
}

void SetStepOutput(const std::string& path, const std::string& key, const std::string& value) {
    if (path.empty()) {
        return;
    }
    std::ofstream out(path, std::ios::app | std::ios::binary);
    if (!out) {
        return;
    }
    if (value.find('\n') == std::string::npos && value.find('\r') == std::string::npos) {
        out << key << "=" << value << "\n";
        return;
    }
    // A delimiter that cannot occur in the value.
    std::mt19937_64 rng(std::random_device{}());
    std::string delim;
    do {
        delim = fmt::format("pgsplit_{:016x}", rng());
    } while (value.find(delim) != std::string::npos);
    out << key << "<<" << delim << "\n" << value << "\n" << delim << "\n";
}

} // namespace pgsplit
