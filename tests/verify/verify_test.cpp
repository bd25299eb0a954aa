// verify::Run against the throwaway PostgreSQL and the fixture Delta tables: each kind of problem is
// found, named with its figures, and none hides another.
#include "verify/render.h"
#include "verify/verify.h"
#include "verify/verify_fixture.h"

#include <algorithm>
#include <fstream>

using pgsplit::test::CopyScenario;
using pgsplit::test::MigrateForVerify;
using pgsplit::test::ReportMonth;
using pgsplit::test::ReportProblems;
using pgsplit::test::ScratchDir;
using pgsplit::test::SyncExpected;
using pgsplit::test::SyncMonths;
using pgsplit::test::SyncScenario;
using pgsplit::test::TestDatabase;
using pgsplit::test::VerifyHas;

namespace {

pgsplit::verify::Report RunVerify(const TestDatabase& db, const std::filesystem::path& dir,
                                  pgsplit::verify::Options options = {}) {
    auto config = pgsplit::Config::FromMap({}, {});
    if (!options.freshness_only) {
        options.signals_uri = (dir / "ranking_signal").string();
        options.composite_uri = (dir / "composite_signal_daily").string();
    }
    auto conn = db.Connect();
    return pgsplit::verify::Run(config, conn, options);
}

bool AnyProblem(const pgsplit::verify::MonthReport& m, const std::string& needle) {
    return std::any_of(m.problems.begin(), m.problems.end(),
                       [&](const auto& p) { return VerifyHas(p, needle); });
}

// Drops `stats` from every add in the table's log, so counting must read the data files.
void StripStats(const std::filesystem::path& table) {
    for (const auto& entry : std::filesystem::directory_iterator(table / "_delta_log")) {
        if (entry.path().extension() != ".json") {
            continue;
        }
        std::string text = pgsplit::test::ReadText(entry.path().string());
        std::string out;
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) {
                end = text.size();
            }
            std::string line = text.substr(start, end - start);
            start = end + 1;
            if (line.empty()) {
                continue;
            }
            auto action = nlohmann::json::parse(line);
            if (action.contains("add")) {
                action["add"].erase("stats");
            }
            out += action.dump() + "\n";
        }
        pgsplit::test::WriteText(entry.path().string(), out);
    }
}

// Replaces every data file with garbage: whatever verify needs must come from the log.
void BreakDataFiles(const std::filesystem::path& dir) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file() && entry.path().extension() == ".parquet") {
            pgsplit::test::WriteText(entry.path().string(), "not parquet");
        }
    }
}

} // namespace

