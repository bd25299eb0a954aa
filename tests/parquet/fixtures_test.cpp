// Files written by DuckDB (tests/fixtures/parquet.mjs, run by scripts/fixtures.sh) for every codec x
// Parquet version x nullability, decoded by pgsplit and compared with DuckDB's own read-back.

#include "core/error.h"
#include "oracle.h"
#include "parquet/reader.h"
#include "support/paths.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <set>

namespace pgsplit::test::pq {
namespace {

namespace fs = std::filesystem;

fs::path FixturesOrFail() {
    fs::path dir = test::FixturesDir() / "parquet";
    if (!fs::exists(dir) || fs::is_empty(dir)) {
        FAIL("parquet fixtures are missing in " << dir.string() << ": run scripts/fixtures.sh");
    }
    return dir;
}

std::vector<fs::path> Metas(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().string().ends_with(".meta.json")) {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST_SUITE("parquet") {
    TEST_CASE("duckdb-written fixtures (codec x version x nulls) decode equal to duckdb's read-back") {
        fs::path dir = FixturesOrFail();
        auto metas = Metas(dir);
        CHECK(metas.size() >= 30);
        std::set<std::string> codecs, encodings;
        size_t compared = 0, skipped = 0;
        for (const auto& m : metas) {
            auto meta = nlohmann::json::parse(ReadFileText(m.string()));
            std::string name = meta["file"].get<std::string>();
            CAPTURE(name);
            for (const auto& c : meta["codecs"]) {
                codecs.insert(c.get<std::string>());
            }
            for (const auto& e : meta["encodings"]) {
                encodings.insert(e.get<std::string>());
            }
            std::string stem = name.substr(0, name.size() - 8);
            std::vector<std::string> problems;
            try {
                auto reader = parquet::OpenFile((dir / name).string());
                if (meta["flat"].get<bool>()) {
                    CHECK(reader->AllFlat());
                    problems = CompareWithCsv(name, *reader, dir / (stem + ".csv"), meta, compared, skipped,
                                              nullptr);
                } else {
                    problems =
                        CompareWithJsonl(*reader, dir / (stem + ".jsonl"), Oracle::DuckDb, compared, nullptr);
                }
            } catch (const Error& e) {
                problems.push_back(e.what());
            }
            for (const auto& p : problems) {
                FAIL_CHECK(name << ": " << p);
            }
        }
        // The fixtures must really cover what they claim.
        for (const char* c : {"UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD", "LZ4_RAW", "BROTLI"}) {
            CHECK_MESSAGE(codecs.count(c), "no fixture uses codec " << c);
        }
        for (const char* e : {"PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "DELTA_BINARY_PACKED",
                              "DELTA_LENGTH_BYTE_ARRAY", "BYTE_STREAM_SPLIT"}) {
            CHECK_MESSAGE(encodings.count(e), "no fixture uses encoding " << e);
        }
        MESSAGE(compared << " fixture values compared");
    }
}

} // namespace pgsplit::test::pq
