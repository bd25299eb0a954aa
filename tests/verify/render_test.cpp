// The renderings of a verify report built by hand: escaping in annotations and Markdown, colour only
// when asked, JSON shape.
#include "verify/render.h"

#include <doctest/doctest.h>

namespace {

pgsplit::verify::Report Sample() {
    pgsplit::verify::Report r;
    r.signals_version = 7;
    r.composite_version = 5;
    pgsplit::verify::MonthReport good;
    good.month = "2024-01";
    good.in_delta = good.in_postgres = good.ledger_present = true;
    good.status = "success";
    good.synced_at = "2024-02-01T03:00:00Z";
    good.signals = {"ranking_signal", 1200, 1200, 1200, 7, 7, {}, {}};
    good.composite = {"composite_signal_daily", 300, 300, 300, 5, 5, {}, {}};
    pgsplit::verify::MonthReport bad = good;
    bad.month = "2024-02";
    bad.status = "failed";
    bad.error = "COPY failed | 100% of disk\nsecond line";
    bad.problems = {"the last sync failed: COPY failed | 100% of disk\nsecond line",
                    "ranking_signal: Delta has 1200 rows, Postgres has 1199"};
    r.months = {good, bad};
    r.freshness.newest_success = "2024-02-01T03:00:00Z";
    r.freshness.age_seconds = 3600;
    r.freshness.max_age_seconds = 36 * 3600;
    r.freshness.max_age_text = "36h";
    return r;
}

bool Has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_SUITE("verify") {
    TEST_CASE("annotations: one per failing month with its problems joined, one for stale freshness") {
        auto r = Sample();
        auto a = pgsplit::verify::Annotations(r);
        REQUIRE(a.size() == 1);
        CHECK(a[0].title == "pgsplit verify 2024-02");
        CHECK(a[0].message ==
              "the last sync failed: COPY failed | 100% of disk\nsecond line; ranking_signal: Delta "
              "has 1200 rows, Postgres has 1199");
        r.freshness.problem = "the newest successful sync (x, 3d ago) is older than --max-age 36h";
        a = pgsplit::verify::Annotations(r);
        REQUIRE(a.size() == 2);
        CHECK(a[1].title == "pgsplit verify freshness");
        CHECK(a[1].message == *r.freshness.problem);
    }

    TEST_CASE("markdown: pipes and line breaks cannot break the table") {
        std::string md = pgsplit::verify::RenderMarkdown(Sample());
        CHECK(Has(md, "### pgsplit verify: FAILED"));
        CHECK(Has(md, "| 2024-01 | 1,200 / 300 | 1,200 / 300 | success | 2024-02-01T03:00:00Z | ok |"));
        CHECK(Has(
            md, "| 2024-02 | 1,200 / 300 | 1,200 / 300 | failed | 2024-02-01T03:00:00Z | **FAIL**: the last "
                "sync failed: COPY failed \\| 100% of disk second line<br>ranking_signal: Delta has 1200 "
                "rows, Postgres has 1199 |"));
    }

    TEST_CASE("text: colour only when asked, every problem listed, a summary line") {
        auto r = Sample();
        std::string plain = pgsplit::verify::RenderText(r, false);
        CHECK_FALSE(Has(plain, "\x1b["));
        CHECK(Has(plain, "2024-02: ranking_signal: Delta has 1200 rows, Postgres has 1199"));
        CHECK(Has(plain, "FAIL (2 problems)"));
        CHECK(Has(plain, "verify: FAIL: 1 of 2 month(s) failed, freshness ok"));
        CHECK(Has(pgsplit::verify::RenderText(r, true), "\x1b[31m"));
    }

    TEST_CASE("text: when only freshness fails the summary says so, not '0 of N month(s) failed'") {
        auto r = Sample();
        r.months.resize(1); // the good month only
        r.freshness.problem = "the newest successful sync is 3d old";
        CHECK(Has(pgsplit::verify::RenderText(r, false),
                  "verify: FAIL: freshness failed; 1 month(s) checked, none failed"));
        r.months.clear();
        std::string none = pgsplit::verify::RenderText(r, false);
        CHECK(Has(none, "verify: FAIL: freshness failed (no months checked)"));
        CHECK_FALSE(Has(none, "0 of 0"));
    }

    TEST_CASE("json: counts, versions, problems and freshness") {
        auto doc = pgsplit::verify::RenderJson(Sample());
        CHECK(doc["ok"] == false);
        CHECK(doc["delta_versions"]["ranking_signal"] == 7);
        CHECK(doc["months"][1]["tables"]["ranking_signal"]["synced_version"] == 7);
        CHECK(doc["months"][1]["problems"].size() == 2);
        CHECK(doc["problems"][0] == "2024-02: the last sync failed: COPY failed | 100% of disk\nsecond line");
        CHECK(doc["freshness"]["ok"] == true);
        CHECK(doc["freshness"]["max_age_seconds"] == 36 * 3600);
    }

    TEST_CASE("replicas: a line each in text and Markdown, an annotation for a failing one, in the summary") {
        auto r = Sample();
        r.months.pop_back(); // only the good month: what fails is the replica
        pgsplit::verify::ReplicaReport lagging;
        lagging.name = "replica-1:5432";
        lagging.in_recovery = lagging.replay_paused = true;
        lagging.behind_bytes = 4096;
        lagging.lag_seconds = 420;
        lagging.receiver = "streaming";
        lagging.problems = {"replay is 7m 0s behind the primary | paused"};
        lagging.notes = {
            "2024-01: ranking_signal has 0 rows, the primary 1200 (the replica has not replayed it yet)"};
        pgsplit::verify::ReplicaReport fine;
        fine.name = "replica-2:5432";
        fine.in_recovery = true;
        fine.behind_bytes = 0;
        fine.lag_seconds = 0;
        r.replicas = {lagging, fine};
        CHECK_FALSE(r.Ok());
        CHECK(r.FailedMonths() == 0);

        std::string text = pgsplit::verify::RenderText(r, false);
        CHECK(Has(text, "replica replica-1:5432: FAIL (lag 7m 0s, replay paused, WAL receiver streaming)\n"));
        CHECK(Has(text, "  replay is 7m 0s behind the primary | paused\n"));
        CHECK(Has(text, "  note: 2024-01: ranking_signal has 0 rows"));
        CHECK(Has(text, "replica replica-2:5432: ok (lag 0 ms)\n"));
        CHECK(Has(text,
                  "verify: FAIL: 1 month(s) checked, none failed, freshness ok, 1 of 2 replica(s) failed"));

        std::string md = pgsplit::verify::RenderMarkdown(r);
        CHECK(Has(md, "  - **FAIL**: replay is 7m 0s behind the primary \\| paused"));

        auto a = pgsplit::verify::Annotations(r);
        REQUIRE(a.size() == 1);
        CHECK(a[0].title == "pgsplit verify replica replica-1:5432");

        auto j = pgsplit::verify::RenderJson(r);
        CHECK(j["replicas"].size() == 2);
        CHECK(j["replicas"][0]["lag_seconds"] == 420.0);
        CHECK(j["replicas"][1]["ok"] == true);
        CHECK(j["problems"].back() == "replica replica-1:5432: replay is 7m 0s behind the primary | paused");
    }
}
