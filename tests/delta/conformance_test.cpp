// Walks every table of the shared corpus (../shared/corpus/delta): readable tables must return exactly
// the rows the oracle holds, at the latest version and at every version with an expected output;
// the others must be refused with the reason named. A table the test does not know fails the test.

#include "core/error.h"
#include "delta/table.h"
#include "support/process.h"
#include "tests/delta/delta_test_util.h"
#include "tests/support/paths.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

namespace pgsplit::test {
namespace {
namespace fs = std::filesystem;

enum class Expect { Rows, Refused, LogOnly };

struct Known {
    Expect expect;
    std::string reason; // Refused: text the error must contain; otherwise why the table is special
};

// Tables that are not "read it and compare with the expected rows", and why.
const std::map<std::string, Known>& KnownTables() {
    static const std::map<std::string, Known> known = {
        {"golden-deltalog-invalid-protocol-version", {Expect::Refused, "reader version 99"}},
        {"golden-deltalog-state-reconstruction-without-metadata", {Expect::Refused, "no metaData action"}},
        {"golden-deltalog-state-reconstruction-without-protocol", {Expect::Refused, "no protocol action"}},
        {"golden-versions-not-contiguous", {Expect::Refused, "commit 1 "}},
        // No data files at all (the add paths are fake): the log replay is checked, not rows.
        {"golden-checkpoint", {Expect::LogOnly, "log only, fake add paths"}},
    };
    return known;
}

// golden-data-reader-partition-values: its engine output was written by Spark at UTC-7, so the
// zone-less timestamp partition "2021-09-08 11:11:11" reads 18:11:11Z there. pgsplit reads zone-less
// partition timestamps as UTC (as the DAT expected output of dat-multi_partitioned_2 and delta-rs
// do), so this table is compared with the oracle replay, which reads them as UTC too.
const std::map<std::string, std::string>& UseOracleReplay() {
    static const std::map<std::string, std::string> m = {
        {"golden-data-reader-partition-values", "timestamp partition zone caveat (Spark session at UTC-7)"},
    };
    return m;
}

fs::path TableRoot(const fs::path& corpus, const std::string& name) {
    fs::path dir = corpus / "delta" / name;
    if (fs::exists(dir / "delta" / "_delta_log")) {
        return dir / "delta";
    }
    return dir;
}

bool AllFlat(const delta::Snapshot& snap) {
    for (const auto& f : snap.GetSchema().fields) {
        if (!f.type.IsPrimitive()) {
            return false;
        }
    }
    return true;
}

fs::path ExpectedFile(const fs::path& dir, const std::string& stem) {
    for (const char* ext : {".csv", ".jsonl"}) {
        if (fs::exists(dir / (stem + ext))) {
            return dir / (stem + ext);
        }
    }
    return {};
}

// Compares a snapshot's rows, read both ways (JSON records and the columnar scan), with `want`.
void CheckRows(const std::string& label, delta::Table& table, const delta::Snapshot& snap,
               const CanonRows& want, const fs::path& expected) {
    auto columns = SchemaColumns(snap);
    for (const auto& row : want) {
        // Guards the comparison itself: every expected column must be found and parsed.
        REQUIRE_MESSAGE(row.find("<missing column>") == std::string::npos, label, ": ", row);
        REQUIRE_MESSAGE(row.find("<bad") == std::string::npos, label, ": ", row);
    }
    CanonRows got = RowsViaReadRows(snap, table.GetStorage(), columns);
    CHECK_MESSAGE(want == got, label, " (ReadRows vs ", expected.filename().string(),
                  "): ", DiffRows(want, got));
    if (AllFlat(snap)) {
        CanonRows scanned = RowsViaScan(snap, table.GetStorage(), columns);
        CHECK_MESSAGE(want == scanned, label, " (Scan vs ", expected.filename().string(),
                      "): ", DiffRows(want, scanned));
    }
}

void CheckRows(const std::string& label, delta::Table& table, const delta::Snapshot& snap,
               const fs::path& expected) {
    CheckRows(label, table, snap, ExpectedRows(expected, snap.GetSchema(), SchemaColumns(snap)), expected);
}

// The oracle of a corpus table that ships no engine-written expected output (see
// tests/data/corpus-oracles/README.md); empty when the table has its own.
fs::path SubstituteOracle(const fs::path& corpus, const std::string& name) {
    if (name == "rs-table-with-dv-small") {
        return corpus / "delta-kernel" / "expected" / "kernel-table-with-dv-small" / "expected_latest.csv";
    }
    if (name == "rs-table_with_column_mapping") {
        return SourceDir() / "tests" / "data" / "corpus-oracles" / "rs-table_with_column_mapping.csv";
    }
    return {};
}

void CheckTable(const fs::path& corpus, const std::string& name) {
    const fs::path expected_dir = corpus / "expected" / "delta" / name;
    const fs::path root = TableRoot(corpus, name);
    auto known = KnownTables().find(name);

    if (known != KnownTables().end() && known->second.expect == Expect::Refused) {
        delta::Table table(storage::OpenLocalStorage(root.string()));
        try {
            table.LoadSnapshot();
            FAIL_CHECK(name, ": expected a refusal naming '", known->second.reason,
                       "', but the table loaded");
        } catch (const Error& e) {
            CHECK_MESSAGE(e.code() == ExitCode::Source, name, ": exit code ", ToInt(e.code()), " for ",
                          std::string(e.what()));
            CHECK_MESSAGE(std::string(e.what()).find(known->second.reason) != std::string::npos, name,
                          ": error does not name '", known->second.reason, "': ", std::string(e.what()));
        }
        return;
    }

    // The log replay alone must agree with the corpus metadata (version, active files, numRecords).
    nlohmann::json meta = nlohmann::json::parse(ReadFile(expected_dir / "table.meta.json"));
    fs::path table_dir = root;
    ScratchDir tmp;
    if (name == "rs-with_checkpoint_no_last_checkpoint") {
        // Log only, identical to dat-with_checkpoint's log minus _last_checkpoint: borrow its data files.
        CopyTree(root, tmp.Root());
        for (const auto& e : fs::directory_iterator(TableRoot(corpus, "dat-with_checkpoint"))) {
            if (e.path().filename() != "_delta_log") {
                fs::copy(e.path(), tmp.Root() / e.path().filename(), fs::copy_options::recursive);
            }
        }
        table_dir = tmp.Root();
    }
    delta::Table table(storage::OpenLocalStorage(table_dir.string()));
    delta::Snapshot snap = table.LoadSnapshot();
    CHECK_MESSAGE(snap.Version() == meta["latest_version"].get<int64_t>(), name, ": version");
    CHECK_MESSAGE(static_cast<int64_t>(snap.Files().size()) == meta["active_files"].get<int64_t>(), name,
                  ": active files");
    if (meta["active_numRecords_sum"].is_number_integer() && meta["active_files_without_stats"] == 0) {
        // Counting from the log alone: numRecords minus what deletion vectors delete.
        auto count = delta::Snapshot::CountRecords(snap.SelectFiles(nullptr));
        CHECK_MESSAGE(count.has_value(), name, ": numRecords missing");
        if (count) {
            CHECK_MESSAGE(*count == meta["active_numRecords_sum"].get<int64_t>() -
                                        meta["dv_cardinality_sum"].get<int64_t>(),
                          name, ": sum of numRecords minus DV cardinality");
            if (meta["expected_rows_latest"].is_number_integer()) {
                CHECK_MESSAGE(*count == meta["expected_rows_latest"].get<int64_t>(), name, ": expected rows");
            }
        }
    }
    if (known != KnownTables().end() && known->second.expect == Expect::LogOnly) {
        return;
    }

    // Rows at the latest version.
    fs::path latest;
    if (UseOracleReplay().count(name) == 0) {
        latest = ExpectedFile(expected_dir, "engine_expected__latest");
    }
    if (latest.empty()) {
        latest = ExpectedFile(expected_dir, "snapshot_latest__oracle_replay");
    }
    if (latest.empty()) {
        latest = SubstituteOracle(corpus, name);
    }
    if (name == "rs-table_with_deletion_logs") {
        // DuckDB's decode of the data file minus the rows the DELETE commits name (id 12 and 89).
        fs::path file;
        for (const auto& e : fs::directory_iterator(expected_dir / "files")) {
            if (e.path().filename().string().rfind("part-", 0) == 0 && e.path().extension() == ".csv") {
                file = e.path();
            }
        }
        REQUIRE_MESSAGE(!file.empty(), name, ": DuckDB's decode of the data file is missing");
        auto columns = SchemaColumns(snap);
        const size_t id =
            static_cast<size_t>(std::find(columns.begin(), columns.end(), "id") - columns.begin());
        REQUIRE(id < columns.size());
        CanonRows all = ExpectedRows(file, snap.GetSchema(), columns);
        CanonRows want;
        for (const auto& row : all) {
            std::vector<std::string> cells;
            for (size_t at = 0, next; (next = row.find(" | ", at)) != std::string::npos; at = next + 3) {
                cells.push_back(row.substr(at, next - at));
            }
            REQUIRE(cells.size() == columns.size());
            if (cells[id] != "12" && cells[id] != "89") {
                want.push_back(row);
            }
        }
        CHECK(all.size() == 100);
        CHECK(want.size() == 98);
        CheckRows(name + " latest", table, snap, want, file);
        return;
    }
    if (name == "rs-with_checkpoint_no_last_checkpoint") {
        latest =
            ExpectedFile(corpus / "expected" / "delta" / "dat-with_checkpoint", "engine_expected__latest");
    }
    REQUIRE_MESSAGE(!latest.empty(), name, ": no expected output and not listed as a known exception");
    CheckRows(name + " latest", table, snap, latest);

    // Rows at each earlier version with an engine-written expected output.
    static const std::regex versioned(R"(engine_expected__v(\d+)\.(csv|jsonl))");
    for (const auto& e : fs::directory_iterator(expected_dir)) {
        std::smatch m;
        std::string file = e.path().filename().string();
        if (std::regex_match(file, m, versioned)) {
            int64_t v = std::stoll(m[1]);
            delta::Snapshot at = table.LoadSnapshot(v);
            CHECK(at.Version() == v);
            CheckRows(fmt::format("{} v{}", name, v), table, at, e.path());
        }
    }
}

} // namespace

TEST_SUITE("delta-conformance") {
    TEST_CASE("every corpus Delta table is read exactly or refused with the reason named") {
        fs::path corpus = CorpusDir();
        REQUIRE_MESSAGE(fs::is_directory(corpus / "delta"),
                        "the conformance corpus is missing: ", (corpus / "delta").string(),
                        " (set PGSPLIT_CORPUS to the shared corpus folder)");
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(corpus / "delta")) {
            if (e.is_directory()) {
                names.push_back(e.path().filename().string());
            }
        }
        std::sort(names.begin(), names.end());
        CHECK(names.size() >= 39);
        for (const auto& name : names) {
            CAPTURE(name);
            try {
                CheckTable(corpus, name);
            } catch (const Error& e) {
                FAIL_CHECK(name, ": unexpected error (exit ", ToInt(e.code()), "): ", std::string(e.what()));
            } catch (const std::exception& e) {
                FAIL_CHECK(name, ": unexpected exception: ", std::string(e.what()));
            }
        }
        // Every known exception must still exist in the corpus, so the list cannot rot.
        for (const auto& known : KnownTables()) {
            const std::string& name = known.first; // not a structured binding: doctest's macros capture it
            CHECK_MESSAGE(std::find(names.begin(), names.end(), name) != names.end(), "known table ", name,
                          " is not in the corpus");
        }
    }
}

} // namespace pgsplit::test