TEST_SUITE("verify") {
    TEST_CASE("every month synced at the latest version: no problem, counts from the Delta stats") {
        TestDatabase db;
        MigrateForVerify(db);
        auto dir = SyncScenario("basic");
        SyncMonths(db, dir, {"--month", "2024-01", "--month", "2024-02"});
        auto want = SyncExpected("basic");
        auto r = RunVerify(db, dir);
        CHECK_MESSAGE(r.Ok(), ReportProblems(r));
        REQUIRE(r.months.size() == 2);
        CHECK(r.signals_version == 2);
        for (const auto& m : r.months) {
            CAPTURE(m.month);
            CHECK(m.State() == "success");
            CHECK(m.synced_at.has_value());
            CHECK(*m.signals.delta_rows == want["ranking_signal"]["latest"][m.month].get<int64_t>());
            CHECK(*m.composite.delta_rows ==
                  want["composite_signal_daily"]["latest"][m.month].get<int64_t>());
            CHECK(m.signals.postgres_rows == *m.signals.delta_rows);
            CHECK(m.composite.postgres_rows == *m.composite.delta_rows);
        }
        CHECK(r.freshness.Ok());
        CHECK(r.freshness.newest_success.has_value());
    }

    TEST_CASE("a month deleted in Postgres by hand and a month with one extra row are both reported") {
        TestDatabase db;
        MigrateForVerify(db);
        auto dir = SyncScenario("basic");
        SyncMonths(db, dir, {"--month", "2024-01", "--month", "2024-02"});
        db.Connect().Exec("DELETE FROM ranking.ranking_signal WHERE year_month = '2024-01'");
        db.Connect().Exec("INSERT INTO ranking.composite_signal_daily SELECT date, year_month, 'EXTRA', "
                          "composite_percentile, composite_rank, strategies_present, strategies_hit FROM "
                          "ranking.composite_signal_daily WHERE year_month = '2024-02' LIMIT 1");
        auto r = RunVerify(db, dir);
        CHECK_FALSE(r.Ok());
        CHECK(r.FailedMonths() == 2);
        const auto& jan = ReportMonth(r, "2024-01");
        CHECK(jan.signals.postgres_rows == 0);
        CHECK(AnyProblem(jan, "ranking_signal: Delta has 450 rows, Postgres has 0 (the sync recorded 450)"));
        const auto& feb = ReportMonth(r, "2024-02");
        CHECK(AnyProblem(feb, "composite_signal_daily: Delta has 200 rows, Postgres has 201"));
        CHECK_FALSE(AnyProblem(feb, "ranking_signal"));
        CHECK(r.freshness.Ok()); // the ledger itself is fine
    }

    TEST_CASE("a month overwritten in Delta after its sync: drift named with both versions") {
        TestDatabase db;
        MigrateForVerify(db);
        auto dir = SyncScenario("basic");
        // Synced as of version 1; version 2 rewrote 2024-01 (900 -> 450 rows) and left 2024-02 alone.
        SyncMonths(db, dir, {"--month", "2024-01", "--month", "2024-02", "--delta-version", "1"});
        auto r = RunVerify(db, dir);
        CHECK_FALSE(r.Ok());
        const auto& jan = ReportMonth(r, "2024-01");
        CHECK(AnyProblem(jan, "ranking_signal: Delta changed since the last sync (synced v1, now v2)"));
        CHECK(
            AnyProblem(jan, "composite_signal_daily: Delta changed since the last sync (synced v1, now v2)"));
        CHECK(AnyProblem(jan, "ranking_signal: Delta has 450 rows, Postgres has 900"));
        // 2024-02's files predate version 1: recorded v1 is still its truth.
        const auto& feb = ReportMonth(r, "2024-02");
        CHECK_MESSAGE(feb.Ok(), ReportProblems(r));
        CHECK(feb.signals.synced_version == 1);
        CHECK(feb.signals.current_version == 2);
    }

    TEST_CASE("a failed last sync, a missing ledger row and a wrong recorded count") {
        TestDatabase db;
        MigrateForVerify(db);
        auto dir = SyncScenario("backfill");
        SyncMonths(db, dir, {"--from", "2023-01", "--to", "2023-12", "--jobs", "2"});
        auto c = db.Connect();
        c.Exec("UPDATE ranking.signal_sync_state SET status = 'failed', error = 'COPY failed: disk full', "
               "last_error_at = now() WHERE year_month = '2023-03'");
        c.Exec("DELETE FROM ranking.signal_sync_state WHERE year_month = '2023-05'");
        c.Exec("UPDATE ranking.signal_sync_state SET signals_rows = 1 WHERE year_month = '2023-07'");
        auto r = RunVerify(db, dir);
        CHECK(r.months.size() == 12);
        CHECK(r.FailedMonths() == 3);
        CHECK(ReportMonth(r, "2023-03").State() == "failed");
        CHECK(AnyProblem(ReportMonth(r, "2023-03"), "last attempt failed at "));
        CHECK(AnyProblem(ReportMonth(r, "2023-03"),
                         " UTC (COPY failed: disk full); the data is from the successful sync at "));
        CHECK(ReportMonth(r, "2023-05").State() == "missing");
        CHECK(AnyProblem(ReportMonth(r, "2023-05"), "never synced: no row in ranking.signal_sync_state"));
        CHECK(AnyProblem(ReportMonth(r, "2023-07"),
                         "ranking_signal: the sync recorded 1 rows, Postgres has 270"));
        CHECK(r.freshness.Ok());
    }

    TEST_CASE("a stale sync fails freshness only; --max-age decides") {
        TestDatabase db;
        MigrateForVerify(db);
        auto dir = SyncScenario("basic");
        SyncMonths(db, dir, {"--month", "2024-01", "--month", "2024-02"});
        db.Connect().Exec("UPDATE ranking.signal_sync_state SET synced_at = now() - interval '3 days'");
        auto r = RunVerify(db, dir);
        CHECK_FALSE(r.Ok());
        CHECK(r.FailedMonths() == 0);
        REQUIRE(r.freshness.problem.has_value());
        CHECK(VerifyHas(*r.freshness.problem, "is older than --max-age 36h"));
        CHECK(*r.freshness.age_seconds >= 3 * 86400);

        pgsplit::verify::Options wide;
        wide.max_age = std::chrono::hours(24 * 4);
        wide.max_age_text = "4d";
        CHECK(RunVerify(db, dir, wide).Ok());
    }

    TEST_CASE("no successful sync at all fails freshness") {
        TestDatabase db;
        MigrateForVerify(db);
        auto r = RunVerify(db, SyncScenario("basic"));
        CHECK_FALSE(r.Ok());
        CHECK(r.FailedMonths() == 2); // both Delta months never synced
        CHECK(r.freshness.problem ==
              "no successful sync of a month with rows is recorded in ranking.signal_sync_state");
    }

    TEST_CASE("months in Postgres that Delta no longer has are reported") {
        TestDatabase db;
        MigrateForVerify(db);
        auto dir = SyncScenario("basic");
        SyncMonths(db, dir, {"--month", "2024-01", "--month", "2024-02"});
        auto c = db.Connect();
        c.Exec("CREATE TABLE ranking.ranking_signal_p2023_12 PARTITION OF ranking.ranking_signal "
               "FOR VALUES IN ('2023-12')");
        c.Exec(
            "INSERT INTO ranking.ranking_signal (date, year_month, symbol, strategy, rank, rank_percentile, "
            "n_symbols) VALUES ('2023-12-29', '2023-12', 'OLD', 'momentum', 1, 0.5, 10)");
        auto r = RunVerify(db, dir);
        CHECK(r.months.size() == 3);
        CHECK(r.FailedMonths() == 1);
        const auto& dec = ReportMonth(r, "2023-12");
        CHECK_FALSE(dec.in_delta);
        CHECK(AnyProblem(dec, "present in Postgres (1 + 0 rows) but no longer in Delta"));

        // An explicit month that exists nowhere is a problem too, not silently fine.
        pgsplit::verify::Options o;
        o.months = {"2030-01"};
        auto none = RunVerify(db, dir, o);
        REQUIRE(none.months.size() == 1);
        CHECK(AnyProblem(none.months[0], "not present in Delta"));
    }

    TEST_CASE("--last N picks the newest Delta months and Postgres is asked about those only") {
        TestDatabase db;
        MigrateForVerify(db);
        auto dir = SyncScenario("backfill");
        SyncMonths(db, dir, {"--from", "2023-10", "--to", "2023-12"});
        pgsplit::verify::Options o;
        o.last = 3;
        auto r = RunVerify(db, dir, o);
        CHECK_MESSAGE(r.Ok(), ReportProblems(r));
        REQUIRE(r.months.size() == 3);
        CHECK(r.months.front().month == "2023-10");
        CHECK(r.months.back().month == "2023-12");
        o.last = 4;
        auto r4 = RunVerify(db, dir, o);
        CHECK(r4.FailedMonths() == 1);
        CHECK(AnyProblem(ReportMonth(r4, "2023-09"), "never synced"));
    }

    TEST_CASE("--freshness-only reads the ledger and Postgres alone, without any Delta location") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        pgsplit::verify::Options o;
        o.freshness_only = true;
        auto r = RunVerify(db, {}, o);
        CHECK_MESSAGE(r.Ok(), ReportProblems(r));
        CHECK(r.months.size() == 2);
        CHECK_FALSE(r.signals_version.has_value());
        CHECK_FALSE(r.months[0].signals.delta_rows.has_value());

        db.Connect().Exec("UPDATE ranking.signal_sync_state SET synced_at = now() - interval '3 days'");
        db.Connect().Exec("UPDATE ranking.signal_sync_state SET status = 'failed', error = 'x' "
                          "WHERE year_month = '2024-02'");
        auto stale = RunVerify(db, {}, o);
        CHECK_FALSE(stale.freshness.Ok());
        CHECK(stale.FailedMonths() == 1);
        CHECK(AnyProblem(ReportMonth(stale, "2024-02"), "(x); the data is from the successful sync at "));
    }

    TEST_CASE(
        "counts come from the data files when the log has no stats, and from the log alone when it has") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});

        ScratchDir no_stats;
        auto copy = CopyScenario("basic", no_stats / "basic");
        StripStats(copy / "ranking_signal");
        StripStats(copy / "composite_signal_daily");
        auto read = RunVerify(db, copy);
        CHECK_MESSAGE(read.Ok(), ReportProblems(read));
        CHECK(*ReportMonth(read, "2024-01").signals.delta_rows == 450);
        CHECK(*ReportMonth(read, "2024-02").composite.delta_rows == 200);

        ScratchDir broken;
        auto stats_only = CopyScenario("basic", broken / "basic");
        BreakDataFiles(stats_only);
        auto from_log = RunVerify(db, stats_only);
        CHECK_MESSAGE(from_log.Ok(), ReportProblems(from_log));
        CHECK(*ReportMonth(from_log, "2024-01").signals.delta_rows == 450);
    }

    TEST_CASE("a table without a schema is a configuration error, not a verdict") {
        TestDatabase db;
        CHECK_THROWS_WITH_AS(RunVerify(db, SyncScenario("basic")),
                             doctest::Contains("the signal tables are missing"), pgsplit::Error);
    }
}
