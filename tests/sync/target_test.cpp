// The stage table's DDL is built from structured catalog data, never from SQL text the server
// rendered: an index name chosen by a member of ranking_owner must not become SQL that the next sync
// runs with the sync's (possibly superuser) role (issue 14, item 1).
#include "migrate/migrator.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"

#include <doctest/doctest.h>
#include <filesystem>

using pgsplit::test::EnsureRole;
using pgsplit::test::ProcResult;
using pgsplit::test::RunPgsplit;
using pgsplit::test::TcpDsn;
using pgsplit::test::TestDatabase;

namespace {

// A role of this test alone (cluster-wide roles are shared by the suite): a member of ranking_owner,
// like ranking_writer, and the target of the planted ALTER ROLE.
constexpr const char* kPlanter = "plant_w";
constexpr const char* kPlanterPassword = "Plant-Canary-target1";

void Migrate(const TestDatabase& db) {
    pgsplit::test::MigrateQuietly(db);
}

pgsplit::pg::Connection Planter(const TestDatabase& db) {
    EnsureRole(kPlanter, kPlanterPassword);
    auto admin = db.Connect();
    admin.Exec("ALTER ROLE plant_w NOSUPERUSER");
    admin.Exec("GRANT CONNECT ON DATABASE " + db.Name() + " TO plant_w");
    admin.Exec("GRANT ranking_owner TO plant_w");
    admin.Exec("GRANT USAGE ON SCHEMA ranking TO plant_w");
    return pgsplit::pg::Connection::Open(TcpDsn(kPlanter, kPlanterPassword, db.Name()));
}

ProcResult SyncBasic(const TestDatabase& db, const std::string& month = "2024-02") {
    return pgsplit::test::RunSyncSignals(db, "basic", {"--month", month});
}

std::string Value(const TestDatabase& db, const std::string& sql, const pgsplit::pg::Params& params) {
    return db.Connect().QueryValue(sql, params).value_or("");
}

// How many partition indexes of the month's partition are attached to the parent index `name`.
std::string AttachedTo(const TestDatabase& db, const std::string& name, const std::string& partition) {
    return Value(db,
                 "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                 "JOIN pg_index x ON x.indexrelid = c.oid "
                 "WHERE i.inhparent = (SELECT oid FROM pg_class WHERE relname = $1) "
                 "AND x.indrelid = to_regclass($2)",
                 {name, partition});
}

} // namespace

