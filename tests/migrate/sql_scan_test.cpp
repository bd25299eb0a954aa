#include "migrate/sql_scan.h"

#include <doctest/doctest.h>

using namespace pgsplit::migrate; // NOLINT: test brevity

TEST_SUITE("migrate") {
    TEST_CASE("statements are split on top-level semicolons with their first line") {
        auto s =
            SplitStatements("CREATE TABLE a (x int);\n\nINSERT INTO a VALUES (1);\n-- trailing comment\n");
        REQUIRE(s.size() == 2);
        CHECK(s[0].line == 1);
        CHECK(s[0].words.front() == "CREATE");
        CHECK(s[1].line == 3);
        CHECK(s[1].words.front() == "INSERT");
    }

    TEST_CASE("semicolons and keywords inside quotes, comments and dollar quotes do not count") {
        auto s =
            SplitStatements("SELECT 'a; COMMIT;' AS x; /* BEGIN; /* nested; */ COMMIT; */ SELECT \"x;y\";\n"
                            "DO $$ BEGIN PERFORM 1; END $$;\n"
                            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n"
                            "SELECT E'it\\'s; fine';\n");
        REQUIRE(s.size() == 5);
        CHECK_FALSE(FindTransactionControl(s).has_value());
    }

    TEST_CASE("a file's own BEGIN or COMMIT is found with its line") {
        auto s = SplitStatements("CREATE TABLE a (x int);\nBEGIN;\nINSERT INTO a VALUES (1);\nCOMMIT;\n");
        auto f = FindTransactionControl(s);
        REQUIRE(f.has_value());
        CHECK(f->line == 2);
        CHECK(f->what == "BEGIN");
        auto s2 = SplitStatements("SELECT 1;\nSTART TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n");
        CHECK(FindTransactionControl(s2)->what == "START TRANSACTION");
        auto s3 = SplitStatements("SAVEPOINT a; ROLLBACK TO SAVEPOINT a;");
        CHECK_FALSE(FindTransactionControl(s3).has_value());
    }

    TEST_CASE("statements that cannot run in a transaction are detected") {
        CHECK(FindNonTransactional(SplitStatements("CREATE INDEX CONCURRENTLY i ON t (a);"))->what ==
              "CREATE INDEX CONCURRENTLY");
        CHECK(FindNonTransactional(
                  SplitStatements("create unique index concurrently if not exists i on t (a);"))
                  ->what == "CREATE INDEX CONCURRENTLY");
        CHECK(FindNonTransactional(SplitStatements("SELECT 1;\nVACUUM ANALYZE t;"))->line == 2);
        CHECK(FindNonTransactional(SplitStatements("DROP INDEX CONCURRENTLY i;")).has_value());
        CHECK(FindNonTransactional(SplitStatements("ALTER TABLE p DETACH PARTITION c CONCURRENTLY;"))
                  .has_value());
        CHECK(FindNonTransactional(SplitStatements("CREATE DATABASE x;")).has_value());
        CHECK_FALSE(
            FindNonTransactional(SplitStatements("CREATE INDEX i ON t (a); SELECT 'VACUUM';")).has_value());
    }

    TEST_CASE("a BEGIN ATOMIC function body stays one statement") {
        auto s = SplitStatements(
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
            "SELECT 3;");
        REQUIRE(s.size() == 2);
        CHECK_FALSE(FindTransactionControl(s).has_value());
    }
}
