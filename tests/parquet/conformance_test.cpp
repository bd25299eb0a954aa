// Conformance against apache/parquet-testing: every file under data/ is decoded and compared value for
// value with an independent reader's output (DuckDB, or hyparquet where DuckDB cannot read the
// file), or is refused for a reason stated in the table below. Every file under bad_data/ must fail
// cleanly with exit 7, except the ones the corpus documents as acceptable either way.

#include "core/error.h"
#include "oracle.h"
#include "parquet/reader.h"
#include "support/paths.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <set>

namespace pgsplit::test::pq {
namespace {

namespace fs = std::filesystem;

struct Refusal {
    const char* message_part; // must appear in the error message
    const char* reason;
};

// Files pgsplit refuses on purpose. Encrypted files (*.encrypted) are refused by rule, see below.
const std::map<std::string, Refusal>& Refused() {
    static const std::map<std::string, Refusal> table = {
        {"data/datapage_v1-corrupt-checksum.parquet",
         {"page checksum mismatch",
          "page CRC does not match (the file exists to test that); DuckDB ignores CRCs"}},
        {"data/rle-dict-uncompressed-corrupt-checksum.parquet",
         {"page checksum mismatch",
          "page CRC does not match (the file exists to test that); DuckDB ignores CRCs"}},
        {"data/large_string_map.brotli.parquet",
         {"256 MiB limit",
          "1 GiB strings: pages over 256 MiB are refused to bound memory (no oracle either)"}},
    };
    return table;
}

// Files where both a correct decode and a clean error are acceptable (MANIFEST.md).
const std::set<std::string>& EitherWay() {
    static const std::set<std::string> s = {"data/nation.dict-malformed.parquet",
                                            "bad_data/ARROW-GH-43605.parquet"};
    return s;
}

// Cells the oracle is known to get wrong (MANIFEST.md "Known oracle failures").
bool KnownOracleError(const std::string& rel, size_t row, const std::string& column) {
    // int96_from_spark row 6 is year 290000: both oracles overflow 64-bit nanoseconds.
    return rel == "data/int96_from_spark.parquet" && row == 5 && column == "a";
}

std::string Key(const std::string& rel) {
    std::string k = rel;
    for (auto& c : k) {
        if (c == '/') {
            c = '_';
        }
    }
    std::string out;
    for (size_t i = 0; i < rel.size(); ++i) {
        out += rel[i] == '/' ? std::string("__") : std::string(1, rel[i]);
    }
    return out;
}

std::string ErrorOf(const fs::path& file, ExitCode* code) {
    try {
        auto reader = parquet::OpenFile(file.string());
        DecodeAllAsJson(*reader);
    } catch (const Error& e) {
        *code = e.code();
        return e.what();
    }
    return {};
}

// map_no_value.parquet: hyparquet shows a MAP without a value column as its raw key_value groups;
// pgsplit shows it as a map whose values are null. Same keys, so rewrite the oracle's form.
void AdaptMapNoValue(nlohmann::json& rec) {
    if (!rec.contains("my_map_no_v") || !rec["my_map_no_v"].is_object() ||
        !rec["my_map_no_v"].contains("key_value")) {
        return;
    }
    nlohmann::json m = nlohmann::json::object();
    for (const auto& kv : rec["my_map_no_v"]["key_value"]) {
        m[kv["key"].dump()] = nullptr;
    }
    rec["my_map_no_v"] = m;
}

// nested_structs.rust.parquet: the ul_observation_date leaves carry only the legacy TIMESTAMP_MICROS
// converted type, which the Parquet spec (LogicalTypes.md, backward compatibility) defines as
// UTC-adjusted; DuckDB reads them as TIMESTAMP without zone. pgsplit follows the spec ("Z"), so the
// oracle's marker is added for that column only: every other timestamp must agree as printed.
void AdaptLegacyUtcTimestamps(nlohmann::json& rec) {
    auto it = rec.find("ul_observation_date");
    if (it == rec.end() || !it->is_object()) {
        return;
    }
    for (auto& [key, value] : it->items()) {
        if (value.is_string()) {
            value = value.get<std::string>() + "+00";
        }
    }
}

fs::path CorpusOrFail() {
    fs::path corpus = test::CorpusDir();
    if (!fs::exists(corpus / "parquet-testing" / "data")) {
        FAIL("the conformance corpus is absent: no " << (corpus / "parquet-testing" / "data").string()
                                                     << " (set PGSPLIT_CORPUS to the shared corpus folder)");
    }
    return corpus;
}

std::vector<std::string> ParquetFilesUnder(const fs::path& root, const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        std::string name = e.path().filename().string();
        if (e.is_regular_file() && (name.ends_with(".parquet") || name.ends_with(".parquet.encrypted"))) {
            out.push_back(fs::relative(e.path(), root).generic_string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST_SUITE("parquet-conformance") {
    TEST_CASE("every parquet-testing data file decodes like the oracle or is refused for a stated reason") {
        fs::path corpus = CorpusOrFail();
        fs::path root = corpus / "parquet-testing";
        auto files = ParquetFilesUnder(root, root / "data");
        CHECK(files.size() >= 80);
        size_t decoded = 0, refused = 0, compared = 0, skipped = 0;
        std::string table = "files pgsplit does not decode, and why:\n";
        for (const auto& rel : files) {
            CAPTURE(rel);
            fs::path path = root / rel;
            bool encrypted = rel.ends_with(".encrypted");
            auto refusal = Refused().find(rel);
            if (encrypted || refusal != Refused().end()) {
                ExitCode code = ExitCode::Ok;
                std::string msg = ErrorOf(path, &code);
                std::string part = encrypted ? "encrypted" : refusal->second.message_part;
                CHECK_MESSAGE(code == ExitCode::Source, rel << " must be refused with exit 7");
                CHECK_MESSAGE(msg.find(part) != std::string::npos,
                              rel << ": message '" << msg << "' lacks '" << part << "'");
                table += fmt::format("  {}: {}\n", rel,
                                     encrypted ? "encrypted (Parquet Modular Encryption): refused, exit 7"
                                               : refusal->second.reason);
                ++refused;
                continue;
            }
            std::string key = Key(rel);
            fs::path csv = corpus / "expected" / "parquet-testing" / (key + ".csv");
            fs::path jsonl = corpus / "expected" / "parquet-testing" / (key + ".jsonl");
            fs::path hyp = corpus / "expected" / "hyparquet" / ("parquet-testing__" + key + ".jsonl");
            fs::path meta_path = corpus / "expected" / "parquet-testing" / (key + ".meta.json");
            std::vector<std::string> problems;
            try {
                auto reader = parquet::OpenFile(path.string());
                if (fs::exists(csv) && reader->AllFlat()) {
                    auto meta = nlohmann::json::parse(ReadFileText(meta_path.string()));
                    problems = CompareWithCsv(rel, *reader, csv, meta, compared, skipped, KnownOracleError);
                } else if (fs::exists(jsonl)) {
                    problems = CompareWithJsonl(
                        *reader, jsonl, Oracle::DuckDb, compared,
                        rel == "data/nested_structs.rust.parquet" ? AdaptLegacyUtcTimestamps : nullptr);
                } else if (fs::exists(hyp)) {
                    problems =
                        CompareWithJsonl(*reader, hyp, Oracle::Hyparquet, compared,
                                         rel == "data/map_no_value.parquet" ? AdaptMapNoValue : nullptr);
                } else {
                    problems.push_back("no oracle output for this file");
                }
            } catch (const Error& e) {
                if (EitherWay().count(rel) && e.code() == ExitCode::Source) {
                    table += fmt::format("  {}: refused ({}); the corpus accepts a clean error or a decode\n",
                                         rel, e.what());
                    ++refused;
                    continue;
                }
                problems.push_back(fmt::format("error (exit {}): {}", ToInt(e.code()), e.what()));
            }
            for (const auto& p : problems) {
                FAIL_CHECK(rel << ": " << p);
            }
            if (problems.empty()) {
                ++decoded;
            }
        }
        MESSAGE(fmt::format(
            "{} files decoded equal to the oracle ({} values compared, {} GEOMETRY/known-oracle-error "
            "cells not compared), {} refused\n{}",
            decoded, compared, skipped, refused, table));
    }

    TEST_CASE("every parquet-testing bad_data file fails cleanly with exit 7") {
        fs::path corpus = CorpusOrFail();
        fs::path root = corpus / "parquet-testing";
        auto files = ParquetFilesUnder(root, root / "bad_data");
        CHECK(files.size() >= 8);
        for (const auto& rel : files) {
            CAPTURE(rel);
            ExitCode code = ExitCode::Ok;
            std::string msg = ErrorOf(root / rel, &code);
            if (EitherWay().count(rel) && msg.empty()) {
                // Accepted: must then match the oracle's row count (checked through the CSV).
                auto reader = parquet::OpenFile((root / rel).string());
                auto rows = DecodeAllAsJson(*reader);
                auto meta = nlohmann::json::parse(ReadFileText(
                    (corpus / "expected" / "parquet-testing" / (Key(rel) + ".meta.json")).string()));
                CHECK(rows.size() == meta["row_count"].get<size_t>());
                continue;
            }
            CHECK_MESSAGE(code == ExitCode::Source,
                          rel << " must fail with exit 7, got message '" << msg << "'");
            CHECK_MESSAGE(msg.find(rel.substr(rel.find('/') + 1)) != std::string::npos,
                          "the message names the file: " << msg);
        }
    }
}

} // namespace pgsplit::test::pq