TEST_SUITE("sync") {
    TEST_CASE(
        "an index name carrying SQL, planted by a ranking_owner member, runs nothing on the next sync") {
        TestDatabase db;
        Migrate(db);
        auto planter = Planter(db);
        // With the old text-cutting code, everything after the first " USING " in the index definition
        // ran as the sync's statement: these names would have made plant_w a superuser and created a
        // table as the sync's role.
        const std::string escalate = "x USING btree(date);ALTER ROLE plant_w SUPERUSER;--";
        const std::string trace = "y USING btree(date);CREATE TABLE public.pwned();--";
        planter.Exec("CREATE INDEX " + pgsplit::pg::QuoteIdent(planter, escalate) +
                     " ON ranking.ranking_signal (symbol)");
        planter.Exec("CREATE INDEX " + pgsplit::pg::QuoteIdent(planter, trace) +
                     " ON ranking.composite_signal_daily (symbol DESC NULLS LAST)");

        auto r = SyncBasic(db);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(Value(db, "SELECT rolsuper::text FROM pg_roles WHERE rolname = $1", {kPlanter}) == "false");
        CHECK(Value(db, "SELECT to_regclass('public.pwned') IS NULL", {}) == "t");
        // The index is reproduced faithfully: ATTACH PARTITION matched the new partition's index to the
        // planted parent index, which it does only when the definitions are equal.
        CHECK(AttachedTo(db, escalate, "ranking.ranking_signal_p2024_02") == "1");
        CHECK(AttachedTo(db, trace, "ranking.composite_signal_daily_p2024_02") == "1");
        CHECK(r.out.find("USING btree(date)") == std::string::npos);
        CHECK(r.err.find("ALTER ROLE") == std::string::npos);
    }

    TEST_CASE("index options, operator classes, collations, order and INCLUDE are rebuilt on the partition") {
        TestDatabase db;
        Migrate(db);
        auto c = db.Connect();
        c.Exec("ALTER TABLE ranking.ranking_signal ALTER COLUMN strategy TYPE text COLLATE \"C\"");
        c.Exec(
            "CREATE INDEX rs_opts ON ranking.ranking_signal (symbol text_pattern_ops, rank DESC NULLS LAST, "
            "score NULLS FIRST) INCLUDE (n_symbols) WITH (fillfactor = 70)");
        c.Exec("CREATE INDEX rs_coll ON ranking.ranking_signal (strategy COLLATE \"POSIX\")");
        c.Exec("CREATE INDEX rs_hash ON ranking.ranking_signal USING hash (symbol)");
        c.Exec("CREATE UNIQUE INDEX rs_uniq ON ranking.ranking_signal (date, symbol, strategy, year_month) "
               "NULLS NOT DISTINCT");

        auto r = SyncBasic(db);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        for (const char* name : {"rs_opts", "rs_coll", "rs_hash", "rs_uniq"}) {
            CAPTURE(name);
            CHECK(AttachedTo(db, name, "ranking.ranking_signal_p2024_02") == "1");
        }
        std::string def = Value(db,
                                "SELECT pg_get_indexdef(x.indexrelid) FROM pg_inherits i "
                                "JOIN pg_index x ON x.indexrelid = i.inhrelid "
                                "WHERE i.inhparent = 'ranking.rs_opts'::regclass",
                                {});
        CHECK(def.find("text_pattern_ops") != std::string::npos);
        CHECK(def.find("rank DESC NULLS LAST") != std::string::npos);
        CHECK(def.find("score NULLS FIRST") != std::string::npos);
        CHECK(def.find("INCLUDE (n_symbols)") != std::string::npos);
        CHECK(def.find("fillfactor='70'") != std::string::npos);
        CHECK(
            Value(db,
                  "SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation "
                  "WHERE a.attrelid = 'ranking.ranking_signal_p2024_02'::regclass AND a.attname = 'strategy'",
                  {}) == "C");
    }

    TEST_CASE("an index the stage cannot rebuild is refused by name with exit 7 before anything changes") {
        TestDatabase db;
        Migrate(db);
        auto planter = Planter(db);
        REQUIRE(SyncBasic(db).exit_code == 0);
        std::string before = Value(db,
                                   "SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) "
                                   "FROM ranking.ranking_signal t WHERE year_month = '2024-02'",
                                   {});
        // A newline and a workflow command in the name: the message must neither break the line nor
        // start a command.
        planter.Exec("CREATE INDEX " + pgsplit::pg::QuoteIdent(planter, "evil\n::error::x") +
                     " ON ranking.ranking_signal (lower(symbol))");

        auto r = SyncBasic(db);
        CHECK_MESSAGE(r.exit_code == 7, r.All());
        CHECK(r.err.find("index \"evil\\x0a::error::x\" of \"ranking\".\"ranking_signal\"") !=
              std::string::npos);
        CHECK(r.err.find("expression key") != std::string::npos);
        CHECK(r.err.find("\n::error") == std::string::npos);
        CHECK(Value(db,
                    "SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) "
                    "FROM ranking.ranking_signal t WHERE year_month = '2024-02'",
                    {}) == before);

        planter.Exec("DROP INDEX ranking." + pgsplit::pg::QuoteIdent(planter, "evil\n::error::x"));
        planter.Exec("CREATE INDEX partial_one ON ranking.ranking_signal (symbol) WHERE rank < 10");
        r = SyncBasic(db);
        CHECK_MESSAGE(r.exit_code == 7, r.All());
        CHECK(r.err.find("index \"partial_one\"") != std::string::npos);
        CHECK(r.err.find("partial index") != std::string::npos);
    }

    TEST_CASE("a second statement in any single-statement call is refused by the server, not run") {
        TestDatabase db;
        auto c = db.Connect();
        bool refused = false;
        try {
            c.Exec("SELECT 1; CREATE TABLE public.second_statement ()");
        } catch (const pgsplit::pg::SqlError& e) {
            refused = e.sqlstate() == "42601";
        }
        CHECK(refused);
        CHECK(db.Value("SELECT to_regclass('public.second_statement') IS NULL") == "t");
    }
}
