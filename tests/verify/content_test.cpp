// verify --content against the throwaway PostgreSQL and the fixture Delta tables (DuckDB-written):
// a change that keeps every count equal is found and named by month, primary key and column; floats
// are compared by their bits (-0.0 is not 0.0) while every NaN is one value; the digest recorded at
// sync time finds drift of the serving copy without Delta.
#include "verify/verify.h"
#include "verify/verify_fixture.h"

#include <algorithm>

using pgsplit::test::MigrateForVerify;
using pgsplit::test::ReportMonth;
using pgsplit::test::ReportProblems;
using pgsplit::test::SyncMonths;
using pgsplit::test::SyncScenario;
using pgsplit::test::TestDatabase;
using pgsplit::test::VerifyHas;

namespace {

namespace vfy = pgsplit::verify;

vfy::Report RunContent(const TestDatabase& db, const std::string& scenario, vfy::Options options = {}) {
    auto config = pgsplit::Config::FromMap({}, {});
    options.content = true;
    if (!options.freshness_only) {
        options.signals_uri = (SyncScenario(scenario) / "ranking_signal").string();
        options.composite_uri = (SyncScenario(scenario) / "composite_signal_daily").string();
    }
    auto conn = db.Connect();
    return vfy::Run(config, conn, options);
}

// The one differing row of a table's content check.
const vfy::RowDifference& OnlyRow(const vfy::TableCounts& t) {
    REQUIRE(t.content.has_value());
    REQUIRE_MESSAGE(t.content->rows.size() == 1, t.name);
    return t.content->rows[0];
}

void SyncEdge(const TestDatabase& db) {
    MigrateForVerify(db);
    SyncMonths(db, SyncScenario("edge"), {"--month", "2024-03"});
}

} // namespace