namespace pgsplit::test {
TEST_SUITE("delta-conformance") {
    // The expected side is canonicalised by the test's own parser (OracleTimestampMicros), not by
    // the product's: these epoch values come from GNU date, a third implementation.
    TEST_CASE("the oracle's timestamp parser agrees with known epoch seconds") {
        CHECK(OracleTimestampMicros("1970-01-01 00:00:01").value() == 1000000);
        CHECK(OracleTimestampMicros("1969-12-31 23:59:59.5").value() == -500000);
        CHECK(OracleTimestampMicros("2000-03-01T00:00:00Z").value() == 951868800LL * 1000000);
        CHECK(OracleTimestampMicros("1900-03-01 00:00:00+00").value() == -2203891200LL * 1000000);
        CHECK(OracleTimestampMicros("1600-02-29T00:00:00.000000Z").value() == -11670998400LL * 1000000);
        CHECK(OracleTimestampMicros("2024-02-29 14:34:56.123456789+02:00").value() ==
              1709210096LL * 1000000 + 123456);
        CHECK_FALSE(OracleTimestampMicros("2024-13-01 00:00:00"));
        CHECK_FALSE(OracleTimestampMicros("2024-01-01"));
        CHECK_FALSE(OracleTimestampMicros("2024-01-01 00:00:00 junk"));
    }
}
} // namespace pgsplit::test

