// The product-wide concurrency proof (issue 10): everything a deploy and a schedule could start at
// once, against one database, while a reader keeps querying every month. 8 migrate processes, then
// 4 syncs of the same month together with 4 processes each backfilling a quarter with --jobs 4
// (so 20 workers replace partitions of the same two parents). No deadlock, no duplicate row, no
// partial month seen by the reader, every process exits 0, and the end state is exactly the Delta
// tables.
#include "support/oracle.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <atomic>
#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

using pgsplit::test::BinaryPath;
using pgsplit::test::Process;
using pgsplit::test::TestDatabase;

namespace {

struct Fixture {
    std::filesystem::path dir;
    nlohmann::json expected;
};

Fixture Backfill() {
    auto dir = pgsplit::test::FixturesDir() / "sync" / "backfill";
    REQUIRE_MESSAGE(std::filesystem::exists(dir / "expected.json"),
                    "sync fixtures are missing: run scripts/fixtures.sh (expected ", dir.string(), ")");
    return {dir, nlohmann::json::parse(pgsplit::test::ReadText((dir / "expected.json").string()))};
}

std::unique_ptr<Process> Start(const TestDatabase& db, const Fixture& f, std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath().string());
    return std::make_unique<Process>(
        args, std::map<std::string, std::string>{
                  {"POSTGRES_DSN", db.Dsn()},
                  {"PGSPLIT_SIGNALS_TABLE", (f.dir / "ranking_signal").string()},
                  {"PGSPLIT_COMPOSITE_TABLE", (f.dir / "composite_signal_daily").string()}});
}

} // namespace

TEST_SUITE("concurrency") {
    TEST_CASE("8 migrates, 4 same-month syncs and 4 quarter backfills with --jobs 4 run together under a "
              "reader: no deadlock, no duplicate, no partial month, exact end state") {
        TestDatabase db;
        Fixture f = Backfill();
        const auto& rs = f.expected["ranking_signal"]["latest"];
        const auto& cs = f.expected["composite_signal_daily"]["latest"];
        REQUIRE(rs.size() == 12);

        // 8 deploy steps racing on a new database.
        std::vector<std::unique_ptr<Process>> migrates;
        for (int i = 0; i < 8; ++i) {
            migrates.push_back(Start(db, f, {"migrate"}));
        }
        for (auto& p : migrates) {
            auto r = p->Wait();
            CHECK_MESSAGE(r.exit_code == 0, r.All());
        }
        CHECK(db.Value("SELECT count(*) || '/' || count(DISTINCT version) FROM public.schema_migrations") ==
              "6/6");

        // A reader that never stops: each month must be empty (not synced yet) or exactly complete,
        // with no row twice, in both tables, in every snapshot it takes.
        std::atomic<bool> stop{false};
        std::atomic<int> reads{0}, bad{0}, errors{0};
        std::string first_bad;
        std::thread reader([&] {
            auto c = db.Connect();
            while (!stop) {
                try {
                    auto r = c.Exec(
                        "SELECT m, coalesce(rn, 0), coalesce(rd, 0), coalesce(cn, 0), coalesce(cd, 0) FROM "
                        "(SELECT year_month AS m, count(*) AS rn, count(DISTINCT (date, symbol, strategy)) "
                        "AS rd "
                        " FROM ranking.ranking_signal GROUP BY 1) r FULL JOIN "
                        "(SELECT year_month AS m, count(*) AS cn, count(DISTINCT (date, symbol)) AS cd "
                        " FROM ranking.composite_signal_daily GROUP BY 1) c USING (m)");
                    for (int i = 0; i < r.Rows(); ++i) {
                        std::string m = r.Get(i, 0);
                        int64_t rn = std::stoll(r.Get(i, 1)), rd = std::stoll(r.Get(i, 2));
                        int64_t cn = std::stoll(r.Get(i, 3)), cd = std::stoll(r.Get(i, 4));
                        bool ok = rs.contains(m) && rn == rd && cn == cd &&
                                  (rn == 0 || rn == rs[m].get<int64_t>()) &&
                                  (cn == 0 || cn == cs[m].get<int64_t>());
                        if (!ok && bad++ == 0) {
                            first_bad = m + ": " + std::to_string(rn) + "/" + std::to_string(rd) +
                                        " ranking, " + std::to_string(cn) + "/" + std::to_string(cd) +
                                        " composite";
                        }
                    }
                    ++reads;
                } catch (const std::exception& e) {
                    if (errors++ == 0) {
                        first_bad = std::string("reader error: ") + e.what();
                    }
                }
            }
        });

        std::vector<std::unique_ptr<Process>> syncs;
        for (int i = 0; i < 4; ++i) {
            syncs.push_back(Start(db, f, {"sync-signals", "--month", "2023-05"}));
        }
        for (const auto& [from, to] :
             std::vector<std::pair<std::string, std::string>>{{"2023-01", "2023-03"},
                                                              {"2023-04", "2023-06"},
                                                              {"2023-07", "2023-09"},
                                                              {"2023-10", "2023-12"}}) {
            syncs.push_back(Start(db, f, {"sync-signals", "--from", from, "--to", to, "--jobs", "4"}));
        }
        bool deadlock = false;
        for (auto& p : syncs) {
            auto r = p->Wait(300);
            CHECK_MESSAGE(r.exit_code == 0, r.All());
            deadlock = deadlock || r.All().find("deadlock") != std::string::npos;
        }
        stop = true;
        reader.join();

        CHECK_FALSE(deadlock);
        CHECK_MESSAGE(bad == 0, first_bad);
        CHECK_MESSAGE(errors == 0, first_bad);
        MESSAGE("reader took " << reads.load() << " snapshots of all months while 8 syncs ran");
        CHECK(reads > 0);
        // Every month of both tables holds exactly DuckDB's rows, value for value (support/oracle.h).
        for (const auto& item : rs.items()) {
            const std::string month = item.key(); // not a structured binding: doctest's macros capture it
            for (const std::string table : {"ranking_signal", "composite_signal_daily"}) {
                CAPTURE(month);
                CAPTURE(table);
                CHECK(pgsplit::test::OracleGot(db, f.expected, table, month) ==
                      pgsplit::test::OracleWant(f.expected, table, "latest", month));
            }
        }
        CHECK(db.Value(
                  "SELECT count(*) FROM pg_inherits WHERE inhparent = 'ranking.ranking_signal'::regclass") ==
              "12");
        CHECK(db.Value("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                       "'ranking.composite_signal_daily'::regclass") == "12");
        CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%stage%'") == "0");
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state WHERE status = 'success'") == "12");
    }
}
