// verify at the scale of a real backfill: 120 synced months, counted from the Delta stats alone.
// Every data file is garbage and unreadable, so a single opened file fails the run (issue 7).
#include "verify/verify_fixture.h"

#include <chrono>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

using pgsplit::test::MigrateForVerify;
using pgsplit::test::ReadText;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::SyncScenario;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;

namespace {

constexpr int kMonths = 120;
constexpr int kSignalRows = 40;
constexpr int kCompositeRows = 8;

std::string MonthAt(int i) {
    return fmt::format("{:04}-{:02}", 2010 + i / 12, i % 12 + 1);
}

// One commit: the fixture table's protocol and metadata, then one add per month with numRecords.
void WriteTable(const std::filesystem::path& from, const std::filesystem::path& to, int rows) {
    std::filesystem::create_directories(to / "_delta_log");
    std::string log;
    std::string first = ReadText((from / "_delta_log" / "00000000000000000000.json").string());
    size_t start = 0;
    while (start < first.size()) {
        size_t end = first.find('\n', start);
        if (end == std::string::npos) {
            end = first.size();
        }
        std::string line = first.substr(start, end - start);
        start = end + 1;
        if (line.empty()) {
            continue;
        }
        auto action = nlohmann::json::parse(line);
        if (action.contains("protocol") || action.contains("metaData")) {
            log += line + "\n";
        }
    }
    for (int i = 0; i < kMonths; ++i) {
        std::string month = MonthAt(i);
        std::string path = "year_month=" + month + "/part-00000.snappy.parquet";
        std::filesystem::create_directories(to / ("year_month=" + month));
        WriteText((to / path).string(), "not parquet: verify must not open this file\n");
        chmod((to / path).c_str(), 0);
        nlohmann::json add = {{"path", path},       {"partitionValues", {{"year_month", month}}},
                              {"size", 46},         {"modificationTime", 1700000000000},
                              {"dataChange", true}, {"stats", nlohmann::json({{"numRecords", rows}}).dump()}};
        log += nlohmann::json({{"add", add}}).dump() + "\n";
    }
    WriteText((to / "_delta_log" / "00000000000000000000.json").string(), log);
}

// The months as scripts/bench-verify.sh seeds them: one SQL file serves both.
void SeedPostgres(const TestDatabase& db) {
    std::string seed =
        ReadText((pgsplit::test::SourceDir() / "scripts" / "lib" / "seed-synced-months.sql").string());
    db.Connect().ExecScript(fmt::format("SET pgsplit_seed.months = {}; SET pgsplit_seed.signals = {}; "
                                        "SET pgsplit_seed.composite = {};\n",
                                        kMonths, kSignalRows, kCompositeRows) +
                            seed);
}

} // namespace

TEST_SUITE("verify") {
    TEST_CASE("verify over 120 synced months counts from the Delta stats and opens no data file") {
        TestDatabase db;
        MigrateForVerify(db);
        SeedPostgres(db);
        ScratchDir tmp;
        auto fixture = SyncScenario("basic");
        WriteTable(fixture / "ranking_signal", tmp / "ranking_signal", kSignalRows);
        WriteTable(fixture / "composite_signal_daily", tmp / "composite_signal_daily", kCompositeRows);
        std::map<std::string, std::string> env = {
            {"POSTGRES_DSN", db.Dsn()},
            {"PGSPLIT_SIGNALS_TABLE", tmp / "ranking_signal"},
            {"PGSPLIT_COMPOSITE_TABLE", tmp / "composite_signal_daily"}};

        auto started = std::chrono::steady_clock::now();
        auto r = RunPgsplit({"--json", "verify"}, env);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto doc = nlohmann::json::parse(r.out);
        CHECK(doc["months_checked"] == kMonths);
        CHECK(doc["months"][0]["tables"]["ranking_signal"]["delta_rows"] == kSignalRows);
        // What proves "no data file opened" is that every data file is garbage; how long it takes is
        // scripts/bench-verify.sh's business (a wall-clock bound here would measure the machine).
        MESSAGE("verify over ", kMonths, " months: ", seconds, " s");

        // The garbage really is unreadable to a reader that wanted rows: one month off by one in
        // Postgres is still found from the stats alone.
        db.Connect().Exec(
            "DELETE FROM ranking.ranking_signal WHERE year_month = '2019-12' AND symbol = 'S1'");
        auto broken = RunPgsplit({"verify", "--last", "1"}, env);
        CHECK(broken.exit_code == 5);
        CHECK(pgsplit::test::VerifyHas(broken.out, "Delta has 40 rows, Postgres has 39"));
    }
}
