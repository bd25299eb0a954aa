// convert-legacy (issue 16): a legacy database built here (scripts/lib/legacy-schema.sql, 24 months of
// generated rows) converted by the built binary into 0003's layout, with readers and a lock-bypassing
// writer running, and interrupted at random moments (SIGTERM, a killed backend, a server restart).
#include "legacy/convert.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"
#include "sync/partition_sync.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace pgsplit::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSignals = "ranking.ranking_signal";
constexpr const char* kComposite = "ranking.composite_signal_daily";

// The app roles 0003 grants to, created (as login roles, no password set here) before migrate.
void EnsureAppRoles() {
    auto c = pg::Connection::Open(SuperuserDsn(), "pgsplit-test");
    for (const char* role : {"ranking_writer", "api_service"}) {
        if (c.QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = $1", {role}) == "0") {
            c.Exec(fmt::format("CREATE ROLE {} LOGIN", role));
        }
    }
}

// The legacy runner's schema and `days` x `symbols` rows a day for 2023-01..2024-12, then migrate
// (which leaves the plain tables as they are).
void MakeLegacyDatabase(const TestDatabase& db, int days, int symbols) {
    auto c = db.Connect();
    c.ExecScript(ReadText((SourceDir() / "scripts" / "lib" / "legacy-schema.sql").string()));
    c.Exec("SELECT public.legacy_fill('2023-01-01', 24, $1::int, $2::int)",
           {std::to_string(days), std::to_string(symbols)});
    MigrateQuietly(db);
}

ProcResult Convert(const TestDatabase& db, std::vector<std::string> args = {}) {
    args.insert(args.begin(), "convert-legacy");
    return RunPgsplit(args, {{"POSTGRES_DSN", db.Dsn()}});
}

// Rows in one table and not the other, both ways (EXCEPT ALL), optionally leaving out a month.
std::string Differences(const TestDatabase& db, const std::string& a, const std::string& b,
                        const std::string& except_month = "") {
    std::string where = except_month.empty() ? "" : " WHERE year_month <> '" + except_month + "'";
    return db.Value(
        fmt::format("SELECT (SELECT count(*) FROM (SELECT * FROM {0}{2} EXCEPT ALL SELECT * FROM "
                    "{1}{2}) x) + (SELECT count(*) FROM (SELECT * FROM {1}{2} EXCEPT ALL SELECT * "
                    "FROM {0}{2}) y)",
                    a, b, where));
}

// Count and an order-independent hash of every row of `table`.
std::string Digest(const TestDatabase& db, const std::string& table) {
    return db.Value(fmt::format("SELECT count(*) || ':' || coalesce(sum(('x' || substr(md5(t::text), 1, 16))"
                                "::bit(64)::bigint::numeric), 0) FROM {} t",
                                table));
}

std::string Partitions(const TestDatabase& db, const std::string& table) {
    return db.Value(fmt::format("SELECT count(*) FROM pg_inherits WHERE inhparent = '{}'::regclass", table));
}

std::string Relkind(const TestDatabase& db, const std::string& table) {
    return db.Value(fmt::format("SELECT relkind FROM pg_class WHERE oid = to_regclass('{}')", table));
}

} // namespace

