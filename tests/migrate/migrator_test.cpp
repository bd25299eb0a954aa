// Integration tests of the migration engine against the throwaway cluster.
#include "core/error.h"
#include "migrate/embedded.h"
#include "migrate/migrator.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

namespace mig = pgsplit::migrate;
using pgsplit::ExitCode;
using pgsplit::test::ScratchDir;
using pgsplit::test::TestDatabase;
using pgsplit::test::WriteText;

namespace {

const pgsplit::Logger& QuietLog() {
    static pgsplit::Logger log(pgsplit::LogFormat::Text, pgsplit::LogLevel::Error, false);
    return log;
}

mig::Options Opts(const TestDatabase& db, const std::string& dir = "") {
    mig::Options o;
    o.dsn = db.Dsn();
    if (!dir.empty()) {
        o.dir = dir;
    }
    o.lock_wait = std::chrono::seconds(5);
    o.retry_backoff = std::chrono::milliseconds(100);
    return o;
}

// Copies the embedded migrations into `dir` so a test can edit or add files.
void WriteEmbedded(const std::string& dir) {
    for (const auto& f : pgsplit::EmbeddedMigrations()) {
        WriteText(dir + "/" + f.name, f.contents);
    }
}

ExitCode CodeOf(const std::function<void()>& fn, std::string* message = nullptr) {
    try {
        fn();
    } catch (const pgsplit::Error& e) {
        if (message) {
            *message = e.what();
        }
        return e.code();
    }
    return ExitCode::Ok;
}

} // namespace

