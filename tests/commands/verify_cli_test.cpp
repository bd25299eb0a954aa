// pgsplit verify as CI and operators see it: the built binary's table, JSON, step summary,
// ::error annotations and exit codes, over months synced from the fixture Delta tables.
#include "verify/verify_fixture.h"

#include <algorithm>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using pgsplit::test::MigrateForVerify;
using pgsplit::test::ReadText;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::SyncMonths;
using pgsplit::test::SyncScenario;
using pgsplit::test::TestDatabase;
using pgsplit::test::VerifyEnv;
using pgsplit::test::VerifyHas;

namespace {

// The line of the text table that starts with `month`.
std::string Line(const std::string& out, const std::string& month) {
    size_t at = out.find("\n" + month + " ");
    if (at == std::string::npos) {
        return "";
    }
    size_t end = out.find('\n', at + 1);
    return out.substr(at + 1, end - at - 1);
}

size_t CountLines(const std::string& text, const std::string& prefix) {
    size_t n = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        if (text.compare(start, prefix.size(), prefix) == 0) {
            ++n;
        }
        start = end + 1;
    }
    return n;
}

// basic: both months synced at the latest version, then 2024-01 loses its signals in Postgres.
void SyncBasicAndBreakJanuary(const TestDatabase& db) {
    MigrateForVerify(db);
    SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
    db.Connect().Exec("DELETE FROM ranking.ranking_signal WHERE year_month = '2024-01'");
}

} // namespace