TEST_SUITE("convert-legacy") {
    TEST_CASE("convert-legacy turns a 24-month legacy database into 0003's layout: 24 partitions a table, "
              "equal rows, owner and grants, then sync-signals swaps") {
        EnsureAppRoles();
        TestDatabase db;
        MakeLegacyDatabase(db, 5, 20);
        std::string before_signals = Digest(db, kSignals), before_composite = Digest(db, kComposite);

        // migrate status and verify point at the command while the tables are plain.
        auto status = RunPgsplit({"migrate", "status"}, {{"POSTGRES_DSN", db.Dsn()}});
        CHECK_MESSAGE(status.exit_code == 0, status.All());
        CHECK_MESSAGE(status.err.find("pgsplit convert-legacy") != std::string::npos, status.All());
        auto verify = RunPgsplit({"verify", "--freshness-only"}, {{"POSTGRES_DSN", db.Dsn()}});
        CHECK_MESSAGE(verify.err.find("legacy unpartitioned") != std::string::npos, verify.All());

        // The plan: months, rows, bytes, a measured rate, the locks; nothing changes.
        auto plan = Convert(db, {"--dry-run"});
        REQUIRE_MESSAGE(plan.exit_code == 0, plan.All());
        CHECK(plan.out.find("24 month(s), 4,800 rows") != std::string::npos);
        CHECK(plan.out.find("estimated time") != std::string::npos);
        CHECK(plan.out.find("ACCESS EXCLUSIVE") != std::string::npos);
        CHECK(plan.out.find("2024-12  200") != std::string::npos);
        auto plan_json = Convert(db, {"--dry-run", "--json"});
        REQUIRE_MESSAGE(plan_json.exit_code == 0, plan_json.All());
        auto pj = nlohmann::json::parse(plan_json.out);
        CHECK(pj["tables"][0]["months"].size() == 24);
        CHECK(pj["tables"][0]["copy_rows_per_s"].get<double>() > 0);
        CHECK(Relkind(db, kSignals) == "r");
        CHECK(db.Value("SELECT to_regclass('ranking.ranking_signal_partitioned') IS NULL") == "t");

        auto r = Convert(db);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        for (std::string t : {kSignals, kComposite}) {
            CAPTURE(t);
            CHECK(Relkind(db, t) == "p");
            CHECK(db.Value(fmt::format("SELECT pg_get_partkeydef('{}'::regclass)", t)) ==
                  "LIST (year_month)");
            CHECK(Partitions(db, t) == "24");
            CHECK(Differences(db, t, t + "_legacy") == "0");
            CHECK(db.Value(fmt::format(
                      "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = '{}'::regclass", t)) ==
                  "ranking_owner");
            // Partitions are owned like the parent, so sync (as a member of ranking_owner) can swap them.
            CHECK(db.Value(
                      fmt::format("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                  "WHERE i.inhparent = '{}'::regclass AND pg_get_userbyid(c.relowner) <> "
                                  "'ranking_owner'",
                                  t)) == "0");
            for (const char* priv : {"SELECT", "INSERT", "UPDATE", "DELETE"}) {
                CHECK(db.Value(fmt::format("SELECT has_table_privilege('ranking_writer', '{}', '{}')", t,
                                           priv)) == "t");
            }
            CHECK(db.Value(fmt::format("SELECT has_table_privilege('api_service', '{}', 'SELECT')", t)) ==
                  "t");
            CHECK(db.Value(fmt::format("SELECT has_table_privilege('api_service', '{}', 'INSERT')", t)) ==
                  "f");
            // The keys with year_month, the secondary indexes, the names following the table.
            std::string name = t.substr(t.find('.') + 1);
            CHECK(db.Value(fmt::format(
                      "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_index i JOIN "
                      "pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = '{}'::regclass",
                      t)) == fmt::format("{0}_pkey,{0}_symbol_date_idx,{0}_year_month_idx", name));
            CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%_cstage_%'") == "0");
            // The copies' digests (partition comments) do not outlive the conversion.
            CHECK(db.Value("SELECT count(*) FROM pg_class WHERE obj_description(oid, 'pg_class') LIKE "
                           "'pgsplit convert-legacy copy:%'") == "0");
        }
        CHECK(db.Value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                       "'ranking.ranking_signal'::regclass AND contype = 'p'") ==
              "PRIMARY KEY (date, symbol, strategy, year_month)");
        CHECK(db.Value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                       "'ranking.composite_signal_daily'::regclass AND contype = 'p'") ==
              "PRIMARY KEY (date, symbol, year_month)");
        CHECK(Digest(db, "ranking.ranking_signal_legacy") == before_signals);
        CHECK(Digest(db, "ranking.composite_signal_daily_legacy") == before_composite);

        // Again: already partitioned, exit 0; migrate status says nothing any more.
        auto again = Convert(db);
        CHECK_MESSAGE(again.exit_code == 0, again.All());
        CHECK(again.err.find("already partitioned") != std::string::npos);
        status = RunPgsplit({"migrate", "status"}, {{"POSTGRES_DSN", db.Dsn()}});
        CHECK(status.err.find("convert-legacy") == std::string::npos);

        // A sync now swaps, without a flag.
        auto sync = RunSyncSignals(db, "basic", {"--month", "2024-02"});
        REQUIRE_MESSAGE(sync.exit_code == 0, sync.All());
        CHECK(db.Value("SELECT strategy FROM ranking.signal_sync_state WHERE year_month = '2024-02'") ==
              "swap");
        CHECK(Partitions(db, kSignals) == "24");
    }

    TEST_CASE("--rollback swaps the legacy table back, a second convert continues from the partitioned copy, "
              "--drop-legacy refuses while months differ and drops once they are equal") {
        EnsureAppRoles();
        TestDatabase db;
        MakeLegacyDatabase(db, 3, 10);
        REQUIRE(Convert(db).exit_code == 0);
        // The partitioned table moves on (a sync would); then the rollback says which month it loses.
        db.Connect().Exec(
            "DELETE FROM ranking.ranking_signal WHERE year_month = '2023-05' AND symbol = 'SYM00001'");
        auto back = Convert(db, {"--rollback"});
        REQUIRE_MESSAGE(back.exit_code == 0, back.All());
        CHECK(back.err.find("2023-05") != std::string::npos);
        CHECK(Relkind(db, kSignals) == "r");
        CHECK(Relkind(db, kComposite) == "r");
        CHECK(Relkind(db, "ranking.ranking_signal_partitioned") == "p");
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '2023-05'") == "60");
        CHECK(db.Value(
                  "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON "
                  "c.oid = i.indexrelid WHERE i.indrelid = 'ranking.ranking_signal'::regclass") ==
              "ranking_signal_pkey,ranking_signal_symbol_date_idx,ranking_signal_year_month_idx");
        auto back_again = Convert(db, {"--rollback"});
        CHECK_MESSAGE(back_again.exit_code == 0, back_again.All());

        // Converting again reuses the partitioned copy: only the changed month is copied again.
        auto r = Convert(db, {"--json"});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["tables"][0]["months_copied"] == 0);
        CHECK(j["tables"][0]["months_copied_again"] == 1);
        CHECK(j["tables"][1]["months_copied_again"] == 0);
        CHECK(Differences(db, kSignals, "ranking.ranking_signal_legacy") == "0");

        db.Connect().Exec(
            "UPDATE ranking.composite_signal_daily SET composite_rank = composite_rank + 1 WHERE "
            "year_month = '2024-07' AND symbol = 'SYM00002'");
        auto refused = Convert(db, {"--drop-legacy"});
        CHECK(refused.exit_code == 5);
        CHECK_MESSAGE(refused.err.find("2024-07") != std::string::npos, refused.All());
        db.Connect().Exec(
            "UPDATE ranking.composite_signal_daily SET composite_rank = composite_rank - 1 WHERE "
            "year_month = '2024-07' AND symbol = 'SYM00002'");
        auto dropped = Convert(db, {"--drop-legacy"});
        REQUIRE_MESSAGE(dropped.exit_code == 0, dropped.All());
        CHECK(db.Value("SELECT to_regclass('ranking.ranking_signal_legacy') IS NULL AND "
                       "to_regclass('ranking.composite_signal_daily_legacy') IS NULL") == "t");
        CHECK(Partitions(db, kSignals) == "24");
    }

    TEST_CASE(
        "rows whose year_month is NULL or not their date's month are listed and refused before anything "
        "changes (exit 7), in dry runs too") {
        TestDatabase db;
        MakeLegacyDatabase(db, 2, 5);
        auto c = db.Connect();
        c.Exec("ALTER TABLE ranking.composite_signal_daily ALTER COLUMN year_month DROP NOT NULL");
        c.Exec("UPDATE ranking.composite_signal_daily SET year_month = NULL WHERE date = '2023-03-01' AND "
               "symbol = 'SYM00001'");
        c.Exec("UPDATE ranking.composite_signal_daily SET year_month = '2023-02' WHERE date = '2023-01-02'");
        for (bool dry : {true, false}) {
            CAPTURE(dry);
            auto r = Convert(db, dry ? std::vector<std::string>{"--dry-run"} : std::vector<std::string>{});
            CHECK(r.exit_code == 7);
            CHECK_MESSAGE(r.err.find("date 2023-03-01 year_month NULL: 1 row(s)") != std::string::npos,
                          r.All());
            CHECK_MESSAGE(r.err.find("date 2023-01-02 year_month \"2023-02\": 5 row(s)") != std::string::npos,
                          r.All());
            CHECK(r.err.find("nothing was changed") != std::string::npos);
        }
        // The first table was not converted either: every refusal comes before any change.
        CHECK(Relkind(db, kSignals) == "r");
        CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%_partitioned'") == "0");
    }

    TEST_CASE(
        "progress is one JSON log line per month under Container Apps and one group per table in GitHub "
        "Actions") {
        {
            TestDatabase db;
            MakeLegacyDatabase(db, 2, 5);
            auto r = RunPgsplit({"convert-legacy"},
                                {{"POSTGRES_DSN", db.Dsn()}, {"CONTAINER_APP_JOB_NAME", "convert"}});
            REQUIRE_MESSAGE(r.exit_code == 0, r.All());
            int months = 0;
            for (const auto& line : Lines(r.out)) {
                auto j = nlohmann::json::parse(line, nullptr, false);
                REQUIRE_MESSAGE(j.is_object(), "not a JSON line: ", line);
                months += j.contains("month") && j.value("command", "") == "convert-legacy" ? 1 : 0;
            }
            CHECK(months == 48);
        }
        {
            TestDatabase db;
            MakeLegacyDatabase(db, 2, 5);
            ScratchDir dir;
            auto r = RunPgsplit({"convert-legacy"}, {{"POSTGRES_DSN", db.Dsn()},
                                                     {"GITHUB_ACTIONS", "true"},
                                                     {"GITHUB_STEP_SUMMARY", dir / "summary.md"}});
            REQUIRE_MESSAGE(r.exit_code == 0, r.All());
            CHECK(r.out.find("::group::convert-legacy ranking.ranking_signal") != std::string::npos);
            CHECK(r.out.find("::group::convert-legacy ranking.composite_signal_daily") != std::string::npos);
            CHECK(ReadText(dir / "summary.md").find("| ranking.ranking_signal | converted | 24 |") !=
                  std::string::npos);
        }
    }

    TEST_CASE(
        "a dependent view moves to the partitioned table with its grants; a materialized view is listed "
        "and refused") {
        EnsureAppRoles();
        TestDatabase db;
        MakeLegacyDatabase(db, 2, 5);
        auto c = db.Connect();
        c.Exec(
            "CREATE VIEW ranking.latest_rank AS SELECT symbol, max(date) AS last FROM ranking.ranking_signal "
            "GROUP BY symbol");
        c.Exec("GRANT SELECT ON ranking.latest_rank TO api_service");
        c.Exec("CREATE MATERIALIZED VIEW ranking.composite_months AS SELECT DISTINCT year_month FROM "
               "ranking.composite_signal_daily");
        auto refused = Convert(db);
        CHECK(refused.exit_code == 7);
        CHECK_MESSAGE(refused.err.find("materialized view \"ranking\".\"composite_months\"") !=
                          std::string::npos,
                      refused.All());
        CHECK(Relkind(db, kSignals) == "r");

        c.Exec("DROP MATERIALIZED VIEW ranking.composite_months");
        auto plan = Convert(db, {"--dry-run"});
        CHECK(plan.out.find("dependent view moved by the final step: \"ranking\".\"latest_rank\"") !=
              std::string::npos);
        auto r = Convert(db);
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        CHECK(db.Value(
                  "SELECT count(*) FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid WHERE w.ev_class = "
                  "'ranking.latest_rank'::regclass AND d.refobjid = 'ranking.ranking_signal'::regclass") !=
              "0");
        CHECK(db.Value("SELECT count(*) FROM ranking.latest_rank") == "5");
        CHECK(db.Value("SELECT has_table_privilege('api_service', 'ranking.latest_rank', 'SELECT')") == "t");
        // Nothing depends on the legacy table any more: it can be dropped.
        auto dropped = Convert(db, {"--drop-legacy"});
        CHECK_MESSAGE(dropped.exit_code == 0, dropped.All());
    }

    TEST_CASE("readers on their own connection throughout see every month whole and wait at most the swap "
              "bound; a writer that bypasses the lock rewriting a month ends as the writer left it") {
        EnsureAppRoles();
        TestDatabase db;
        constexpr int kDays = 10, kSymbols = 100; // 2,000 + 1,000 rows a month
        MakeLegacyDatabase(db, kDays, kSymbols);
        const std::string written = "2023-06";
        std::atomic<bool> stop_reader{false}, stop_writer{false};
        std::atomic<int> reads{0}, read_errors{0}, wrong{0}, writes{0}, last_salt{0};
        std::atomic<int64_t> longest_us{0};
        std::string first_problem;
        std::thread reader([&] {
            auto c = db.Connect();
            std::mt19937 rng(16);
            int i = 0;
            while (!stop_reader) {
                std::string month = fmt::format("{}-{:02}", 2023 + (i / 12) % 2, i % 12 + 1);
                ++i;
                try {
                    auto t0 = Clock::now();
                    auto rs = c.QueryValue(
                        "SELECT count(*) FROM ranking.ranking_signal WHERE year_month = $1", {month});
                    auto cs = c.QueryValue(
                        "SELECT count(*) FROM ranking.composite_signal_daily WHERE year_month = $1", {month});
                    int s = static_cast<int>(rng() % kSymbols) + 1;
                    auto point = c.QueryValue(
                        "SELECT count(*) FROM ranking.ranking_signal WHERE date = $1::date AND symbol = $2",
                        {month + "-03", fmt::format("SYM{:05}", s)});
                    auto us =
                        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
                    if (us > longest_us) {
                        longest_us = us;
                    }
                    if (rs != std::to_string(2 * kDays * kSymbols) ||
                        cs != std::to_string(kDays * kSymbols) || point != "2") {
                        if (wrong++ == 0) {
                            first_problem = fmt::format("{}: {} / {} / {}", month, rs.value_or("-"),
                                                        cs.value_or("-"), point.value_or("-"));
                        }
                    }
                    ++reads;
                } catch (const std::exception& e) {
                    if (read_errors++ == 0) {
                        first_problem = e.what();
                    }
                }
            }
        });
        // The legacy dual-writer: deletes the month and inserts it again, in one transaction, without
        // the sync lock.
        std::thread writer([&] {
            auto c = db.Connect();
            for (int salt = 1; !stop_writer; ++salt) {
                try {
                    c.Exec("BEGIN");
                    c.Exec("DELETE FROM ranking.ranking_signal WHERE year_month = $1", {written});
                    c.Exec("DELETE FROM ranking.composite_signal_daily WHERE year_month = $1", {written});
                    c.Exec("SELECT public.legacy_fill($1::date, 1, $2::int, $3::int, $4::int)",
                           {written + "-01", std::to_string(kDays), std::to_string(kSymbols),
                            std::to_string(salt)});
                    c.Exec("COMMIT");
                    last_salt = salt;
                    ++writes;
                } catch (const std::exception&) {
                    c.Exec("ROLLBACK");
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
        while (writes < 3) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        auto r = Convert(db, {"--json", "--swap-lock-timeout", "1s"});
        int writes_during = writes;
        std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the writer now writes the new table
        stop_writer = true;
        writer.join();
        stop_reader = true;
        reader.join();
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        MESSAGE(reads.load(), " reads, longest ", longest_us / 1000, " ms; ", writes_during,
                " writer rewrites "
                "before the conversion ended, ",
                writes.load(), " in all");
        CHECK_MESSAGE(read_errors == 0, first_problem);
        CHECK_MESSAGE(wrong == 0, first_problem);
        CHECK(reads > 20);
        CHECK(longest_us <= 1'000'000);
        auto j = nlohmann::json::parse(r.out);
        CHECK_MESSAGE(j["tables"][0]["months_copied_again"].get<int>() >= 1,
                      "the writer's month was never found changed: ", r.err);
        // The end state is the writer's last: count and the sums its salt determines.
        int salt = last_salt;
        CHECK(Relkind(db, kSignals) == "p");
        CHECK(db.Value(fmt::format("SELECT count(*) || ':' || sum(rank) FROM ranking.ranking_signal WHERE "
                                   "year_month = '{}'",
                                   written)) ==
              fmt::format("{}:{}", 2 * kDays * kSymbols,
                          2 * kDays * (kSymbols * (kSymbols + 1) / 2 + kSymbols * salt)));
        CHECK(db.Value(fmt::format(
                  "SELECT count(*) || ':' || sum(composite_rank) FROM ranking.composite_signal_daily "
                  "WHERE year_month = '{}'",
                  written)) == fmt::format("{}:{}", kDays * kSymbols,
                                           kDays * (kSymbols * (kSymbols + 1) / 2 + kSymbols * salt)));
        CHECK(Differences(db, kSignals, "ranking.ranking_signal_legacy", written) == "0");
        CHECK(Differences(db, kComposite, "ranking.composite_signal_daily_legacy", written) == "0");
        CHECK(Partitions(db, kSignals) == "24");
    }

    TEST_CASE("each month's copy takes the sync's advisory lock for the month: a sync holding it makes the "
              "conversion wait, and it goes on when the lock is released") {
        TestDatabase db;
        MakeLegacyDatabase(db, 2, 5);
        auto holder = db.Connect();
        holder.Exec("SELECT pg_advisory_lock($1::int, hashtext($2))",
                    {std::to_string(sync::kSyncLockNamespace), sync::SyncLockKey("2023-03")});
        Process p({BinaryPath().string(), "convert-legacy"}, {{"POSTGRES_DSN", db.Dsn()}});
        auto watch = db.Connect();
        bool waited = false;
        for (int i = 0; i < 200 && !waited; ++i) {
            waited = watch.QueryValue("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                      "'pgsplit convert-legacy' AND wait_event = 'advisory'") == "1";
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        CHECK_MESSAGE(waited, "the conversion never waited on the month's lock");
        // Months before it are attached to the new parent, the legacy table still serves.
        CHECK(Partitions(db, "ranking.ranking_signal_partitioned") == "2");
        CHECK(Relkind(db, kSignals) == "r");
        holder.Exec("SELECT pg_advisory_unlock($1::int, hashtext($2))",
                    {std::to_string(sync::kSyncLockNamespace), sync::SyncLockKey("2023-03")});
        auto r = p.Wait(60);
        CHECK_MESSAGE(r.exit_code == 0, r.All());
        CHECK(Partitions(db, kSignals) == "24");
    }

    TEST_CASE("a reader's long transaction holds off the final renames: each attempt gives up after "
              "--swap-lock-timeout, exit 6 when the retries are spent, SIGTERM while waiting rolls back; the "
              "legacy table serves unchanged and a later run completes") {
        TestDatabase db;
        MakeLegacyDatabase(db, 2, 5);
        std::string before = Digest(db, kSignals);
        auto reader = db.Connect();
        reader.Exec("BEGIN");
        reader.Exec("SELECT count(*) FROM ranking.ranking_signal"); // ACCESS SHARE until COMMIT
        auto t0 = Clock::now();
        auto r = Convert(db, {"--table", kSignals, "--swap-lock-timeout", "200ms", "--swap-retries", "1"});
        double s = std::chrono::duration<double>(Clock::now() - t0).count();
        CHECK_MESSAGE(r.exit_code == 6, r.All());
        CHECK(r.err.find("the final step could not lock its tables within 200 ms in 2 attempts") !=
              std::string::npos);
        CHECK(s < 5);
        // The legacy table serves, unchanged.
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "480");
        CHECK(Relkind(db, kSignals) == "r");
        CHECK(Digest(db, kSignals) == before);

        // Waiting in the final step (long retries) and stopped there: rolled back, exit 143.
        Process p({BinaryPath().string(), "convert-legacy", "--table", kSignals, "--swap-retries", "20"},
                  {{"POSTGRES_DSN", db.Dsn()}});
        auto watch = db.Connect();
        bool in_final = false;
        for (int i = 0; i < 400 && !in_final; ++i) {
            in_final =
                watch.QueryValue("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                                 "WHERE a.application_name = 'pgsplit convert-legacy' AND l.mode = "
                                 "'ShareLock' AND l.relation = 'ranking.ranking_signal'::regclass AND "
                                 "l.granted") == "1";
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        CHECK_MESSAGE(in_final, "the conversion never reached its final step");
        p.Signal(SIGTERM);
        auto stopped = p.Wait(30);
        CHECK_MESSAGE(stopped.exit_code == 143, stopped.All());
        CHECK(Relkind(db, kSignals) == "r");
        CHECK(Digest(db, kSignals) == before);
        reader.Exec("COMMIT");
        auto done = Convert(db);
        REQUIRE_MESSAGE(done.exit_code == 0, done.All());
        CHECK(Relkind(db, kSignals) == "p");
        CHECK(Differences(db, kSignals, "ranking.ranking_signal_legacy") == "0");
    }

    TEST_CASE("SIGTERM, a killed backend and a server restart at random moments (10 runs, seeded) leave the "
              "legacy table intact and serving; the re-run completes with equal content") {
        OwnCluster cluster; // restarted below: not the suite's shared server
        EnsureAppRoles();
        constexpr int kDays = 4, kSymbols = 25;
        // How long a clean conversion takes here, to pick moments inside it.
        double clean_s = 0;
        {
            TestDatabase db;
            MakeLegacyDatabase(db, kDays, kSymbols);
            auto t0 = Clock::now();
            REQUIRE(Convert(db).exit_code == 0);
            clean_s = std::chrono::duration<double>(Clock::now() - t0).count();
        }
        MESSAGE("a clean conversion takes ", clean_s, " s");
        std::mt19937 rng(1616);
        int interrupted_midway = 0, signals_done_first = 0;
        for (int run = 0; run < 10; ++run) {
            const char* fault = run < 4 ? "SIGTERM" : run < 8 ? "backend kill" : "server restart";
            CAPTURE(run);
            CAPTURE(fault);
            TestDatabase db;
            MakeLegacyDatabase(db, kDays, kSymbols);
            std::string signals = Digest(db, kSignals), composite = Digest(db, kComposite);
            std::uniform_real_distribution<double> at(0.05, std::max(0.1, clean_s * 0.9));
            double delay = at(rng);
            CAPTURE(delay);
            Process p({BinaryPath().string(), "convert-legacy"}, {{"POSTGRES_DSN", db.Dsn()}});
            std::this_thread::sleep_for(std::chrono::duration<double>(delay));
            if (run < 4) {
                p.Signal(SIGTERM);
            } else if (run < 8) {
                auto c = db.Connect();
                c.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                       "'pgsplit convert-legacy'");
            } else {
                std::string cmd = "'" + (SourceDir() / "scripts" / "pg-cluster.sh").string() + "' restart '" +
                                  cluster.Dir() + "'";
                REQUIRE(std::system(cmd.c_str()) == 0);
            }
            auto first = p.Wait(60);
            CAPTURE(first.exit_code);
            CAPTURE(first.err);
            CHECK(first.exit_code != -2);
            // Whatever happened, each table is either untouched and plain or wholly converted.
            for (std::string t : {kSignals, kComposite}) {
                std::string kind = Relkind(db, t);
                CHECK((kind == "r" || kind == "p"));
                std::string legacy = kind == "r" ? t : t + "_legacy";
                CHECK(Digest(db, legacy) == (t == kSignals ? signals : composite));
                CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%_cstage_%'") == "0");
            }
            if (Relkind(db, kComposite) == "r") {
                ++interrupted_midway;
                signals_done_first += Relkind(db, kSignals) == "p" ? 1 : 0;
                CHECK(first.exit_code != 0);
                if (run < 4) {
                    CHECK(first.exit_code == 143); // rolled back, then the SIGTERM exit code
                }
            }
            auto again = Convert(db);
            REQUIRE_MESSAGE(again.exit_code == 0, again.All());
            for (std::string t : {kSignals, kComposite}) {
                CHECK(Relkind(db, t) == "p");
                CHECK(Partitions(db, t) == "24");
                CHECK(Differences(db, t, t + "_legacy") == "0");
                CHECK(Digest(db, t + "_legacy") == (t == kSignals ? signals : composite));
            }
        }
        MESSAGE(interrupted_midway, " of 10 faults hit before the conversion ended (", signals_done_first,
                " of them with ranking_signal already converted)");
        CHECK(interrupted_midway >= 5);
    }
}

} // namespace pgsplit::test
