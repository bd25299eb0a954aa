// Damaged copies of good tables: each damage gives a clear exit-7 error naming the file, or the
// protocol's documented fallback with the same rows; never different rows.

#include "core/error.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "support/process.h"
#include "tests/delta/delta_test_util.h"
#include "tests/support/paths.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit::test {
namespace {
namespace fs = std::filesystem;

fs::path Source(const std::string& name) {
    fs::path p = FixturesDir() / "delta" / name;
    REQUIRE_MESSAGE(fs::is_directory(p / "_delta_log"), "fixture table missing: ", p.string(),
                    " (generate it with: cd tests/fixtures && npm ci && node delta.mjs)");
    return p;
}

std::string LogFile(int64_t version) {
    return fmt::format("_delta_log/{:020}.json", version);
}

CanonRows AllRows(const fs::path& root) {
    delta::Table table(storage::OpenLocalStorage(root.string()));
    auto snap = table.LoadSnapshot();
    std::vector<std::string> cols;
    for (const auto& f : snap.GetSchema().fields) {
        cols.push_back(f.name);
    }
    return RowsViaScan(snap, table.GetStorage(), cols);
}

std::string Failure(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        CHECK_MESSAGE(e.code() == ExitCode::Source, e.what());
        return e.what();
    }
    return "<no error>";
}

} // namespace

