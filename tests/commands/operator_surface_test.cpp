// The operator's surface as a new user meets it (issue 21): usage errors below the top level named
// pgsplit's way in every run mode, help that shows the global flags and each command's own example,
// `pgsplit help CMD`, --version after a command, and --color always on a pipe.
#include "pg/connection.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

using pgsplit::test::Lines;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;

namespace {

bool Has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// A DSN nothing listens on: usage errors must be reported before any connection is tried.
const std::map<std::string, std::string> kNoServer = {{"POSTGRES_DSN", "host=/nonexistent port=1"}};

} // namespace

TEST_SUITE("operator-surface") {
    TEST_CASE("a mistyped subcommand or flag below the top level is named with the nearest match") {
        auto sub = RunPgsplit({"migrate", "stauts"}, kNoServer);
        CHECK(sub.exit_code == 2);
        CHECK(sub.out.empty());
        CHECK(sub.err == "pgsplit: error: 'stauts' is not a 'pgsplit migrate' command\n"
                         "hint: did you mean 'pgsplit migrate status'? ('pgsplit migrate --help' lists the "
                         "commands)\n");
        auto flag = RunPgsplit({"runs", "list", "--limt", "5"}, kNoServer);
        CHECK(flag.exit_code == 2);
        CHECK(flag.err == "pgsplit: error: '--limt' is not a flag of 'pgsplit runs list'\n"
                          "hint: did you mean '--limit'? ('pgsplit runs list --help' lists its flags and "
                          "shows an example)\n");
        // A global flag misspelt after a command is found among the global ones.
        auto global = RunPgsplit({"verify", "--jsno"}, kNoServer);
        CHECK(global.exit_code == 2);
        CHECK(Has(global.err, "did you mean '--json'?"));
        // --flag=value keeps only the name in the message.
        auto eq = RunPgsplit({"runs", "stale", "--older-thn=6h"}, kNoServer);
        CHECK(Has(eq.err, "'--older-thn' is not a flag of 'pgsplit runs stale'"));
        CHECK(Has(eq.err, "did you mean '--older-than'?"));
        // A word nothing resembles: named, no guess.
        auto far = RunPgsplit({"runs", "zzzzzz"}, kNoServer);
        CHECK(far.exit_code == 2);
        CHECK(Lines(far.err) ==
              std::vector<std::string>{"pgsplit: error: 'zzzzzz' is not a 'pgsplit runs' command",
                                       "hint: 'pgsplit runs --help' lists the commands"});
    }

    TEST_CASE("a usage error takes the run's form: JSON document, JSON log line, GitHub annotation") {
        auto json = RunPgsplit({"--json", "migrate", "stauts"}, kNoServer);
        CHECK(json.exit_code == 2);
        auto doc = nlohmann::json::parse(json.out);
        CHECK(doc["ok"] == false);
        CHECK(doc["error"]["exit_code"] == 2);
        CHECK(doc["error"]["class"] == "usage");
        CHECK(doc["error"]["message"] == "'stauts' is not a 'pgsplit migrate' command");
        CHECK(Has(doc["error"]["hint"].get<std::string>(), "pgsplit migrate status"));

        auto env = kNoServer;
        env["CONTAINER_APP_JOB_NAME"] = "sync-job";
        auto aca = RunPgsplit({"runs", "list", "--limt", "5"}, env);
        CHECK(aca.exit_code == 2);
        CHECK(aca.err.empty());
        auto lines = Lines(aca.out);
        REQUIRE(lines.size() == 1);
        auto line = nlohmann::json::parse(lines[0]);
        CHECK(line["level"] == "error");
        CHECK(line["command"] == "runs");
        CHECK(line["exit_code"] == 2);
        CHECK(line["msg"] == "'--limt' is not a flag of 'pgsplit runs list'");
        CHECK(Has(line["hint"].get<std::string>(), "--limit"));

        auto gh_env = kNoServer;
        gh_env["GITHUB_ACTIONS"] = "true";
        auto gh = RunPgsplit({"migrate", "stauts"}, gh_env);
        CHECK(gh.exit_code == 2);
        CHECK(Has(gh.out, "::error title=pgsplit::'stauts' is not a 'pgsplit migrate' command%0A"));
        CHECK(Has(gh.err, "pgsplit: error: 'stauts'"));
    }

    TEST_CASE("a bare pgsplit or pgsplit runs shows its help and exits 2; pgsplit help CMD exits 0") {
        auto bare = RunPgsplit({}, kNoServer);
        CHECK(bare.exit_code == 2);
        CHECK(Has(bare.out, "Usage: pgsplit"));
        CHECK(Has(bare.out, "sync-signals"));
        CHECK(Has(bare.err, "pgsplit: error: 'pgsplit' needs a command"));
        auto runs = RunPgsplit({"runs"}, kNoServer);
        CHECK(runs.exit_code == 2);
        CHECK(Has(runs.out, "Usage: pgsplit runs"));
        CHECK(Has(runs.err, "'pgsplit runs' needs a command: list, show, stats, stale, fail"));
        // Under JSON logs stdout stays one JSON object per line: no help text there.
        auto aca = RunPgsplit({"runs"}, {{"CONTAINER_APP_JOB_NAME", "j"}});
        CHECK(aca.exit_code == 2);
        REQUIRE(Lines(aca.out).size() == 1);
        CHECK(nlohmann::json::parse(aca.out)["exit_code"] == 2);

        auto help = RunPgsplit({"help", "migrate", "status"}, kNoServer);
        CHECK(help.exit_code == 0);
        CHECK(help.out == RunPgsplit({"migrate", "status", "--help"}, kNoServer).out);
        CHECK(Has(help.out, "Usage: pgsplit migrate status"));
        auto top = RunPgsplit({"help"}, kNoServer);
        CHECK(top.exit_code == 0);
        CHECK(top.out == RunPgsplit({"--help"}, kNoServer).out);
        auto typo = RunPgsplit({"help", "migrat"}, kNoServer);
        CHECK(typo.exit_code == 2);
        CHECK(Has(typo.err, "did you mean 'pgsplit migrate'?"));
    }

    TEST_CASE("every command's help lists the global flags, its own example and its exit codes") {
        for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{{"migrate"},
                                                                                  {"migrate", "status"},
                                                                                  {"migrate", "validate"},
                                                                                  {"migrate", "plan"},
                                                                                  {"migrate", "baseline"},
                                                                                  {"migrate", "repair"},
                                                                                  {"sync-signals"},
                                                                                  {"sync"},
                                                                                  {"provision"},
                                                                                  {"verify"},
                                                                                  {"runs"},
                                                                                  {"runs", "list"},
                                                                                  {"runs", "show"},
                                                                                  {"runs", "stats"},
                                                                                  {"runs", "stale"},
                                                                                  {"runs", "fail"},
                                                                                  {"completion"}}) {
            std::string name = "pgsplit";
            for (const auto& w : cmd) {
                name += " " + w;
            }
            INFO(name);
            cmd.emplace_back("--help");
            auto r = RunPgsplit(cmd, kNoServer);
            CHECK(r.exit_code == 0);
            for (const char* global : {"Global flags", "--dsn DSN", "--json", "--config FILE",
                                       "--log-format text|json", "--color auto|always|never"}) {
                CHECK_MESSAGE(Has(r.out, global), global);
            }
            CHECK(Has(r.out, "  " + name + " ")); // a worked example of this very command
            CHECK(Has(r.out, "Exit codes"));
            CHECK_FALSE(Has(r.out, "SPEC"));
        }
        // Subcommands no longer repeat their parent's examples.
        auto status = RunPgsplit({"migrate", "status", "--help"}, kNoServer);
        CHECK_FALSE(Has(status.out, "--lock-wait 5m"));
        auto baseline = RunPgsplit({"migrate", "baseline", "--help"}, kNoServer);
        CHECK(Has(baseline.out, "pgsplit migrate baseline --version 0002"));
    }

    TEST_CASE("--version after a command is a usage error, not the version and a silent success") {
        auto r = RunPgsplit({"migrate", "--version", "0003"}, kNoServer);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(Has(r.err, "--version is not a flag of 'pgsplit migrate'"));
        CHECK(Has(r.err, "--target VERSION"));
        auto version = RunPgsplit({"--version"}, kNoServer);
        CHECK(version.exit_code == 0);
        CHECK(version.out.rfind("pgsplit ", 0) == 0);
        // baseline's own --version is still its own.
        auto baseline = RunPgsplit({"migrate", "baseline", "--version", "x1"}, kNoServer);
        CHECK(baseline.exit_code == 2);
        CHECK(Has(baseline.err, "baseline version 'x1' is not a number"));
    }

    TEST_CASE("--version shows the commit id, and migrate records the same string as tool_version") {
        auto version = RunPgsplit({"--version"}, kNoServer);
        REQUIRE(version.exit_code == 0);
        std::smatch m;
        REQUIRE_MESSAGE(
            std::regex_match(version.out, m,
                             std::regex(R"(pgsplit (\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown)\))\n)")),
            version.out);
        std::string full = m[1];
        // Built from this repository's checkout, the id is a real one, not the tarball fallback.
        if (std::filesystem::exists(pgsplit::test::SourceDir() / ".git")) {
            CHECK(m[2] != "unknown");
        }

        TestDatabase db;
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", db.Dsn()}};
        auto migrated = RunPgsplit({"migrate"}, env);
        REQUIRE_MESSAGE(migrated.exit_code == 0, migrated.All());
        CHECK(db.Value("SELECT string_agg(DISTINCT tool_version, ',') FROM public.schema_migrations") ==
              full);
        auto status = RunPgsplit({"--json", "migrate", "status"}, env);
        REQUIRE(status.exit_code == 0);
        auto doc = nlohmann::json::parse(status.out);
        bool any = false;
        for (const auto& e : doc["migrations"]) {
            CHECK(e["tool_version"] == full);
            any = true;
        }
        CHECK(any);
    }

    TEST_CASE("--color always colours tables on a pipe; auto and NO_COLOR do not") {
        TestDatabase db;
        ScratchDir migrations;
        WriteText(migrations / "0001_first.sql", "CREATE TABLE public.first_t (x int);\n");
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", db.Dsn()}};
        REQUIRE(RunPgsplit({"migrate", "--dir", migrations.Path()}, env).exit_code == 0);
        auto always = RunPgsplit({"--color", "always", "migrate", "status", "--dir", migrations.Path()}, env);
        REQUIRE_MESSAGE(always.exit_code == 0, always.All());
        CHECK(Has(always.out, "\x1b[32mapplied\x1b[0m"));
        auto with_no_color = env;
        with_no_color["NO_COLOR"] = "1";
        auto forced =
            RunPgsplit({"--color", "always", "migrate", "status", "--dir", migrations.Path()}, with_no_color);
        CHECK(Has(forced.out, "\x1b[32m")); // always means always
        auto piped = RunPgsplit({"--color", "auto", "migrate", "status", "--dir", migrations.Path()}, env);
        CHECK_FALSE(Has(piped.out, "\x1b"));
        auto never = RunPgsplit({"--color", "never", "migrate", "status", "--dir", migrations.Path()}, env);
        CHECK_FALSE(Has(never.out, "\x1b"));
    }

    TEST_CASE("migrate validate says what it checked; JSON problems carry a code and the version") {
        TestDatabase db;
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", db.Dsn()}};
        auto empty = RunPgsplit({"migrate", "validate", "--ignore-pending"}, env);
        CHECK(empty.exit_code == 0);
        CHECK(empty.out == "valid: 6 migration file(s); 0 applied, checksums match; 6 pending, not counted "
                           "as a problem (--ignore-pending)\n");
        auto status = RunPgsplit({"--json", "migrate", "status"}, env);
        REQUIRE(status.exit_code == 0);
        CHECK(nlohmann::json::parse(status.out)["current_version"].is_null());

        auto pending = RunPgsplit({"--json", "migrate", "validate"}, env);
        CHECK(pending.exit_code == 5);
        auto doc = nlohmann::ordered_json::parse(pending.out);
        REQUIRE(doc["problems"].size() == 6);
        CHECK(doc["problems"][0]["code"] == "pending");
        CHECK(doc["problems"][0]["version"] == "0001");
        CHECK(doc["pending_checked"] == true);
        CHECK(doc.begin().key() == "ok");
    }

    TEST_CASE("migrate --json gives the versions before and after; a no-op run in Actions still sets "
              "schema_version") {
        TestDatabase db;
        ScratchDir gh;
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", db.Dsn()}};
        auto first = RunPgsplit({"--json", "migrate"}, env);
        REQUIRE_MESSAGE(first.exit_code == 0, first.All());
        auto doc = nlohmann::json::parse(first.out);
        CHECK(doc["version_before"].is_null());
        CHECK(doc["version_after"] == "0006");
        CHECK(doc["applied"].size() == 6);
        env["GITHUB_ACTIONS"] = "true";
        env["GITHUB_OUTPUT"] = gh / "output.txt";
        auto again = RunPgsplit({"--json", "migrate"}, env);
        REQUIRE_MESSAGE(again.exit_code == 0, again.All());
        auto noop = nlohmann::json::parse(again.out);
        CHECK(noop["version_before"] == "0006");
        CHECK(noop["version_after"] == "0006");
        CHECK(noop["applied"].empty());
        auto out = pgsplit::test::ReadText(gh / "output.txt");
        CHECK(Has(out, "applied=0\n"));
        CHECK(Has(out, "schema_version=0006\n"));

        // One rendering of times: "YYYY-MM-DD HH:MM:SS UTC" in tables, RFC 3339 UTC in JSON.
        std::map<std::string, std::string> plain = {{"POSTGRES_DSN", db.Dsn()}};
        auto table = RunPgsplit({"migrate", "status"}, plain);
        CHECK(std::regex_search(table.out, std::regex(R"(applied  +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)")));
        auto status = nlohmann::json::parse(RunPgsplit({"--json", "migrate", "status"}, plain).out);
        CHECK(std::regex_match(status["migrations"][0]["applied_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")));
    }

    TEST_CASE("a mistyped URI scheme is named as such, without the rest of the DSN") {
        auto r = RunPgsplit({"--dsn", "postgresq://app:Canary-Pw-91@db.example/app", "migrate", "status"});
        CHECK(r.exit_code == 3);
        CHECK(Has(r.err, "the DSN starts with 'postgresq://', which is not a PostgreSQL URI scheme"));
        CHECK(Has(r.err, "postgresql://"));
        CHECK_FALSE(Has(r.All(), "Canary-Pw-91"));
    }

    TEST_CASE("libpq's message lines are joined with punctuation, not run together") {
        using pgsplit::pg::JoinLines;
        CHECK(JoinLines("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
                        "\tIs the server running on that host and accepting TCP/IP connections?\n") ==
              "connection to server at \"127.0.0.1\", port 1 failed: Connection refused; Is the server "
              "running on that host and accepting TCP/IP connections?");
        CHECK(JoinLines("first host failed: timeout\nsecond host failed: refused\n") ==
              "first host failed: timeout; second host failed: refused");
        CHECK(JoinLines("ends with a stop.\n  next") == "ends with a stop. next");
        CHECK(JoinLines("one line") == "one line");
    }

    TEST_CASE("under JSON logs a result is one log line with structured fields, not table rows") {
        TestDatabase db;
        std::map<std::string, std::string> env = {{"POSTGRES_DSN", db.Dsn()},
                                                  {"CONTAINER_APP_JOB_NAME", "j"}};
        REQUIRE(RunPgsplit({"migrate"}, env).exit_code == 0);
        auto r = RunPgsplit({"migrate", "status"}, env);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(r.err.empty());
        auto lines = Lines(r.out);
        REQUIRE(lines.size() == 1);
        auto line = nlohmann::json::parse(lines[0]);
        CHECK(line["level"] == "info");
        CHECK(line["msg"] == "result");
        CHECK(line["command"] == "migrate");
        CHECK(line["result"]["current_version"] == "0006");
        CHECK(line["result"]["migrations"].size() == 6);
        CHECK_FALSE(Has(r.out, "VERSION"));
    }

    TEST_CASE("pgsplit manpage prints a roff page with every command, its example and the exit codes") {
        auto r = RunPgsplit({"manpage"});
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.rfind(".TH PGSPLIT 1 ", 0) == 0);
        for (const char* section : {".SS \"pgsplit migrate status\"", ".SS \"pgsplit runs stale\"",
                                    ".SS \"pgsplit inspect parquet\"", ".SS \"pgsplit completion\"",
                                    ".SH GLOBAL FLAGS", ".SH EXIT STATUS"}) {
            CHECK_MESSAGE(Has(r.out, section), section);
        }
        CHECK(Has(r.out, "pgsplit migrate baseline \\-\\-version 0002"));
        CHECK_FALSE(Has(r.out, ".SS \"pgsplit manpage\"")); // for the build, not listed
        CHECK_FALSE(Has(RunPgsplit({"--help"}).out, "manpage"));
        // groff reads it without a warning.
        ScratchDir dir;
        WriteText(dir / "pgsplit.1", r.out);
        pgsplit::test::Process groff({"/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z", dir / "pgsplit.1"},
                                     {});
        auto g = groff.Wait(60);
        CHECK_MESSAGE(g.exit_code == 0, g.All());
        CHECK_MESSAGE(g.err.empty(), g.err);
    }
}