TEST_SUITE("verify") {
    TEST_CASE("verify CLI: all months good -> exit 0, a table with every month and 'ok'") {
        TestDatabase db;
        MigrateForVerify(db);
        auto env = VerifyEnv(db, SyncScenario("basic"));
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        auto r = RunPgsplit({"verify"}, env);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(VerifyHas(r.out, "MONTH"));
        CHECK(VerifyHas(r.out, "DELTA ROWS"));
        CHECK(VerifyHas(r.out, "POSTGRES ROWS"));
        CHECK(VerifyHas(r.out, "SYNCED AT"));
        CHECK(VerifyHas(r.out, "VERDICT"));
        CHECK(VerifyHas(Line(r.out, "2024-01"), "450 / 120"));
        CHECK(VerifyHas(Line(r.out, "2024-01"), "success"));
        CHECK(VerifyHas(Line(r.out, "2024-01"), "ok"));
        CHECK(VerifyHas(Line(r.out, "2024-02"), "600 / 200"));
        CHECK(VerifyHas(r.out, "verify: ok: 2 month(s) checked"));
        CHECK_FALSE(VerifyHas(r.out, "\x1b[")); // not a TTY: no colour
        CHECK_FALSE(VerifyHas(r.out, "::error"));

        auto j = RunPgsplit({"--json", "verify", "--month", "2024-02"}, env);
        REQUIRE_MESSAGE(j.exit_code == 0, j.All());
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["ok"] == true);
        REQUIRE(doc["months"].size() == 1);
        CHECK(doc["months"][0]["month"] == "2024-02");
        CHECK(doc["months"][0]["tables"]["ranking_signal"]["delta_rows"] == 600);
        CHECK(doc["months"][0]["tables"]["ranking_signal"]["postgres_rows"] == 600);
        CHECK(doc["months"][0]["tables"]["composite_signal_daily"]["synced_version"] == 2);
        CHECK(doc["freshness"]["ok"] == true);
        CHECK(doc["problems"].empty());
    }

    TEST_CASE("verify CLI: every problem listed in text and JSON, exit 5") {
        TestDatabase db;
        SyncBasicAndBreakJanuary(db);
        // And February's ledger row says its last sync failed.
        db.Connect().Exec("UPDATE ranking.signal_sync_state SET status = 'failed', error = 'lock timeout' "
                          "WHERE year_month = '2024-02'");
        auto env = VerifyEnv(db, SyncScenario("basic"));
        auto r = RunPgsplit({"verify"}, env);
        CHECK(r.exit_code == 5);
        CHECK(VerifyHas(Line(r.out, "2024-01"), "FAIL"));
        CHECK(VerifyHas(Line(r.out, "2024-02"), "failed"));
        CHECK(VerifyHas(r.out, "2024-01: ranking_signal: Delta has 450 rows, Postgres has 0"));
        CHECK(VerifyHas(r.out, "2024-02: last attempt failed at "));
        CHECK(VerifyHas(r.out, " UTC (lock timeout); the data is from the successful sync at "));
        CHECK(VerifyHas(r.out, "verify: FAIL: 2 of 2 month(s) failed"));
        CHECK(VerifyHas(r.err, "verify failed"));

        auto j = RunPgsplit({"--json", "verify"}, env);
        CHECK(j.exit_code == 5);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["ok"] == false);
        CHECK(doc["months_failed"] == 2);
        CHECK(doc["months"][0]["ok"] == false);
        CHECK(doc["months"][0]["tables"]["ranking_signal"]["postgres_rows"] == 0);
        CHECK(doc["months"][1]["state"] == "failed");
        CHECK(doc["months"][1]["error"] == "lock timeout");
        CHECK(doc["problems"].size() == 2);
    }

    TEST_CASE("verify CLI: drift after a Delta overwrite names both versions") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"),
                   {"--month", "2024-01", "--month", "2024-02", "--delta-version", "1"});
        auto env = VerifyEnv(db, SyncScenario("basic"));
        auto r = RunPgsplit({"verify"}, env);
        CHECK(r.exit_code == 5);
        CHECK(VerifyHas(r.out,
                        "2024-01: ranking_signal: Delta changed since the last sync (synced v1, now v2)"));
        CHECK(VerifyHas(Line(r.out, "2024-02"), "ok"));
        auto doc = nlohmann::json::parse(RunPgsplit({"--json", "verify"}, env).out);
        CHECK(doc["months"][0]["tables"]["ranking_signal"]["synced_version"] == 1);
        CHECK(doc["months"][0]["tables"]["ranking_signal"]["current_version"] == 2);
    }

    TEST_CASE("verify CLI: a stale sync fails freshness; --max-age widens it") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        db.Connect().Exec("UPDATE ranking.signal_sync_state SET synced_at = now() - interval '3 days'");
        auto env = VerifyEnv(db, SyncScenario("basic"));
        auto r = RunPgsplit({"verify"}, env);
        CHECK(r.exit_code == 5);
        CHECK(VerifyHas(r.out, "freshness: FAIL: the newest successful sync"));
        CHECK(VerifyHas(r.out, "is older than --max-age 36h"));
        CHECK(VerifyHas(Line(r.out, "2024-01"), "ok"));
        CHECK(RunPgsplit({"verify", "--max-age", "4d"}, env).exit_code == 0);
        CHECK(RunPgsplit({"verify", "--max-age", "soon"}, env).exit_code == 2);
    }

    TEST_CASE("verify CLI: --freshness-only needs no Delta location and never reads one") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        std::map<std::string, std::string> pg_only = {{"POSTGRES_DSN", db.Dsn()}};
        auto r = RunPgsplit({"verify", "--freshness-only"}, pg_only);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(VerifyHas(r.out, "Delta not read"));
        CHECK(VerifyHas(Line(r.out, "2024-01"), "success"));

        // Without it, the missing location is a configuration error before anything else.
        auto no_source = RunPgsplit({"verify"}, pg_only);
        CHECK(no_source.exit_code == 3);
        CHECK(VerifyHas(no_source.err, "PGSPLIT_SIGNALS_TABLE"));

        db.Connect().Exec("UPDATE ranking.signal_sync_state SET synced_at = now() - interval '3 days'");
        auto stale = RunPgsplit({"--json", "verify", "--freshness-only"}, pg_only);
        CHECK(stale.exit_code == 5);
        auto doc = nlohmann::json::parse(stale.out);
        CHECK(doc["freshness_only"] == true);
        CHECK(doc["freshness"]["ok"] == false);
        CHECK(doc["delta_versions"]["ranking_signal"].is_null());
    }

    TEST_CASE("verify CLI in GitHub Actions: Markdown step summary and one ::error line per failing month") {
        TestDatabase db;
        SyncBasicAndBreakJanuary(db);
        ScratchDir tmp;
        std::string summary = tmp / "summary.md";
        pgsplit::test::WriteText(summary, "# earlier step\n");
        auto env = VerifyEnv(db, SyncScenario("basic"));
        env["GITHUB_ACTIONS"] = "true";
        env["GITHUB_STEP_SUMMARY"] = summary;
        auto r = RunPgsplit({"verify"}, env);
        CHECK(r.exit_code == 5);
        std::string md = ReadText(summary);
        CHECK(md.rfind("# earlier step\n", 0) == 0); // appended, not replaced
        CHECK(VerifyHas(md, "### pgsplit verify: FAILED"));
        CHECK(VerifyHas(md, "| month | Delta rows | Postgres rows | state | synced at | verdict |"));
        CHECK(VerifyHas(md, "| 2024-01 | 450 / 120 | 0 / 120 | success |"));
        CHECK(VerifyHas(md, "**FAIL**: ranking_signal: Delta has 450 rows, Postgres has 0"));
        CHECK(VerifyHas(md, "| 2024-02 | 600 / 200 | 600 / 200 | success |"));
        // One annotation for the one failing month.
        CHECK(CountLines(r.out, "::error") == 1);
        CHECK(VerifyHas(r.out, "::error title=pgsplit verify 2024-01::ranking_signal: Delta has 450 rows, "
                               "Postgres has 0"));

        // Newlines in a recorded error cannot break the annotation onto a second line.
        db.Connect().Exec("UPDATE ranking.signal_sync_state SET status = 'failed', error = E'line one\\n"
                          "line two 100%' WHERE year_month = '2024-02'");
        auto multi = RunPgsplit({"verify"}, env);
        CHECK(CountLines(multi.out, "::error") == 2);
        CHECK(VerifyHas(multi.out, "(line one%0Aline two 100%25); the data is from"));

        // With --json, stdout stays one document and the annotations go to stderr.
        auto j = RunPgsplit({"--json", "verify"}, env);
        CHECK(j.exit_code == 5);
        CHECK(nlohmann::json::parse(j.out, nullptr, false).is_discarded() == false);
        CHECK(CountLines(j.err, "::error title=pgsplit verify") == 2);
    }

    TEST_CASE(
        "verify CLI --content: a value changed in place is exit 5, named by key and column in the text, "
        "the JSON, the step summary and the annotation") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01", "--month", "2024-02"});
        auto env = VerifyEnv(db, SyncScenario("basic"));
        auto clean = RunPgsplit({"verify", "--content"}, env);
        CHECK_MESSAGE(clean.exit_code == 0, clean.All());
        CHECK(VerifyHas(clean.out, "verify: ok: 2 month(s) checked by content"));
        // Without --content the same change is invisible: the counts stay equal.
        db.Connect().Exec(
            "UPDATE ranking.ranking_signal SET rank_percentile = 0.5 WHERE year_month = '2024-02' "
            "AND strategy = 'strategy_0_0'");
        CHECK(RunPgsplit({"verify"}, env).exit_code == 0);

        const std::string row =
            "(date=2024-02-01, symbol=SYM0000, strategy=strategy_0_0, year_month=2024-02) "
            "values differ: rank_percentile: Delta 2e-06, Postgres 0.5";
        auto text = RunPgsplit({"verify", "--content"}, env);
        CHECK_MESSAGE(text.exit_code == 5, text.All());
        CHECK_MESSAGE(
            VerifyHas(text.out, "2024-02: ranking_signal: content differs from Delta in 1 row(s): " + row),
            text.out);

        auto j = RunPgsplit({"--json", "verify", "--content", "--month", "2024-02"}, env);
        CHECK(j.exit_code == 5);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["content"] == true);
        const auto& content = doc["months"][0]["tables"]["ranking_signal"]["content"];
        CHECK(content["differing_rows"] == 1);
        CHECK(content["delta_digest"] != content["postgres_digest"]);
        CHECK(content["rows"][0]["kind"] == "values differ");
        CHECK(content["rows"][0]["columns"][0]["column"] == "rank_percentile");
        CHECK(content["rows"][0]["columns"][0]["postgres"] == "0.5");
        CHECK(doc["months"][0]["tables"]["composite_signal_daily"]["content"]["differing_rows"] == 0);

        ScratchDir tmp;
        env["GITHUB_ACTIONS"] = "true";
        env["GITHUB_STEP_SUMMARY"] = tmp / "summary.md";
        auto gh = RunPgsplit({"verify", "--content"}, env);
        CHECK(gh.exit_code == 5);
        CHECK(CountLines(gh.out, "::error") == 1);
        CHECK_MESSAGE(
            VerifyHas(gh.out, "::error title=pgsplit verify 2024-02::ranking_signal: content differs"),
            gh.out);
        CHECK(VerifyHas(ReadText(tmp / "summary.md"), row));

        // --postgres-only: the digest the sync recorded, no Delta location needed.
        std::map<std::string, std::string> pg_only = {{"POSTGRES_DSN", db.Dsn()}};
        auto po = RunPgsplit({"verify", "--content", "--postgres-only"}, pg_only);
        CHECK(po.exit_code == 5);
        CHECK_MESSAGE(VerifyHas(po.out, "2024-02: ranking_signal: Postgres changed since its sync"),
                      po.All());
        CHECK_FALSE(VerifyHas(po.out, "2024-01: ranking_signal"));
    }

    TEST_CASE("verify CLI: usage errors exit 2 before any connection") {
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", "postgresql://nobody@127.0.0.1:1/none"},
                                                  {"PGSPLIT_SIGNALS_TABLE", "/nonexistent/a"},
                                                  {"PGSPLIT_COMPOSITE_TABLE", "/nonexistent/b"}};
        CHECK(RunPgsplit({"verify", "--month", "2024-13"}, env).exit_code == 2);
        CHECK(RunPgsplit({"verify", "--from", "2024-01"}, env).exit_code == 2);
        CHECK(RunPgsplit({"verify", "--last", "2", "--month", "2024-01"}, env).exit_code == 2);
        CHECK(RunPgsplit({"verify", "--last", "0"}, env).exit_code == 2);
        CHECK(RunPgsplit({"verify", "--content", "--show", "-1"}, env).exit_code == 2);
        CHECK(RunPgsplit({"verify", "--content", "--show", "many"}, env).exit_code == 2);
        CHECK(RunPgsplit({"verify", "--replica-dsn", "host=x", "--max-replica-lag", "soon"}, env).exit_code ==
              2);
        auto help = RunPgsplit({"--help"}, {});
        CHECK(VerifyHas(help.All(), "verify"));
        auto vhelp = RunPgsplit({"verify", "--help"}, {});
        CHECK(vhelp.exit_code == 0);
        CHECK(VerifyHas(vhelp.All(), "--freshness-only"));
        CHECK(VerifyHas(vhelp.All(), "pgsplit verify --last 3"));
    }
}
