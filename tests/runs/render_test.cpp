// Rendering of the run store without a database: cells, UTC times, pretty JSON, fail's plan.
#include "runs/render.h"

#include <doctest/doctest.h>

using namespace pgsplit::runs;

namespace {

Run Sample() {
    Run r;
    r.run_id = "r-1";
    r.status = "running";
    r.submitted_at = "2026-11-21T10:00:00.000000Z";
    r.started_at = "2026-11-21T10:05:00.250000Z";
    r.queue_wait_ms = 300250;
    r.active_for_ms = 7 * 3600 * 1000;
    r.config_json = R"({"b":1,"a":{"z":[1,2],"y":"動量"}})";
    r.effective_config_json = "not json {";
    return r;
}

} // namespace

TEST_SUITE("runs") {
    TEST_CASE("TextTime shows UTC to the second") {
        CHECK(TextTime("2026-11-22T00:12:18.625166Z") == "2026-11-22 00:12:18");
        CHECK(TextTime("2026-11-22T00:12:18Z") == "2026-11-22 00:12:18");
    }

    TEST_CASE("Excerpt keeps the first line, whole UTF-8 characters and marks cuts") {
        CHECK(Excerpt("short", 10) == "short");
        CHECK(Excerpt("first line\nsecond", 40) == "first line...");
        CHECK(Excerpt("tab\there", 40) == "tab here");
        CHECK(Excerpt("動量動量動量動量", 5) == "動量...");
        CHECK(Excerpt("abcdefghij", 10) == "abcdefghij");
        CHECK(Excerpt("abcdefghijk", 10) == "abcdefg...");
        CHECK(Excerpt("trailing newline\n", 40) == "trailing newline");
    }

    TEST_CASE("PrettyJson indents, keeps the stored key order and passes non-JSON through") {
        CHECK(PrettyJson(R"({"b":1,"a":[1,2]})") == "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}");
        CHECK(PrettyJson("not json {") == "not json {");
        CHECK(PrettyJson(R"({"name":"動量"})").find("動量") != std::string::npos);
    }

    TEST_CASE("show text has every column, durations and both configs pretty-printed") {
        auto text = ShowText(Sample());
        for (const char* label :
             {"run_id", "status", "run_name", "submitted_at", "started_at", "completed_at", "queue wait",
              "run time", "start_date", "end_date", "output_dir", "adls_container", "adls_prefix", "error",
              "config_json", "effective_config_json"}) {
            CHECK_MESSAGE(text.find(label) != std::string::npos, label);
        }
        CHECK(text.find("2026-11-21 10:05:00 UTC") != std::string::npos);
        CHECK(text.find("5m 0s") != std::string::npos);
        CHECK(text.find("7h 0m so far") != std::string::npos);
        CHECK(text.find("  {\n    \"b\": 1,\n    \"a\": {") != std::string::npos);
        CHECK(text.find("effective_config_json (not valid JSON; shown as stored)\n  not json {") !=
              std::string::npos);
    }

    TEST_CASE("show JSON carries stored text and the parsed document (null when not JSON)") {
        auto j = ShowJson(Sample());
        CHECK(j["ok"] == true);
        CHECK(j["run"]["config_json"] == Sample().config_json);
        CHECK(j["run"]["config"]["a"]["y"] == "動量");
        CHECK(j["run"]["effective_config"].is_null());
        CHECK(j["run"]["completed_at"].is_null());
        CHECK(j["run"]["run_time_ms"].is_null());
        CHECK(j["run"]["queue_wait_ms"] == 300250);
    }

    TEST_CASE("fail plan names the current state and what would change") {
        auto text = FailPlanText(Sample(), "worker lost");
        CHECK(text.find("would mark run r-1 failed (it is running for 7h 0m)") != std::string::npos);
        CHECK(text.find("running -> failed") != std::string::npos);
        CHECK(text.find("worker lost") != std::string::npos);
        CHECK(text.find("nothing was changed") != std::string::npos);
        auto j = FailPlanJson(Sample(), "worker lost");
        CHECK(j["applied"] == false);
        CHECK(j["would"]["error"] == "worker lost");
    }
}
