// `pgsplit inspect delta` as operators run it: the built binary, its exit codes and output.

#include "support/process.h"
#include "tests/delta/delta_test_util.h"
#include "tests/support/paths.h"
#include "tests/support/process.h"

#include <chrono>
#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pgsplit::test {
namespace {
namespace fs = std::filesystem;

std::string Table(const std::string& name) {
    fs::path p = FixturesDir() / "delta" / name;
    REQUIRE_MESSAGE(fs::is_directory(p / "_delta_log"), "fixture table missing: ", p.string(),
                    " (generate it with: cd tests/fixtures && npm ci && node delta.mjs)");
    return p.string();
}

nlohmann::json Meta(const std::string& name) {
    return nlohmann::json::parse(ReadFile(FixturesDir() / "delta" / (name + ".meta.json")));
}

} // namespace

TEST_SUITE("delta") {
    TEST_CASE("inspect delta: version, protocol, schema and every partition with files and records") {
        auto r = RunPgsplit({"inspect", "delta", Table("overwrites")});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(r.out.find("version   30  (checkpoint 20 + 10 commits)") != std::string::npos);
        CHECK(r.out.find("reader 3, writer 7") != std::string::npos);
        CHECK(r.out.find("timestampNtz") != std::string::npos);
        CHECK(r.out.find("timestamp_ntz") != std::string::npos);
        // Keep the document alive for the loop: items() refers into it.
        const auto meta = Meta("overwrites");
        for (const auto& item : meta["months"].items()) {
            const std::string month = item.key(); // a plain variable: doctest's macros capture it
            CHECK_MESSAGE(r.out.find(month) != std::string::npos, month);
        }
    }

    TEST_CASE("inspect delta --json on 120 months reads the log only: data files may be gone") {
        ScratchDir t;
        CopyTree(Table("months_120"), t.Root());
        int removed = 0;
        for (const auto& e : fs::recursive_directory_iterator(t.Root())) {
            if (e.path().extension() == ".parquet" && e.path().parent_path().filename() != "_delta_log") {
                fs::permissions(e.path(), fs::perms::none); // unreadable ...
                ++removed;
            }
        }
        for (const auto& e : fs::directory_iterator(t.Root())) {
            if (e.path().filename() != "_delta_log") {
                fs::remove_all(e.path()); // ... and then gone
            }
        }
        CHECK(removed == 120);
        auto start = std::chrono::steady_clock::now();
        auto r = RunPgsplit({"--json", "inspect", "delta", t.Str()});
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        // The data files are gone: success is the proof that only the log was read (no time bound).
        MESSAGE("inspect delta over 120 months: ", seconds, " s");
        auto j = nlohmann::json::parse(r.out);
        auto meta = Meta("months_120");
        REQUIRE(j["partitions"].size() == 120);
        for (const auto& p : j["partitions"]) {
            std::string month = p["values"]["year_month"].get<std::string>();
            CAPTURE(month);
            CHECK(p["files"] == 1);
            CHECK(p["num_records"] == meta["months"][month]["rows"]);
        }
        CHECK(j["totals"]["files"] == 120);
        // One month with its files, still without data files.
        auto one = RunPgsplit({"--json", "inspect", "delta", t.Str(), "--month", "2019-07", "--files"});
        REQUIRE_MESSAGE(one.exit_code == 0, one.All());
        auto jo = nlohmann::json::parse(one.out);
        CHECK(jo["partitions"].size() == 1);
        CHECK(jo["files"].size() == 1);
        CHECK(jo["files"][0]["num_records"] == meta["months"]["2019-07"]["rows"]);
        // Reading rows does need them: a clear exit 7 naming the file.
        auto rows = RunPgsplit({"inspect", "delta", t.Str(), "--month", "2019-07", "--rows"});
        CHECK(rows.exit_code == 7);
        CHECK(rows.err.find("year_month=2019-07/") != std::string::npos);
    }

    TEST_CASE("inspect delta --rows: jsonl in schema order with NULLs for columns a file lacks, csv, limit") {
        auto r = RunPgsplit({"inspect", "delta", Table("schema_evolution"), "--rows"});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto lines = Lines(r.out);
        REQUIRE(lines.size() == 5);
        std::sort(lines.begin(), lines.end());
        CHECK(lines[0] == R"({"date":"2024-01-01","year_month":"2024-01","symbol":"OLD1","score":null})");
        CHECK(lines[4] == R"({"date":"2024-02-02","year_month":"2024-02","symbol":"NEW2","score":3.0})");

        auto csv = RunPgsplit({"inspect", "delta", Table("schema_evolution"), "--rows", "--format", "csv",
                               "--limit", "2", "--month", "2024-02"});
        REQUIRE_MESSAGE(csv.exit_code == 0, csv.All());
        auto cl = Lines(csv.out);
        REQUIRE(cl.size() == 3);
        CHECK(cl[0] == "date,year_month,symbol,score");
        CHECK(cl[1].rfind("2024-02-0", 0) == 0);

        auto ntz = RunPgsplit({"inspect", "delta", Table("overwrites"), "--rows", "--limit", "1"});
        REQUIRE_MESSAGE(ntz.exit_code == 0, ntz.All());
        CHECK(Lines(ntz.out).size() == 1);
    }

    TEST_CASE("inspect delta --month on a table not partitioned by year_month selects by file stats") {
        auto r = RunPgsplit(
            {"--json", "inspect", "delta", Table("unpartitioned"), "--month", "2024-03", "--files"});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["files"].size() == 2);
        CHECK(j["month_selection"].get<std::string>().find("statistics") != std::string::npos);
        auto rows = RunPgsplit({"inspect", "delta", Table("unpartitioned"), "--month", "2024-03", "--rows"});
        REQUIRE_MESSAGE(rows.exit_code == 0, rows.All());
        CHECK(Lines(rows.out).size() == 6000);
    }

    TEST_CASE("inspect delta --version reads an older snapshot") {
        auto r = RunPgsplit({"--json", "inspect", "delta", Table("overwrites"), "--version", "10"});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["version"] == 10);
        CHECK(j["checkpoint_version"] == 10);
        auto missing = RunPgsplit({"inspect", "delta", Table("overwrites"), "--version", "31"});
        CHECK(missing.exit_code == 7);
        CHECK(missing.err.find("version 31 does not exist") != std::string::npos);
    }

    TEST_CASE("inspect delta shows the features a table uses and counts what deletion vectors leave") {
        fs::path dv = CorpusDir() / "delta" / "rs-table-with-dv-small";
        REQUIRE_MESSAGE(fs::is_directory(dv), "corpus missing: ", dv.string());
        auto text = RunPgsplit({"inspect", "delta", dv.string()});
        REQUIRE_MESSAGE(text.exit_code == 0, text.All());
        CHECK(text.out.find("features  deletionVectors") != std::string::npos);
        CHECK(text.out.find("8 records (2 more deleted by deletion vectors)") != std::string::npos);
        auto json = RunPgsplit({"--json", "inspect", "delta", dv.string(), "--files"});
        REQUIRE_MESSAGE(json.exit_code == 0, json.All());
        auto j = nlohmann::json::parse(json.out);
        CHECK(j["features_in_use"] == nlohmann::json::array({"deletionVectors"}));
        CHECK(j["totals"]["num_records"] == 8);
        CHECK(j["totals"]["deleted_rows"] == 2);
        CHECK(j["files"][0]["num_records"] == 10);
        CHECK(j["files"][0]["deleted_rows"] == 2);
        // --rows reads the file and leaves the deleted rows (0 and 9) out.
        auto rows = RunPgsplit({"inspect", "delta", dv.string(), "--rows"});
        REQUIRE_MESSAGE(rows.exit_code == 0, rows.All());
        CHECK(rows.out.find("\"value\":1}") != std::string::npos);
        CHECK(rows.out.find("\"value\":0}") == std::string::npos);
        CHECK(rows.out.find("\"value\":9}") == std::string::npos);

        fs::path cm = CorpusDir() / "delta" / "rs-table_with_column_mapping";
        auto mapped = RunPgsplit({"--json", "inspect", "delta", cm.string()});
        REQUIRE_MESSAGE(mapped.exit_code == 0, mapped.All());
        CHECK(nlohmann::json::parse(mapped.out)["features_in_use"] ==
              nlohmann::json::array({"columnMapping"}));
    }

    TEST_CASE("inspect delta exit codes: refused feature 7, bad month 2, not a table 7, unknown scheme 2") {
        fs::path dv = CorpusDir() / "delta" / "golden-deltalog-invalid-protocol-version" / "delta";
        REQUIRE_MESSAGE(fs::is_directory(dv), "corpus missing: ", dv.string());
        auto refused = RunPgsplit({"inspect", "delta", dv.string()});
        CHECK(refused.exit_code == 7);
        CHECK(refused.err.find("reader version 99") != std::string::npos);
        CHECK(refused.err.find("hint:") != std::string::npos);

        auto month = RunPgsplit({"inspect", "delta", Table("ranking_signal"), "--month", "2024-13"});
        CHECK(month.exit_code == 2);
        CHECK(month.err.find("YYYY-MM") != std::string::npos);

        ScratchDir empty;
        auto not_table = RunPgsplit({"inspect", "delta", empty.Str()});
        CHECK(not_table.exit_code == 7);
        CHECK(not_table.err.find("not a Delta table") != std::string::npos);

        auto scheme = RunPgsplit({"inspect", "delta", "s3://bucket/signals"});
        CHECK(scheme.exit_code == 2);

        auto json_err = RunPgsplit({"--json", "inspect", "delta", dv.string()});
        CHECK(json_err.exit_code == 7);
        auto j = nlohmann::json::parse(json_err.out);
        CHECK(j["ok"] == false);
    }
}

} // namespace pgsplit::test