TEST_SUITE("delta") {
    TEST_CASE("damage: corrupt, empty or stale _last_checkpoint falls back to listing with the same rows") {
        fs::path src = Source("overwrites");
        CanonRows good = AllRows(src);
        for (const char* text : {"", "{{{", "{\"version\": 25, \"size\": 9}", "{\"version\": 10}"}) {
            CAPTURE(text);
            ScratchDir t;
            CopyTree(src, t.Root());
            WriteFile(t.Root() / "_delta_log" / "_last_checkpoint", text);
            CHECK(AllRows(t.Root()) == good);
        }
        ScratchDir t;
        CopyTree(src, t.Root());
        fs::remove(t.Root() / "_delta_log" / "_last_checkpoint");
        CHECK(AllRows(t.Root()) == good);
    }

    TEST_CASE("damage: a missing newest checkpoint falls back to the previous one") {
        fs::path src = Source("overwrites");
        CanonRows good = AllRows(src);
        ScratchDir t;
        CopyTree(src, t.Root());
        fs::remove(t.Root() / "_delta_log" / "00000000000000000020.checkpoint.parquet");
        delta::Table table(storage::OpenLocalStorage(t.Str()));
        CHECK(table.LoadSnapshot().CheckpointVersion().value() == 10);
        CHECK(AllRows(t.Root()) == good);
    }

    TEST_CASE("damage: a garbage checkpoint is an error naming it, not a silent fallback") {
        ScratchDir t;
        CopyTree(Source("overwrites"), t.Root());
        WriteFile(t.Root() / "_delta_log" / "00000000000000000020.checkpoint.parquet",
                  "not a parquet file at all");
        std::string err = Failure([&] { AllRows(t.Root()); });
        CHECK_MESSAGE(err.find("00000000000000000020.checkpoint.parquet") != std::string::npos, err);
    }

    TEST_CASE("damage: a missing commit after the checkpoint is an error naming the version") {
        ScratchDir t;
        CopyTree(Source("overwrites"), t.Root());
        fs::remove(t.Root() / LogFile(25));
        std::string err = Failure([&] { AllRows(t.Root()); });
        CHECK_MESSAGE(err.find("commit 25 ") != std::string::npos, err);
        // Versions before the gap are still readable from the checkpoint.
        delta::Table table(storage::OpenLocalStorage(t.Str()));
        CHECK(table.LoadSnapshot(24).Version() == 24);
        // A commit covered by a checkpoint may be gone (log cleanup); one that is needed may not.
        fs::remove(t.Root() / LogFile(5));
        CHECK(table.LoadSnapshot(12).Version() == 12);
        std::string err5 = Failure([&] { table.LoadSnapshot(7); });
        CHECK_MESSAGE(err5.find("commit 5 ") != std::string::npos, err5);
    }

    TEST_CASE("damage: garbage JSON in a commit names the file and line") {
        ScratchDir t;
        CopyTree(Source("overwrites"), t.Root());
        std::string text = ReadFile(t.Root() / LogFile(27));
        WriteFile(t.Root() / LogFile(27), text.substr(0, text.size() / 2));
        std::string err = Failure([&] { AllRows(t.Root()); });
        CHECK_MESSAGE(err.find("00000000000000000027.json line") != std::string::npos, err);
    }

    TEST_CASE("damage: an add whose file is missing fails the scan naming the file") {
        ScratchDir t;
        CopyTree(Source("ranking_signal"), t.Root());
        delta::Table table(storage::OpenLocalStorage(t.Str()));
        auto snap = table.LoadSnapshot();
        delta::Predicate jan{"year_month", "2024-01"};
        auto files = snap.SelectFiles(&jan);
        REQUIRE(files.size() == 1);
        fs::remove(t.Root() / files[0]->path);
        std::string err = Failure([&] {
            delta::Scan scan(snap, table.GetStorage(), {{"symbol"}, jan, 4096});
            delta::ScanBatch b;
            while (scan.Next(b)) {
            }
        });
        CHECK_MESSAGE(err.find(files[0]->path) != std::string::npos, err);
        // Other months do not need the file.
        delta::Predicate mar{"year_month", "2024-03"};
        CHECK_FALSE(RowsViaScan(snap, table.GetStorage(), {"symbol"}, mar).empty());
    }

    TEST_CASE("damage: add paths that leave the table (.., %2E%2E, absolute, file://) are refused by name") {
        // The table's own data file, copied next to the table: a real Parquet file outside the root.
        ScratchDir t;
        fs::path root = t.Root() / "table";
        CopyTree(Source("ranking_signal"), root);
        int64_t last = LatestCommitVersion(root);
        REQUIRE(last >= 0);
        delta::Table probe(storage::OpenLocalStorage(root.string()));
        delta::Predicate jan{"year_month", "2024-01"};
        auto probe_snap = probe.LoadSnapshot();
        auto jan_files = probe_snap.SelectFiles(&jan);
        REQUIRE(jan_files.size() == 1);
        fs::copy_file(root / jan_files[0]->path, t.Root() / "outside.parquet");
        std::string outside = (t.Root() / "outside.parquet").string();
        for (const std::string& path :
             {std::string("../outside.parquet"), std::string("%2E%2E/outside.parquet"),
              std::string("year_month=2024-01/%2e%2e/%2e%2e/outside.parquet"), outside,
              "file://" + outside}) {
            CAPTURE(path);
            ScratchDir copy;
            CopyTree(root, copy.Root());
            nlohmann::json add = {{"add",
                                   {{"path", path},
                                    {"partitionValues", {{"year_month", "2024-01"}}},
                                    {"size", 1},
                                    {"modificationTime", 1},
                                    {"dataChange", true}}}};
            WriteFile(copy.Root() / LogFile(last + 1), add.dump() + "\n");
            std::string err = Failure([&] {
                delta::Table table(storage::OpenLocalStorage(copy.Str()));
                auto snap = table.LoadSnapshot();
                delta::Scan scan(snap, table.GetStorage(), {{"symbol"}, jan, 4096});
                delta::ScanBatch b;
                while (scan.Next(b)) {
                }
            });
            CHECK_MESSAGE(err.find("outside the table") != std::string::npos, err);
        }
    }

    TEST_CASE("damage: a multi-part checkpoint with a part missing is ignored (corpus copy)") {
        fs::path src = CorpusDir() / "delta" / "golden-multi-part-checkpoint" / "delta";
        REQUIRE_MESSAGE(fs::is_directory(src), "corpus missing: ", src.string());
        CanonRows good = AllRows(src);
        ScratchDir t;
        CopyTree(src, t.Root());
        fs::remove(t.Root() / "_delta_log" / "00000000000000000001.checkpoint.0000000002.0000000002.parquet");
        delta::Table table(storage::OpenLocalStorage(t.Str()));
        auto snap = table.LoadSnapshot();
        CHECK_FALSE(snap.CheckpointVersion().has_value());
        CHECK(AllRows(t.Root()) == good);
        // Without the commits as well, the table cannot be rebuilt: an error, not a partial snapshot.
        fs::remove(t.Root() / LogFile(0));
        std::string err = Failure([&] { AllRows(t.Root()); });
        CHECK_MESSAGE(err.find("commit 0 ") != std::string::npos, err);
    }

    TEST_CASE("damage: a checkpoint part that is missing with commits gone too (corpus dat-no_replay)") {
        fs::path src = CorpusDir() / "delta" / "dat-no_replay" / "delta";
        REQUIRE_MESSAGE(fs::is_directory(src), "corpus missing: ", src.string());
        ScratchDir t;
        CopyTree(src, t.Root());
        fs::remove(t.Root() / "_delta_log" / "00000000000000000002.checkpoint.parquet");
        std::string err = Failure([&] { AllRows(t.Root()); });
        CHECK_MESSAGE(err.find("is missing") != std::string::npos, err);
    }
}

} // namespace pgsplit::test