namespace pgsplit::test {
namespace {

// The columns of an expected CSV from the kernel's assertions: nested struct leaves are flattened as
// `parent.child`, which only top-level columns of the snapshot can be compared with, so a table with
// nested columns is compared on its top-level primitive columns.
std::vector<std::string> FlatColumns(const delta::Snapshot& snap) {
    std::vector<std::string> out;
    for (const auto& f : snap.GetSchema().fields) {
        if (f.type.IsPrimitive()) {
            out.push_back(f.name);
        }
    }
    return out;
}

} // namespace

TEST_SUITE("delta-conformance") {
    // ../shared/corpus/delta-kernel: 13 tables from delta-kernel-rs' own tests, with the rows those
    // tests assert (MANIFEST.md). Tables without an oracle must still load and read the same rows
    // both ways.
    TEST_CASE("every delta-kernel table is read as the kernel's own tests assert") {
        fs::path root = CorpusDir() / "delta-kernel";
        REQUIRE_MESSAGE(fs::is_directory(root / "tables"),
                        "the delta-kernel corpus is missing: ", (root / "tables").string(),
                        " (set PGSPLIT_CORPUS to the shared corpus folder)");
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(root / "tables")) {
            names.push_back(e.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        CHECK(names.size() >= 13);
        int compared = 0;
        for (const auto& name : names) {
            CAPTURE(name);
            try {
                delta::Table table(storage::OpenLocalStorage((root / "tables" / name).string()));
                delta::Snapshot snap = table.LoadSnapshot();
                fs::path expected = root / "expected" / name / "expected_latest_full.csv";
                if (!fs::exists(expected)) {
                    expected = root / "expected" / name / "expected_latest.csv";
                }
                auto columns = FlatColumns(snap);
                CanonRows read = RowsViaReadRows(snap, table.GetStorage(), columns);
                CanonRows scanned = RowsViaScan(snap, table.GetStorage(), columns);
                CHECK_MESSAGE(read == scanned, name, " (ReadRows vs Scan): ", DiffRows(read, scanned));
                if (fs::exists(expected)) {
                    CanonRows want = ExpectedRows(expected, snap.GetSchema(), columns);
                    CHECK_MESSAGE(want == read, name, " (ReadRows vs ", expected.filename().string(),
                                  "): ", DiffRows(want, read));
                    ++compared;
                }
                if (auto count = delta::Snapshot::CountRecords(snap.SelectFiles(nullptr))) {
                    CHECK_MESSAGE(*count == static_cast<int64_t>(read.size()), name, ": count from the log");
                }
            } catch (const Error& e) {
                FAIL_CHECK(name, ": unexpected error (exit ", ToInt(e.code()), "): ", std::string(e.what()));
            }
        }
        CHECK(compared >= 9);
    }
}

} // namespace pgsplit::test
