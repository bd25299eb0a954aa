// What the app roles can and cannot do after migrate (SPEC §8).
#include "migrate/migrator.h"
#include "support/pg_cluster.h"

#include <doctest/doctest.h>

namespace mig = pgsplit::migrate;
using pgsplit::test::EnsureRole;
using pgsplit::test::TcpDsn;
using pgsplit::test::TestDatabase;

namespace {

std::string SqlStateOf(pgsplit::pg::Connection& c, const std::string& sql) {
    try {
        c.Exec(sql);
    } catch (const pgsplit::pg::SqlError& e) {
        return e.sqlstate();
    }
    return "ok";
}

} // namespace

TEST_SUITE("migrate-pg") {
    TEST_CASE(
        "ranking_writer manages month partitions through ranking_owner and cannot touch backtest or core") {
        EnsureRole("ranking_writer", "Writer-Canary-roles1");
        EnsureRole("api_service", "Api-Canary-roles2");
        TestDatabase db;
        db.Connect().Exec("GRANT CONNECT ON DATABASE " + db.Name() + " TO ranking_writer, api_service");
        mig::Options o;
        o.dsn = db.Dsn();
        pgsplit::Logger quiet(pgsplit::LogFormat::Text, pgsplit::LogLevel::Error, false);
        mig::Migrator(quiet, o).Apply(false);

        auto w = pgsplit::pg::Connection::Open(TcpDsn("ranking_writer", "Writer-Canary-roles1", db.Name()));
        w.Exec("BEGIN");
        w.Exec("CREATE TABLE ranking.ranking_signal_stage (date DATE NOT NULL, year_month TEXT NOT NULL, "
               "symbol TEXT NOT NULL, "
               "strategy TEXT NOT NULL, rank INTEGER NOT NULL, rank_percentile DOUBLE PRECISION NOT NULL, "
               "n_symbols INTEGER "
               "NOT NULL, score DOUBLE PRECISION, CHECK (year_month = '2024-01'))");
        w.CopyStart("COPY ranking.ranking_signal_stage FROM STDIN");
        std::string row = "2024-01-02\t2024-01\tAAA\tmomentum\t1\t0.5\t10\t\\N\n";
        w.CopyData(row.data(), row.size());
        CHECK(w.CopyEnd() == 1);
        w.Exec("ALTER TABLE ranking.ranking_signal ATTACH PARTITION ranking.ranking_signal_stage FOR VALUES "
               "IN ('2024-01')");
        w.Exec("ALTER TABLE ranking.ranking_signal_stage RENAME TO ranking_signal_p2024_01");
        w.Exec("COMMIT");
        CHECK(w.QueryValue("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2024-01'") ==
              "1");
        w.Exec("ALTER TABLE ranking.ranking_signal DETACH PARTITION ranking.ranking_signal_p2024_01");
        w.Exec("DROP TABLE ranking.ranking_signal_p2024_01");
        CHECK(w.QueryValue("SELECT count(*) FROM ranking.ranking_signal") == "0");

        CHECK(SqlStateOf(w, "SELECT * FROM backtest.runs") == "42501");
        CHECK(SqlStateOf(w, "CREATE TABLE core.sneaky (a int)") == "42501");
        CHECK(SqlStateOf(w, "CREATE TABLE public.sneaky (a int)") == "42501");

        auto api = pgsplit::pg::Connection::Open(TcpDsn("api_service", "Api-Canary-roles2", db.Name()));
        CHECK(api.QueryValue("SELECT count(*) FROM ranking.ranking_signal") == "0");
        CHECK(api.QueryValue("SELECT count(*) FROM ranking.signal_sync_state") == "0");
        CHECK(SqlStateOf(api, "INSERT INTO ranking.signal_sync_state (year_month) VALUES ('2024-01')") ==
              "42501");
        CHECK(SqlStateOf(api, "DELETE FROM ranking.ranking_signal") == "42501");
        CHECK(SqlStateOf(api, "CREATE TABLE ranking.x (a int)") == "42501");
    }
}
