// Unit tests of the plan: files matched against history rows, the checks that stop apply, the lint.
#include "core/error.h"
#include "migrate/history.h"
#include "migrate/plan.h"

#include <doctest/doctest.h>

namespace mig = pgsplit::migrate;
using pgsplit::ExitCode;

namespace {

std::vector<mig::MigrationFile> Files() {
    return {mig::MakeMigration("0001_history.sql", "SELECT 1;\n", "embedded"),
            mig::MakeMigration("0002_roles.sql", "SELECT 2;\n", "embedded"),
            mig::MakeMigration("0003_signals.sql", "SELECT 3;\n", "embedded"),
            mig::MakeMigration("0004_runs.sql", "SELECT 4;\n", "embedded")};
}

mig::HistoryRow Row(const std::string& version, std::optional<std::string> checksum,
                    std::optional<std::string> applied_by = "ci") {
    mig::HistoryRow h;
    h.version = version;
    h.checksum = std::move(checksum);
    h.applied_by = std::move(applied_by);
    return h;
}

const pgsplit::Logger& QuietLog() {
    static pgsplit::Logger log(pgsplit::LogFormat::Text, pgsplit::LogLevel::Error, false);
    return log;
}

} // namespace

TEST_SUITE("migrate") {
    TEST_CASE("legacy version names are read by their leading number; other text is not a version") {
        CHECK(mig::VersionNumber("0003") == 3);
        CHECK(mig::VersionNumber("0003_ranking_signals") == 3);
        CHECK(mig::VersionNumber("0003_ranking_signals.sql") == 3);
        CHECK_FALSE(mig::VersionNumber("v3").has_value());
        CHECK_FALSE(mig::VersionNumber("3a").has_value());
        CHECK_FALSE(mig::VersionNumber("").has_value());
        CHECK_FALSE(mig::VersionNumber(std::string(19, '9')).has_value()); // would overflow
    }

    TEST_CASE("every file gets one state, and a recorded version without a file comes last") {
        auto files = Files();
        std::vector<mig::HistoryRow> history = {
            Row("0001", files[0].checksum),
            Row("0003", "sha256:0000"),                         // the file changed since
            Row("0002", files[1].checksum, "ops (baseline)"),   // recorded by baseline
            Row("0009_dropped", std::nullopt, "legacy runner"), // no file any more
            Row("manual fix", std::nullopt, "someone"),         // not a version at all
        };
        auto entries = mig::Compute(files, history, std::nullopt);
        REQUIRE(entries.size() == 6);
        CHECK(entries[0].state == mig::State::Applied);
        CHECK(entries[1].state == mig::State::Baseline);
        CHECK(entries[2].state == mig::State::ChecksumMismatch);
        CHECK(entries[2].stored_checksum == "sha256:0000");
        CHECK(entries[2].file_checksum == files[2].checksum);
        CHECK(entries[3].state == mig::State::OutOfOrder); // 0009 is recorded, so 0004 comes too late
        CHECK(entries[4].version == "0009_dropped");
        CHECK(entries[4].state == mig::State::MissingFile);
        CHECK(entries[5].version == "manual fix");
        CHECK(entries[5].state == mig::State::MissingFile);
    }

    TEST_CASE("a pending file older than the newest applied one is out of order; past --target is above it") {
        auto files = Files();
        auto entries =
            mig::Compute(files, {Row("0001", files[0].checksum), Row("0003", files[2].checksum)}, 3);
        REQUIRE(entries.size() == 4);
        CHECK(entries[1].state == mig::State::OutOfOrder);
        CHECK(entries[3].state == mig::State::AboveTarget);

        try {
            mig::CheckRunnable(entries, false, std::nullopt, QuietLog());
            FAIL("an out-of-order file must stop apply");
        } catch (const pgsplit::Error& e) {
            CHECK(e.code() == ExitCode::Verify);
            CHECK(std::string(e.what()).find("0002_roles.sql") != std::string::npos);
            CHECK(e.hint().find("--out-of-order") != std::string::npos);
        }
        CHECK_NOTHROW(mig::CheckRunnable(entries, true, std::nullopt, QuietLog()));
    }

    TEST_CASE("a changed applied file stops apply, and the repair hint keeps the --dir, quoted for a shell") {
        auto files = Files();
        auto entries = mig::Compute(files, {Row("0001", "sha256:old")}, std::nullopt);
        try {
            mig::CheckRunnable(entries, true, std::string("/srv/my migrations"), QuietLog());
            FAIL("a checksum mismatch must stop apply");
        } catch (const pgsplit::Error& e) {
            CHECK(e.code() == ExitCode::Verify);
            CHECK(std::string(e.what()).find("stored sha256:old") != std::string::npos);
            CHECK(e.hint().find("pgsplit migrate repair --dir '/srv/my migrations' --yes") !=
                  std::string::npos);
        }
    }

    TEST_CASE("lint refuses transaction control, a non-transactional statement in a transaction, and a "
              "no-transaction file of two statements") {
        CHECK_FALSE(
            mig::Lint(mig::MakeMigration("0005_ok.sql", "CREATE TABLE t (a int);\n", "x")).has_value());
        auto begin =
            mig::Lint(mig::MakeMigration("0005_tx.sql", "BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n", "x"));
        REQUIRE(begin.has_value());
        CHECK(begin->find("line 1") != std::string::npos);
        auto concurrently =
            mig::Lint(mig::MakeMigration("0005_ix.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n", "x"));
        REQUIRE(concurrently.has_value());
        CHECK(concurrently->find("pgsplit:no-transaction") != std::string::npos);
        auto two = mig::Lint(mig::MakeMigration(
            "0005_two.sql", "-- pgsplit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\nSELECT 1;\n",
            "x"));
        REQUIRE(two.has_value());
        CHECK(two->find("holds 2 statements") != std::string::npos);
        CHECK_FALSE(mig::Lint(mig::MakeMigration(
                                  "0005_one.sql",
                                  "-- pgsplit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n", "x"))
                        .has_value());
    }
}