TEST_SUITE("migrate-pg") {
    TEST_CASE("a fresh database gets 0001-0006, and a second run applies nothing") {
        TestDatabase db;
        mig::Migrator m(QuietLog(), Opts(db));
        auto first = m.Apply(false);
        CHECK(first.applied.size() == 6);
        auto second = m.Apply(false);
        CHECK(second.applied.empty());
        auto status = m.Status();
        REQUIRE(status.size() == 6);
        for (const auto& e : status) {
            CHECK(e.state == mig::State::Applied);
            REQUIRE(e.stored_checksum.has_value());
            CHECK(e.stored_checksum->rfind("sha256:", 0) == 0);
            CHECK(e.execution_ms.has_value());
        }
        CHECK(db.Value("SELECT count(*) FROM public.schema_migrations") == "6");
        CHECK(db.Value("SELECT string_agg(applied_by, ',') FROM public.schema_migrations") ==
              "postgres,postgres,postgres,postgres,postgres,postgres");
    }

    TEST_CASE("the signal tables are list-partitioned by year_month and owned by ranking_owner") {
        TestDatabase db;
        mig::Migrator(QuietLog(), Opts(db)).Apply(false);
        for (const char* t : {"ranking_signal", "composite_signal_daily"}) {
            CAPTURE(t);
            CHECK(
                db.Value(
                    std::string(
                        "SELECT partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                        "WHERE c.relname = '") +
                    t + "'") == "l");
            CHECK(
                db.Value(
                    std::string(
                        "SELECT a.attname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0] "
                        "WHERE c.relname = '") +
                    t + "'") == "year_month");
            CHECK(db.Value(std::string("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = '") +
                           t + "'") == "ranking_owner");
        }
        CHECK(db.Value("SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || "
                       "a.attnotnull, ',' "
                       "ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = "
                       "'ranking.ranking_signal'::regclass AND "
                       "a.attnum > 0") ==
              "date:date:true,year_month:text:true,symbol:text:true,strategy:text:true,rank:integer:true,"
              "rank_percentile:double precision:true,n_symbols:integer:true,score:double precision:false");
        CHECK(db.Value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                       "'ranking.ranking_signal'::regclass AND contype = 'p'") ==
              "PRIMARY KEY (date, symbol, strategy, year_month)");
        CHECK(db.Value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                       "'ranking.composite_signal_daily'::regclass AND contype = 'p'") ==
              "PRIMARY KEY (date, symbol, year_month)");
        CHECK(db.Value("SELECT count(*) FROM pg_indexes WHERE schemaname = 'ranking' AND tablename = "
                       "'ranking_signal'") == "3");
        CHECK(db.Value("SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN "
                       "('core','ranking','backtest','monitoring','gold','platinum')") ==
              "backtest,core,gold,monitoring,platinum,ranking");
        CHECK(db.Value(
                  "SELECT count(*) FROM pg_indexes WHERE schemaname = 'backtest' AND tablename = 'runs'") ==
              "3");
    }

    TEST_CASE("a database prepared the legacy way by psql is adopted without errors or duplicates") {
        ScratchDir tmp;
        WriteEmbedded(tmp.Path());
        for (bool with_rows : {false, true}) {
            CAPTURE(with_rows);
            TestDatabase db;
            // The legacy runner: history table with only version/applied_at, files run by psql.
            auto c = db.Connect();
            c.Exec("CREATE TABLE public.schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ "
                   "NOT NULL DEFAULT now())");
            for (const auto& f : pgsplit::EmbeddedMigrations()) {
                std::string cmd = "psql -q -v ON_ERROR_STOP=1 \"" + db.Dsn() + "\" -f " + tmp.Path() + "/" +
                                  f.name + " >/dev/null 2>&1";
                REQUIRE(std::system(cmd.c_str()) == 0);
                if (with_rows) {
                    c.Exec("INSERT INTO public.schema_migrations (version) VALUES ($1)", {f.name});
                }
            }
            std::string tables_before =
                db.Value("SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM "
                         "pg_namespace WHERE nspname IN ('ranking','backtest'))");
            mig::Migrator m(QuietLog(), Opts(db));
            auto r = m.Apply(false);
            CHECK(r.applied.size() == (with_rows ? 0u : 6u));
            CHECK(
                db.Value(
                    "SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE "
                    "nspname IN ('ranking','backtest'))") == tables_before);
            CHECK(db.Value("SELECT count(*) FROM public.schema_migrations WHERE checksum LIKE 'sha256:%'") ==
                  "6");
            CHECK(
                db.Value("SELECT string_agg(version, ',' ORDER BY version) FROM public.schema_migrations") ==
                "0001,0002,0003,0004,0005,0006");
            for (const auto& e : m.Status()) {
                CHECK(e.state == mig::State::Applied);
            }
        }
    }

    TEST_CASE("legacy unpartitioned signal tables are kept untouched") {
        TestDatabase db;
        auto c = db.Connect();
        c.ExecScript(
            "CREATE SCHEMA ranking; CREATE TABLE ranking.ranking_signal (date DATE NOT NULL, year_month TEXT "
            "NOT NULL, "
            "symbol TEXT NOT NULL, strategy TEXT NOT NULL, rank INTEGER NOT NULL, rank_percentile DOUBLE "
            "PRECISION NOT NULL, "
            "n_symbols INTEGER NOT NULL, score DOUBLE PRECISION NULL, PRIMARY KEY (date, symbol, strategy)); "
            "INSERT INTO ranking.ranking_signal VALUES ('2024-01-02', '2024-01', 'AAA', 's1', 1, 0.5, 10, "
            "NULL)");
        std::string owner = db.Value(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'ranking.ranking_signal'::regclass");
        mig::Migrator(QuietLog(), Opts(db)).Apply(false);
        CHECK(db.Value("SELECT relkind FROM pg_class WHERE oid = 'ranking.ranking_signal'::regclass") == "r");
        CHECK(db.Value("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = "
                       "'ranking.ranking_signal'::regclass") == owner);
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "1");
        CHECK(
            db.Value("SELECT relkind FROM pg_class WHERE oid = 'ranking.composite_signal_daily'::regclass") ==
            "p");
    }

    TEST_CASE("a migration that fails half way leaves no history row and no objects; fixed, it applies") {
        TestDatabase db;
        ScratchDir tmp;
        WriteEmbedded(tmp.Path());
        WriteText(tmp / "0007_broken.sql",
                  "CREATE TABLE core.half (a int);\nINSERT INTO core.half VALUES (1);\n"
                  "INSERT INTO core.missing VALUES (2);\n");
        mig::Migrator m(QuietLog(), Opts(db, tmp.Path()));
        std::string msg;
        CHECK(CodeOf([&] { m.Apply(false); }, &msg) == ExitCode::Failure);
        CHECK(msg.find("0007_broken.sql") != std::string::npos);
        CHECK(msg.find("line 3") != std::string::npos);
        CHECK(msg.find("42P01") != std::string::npos);
        CHECK(db.Value("SELECT count(*) FROM public.schema_migrations") == "6");
        CHECK(db.Value("SELECT to_regclass('core.half')") == "");
        WriteText(tmp / "0007_broken.sql",
                  "CREATE TABLE core.half (a int);\nINSERT INTO core.half VALUES (1);\n");
        mig::Migrator fixed(QuietLog(), Opts(db, tmp.Path()));
        CHECK(fixed.Apply(false).applied.size() == 1);
        CHECK(db.Value("SELECT count(*) FROM core.half") == "1");
    }

    TEST_CASE("an edited applied file is refused with both checksums, and repair realigns it") {
        TestDatabase db;
        ScratchDir tmp;
        WriteEmbedded(tmp.Path());
        mig::Migrator(QuietLog(), Opts(db, tmp.Path())).Apply(false);
        WriteText(tmp / "0002_init_schemas.sql", "CREATE SCHEMA IF NOT EXISTS core; -- edited\n");
        WriteText(tmp / "0007_next.sql", "CREATE TABLE core.next (a int);\n");
        mig::Migrator m(QuietLog(), Opts(db, tmp.Path()));
        std::string msg;
        CHECK(CodeOf([&] { m.Apply(false); }, &msg) == ExitCode::Verify);
        CHECK(msg.find("0002_init_schemas.sql") != std::string::npos);
        CHECK(msg.find("stored sha256:") != std::string::npos);
        CHECK(msg.find("file now sha256:") != std::string::npos);
        CHECK(db.Value("SELECT to_regclass('core.next')") == ""); // nothing ran
        CHECK(m.Validate().size() == 2);                          // mismatch + pending 0007
        auto preview = m.Repair(false);
        CHECK(preview.size() == 1);
        auto fixed = m.Repair(true);
        CHECK(fixed.size() == 1);
        CHECK(m.Apply(false).applied.size() == 1);
        CHECK(m.Validate().empty());
    }

    TEST_CASE("the same migrations with CRLF endings and a BOM are not seen as changed") {
        TestDatabase db;
        ScratchDir lf, crlf;
        WriteEmbedded(lf.Path());
        for (const auto& f : pgsplit::EmbeddedMigrations()) {
            std::string text = "\xEF\xBB\xBF";
            for (char ch : f.contents) {
                text += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
            }
            WriteText(crlf / f.name, text);
        }
        mig::Migrator(QuietLog(), Opts(db, lf.Path())).Apply(false);
        mig::Migrator windows(QuietLog(), Opts(db, crlf.Path()));
        CHECK(windows.Validate().empty());
        CHECK(windows.Apply(false).applied.empty());
    }

    TEST_CASE("a pending file older than the newest applied one needs --out-of-order") {
        TestDatabase db;
        ScratchDir tmp;
        WriteEmbedded(tmp.Path());
        WriteText(tmp / "0010_late.sql", "CREATE TABLE core.late (a int);\n");
        mig::Migrator(QuietLog(), Opts(db, tmp.Path())).Apply(false);
        WriteText(tmp / "0008_early.sql", "CREATE TABLE core.early (a int);\n");
        mig::Migrator m(QuietLog(), Opts(db, tmp.Path()));
        CHECK(CodeOf([&] { m.Apply(false); }) == ExitCode::Verify);
        auto opts = Opts(db, tmp.Path());
        opts.out_of_order = true;
        CHECK(mig::Migrator(QuietLog(), opts).Apply(false).applied.size() == 1);
    }

    TEST_CASE("--target stops after the named version and an unknown target is a usage error") {
        TestDatabase db;
        auto opts = Opts(db);
        opts.target = "0002";
        auto r = mig::Migrator(QuietLog(), opts).Apply(false);
        CHECK(r.applied.size() == 2);
        CHECK(r.pending.size() == 4);
        CHECK(db.Value("SELECT to_regclass('ranking.ranking_signal')") == "");
        opts.target = "0009";
        CHECK(CodeOf([&] { mig::Migrator(QuietLog(), opts); }) == ExitCode::Usage);
    }

    TEST_CASE("plan and dry run change nothing") {
        TestDatabase db;
        mig::Migrator m(QuietLog(), Opts(db));
        auto r = m.Apply(true);
        CHECK(r.pending.size() == 6);
        CHECK(r.applied.empty());
        CHECK(db.Value("SELECT to_regclass('public.schema_migrations')") == "");
    }

    TEST_CASE("baseline records versions without running them") {
        TestDatabase db;
        mig::Migrator m(QuietLog(), Opts(db));
        auto recorded = m.Baseline("0002");
        CHECK(recorded.size() == 2);
        CHECK(db.Value("SELECT to_regnamespace('core')") == ""); // 0002 was not run
        auto status = m.Status();
        CHECK(status[1].state == mig::State::Baseline);
        // Baseline is for a database whose early schema was made another way: make it, then apply the rest.
        db.Connect().ExecScript("CREATE SCHEMA ranking; CREATE SCHEMA backtest");
        CHECK(m.Apply(false).applied.size() == 4);
    }

    TEST_CASE("an applied version without a file is reported as missing") {
        TestDatabase db;
        mig::Migrator(QuietLog(), Opts(db)).Apply(false);
        db.Connect().Exec(
            "INSERT INTO public.schema_migrations (version, checksum) VALUES ('0009', 'sha256:00')");
        mig::Migrator m(QuietLog(), Opts(db));
        auto status = m.Status();
        CHECK(status.back().state == mig::State::MissingFile);
        CHECK(m.Apply(false).applied.empty()); // a warning, not a failure
        CHECK(m.Validate().size() == 1);
    }

    TEST_CASE("a file with its own BEGIN/COMMIT is refused with file and line, nothing applied") {
        TestDatabase db;
        ScratchDir tmp;
        WriteEmbedded(tmp.Path());
        WriteText(tmp / "0007_tx.sql",
                  "CREATE TABLE core.t (a int);\nBEGIN;\nINSERT INTO core.t VALUES (1);\nCOMMIT;\n");
        std::string msg;
        CHECK(CodeOf([&] { mig::Migrator(QuietLog(), Opts(db, tmp.Path())).Apply(false); }, &msg) ==
              ExitCode::Verify);
        CHECK(msg.find("0007_tx.sql line 2") != std::string::npos);
        CHECK(msg.find("BEGIN") != std::string::npos);
        CHECK(db.Value("SELECT count(*) FROM public.schema_migrations") == "0");
    }

    TEST_CASE("CREATE INDEX CONCURRENTLY needs the no-transaction directive and then runs alone") {
        TestDatabase db;
        ScratchDir tmp;
        WriteEmbedded(tmp.Path());
        WriteText(tmp / "0007_idx.sql",
                  "CREATE INDEX CONCURRENTLY runs_name_idx ON backtest.runs (run_name);\n");
        std::string msg;
        CHECK(CodeOf([&] { mig::Migrator(QuietLog(), Opts(db, tmp.Path())).Apply(false); }, &msg) ==
              ExitCode::Verify);
        CHECK(msg.find("CREATE INDEX CONCURRENTLY") != std::string::npos);
        CHECK(msg.find("pgsplit:no-transaction") != std::string::npos);
        WriteText(tmp / "0007_idx.sql", "-- pgsplit:no-transaction\nCREATE INDEX CONCURRENTLY runs_name_idx "
                                        "ON backtest.runs (run_name);\n");
        auto r = mig::Migrator(QuietLog(), Opts(db, tmp.Path())).Apply(false);
        CHECK(r.applied.size() == 7);
        CHECK(db.Value("SELECT count(*) FROM pg_indexes WHERE indexname = 'runs_name_idx'") == "1");
        WriteText(tmp / "0008_two.sql", "-- pgsplit:no-transaction\nVACUUM backtest.runs;\nSELECT 1;\n");
        CHECK(CodeOf([&] { mig::Migrator(QuietLog(), Opts(db, tmp.Path())).Apply(false); }) ==
              ExitCode::Verify);
    }

    TEST_CASE("a DDL blocked by a long reader is retried after lock_timeout, then fails with exit 6") {
        TestDatabase db;
        ScratchDir tmp;
        WriteEmbedded(tmp.Path());
        mig::Migrator(QuietLog(), Opts(db, tmp.Path())).Apply(false);
        WriteText(tmp / "0007_alter.sql", "ALTER TABLE backtest.runs ADD COLUMN note TEXT;\n");
        auto opts = Opts(db, tmp.Path());
        opts.lock_timeout = "200ms";
        opts.lock_timeout_retries = 2;

        SUBCASE("the reader goes away during the retries") {
            auto reader = db.Connect();
            reader.ExecScript("BEGIN; SELECT count(*) FROM backtest.runs");
            auto applying =
                std::async(std::launch::async, [&] { return mig::Migrator(QuietLog(), opts).Apply(false); });
            // The reader lets go only once the ALTER has waited on its lock twice (two statements with
            // different start times): the first attempt timed out and the migrator retried.
            std::set<std::string> attempts;
            for (int i = 0; i < 1000 && attempts.size() < 2; ++i) {
                std::string start = db.Value("SELECT query_start::text FROM pg_stat_activity WHERE datname = "
                                             "current_database() AND wait_event_type = 'Lock' AND query LIKE "
                                             "'ALTER TABLE backtest.runs ADD COLUMN note%'");
                if (!start.empty()) {
                    attempts.insert(start);
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            reader.Exec("COMMIT");
            REQUIRE_MESSAGE(attempts.size() == 2,
                            "the ALTER was not seen retrying while the reader held the table");
            auto r = applying.get();
            CHECK(r.applied.size() == 1);
            CHECK(db.Value(
                      "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'backtest' AND "
                      "table_name = 'runs' AND column_name = 'note'") == "1");
        }
        SUBCASE("the reader never lets go") {
            auto reader = db.Connect();
            reader.ExecScript("BEGIN; SELECT count(*) FROM backtest.runs");
            std::string msg;
            CHECK(CodeOf([&] { mig::Migrator(QuietLog(), opts).Apply(false); }, &msg) == ExitCode::Lock);
            CHECK(msg.find("0007_alter.sql") != std::string::npos);
            CHECK(db.Value("SELECT count(*) FROM public.schema_migrations WHERE version = '0007'") == "0");
            reader.Exec("ROLLBACK");
        }
    }
}
