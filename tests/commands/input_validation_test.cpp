// Bad input on every command, as a table (issue 10): each case is refused before anything is touched,
// with one error line (plus at most one hint line) on stderr that names the thing, and the exit code
// of SPEC §3 (2 usage, 3 configuration). A real database is passed where a command could reach one,
// and the test checks afterwards that nothing was created or dropped in it.
#include "support/pg_cluster.h"
#include "support/process.h"

#include <doctest/doctest.h>
#include <filesystem>

using pgsplit::test::Lines;
using pgsplit::test::ProcResult;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;

namespace {

struct BadInput {
    const char* what;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    int exit_code;
    std::string names; // the error line must contain this
};

} // namespace

TEST_SUITE("input validation") {
    TEST_CASE("every kind of bad flag, env value and config file gets one error line and the right exit "
              "code, and changes nothing") {
        TestDatabase db;
        // A marker table: the injection attempt below must not reach it, nor anything else.
        db.Connect().ExecScript("CREATE TABLE x (id int); INSERT INTO x VALUES (1)");
        ScratchDir dir;
        WriteText(dir / "unknown-key.yaml",
                  "postgres:\n  dsn: host=/nowhere\nsignals:\n  signal_table: /tmp/t\n");
        WriteText(dir / "unknown-top.yaml", "postgress:\n  dsn: host=/nowhere\n");
        WriteText(dir / "not-a-map.yaml", "- postgres\n- dsn\n");
        WriteText(dir / "broken.yaml", "postgres: [unclosed\n");
        WriteText(dir / "nested-value.yaml", "postgres:\n  dsn:\n    host: h\n");
        std::filesystem::create_directory(dir / "a-directory.yaml");

        const std::string dsn = db.Dsn();
        const std::map<std::string, std::string> with_db = {{"POSTGRES_DSN", dsn},
                                                            {"PGSPLIT_SIGNALS_TABLE", "/nonexistent/rs"},
                                                            {"PGSPLIT_COMPOSITE_TABLE", "/nonexistent/cs"}};
        const std::vector<BadInput> cases = {
            {"month 13", {"sync-signals", "--month", "2024-13"}, with_db, 2, "'2024-13' is not a month"},
            {"two-digit year", {"sync-signals", "--month", "24-01"}, with_db, 2, "'24-01' is not a month"},
            {"SQL in a month",
             {"sync-signals", "--month", "2024-01'; drop table x;--"},
             with_db,
             2,
             "is not a month"},
            {"month 00 in verify", {"verify", "--month", "2024-00"}, with_db, 2, "'2024-00' is not a month"},
            {"range backwards",
             {"sync-signals", "--from", "2024-05", "--to", "2024-01"},
             with_db,
             2,
             "--from 2024-05 is after --to 2024-01"},
            {"huge --jobs", {"sync-signals", "--month", "2024-01", "--jobs", "100000"}, with_db, 2, "--jobs"},
            {"zero --jobs", {"sync-signals", "--month", "2024-01", "--jobs", "0"}, with_db, 2, "--jobs"},
            {"--jobs not a number",
             {"sync-signals", "--month", "2024-01", "--jobs", "many"},
             with_db,
             2,
             "--jobs"},
            {"unknown flag", {"migrate", "--bogus"}, with_db, 2, "--bogus"},
            {"unknown command", {"migrat"}, with_db, 2, "'migrat' is not a pgsplit command"},
            {"unknown migrate action", {"migrate", "upgrade"}, with_db, 2, "upgrade"},
            {"bad duration", {"runs", "list", "--since", "banana"}, with_db, 2, "'banana' is not a duration"},
            {"negative duration", {"runs", "stale", "--older-than", "-5m"}, with_db, 2, "is not a duration"},
            {"bad lock wait",
             {"migrate", "--lock-wait", "forever"},
             with_db,
             2,
             "'forever' is not a duration"},
            {"bad --log-format", {"--log-format", "xml", "migrate", "status"}, with_db, 2, "--log-format"},
            {"bad --color", {"--color", "sometimes", "migrate", "status"}, with_db, 2, "--color"},
            {"empty POSTGRES_DSN", {"migrate", "status"}, {{"POSTGRES_DSN", ""}}, 3, "no DSN is set"},
            {"bad PGSPLIT_LOG_FORMAT",
             {"migrate", "status"},
             {{"POSTGRES_DSN", dsn}, {"PGSPLIT_LOG_FORMAT", "xml"}},
             3,
             "log format 'xml'"},
            {"bad boolean",
             {"sync-signals", "--month", "2024-01"},
             {{"POSTGRES_DSN", dsn}, {"POSTGRES_SIGNALS_WRITE_REQUIRED", "maybe"}},
             3,
             "POSTGRES_SIGNALS_WRITE_REQUIRED='maybe' is not a boolean"},
            {"empty table location",
             {"sync-signals", "--month", "2024-01"},
             {{"POSTGRES_DSN", dsn}, {"PGSPLIT_SIGNALS_TABLE", ""}},
             3,
             "no Delta table location"},
            {"bad run store mode",
             {"runs", "list"},
             {{"POSTGRES_DSN", dsn}, {"BACKTEST_RUN_STORE_MODE", "sqlite"}},
             3,
             "BACKTEST_RUN_STORE_MODE"},
            {"missing config file",
             {"--config", dir / "missing.yaml", "migrate", "status"},
             with_db,
             3,
             "does not exist"},
            {"config is a directory",
             {"--config", dir / "a-directory.yaml", "migrate", "status"},
             with_db,
             3,
             "is not a regular file"},
            {"config with broken YAML",
             {"--config", dir / "broken.yaml", "migrate", "status"},
             with_db,
             3,
             "cannot parse config file"},
            {"config with an unknown key",
             {"--config", dir / "unknown-key.yaml", "migrate", "status"},
             with_db,
             3,
             "unknown key 'signals.signal_table'"},
            {"config with an unknown section",
             {"--config", dir / "unknown-top.yaml", "migrate", "status"},
             with_db,
             3,
             "unknown key 'postgress'"},
            {"config that is a list",
             {"--config", dir / "not-a-map.yaml", "migrate", "status"},
             with_db,
             3,
             "must be a mapping"},
            {"config with a map where a value belongs",
             {"--config", dir / "nested-value.yaml", "migrate", "status"},
             with_db,
             3,
             "'postgres.dsn' must be a single value"},
        };

        std::string table = "\n";
        for (const auto& c : cases) {
            CAPTURE(c.what);
            ProcResult r = RunPgsplit(c.args, c.env);
            auto lines = Lines(r.err);
            CHECK_MESSAGE(r.exit_code == c.exit_code, r.All());
            REQUIRE_MESSAGE(!lines.empty(), r.All());
            CHECK_MESSAGE(lines[0].rfind("pgsplit: error: ", 0) == 0, r.err);
            CHECK_MESSAGE(lines[0].find(c.names) != std::string::npos, r.err);
            CHECK_MESSAGE(lines.size() <= 2, r.err);
            if (lines.size() == 2) {
                CHECK_MESSAGE(lines[1].rfind("hint: ", 0) == 0, r.err);
            }
            CHECK(r.out.empty());
            table += "  " + std::string(c.what) +
                     std::string(40 - std::min<size_t>(39, std::string(c.what).size()), ' ') + "exit " +
                     std::to_string(r.exit_code) + "  " + lines[0] + "\n";
        }
        MESSAGE(table);
        CHECK(db.Value("SELECT count(*) FROM x") == "1");
        CHECK(
            db.Value("SELECT count(*) FROM pg_namespace WHERE nspname IN ('ranking', 'backtest', 'core')") ==
            "0");
        CHECK(db.Value("SELECT to_regclass('public.schema_migrations') IS NULL") == "t");
    }

    TEST_CASE("a misspelt command is named and the nearest command suggested") {
        auto r = RunPgsplit({"sync-signal", "--month", "2024-01"});
        CHECK(r.exit_code == 2);
        CHECK(r.err == "pgsplit: error: 'sync-signal' is not a pgsplit command\n"
                       "hint: did you mean 'pgsplit sync-signals'? ('pgsplit --help' lists the commands)\n");
    }

    TEST_CASE("a config file using every known key is accepted") {
        ScratchDir dir;
        WriteText(dir / "pgsplit.yaml", "postgres:\n  dsn: host=/nonexistent port=1\n"
                                        "log:\n  format: text\n"
                                        "signals:\n  signals_table: /tmp/rs\n  composite_table: /tmp/cs\n"
                                        "storage:\n  endpoint: http://127.0.0.1:1/acct\n  sas_token: sv=1\n"
                                        "  account_key: a2V5\n  client_id: id\n"
                                        "backtest:\n  run_store_mode: postgres\n"
                                        "tables:\n  prices:\n    source: /tmp/p\n    target: gold.prices\n"
                                        "    partition_column: year_month\n");
        auto r = RunPgsplit({"--config", dir / "pgsplit.yaml", "migrate", "status"});
        CHECK_MESSAGE(r.exit_code == 4, r.All()); // got as far as connecting
        CHECK(r.err.find("cannot connect") != std::string::npos);
        // libpq's indented continuation lines are folded: one error line and one hint line.
        CHECK_MESSAGE(Lines(r.err).size() == 2, r.err);
    }
}
