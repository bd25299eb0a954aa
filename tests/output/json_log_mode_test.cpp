// JSON-log mode end to end (ACA jobs, issue 9): with --log-format json or CONTAINER_APP_JOB_NAME set,
// stdout is one JSON object per line with ts, level, msg and command (plus month, rows, duration_ms
// where they apply), stderr stays empty, and there is never an ANSI escape or a progress redraw, even
// with --color always.
#include "output/mode_support.h"

#include <regex>

using pgsplit::test::Lines;
using pgsplit::test::ProcResult;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;
using namespace pgsplit::test::modes;

namespace {

// The checks every JSON-mode run must pass; returns the parsed lines.
std::vector<nlohmann::json> CheckJsonMode(const ProcResult& r, const std::string& command) {
    INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
    CHECK_FALSE(Has(r.out, "\x1b"));
    CHECK_FALSE(Has(r.err, "\x1b"));
    CHECK_FALSE(Has(r.out, "\r"));
    CHECK(r.err.empty());
    auto lines = JsonLines(r.out);
    CHECK_FALSE(lines.empty());
    static const std::regex kTs(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    for (const auto& j : lines) {
        INFO("line: " << j.dump());
        REQUIRE(j.contains("ts"));
        CHECK(std::regex_match(j["ts"].get<std::string>(), kTs));
        CHECK(
            (j["level"] == "info" || j["level"] == "warn" || j["level"] == "error" || j["level"] == "debug"));
        CHECK(j["msg"].is_string());
        CHECK(j["command"] == command);
    }
    return lines;
}

size_t CountWith(const std::vector<nlohmann::json>& lines, std::initializer_list<const char*> keys) {
    size_t n = 0;
    for (const auto& j : lines) {
        bool all = true;
        for (const char* k : keys) {
            all = all && j.contains(k);
        }
        n += all ? 1 : 0;
    }
    return n;
}

} // namespace

TEST_SUITE("json-log-mode") {
    TEST_CASE("migrate: one JSON object per line, a duration_ms line per applied file, no colour") {
        TestDatabase db;
        ScratchDir migrations;
        WriteText(migrations / "0001_first.sql", "CREATE TABLE public.first_t (x int);\n");
        WriteText(migrations / "0002_second.sql", "CREATE TABLE public.second_t (x int);\n");
        auto r =
            RunPgsplit({"--log-format", "json", "--color", "always", "migrate", "--dir", migrations.Path()},
                       {{"POSTGRES_DSN", db.Dsn()}});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto lines = CheckJsonMode(r, "migrate");
        CHECK(CountWith(lines, {"version", "duration_ms"}) == 2);

        // The same in an ACA job (no flag), with a failure: the last line is the error with its exit code.
        WriteText(migrations / "0003_bad.sql", "SELECT 1/0;\n");
        auto bad = RunPgsplit({"--color", "always", "migrate", "--dir", migrations.Path()},
                              {{"POSTGRES_DSN", db.Dsn()}, {"CONTAINER_APP_JOB_NAME", "migrate-job"}});
        CHECK(bad.exit_code == 1);
        auto bad_lines = CheckJsonMode(bad, "migrate");
        REQUIRE_FALSE(bad_lines.empty());
        CHECK(bad_lines.back()["level"] == "error");
        CHECK(bad_lines.back()["exit_code"] == 1);
        CHECK(Has(bad_lines.back()["msg"].get<std::string>(), "0003_bad.sql"));
    }

    TEST_CASE(
        "sync-signals: a line per month with month, rows and duration_ms; the table becomes info lines") {
        TestDatabase db;
        MigrateQuietly(db);
        auto env = SyncEnv(db.Dsn(), "basic");
        env["CONTAINER_APP_JOB_NAME"] = "sync-job";
        auto r = RunPgsplit({"--color", "always", "sync-signals", "--month", "2024-01", "--month", "2024-02"},
                            env);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto lines = CheckJsonMode(r, "sync-signals");
        REQUIRE(CountWith(lines, {"month", "rows", "duration_ms"}) == 2);
        for (const auto& j : lines) {
            if (j.contains("month")) {
                CHECK(j["rows"] == j["ranking_signal_rows"].get<int64_t>() +
                                       j["composite_signal_daily_rows"].get<int64_t>());
            }
        }
        // --json with JSON logs: the result document is one compact line after the log lines (it is the
        // one line without ts/level: it is data, not a log record).
        auto doc = RunPgsplit({"--json", "sync-signals", "--month", "2024-01"}, env);
        REQUIRE(doc.exit_code == 0);
        CHECK(doc.err.empty());
        auto doc_lines = JsonLines(doc.out);
        REQUIRE(doc_lines.size() == Lines(doc.out).size());
        REQUIRE(doc_lines.size() >= 2);
        CHECK(doc_lines.back()["ok"] == true);
        CHECK(doc_lines.back()["months"][0]["month"] == "2024-01");
        for (size_t i = 0; i + 1 < doc_lines.size(); ++i) {
            CHECK(doc_lines[i].contains("ts"));
            CHECK(doc_lines[i]["command"] == "sync-signals");
        }
    }

    TEST_CASE("verify: JSON lines for the report and the failure, exit 5, no colour") {
        TestDatabase db;
        MigrateQuietly(db);
        auto env = SyncEnv(db.Dsn(), "basic");
        REQUIRE(RunPgsplit({"sync-signals", "--month", "2024-01"}, env).exit_code == 0);
        auto ok =
            RunPgsplit({"--log-format", "json", "--color", "always", "verify", "--month", "2024-01"}, env);
        CHECK(ok.exit_code == 0);
        CheckJsonMode(ok, "verify");
        auto failing =
            RunPgsplit({"--log-format", "json", "--color", "always", "verify", "--month", "2024-02"}, env);
        CHECK(failing.exit_code == 5);
        auto lines = CheckJsonMode(failing, "verify");
        REQUIRE_FALSE(lines.empty());
        CHECK(lines.back()["level"] == "error");
        CHECK(Has(lines.back()["msg"].get<std::string>(), "verify failed"));
    }

    TEST_CASE("provision (fake az): a JSON line per step, passwords nowhere") {
        ScratchDir az;
        constexpr const char* kAdmin = "Adm1n-Canary-4f9c2e";
        auto r = RunPgsplit(
            {"--color", "always", "provision", "--resource-group", "rg-assets", "--server-name", "assets-pg",
             "--location", "eastus"},
            FakeAzEnv(az, "fresh", {{"PGSPLIT_ADMIN_PASSWORD", kAdmin}, {"CONTAINER_APP_JOB_NAME", "x"}}));
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto lines = CheckJsonMode(r, "provision");
        CHECK(CountWith(lines, {"step", "result", "ms"}) >= 5);
        CHECK_FALSE(Has(r.All(), kAdmin));
    }

    TEST_CASE("--color always colours text logs but never JSON ones") {
        auto text = RunPgsplit({"--color", "always", "verify", "--month", "2024-01"}, {});
        CHECK(text.exit_code == 3);
        CHECK(Has(text.err, "\x1b[31m"));
        auto json =
            RunPgsplit({"--color", "always", "--log-format", "json", "verify", "--month", "2024-01"}, {});
        CHECK(json.exit_code == 3);
        CHECK_FALSE(Has(json.All(), "\x1b"));
        CheckJsonMode(json, "verify");
    }
}
