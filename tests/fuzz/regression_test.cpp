// Replays every input the fuzzers ever found a problem with (tests/data/fuzz/<target>/) and the
// hand-written DSN seeds through the fuzz targets' own bodies, so each finding stays fixed in the
// regular suite, sanitizer build included. A crash or broken invariant aborts the test binary.

#include "delta/table.h"
#include "fuzz/entry.h"
#include "storage/storage.h"
#include "support/paths.h"
#include "support/process.h"

#include <algorithm>
#include <cstdint>
#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Entry = void (*)(const uint8_t*, size_t);

void Replay(Entry entry, const std::string& bytes) {
    entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

} // namespace

TEST_SUITE("fuzz") {
    TEST_CASE("every saved fuzz finding replays through its target without a crash") {
        const std::map<std::string, Entry> targets = {{"parquet_fuzz", pgsplit::fuzz::ParquetEntry},
                                                      {"delta_log_fuzz", pgsplit::fuzz::DeltaLogEntry},
                                                      {"dsn_fuzz", pgsplit::fuzz::DsnEntry},
                                                      {"dv_fuzz", pgsplit::fuzz::DeletionVectorEntry}};
        auto root = pgsplit::test::SourceDir() / "tests" / "data" / "fuzz";
        REQUIRE(std::filesystem::is_directory(root));
        size_t replayed = 0;
        for (const auto& dir : std::filesystem::directory_iterator(root)) {
            if (!dir.is_directory()) {
                continue;
            }
            std::string target = dir.path().filename().string();
            INFO("directory ", dir.path().string());
            // A folder named after no target would silently never be replayed.
            REQUIRE(targets.count(target) == 1);
            std::vector<std::filesystem::path> files;
            for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
                if (f.is_regular_file()) {
                    files.push_back(f.path());
                }
            }
            std::sort(files.begin(), files.end());
            for (const auto& file : files) {
                INFO("input ", file.string());
                Replay(targets.at(target), pgsplit::test::ReadText(file.string()));
                ++replayed;
            }
        }
        MESSAGE("replayed ", replayed, " saved fuzz inputs");
        CHECK(replayed > 0);
    }

    // tests/data/fuzz/delta_log_fuzz/numrecords-sum-overflows-int64.json: two files claiming INT64_MAX rows
    // each made CountRecords overflow (undefined behaviour; in practice a negative total in verify).
    TEST_CASE("record counts from stats that overflow int64 are unknown rather than wrapped") {
        pgsplit::test::ScratchDir dir;
        std::filesystem::create_directories(dir / "_delta_log");
        std::filesystem::copy_file(pgsplit::test::SourceDir() / "tests" / "data" / "fuzz" / "delta_log_fuzz" /
                                       "numrecords-sum-overflows-int64.json",
                                   dir / "_delta_log/00000000000000000000.json");
        pgsplit::delta::Table table(pgsplit::storage::OpenLocalStorage(dir.Path()));
        auto snap = table.LoadSnapshot();
        auto files = snap.SelectFiles(nullptr);
        REQUIRE(files.size() == 2);
        CHECK(pgsplit::delta::Snapshot::CountRecords({files[0]}) == INT64_MAX);
        CHECK_FALSE(pgsplit::delta::Snapshot::CountRecords(files).has_value());
    }

    TEST_CASE("the hand-written DSN and table-location seeds keep the redaction and default invariants") {
        std::istringstream seeds(pgsplit::test::ReadText(
            (pgsplit::test::SourceDir() / "tests" / "fuzz" / "dsn_seeds.txt").string()));
        size_t lines = 0;
        for (std::string line; std::getline(seeds, line);) {
            INFO("seed ", line);
            Replay(pgsplit::fuzz::DsnEntry, line);
            ++lines;
        }
        CHECK(lines >= 20);
    }
}