TEST_SUITE("verify") {
    TEST_CASE("content: untouched months are equal row for row, and the sync recorded the same digest") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        auto r = RunContent(db, "basic");
        CHECK_MESSAGE(r.Ok(), ReportProblems(r));
        REQUIRE(r.months.size() == 2);
        for (const auto& m : r.months) {
            for (const vfy::TableCounts* t : {&m.signals, &m.composite}) {
                CAPTURE(m.month);
                CAPTURE(t->name);
                REQUIRE(t->content.has_value());
                REQUIRE(t->content->delta.has_value());
                CHECK(*t->content->delta == *t->content->postgres);
                CHECK(t->content->delta->rows == *t->delta_rows);
                CHECK(t->content->differing_rows == 0);
                REQUIRE(t->ledger_digest.has_value());
                CHECK(*t->ledger_digest == t->content->postgres->Text());
            }
        }
        // The other month's digests differ: the digest is of the rows, not of their number.
        CHECK(r.months[0].signals.content->delta != r.months[1].signals.content->delta);
    }

    TEST_CASE("content: one value changed in place (count unchanged) is named by month, key and column") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        db.Connect().Exec(
            "UPDATE ranking.ranking_signal SET rank = rank + 1 WHERE year_month = '2024-01' AND "
            "strategy = 'strategy_0_0'");
        auto r = RunContent(db, "basic");
        CHECK_FALSE(r.Ok());
        CHECK(r.FailedMonths() == 1);
        const auto& jan = ReportMonth(r, "2024-01");
        CHECK(jan.signals.postgres_rows == *jan.signals.delta_rows); // the counts cannot see it
        const auto& row = OnlyRow(jan.signals);
        CHECK(row.kind == vfy::RowDifference::Kind::ValuesDiffer);
        CHECK(row.key == "date=2024-01-01, symbol=SYM0000, strategy=strategy_0_0, year_month=2024-01");
        REQUIRE(row.columns.size() == 1);
        CHECK(row.columns[0].column == "rank");
        CHECK(row.columns[0].delta == "1");
        CHECK(row.columns[0].postgres == "2");
        CHECK_MESSAGE(VerifyHas(ReportProblems(r),
                                "2024-01: ranking_signal: content differs from Delta in 1 row(s): "
                                "(date=2024-01-01, symbol=SYM0000, strategy=strategy_0_0, "
                                "year_month=2024-01) values differ: rank: Delta 1, Postgres 2"),
                      ReportProblems(r));
        CHECK(jan.composite.content->differing_rows == 0);
        CHECK(ReportMonth(r, "2024-02").Ok());
    }

    TEST_CASE("content: a row deleted and another inserted (count unchanged) are missing and extra") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-02"});
        auto conn = db.Connect();
        conn.Exec(
            "DELETE FROM ranking.composite_signal_daily WHERE year_month = '2024-02' AND date = '2024-02-01' "
            "AND symbol = 'SYM0000'");
        conn.Exec("INSERT INTO ranking.composite_signal_daily VALUES ('2024-02-09', '2024-02', 'NEW1', 0.5, "
                  "7, 3, 1)");
        vfy::Options o;
        o.months = {"2024-02"};
        auto r = RunContent(db, "basic", o);
        const auto& feb = ReportMonth(r, "2024-02");
        CHECK(feb.composite.postgres_rows == *feb.composite.delta_rows);
        REQUIRE(feb.composite.content.has_value());
        const auto& rows = feb.composite.content->rows;
        REQUIRE(rows.size() == 2);
        CHECK(feb.composite.content->differing_rows == 2);
        auto kind_of = [&](const std::string& key) {
            auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& x) { return x.key == key; });
            REQUIRE_MESSAGE(it != rows.end(), key, " not named");
            return it->kind;
        };
        CHECK(kind_of("date=2024-02-01, symbol=SYM0000, year_month=2024-02") ==
              vfy::RowDifference::Kind::MissingInPostgres);
        CHECK(kind_of("date=2024-02-09, symbol=NEW1, year_month=2024-02") ==
              vfy::RowDifference::Kind::ExtraInPostgres);
        CHECK(feb.signals.content->differing_rows == 0);
    }

    TEST_CASE("content: floats by their bits: -0.0 is kept, a -0.0 written as 0.0 is a difference") {
        TestDatabase db;
        SyncEdge(db);
        // The sync stored the bits Delta holds (DuckDB wrote -0.0 and a NaN).
        CHECK(db.Value("SELECT score::text FROM ranking.ranking_signal WHERE strategy = 'strategy_0_5'") ==
              "-0");
        CHECK(db.Value("SELECT score::text FROM ranking.ranking_signal WHERE strategy = 'strategy_0_7'") ==
              "NaN");
        auto clean = RunContent(db, "edge");
        CHECK_MESSAGE(clean.Ok(), ReportProblems(clean));

        db.Connect().Exec("UPDATE ranking.ranking_signal SET score = 0.0 WHERE strategy = 'strategy_0_5'");
        auto r = RunContent(db, "edge");
        CHECK_FALSE(r.Ok());
        const auto& row = OnlyRow(ReportMonth(r, "2024-03").signals);
        CHECK(VerifyHas(row.key, "strategy=strategy_0_5"));
        REQUIRE(row.columns.size() == 1);
        CHECK(row.columns[0].column == "score");
        CHECK(row.columns[0].delta == "-0");
        CHECK(row.columns[0].postgres == "0");
    }

    TEST_CASE("content: every NaN is one value, whatever its bits; a NULL score set to 0 is a difference") {
        TestDatabase db;
        SyncEdge(db);
        // A NaN written again through SQL is the same value; so is one with the sign bit set (what
        // x86 gives for inf - inf), though its bits differ from the NaN Delta holds.
        db.Connect().Exec("UPDATE ranking.ranking_signal SET score = 'NaN' WHERE strategy = 'strategy_0_7'");
        auto sql_nan = RunContent(db, "edge");
        CHECK_MESSAGE(sql_nan.Ok(), ReportProblems(sql_nan));
        db.Connect().Exec("UPDATE ranking.ranking_signal SET score = 'Infinity'::float8 - 'Infinity'::float8 "
                          "WHERE strategy = 'strategy_0_7'");
        CHECK(db.Value("SELECT score::text FROM ranking.ranking_signal WHERE strategy = 'strategy_0_7'") ==
              "NaN");
        CAPTURE(
            db.Value("SELECT encode(float8send(score), 'hex') FROM ranking.ranking_signal WHERE strategy = "
                     "'strategy_0_7'"));
        auto same = RunContent(db, "edge");
        CHECK_MESSAGE(same.Ok(), ReportProblems(same));

        REQUIRE(
            db.Value(
                "SELECT count(*) FROM ranking.ranking_signal WHERE strategy = 'strategy_0_8' AND score IS "
                "NULL") == "1");
        db.Connect().Exec("UPDATE ranking.ranking_signal SET score = 0 WHERE strategy = 'strategy_0_8'");
        auto r = RunContent(db, "edge");
        CHECK_FALSE(r.Ok());
        const auto& row = OnlyRow(ReportMonth(r, "2024-03").signals);
        REQUIRE(row.columns.size() == 1);
        CHECK(row.columns[0].column == "score");
        CHECK(row.columns[0].delta == "NULL");
        CHECK(row.columns[0].postgres == "0");
        CHECK_MESSAGE(
            VerifyHas(ReportProblems(r), "2024-03: ranking_signal: content differs from Delta in 1 row(s)"),
            ReportProblems(r));
    }

    TEST_CASE("content: --show caps the rows named, the count of differing rows stays exact") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-02"});
        db.Connect().Exec(
            "UPDATE ranking.ranking_signal SET n_symbols = 499 WHERE year_month = '2024-02' AND "
            "strategy IN ('strategy_0_1', 'strategy_0_2', 'strategy_0_3', 'strategy_0_4', "
            "'strategy_0_5')");
        vfy::Options o;
        o.months = {"2024-02"};
        o.show = 2;
        auto r = RunContent(db, "basic", o);
        const auto& t = ReportMonth(r, "2024-02").signals;
        REQUIRE(t.content.has_value());
        CHECK(t.content->differing_rows == 5);
        CHECK(t.content->rows.size() == 2);
        CHECK_MESSAGE(VerifyHas(ReportProblems(r), "; and 3 more"), ReportProblems(r));
    }

    TEST_CASE("content --postgres-only: the digest recorded at sync time finds a change without Delta") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        vfy::Options o;
        o.freshness_only = true;
        auto clean = RunContent(db, "basic", o);
        CHECK_MESSAGE(clean.Ok(), ReportProblems(clean));
        CHECK_FALSE(clean.months[0].signals.delta_rows.has_value()); // Delta was not read

        db.Connect().Exec(
            "UPDATE ranking.composite_signal_daily SET strategies_hit = strategies_hit + 1 WHERE "
            "year_month = '2024-02' AND symbol = 'SYM0003' AND date = '2024-02-05'");
        auto r = RunContent(db, "basic", o);
        CHECK_FALSE(r.Ok());
        CHECK(ReportMonth(r, "2024-01").Ok());
        CHECK_MESSAGE(VerifyHas(ReportProblems(r),
                                "2024-02: composite_signal_daily: Postgres changed since its sync: 200 "
                                "row(s) now"),
                      ReportProblems(r));

        // A month synced before migration 0005 recorded nothing: said, not failed.
        db.Connect().Exec(
            "UPDATE ranking.signal_sync_state SET signals_digest = NULL WHERE year_month = '2024-01'");
        auto old = RunContent(db, "basic", o);
        const auto& jan = ReportMonth(old, "2024-01");
        CHECK(jan.Ok());
        CHECK(std::any_of(jan.notes.begin(), jan.notes.end(),
                          [](const auto& n) { return VerifyHas(n, "recorded no content digest"); }));
        // A recorded digest that is not pgsplit's form is refused, not trusted.
        db.Connect().Exec(
            "UPDATE ranking.signal_sync_state SET signals_digest = 'v1:x' WHERE year_month = '2024-01'");
        auto bad = RunContent(db, "basic", o);
        CHECK_MESSAGE(VerifyHas(ReportProblems(bad), "the recorded content digest is not one pgsplit writes"),
                      ReportProblems(bad));
    }
}
