// Unit tests of the sync-signals renderers: one row list makes the text table, the JSON document and
// the step-summary Markdown, so a success and a failure read the same in all three.
#include "core/error.h"
#include "signals/render.h"
#include "signals/tables.h"

#include <doctest/doctest.h>

namespace signals = pgsplit::signals;
namespace psync = pgsplit::sync;

namespace {

std::vector<psync::PartitionOutcome> TwoMonths() {
    psync::PartitionOutcome ok;
    ok.value = "2024-01";
    ok.result.emplace();
    ok.result->value = "2024-01";
    ok.result->seconds = 1.25;
    psync::TableResult s;
    s.label = signals::kSignalsLabel;
    s.rows = 1234567;
    s.skipped = 2;
    s.delta_version = 7;
    s.strategy = psync::Strategy::Swap;
    psync::TableResult c = s;
    c.label = signals::kCompositeLabel;
    c.rows = 89;
    c.skipped = 1;
    c.delta_version = 3;
    ok.result->tables = {s, c};

    psync::PartitionOutcome failed;
    failed.value = "2024-02";
    failed.error.emplace(pgsplit::ExitCode::Lock, "the swap could not lock ranking.ranking_signal");
    return {ok, failed};
}

} // namespace

TEST_SUITE("signals-render") {
    TEST_CASE("a synced month and a failed one, as JSON: counts, versions and the failure's exit code") {
        auto j = signals::RenderSyncJson(signals::SyncRows(TwoMonths()));
        CHECK(j["ok"] == false);
        REQUIRE(j["months"].size() == 2);
        const auto& ok = j["months"][0];
        CHECK(ok["month"] == "2024-01");
        CHECK(ok["ok"] == true);
        CHECK(ok["signals_rows"] == 1234567);
        CHECK(ok["composite_rows"] == 89);
        CHECK(ok["skipped_rows"] == 3);
        CHECK(ok["signals_delta_version"] == 7);
        CHECK(ok["composite_delta_version"] == 3);
        CHECK(ok["strategy"] == "swap");
        CHECK(ok["duration_ms"] == 1250);
        CHECK_FALSE(ok.contains("error"));
        const auto& bad = j["months"][1];
        CHECK(bad["ok"] == false);
        CHECK(bad["exit_code"] == 6);
        CHECK(bad["error"] == "the swap could not lock ranking.ranking_signal");
        CHECK_FALSE(bad.contains("signals_rows"));
    }

    TEST_CASE("the text table and the Markdown carry the same months, counts and results") {
        auto rows = signals::SyncRows(TwoMonths());
        std::string text = signals::RenderSyncText(rows, false);
        CHECK(text.find("MONTH") != std::string::npos);
        CHECK(text.find("1,234,567") != std::string::npos);
        CHECK(text.find("failed (exit 6)") != std::string::npos);
        std::string md = signals::RenderSyncMarkdown(rows);
        CHECK(md.find("| month | ranking_signal | composite_signal_daily |") != std::string::npos);
        CHECK(md.find("| 2024-01 | 1234567 | 89 | 3 | swap |") != std::string::npos);
        CHECK(md.find("| 2024-02 | | | | | | failed (exit 6) |") != std::string::npos);
        CHECK(signals::RenderSyncJson({})["ok"] == true);
    }
}
