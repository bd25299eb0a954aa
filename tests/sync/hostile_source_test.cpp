// sync-signals against sources another engine (or an attacker) wrote: column names in another case,
// a schema with two columns that differ only by case, and a month with a duplicated key (issue 14,
// item 8). Fixtures: tests/fixtures/hostile.mjs (DuckDB).
#include "migrate/migrator.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"
#include "tests/delta/delta_test_util.h"

#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using pgsplit::test::ProcResult;
using pgsplit::test::RunPgsplit;
using pgsplit::test::TestDatabase;
namespace fs = std::filesystem;

namespace {

fs::path Hostile(const std::string& name) {
    fs::path p = pgsplit::test::FixturesDir() / "hostile" / name;
    REQUIRE_MESSAGE(fs::exists(p / "ranking_signal" / "_delta_log"),
                    "hostile fixtures are missing: run scripts/fixtures.sh (expected ", p.string(), ")");
    return p;
}

void Migrate(const TestDatabase& db) {
    pgsplit::test::MigrateQuietly(db);
}

ProcResult Sync(const TestDatabase& db, const fs::path& dir, const std::string& month = "2024-01") {
    return RunPgsplit({"sync-signals", "--month", month}, pgsplit::test::SyncTablesEnv(db.Dsn(), dir));
}

uint64_t Bits(const std::string& text) {
    double d = std::strtod(text.c_str(), nullptr);
    uint64_t b;
    std::memcpy(&b, &d, 8);
    return b;
}

} // namespace

TEST_SUITE("sync") {
    TEST_CASE("Delta column names map onto PostgreSQL's case-insensitively (RANK feeds rank)") {
        fs::path dir = Hostile("case");
        TestDatabase db;
        Migrate(db);
        auto r = Sync(db, dir);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        // Every row as DuckDB rendered it, compared field by field (floats by their bits).
        auto want = pgsplit::test::ParseCsv(pgsplit::test::ReadFile(dir / "expected.csv"));
        auto got =
            db.Connect().Exec("SELECT date::text, symbol, strategy, rank::text, rank_percentile::text, "
                              "n_symbols::text, score::text FROM ranking.ranking_signal "
                              "WHERE year_month = '2024-01' ORDER BY strategy COLLATE \"C\"");
        REQUIRE(static_cast<size_t>(got.Rows()) == want.rows.size());
        REQUIRE(want.rows.size() == 40);
        for (int i = 0; i < got.Rows(); ++i) {
            const auto& w = want.rows[static_cast<size_t>(i)];
            CAPTURE(i);
            CHECK(got.Get(i, 0) == w[0].value_or(""));
            CHECK(got.Get(i, 1) == w[1].value_or(""));
            CHECK(got.Get(i, 2) == w[2].value_or(""));
            CHECK(got.Get(i, 3) == w[3].value_or(""));
            CHECK(Bits(got.Get(i, 4)) == Bits(w[4].value_or("")));
            CHECK(got.Get(i, 5) == w[5].value_or(""));
            CHECK(got.IsNull(i, 6) == !w[6].has_value());
            if (w[6]) {
                CHECK(Bits(got.Get(i, 6)) == Bits(*w[6]));
            }
        }
    }

    TEST_CASE("two Delta columns that differ only by case are refused by name before anything changes") {
        pgsplit::test::ScratchDir t;
        pgsplit::test::CopyTree(Hostile("case"), t.Root());
        fs::path log = t.Root() / "ranking_signal" / "_delta_log";
        // Rewrite the metaData of commit 0 with an extra column "rank" beside "RANK".
        std::string text = pgsplit::test::ReadFile(log / "00000000000000000000.json");
        std::string out;
        size_t pos = 0;
        while (pos < text.size()) {
            size_t nl = text.find('\n', pos);
            std::string line = text.substr(pos, nl - pos);
            auto j = nlohmann::json::parse(line);
            if (j.contains("metaData")) {
                auto schema = nlohmann::json::parse(j["metaData"]["schemaString"].get<std::string>());
                schema["fields"].push_back(
                    {{"name", "rank"}, {"type", "integer"}, {"nullable", true}, {"metadata", {}}});
                j["metaData"]["schemaString"] = schema.dump();
            }
            out += j.dump() + "\n";
            pos = nl == std::string::npos ? text.size() : nl + 1;
        }
        pgsplit::test::WriteFile(log / "00000000000000000000.json", out);
        TestDatabase db;
        Migrate(db);
        auto r = Sync(db, t.Root());
        CHECK_MESSAGE(r.exit_code == 7, r.All());
        CHECK(r.err.find("'RANK' and 'rank'") != std::string::npos);
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "0");
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state WHERE status = 'success'") == "0");
    }

    TEST_CASE("a key Delta holds twice is exit 7 naming the key, not the server's raw error") {
        fs::path dir = Hostile("duplicates");
        for (bool legacy : {false, true}) {
            CAPTURE(legacy);
            TestDatabase db;
            if (legacy) {
                db.Connect().ExecScript(
                    "CREATE SCHEMA ranking; CREATE TABLE ranking.ranking_signal (date DATE NOT NULL, "
                    "year_month "
                    "TEXT NOT NULL, symbol TEXT NOT NULL, strategy TEXT NOT NULL, rank INTEGER NOT NULL, "
                    "rank_percentile DOUBLE PRECISION NOT NULL, n_symbols INTEGER NOT NULL, score DOUBLE "
                    "PRECISION NULL, PRIMARY KEY (date, symbol, strategy))");
            }
            Migrate(db);
            auto r = Sync(db, dir);
            CHECK_MESSAGE(r.exit_code == 7, r.All());
            CHECK(r.err.find("Delta holds two rows with the same key") != std::string::npos);
            CHECK(r.err.find("=(2024-01-03, SYM0000, strategy_0_2") != std::string::npos);
            CHECK(r.err.find(std::to_string(pgsplit::test::Cluster().port)) == std::string::npos);
            CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "0");
        }
    }
}
