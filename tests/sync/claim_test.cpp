// sync-signals --claim (issue 20): processes started with the same range share its months through
// the months' session advisory locks and the ledger. What is checked comes from outside pgsplit: a
// trigger the test puts on the ledger counts every successful write per month and transaction (so
// "synced exactly once" is the server's record, not pgsplit's report), and the content of every month
// is DuckDB's (support/oracle.h). Processes are stopped and killed with real signals at points the
// test observes in the server (a stage table, a backend waiting on an advisory lock), not at guessed
// times.
#include "support/oracle.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <chrono>
#include <csignal>
#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

using pgsplit::test::BinaryPath;
using pgsplit::test::Process;
using pgsplit::test::ProcResult;
using pgsplit::test::TestDatabase;
namespace fs = std::filesystem;

namespace {

constexpr const char* kFirst = "2022-01";
constexpr const char* kLast = "2023-12";
constexpr const char* kBig = "2023-06"; // 200k ranking rows: long enough to be caught in the middle

struct Fixture {
    fs::path dir;
    nlohmann::json expected;
};

Fixture Claim() {
    auto dir = pgsplit::test::FixturesDir() / "sync" / "claim";
    REQUIRE_MESSAGE(fs::exists(dir / "expected.json"),
                    "sync fixtures are missing: run scripts/fixtures.sh (expected ", dir.string(), ")");
    return {dir, nlohmann::json::parse(pgsplit::test::ReadText((dir / "expected.json").string()))};
}

std::unique_ptr<Process> Start(const TestDatabase& db, const fs::path& dir, std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath().string());
    return std::make_unique<Process>(
        args, std::map<std::string, std::string>{
                  {"POSTGRES_DSN", db.Dsn()},
                  {"PGSPLIT_SIGNALS_TABLE", (dir / "ranking_signal").string()},
                  {"PGSPLIT_COMPOSITE_TABLE", (dir / "composite_signal_daily").string()}});
}

std::unique_ptr<Process> StartClaim(const TestDatabase& db, const fs::path& dir,
                                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--json", "sync-signals", "--from", kFirst, "--to", kLast, "--claim"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Start(db, dir, args);
}

// Every write of a successful ledger row, with the transaction that made it: the server's own count
// of the syncs that committed.
void AuditLedger(const TestDatabase& db) {
    auto c = db.Connect();
    c.Exec("CREATE TABLE public.ledger_audit (year_month text, status text, txid bigint)");
    c.Exec("CREATE FUNCTION public.audit_ledger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "INSERT INTO public.ledger_audit VALUES (NEW.year_month, NEW.status, txid_current()); "
           "RETURN NEW; END $$");
    c.Exec("CREATE TRIGGER audit AFTER INSERT OR UPDATE ON ranking.signal_sync_state FOR EACH ROW "
           "EXECUTE FUNCTION public.audit_ledger()");
}

// month -> how many transactions committed a success for it.
std::map<std::string, int> CommittedSyncs(const TestDatabase& db) {
    auto c = db.Connect();
    auto r = c.Exec("SELECT year_month, count(DISTINCT txid) FROM public.ledger_audit WHERE status = "
                    "'success' GROUP BY 1");
    std::map<std::string, int> out;
    for (int i = 0; i < r.Rows(); ++i) {
        out[r.Get(i, 0)] = std::stoi(r.Get(i, 1));
    }
    return out;
}

// Every one of the 24 months committed by exactly one transaction.
void CheckEachMonthOnce(const std::map<std::string, int>& committed) {
    CHECK(committed.size() == 24);
    for (const auto& entry : committed) {
        const auto& month = entry.first; // not structured bindings: doctest's macros capture them
        CHECK_MESSAGE(entry.second == 1, month);
    }
}

void CheckContentIsDelta(const TestDatabase& db, const Fixture& f) {
    for (const auto& item : f.expected["ranking_signal"]["latest"].items()) {
        const std::string month = item.key();
        for (const std::string table : {"ranking_signal", "composite_signal_daily"}) {
            CAPTURE(month);
            CAPTURE(table);
            CHECK(pgsplit::test::OracleGot(db, f.expected, table, month) ==
                  pgsplit::test::OracleWant(f.expected, table, "latest", month));
        }
    }
    CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname LIKE '%stage%'") == "0");
}

// What one process says it did: month -> "synced", "skipped" or "failed".
std::map<std::string, std::string> Report(const ProcResult& r) {
    std::map<std::string, std::string> out;
    auto start = r.out.find("{\n");
    REQUIRE_MESSAGE(start != std::string::npos, r.All());
    auto doc = nlohmann::json::parse(r.out.substr(start));
    for (const auto& m : doc["months"]) {
        out[m["month"]] = m.contains("skipped") ? "skipped" : m["ok"].get<bool>() ? "synced" : "failed";
    }
    return out;
}

// Polls `sql` until it returns "t" (at most `seconds`).
bool WaitFor(const TestDatabase& db, const std::string& sql, double seconds) {
    auto c = db.Connect();
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        if (c.QueryValue(sql) == "t") {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

// A COPY of more rows than any month but 2023-06 has, under way (the stage it fills is not visible:
// its CREATE is not committed).
const std::string kBigMonthLoading =
    "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid) WHERE "
    "a.application_name = 'pgsplit sync-signals' AND p.tuples_processed > 1000)";
const std::string kWaitingOnClaim =
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgsplit sync-signals' AND "
    "wait_event_type = 'Lock' AND wait_event = 'advisory')";

} // namespace

TEST_SUITE("sync claim") {
    TEST_CASE("4 processes with --claim over 24 months: every month committed exactly once, each process "
              "reports all 24, content equal to Delta") {
        TestDatabase db;
        Fixture f = Claim();
        REQUIRE(f.expected["ranking_signal"]["latest"].size() == 24);
        REQUIRE(pgsplit::test::RunPgsplit({"-q", "migrate"}, {{"POSTGRES_DSN", db.Dsn()}}).exit_code == 0);
        AuditLedger(db);

        std::vector<std::unique_ptr<Process>> procs;
        for (int i = 0; i < 3; ++i) {
            procs.push_back(StartClaim(db, f.dir));
        }
        procs.push_back(StartClaim(db, f.dir, {"--jobs", "2"})); // the threaded path claims too
        std::map<std::string, int> synced_by;                    // month -> processes that synced it
        for (auto& p : procs) {
            auto r = p->Wait(300);
            CHECK_MESSAGE(r.exit_code == 0, r.All());
            auto report = Report(r);
            CHECK(report.size() == 24);
            for (const auto& entry : report) {
                const auto& month = entry.first; // not structured bindings: doctest's macros capture them
                const auto& what = entry.second;
                CHECK_MESSAGE(what != "failed", month, r.All());
                synced_by[month] += what == "synced" ? 1 : 0;
            }
            CHECK(r.err.find("this process synced") != std::string::npos);
        }
        CHECK(synced_by.size() == 24);
        for (const auto& entry : synced_by) {
            const auto& month = entry.first; // not structured bindings: doctest's macros capture them
            const auto& n = entry.second;
            CHECK_MESSAGE(n == 1, month);
        }
        auto committed = CommittedSyncs(db);
        CheckEachMonthOnce(committed);
        CheckContentIsDelta(db, f);

        // Run again: every month is synced at these Delta versions, so nothing is done twice.
        auto again = StartClaim(db, f.dir)->Wait(120);
        CHECK_MESSAGE(again.exit_code == 0, again.All());
        for (const auto& entry : Report(again)) {
            const auto& month = entry.first; // not structured bindings: doctest's macros capture them
            const auto& what = entry.second;
            CHECK_MESSAGE(what == "skipped", month);
        }
        CHECK(CommittedSyncs(db) == committed);
    }

    TEST_CASE("a process SIGKILLed in the middle of a month: the month keeps its rows meanwhile and the "
              "process waiting for its claim completes it") {
        TestDatabase db;
        Fixture f = Claim();
        REQUIRE(pgsplit::test::RunPgsplit({"-q", "migrate"}, {{"POSTGRES_DSN", db.Dsn()}}).exit_code == 0);
        // Every month synced once; then the ledger forgotten, so --claim has all of them to redo while
        // the old rows stay.
        auto first = Start(db, f.dir, {"-q", "sync-signals", "--from", kFirst, "--to", kLast})->Wait(300);
        REQUIRE_MESSAGE(first.exit_code == 0, first.All());
        db.Connect().Exec("DELETE FROM ranking.signal_sync_state");
        AuditLedger(db);
        const std::string old_big =
            std::to_string(f.expected["ranking_signal"]["latest"][kBig].get<int64_t>());

        auto a = StartClaim(db, f.dir);
        REQUIRE_MESSAGE(WaitFor(db, kBigMonthLoading, 120), a->StderrSoFar());
        a->Signal(SIGSTOP); // in the middle of 2023-06: its stage is being loaded
        auto b = StartClaim(db, f.dir);
        bool waiting = WaitFor(db, kWaitingOnClaim, 120);
        CHECK_MESSAGE(waiting, b->StderrSoFar());
        // The month is intact while its claim is held by a stopped process.
        CHECK(db.Value(std::string("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '") +
                       kBig + "'") == old_big);
        a->Signal(SIGKILL);
        auto ra = a->Wait(30);
        CHECK(ra.exit_code == 128 + SIGKILL);
        auto rb = b->Wait(300);
        CHECK_MESSAGE(rb.exit_code == 0, rb.All());
        CHECK(rb.err.find("another process holds it; waiting") != std::string::npos);
        auto report = Report(rb);
        CHECK(report[kBig] == "synced");
        CheckEachMonthOnce(CommittedSyncs(db));
        CheckContentIsDelta(db, f);
    }

    TEST_CASE("a month failing in one process does not stop it or the others; only that process exits "
              "non-zero, and another completes the month") {
        TestDatabase db;
        Fixture f = Claim();
        REQUIRE(pgsplit::test::RunPgsplit({"-q", "migrate"}, {{"POSTGRES_DSN", db.Dsn()}}).exit_code == 0);
        AuditLedger(db);
        // The same tables, but this copy's 2022-01 ranking file is cut in half.
        pgsplit::test::ScratchDir scratch;
        fs::copy(f.dir, scratch.Root() / "t", fs::copy_options::recursive);
        fs::path damaged;
        for (const auto& e :
             fs::directory_iterator(scratch.Root() / "t" / "ranking_signal" / "year_month=2022-01")) {
            damaged = e.path();
        }
        REQUIRE(!damaged.empty());
        fs::resize_file(damaged, fs::file_size(damaged) / 2);

        auto bad = StartClaim(db, scratch.Root() / "t");
        REQUIRE(WaitFor(db,
                        "SELECT EXISTS (SELECT 1 FROM ranking.signal_sync_state WHERE year_month = '2022-01' "
                        "AND status = 'failed')",
                        120));
        auto good1 = StartClaim(db, f.dir);
        auto good2 = StartClaim(db, f.dir);
        auto rbad = bad->Wait(300);
        CHECK_MESSAGE(rbad.exit_code == 7, rbad.All());
        auto bad_report = Report(rbad);
        CHECK(bad_report.size() == 24);
        CHECK(bad_report["2022-01"] == "failed");
        int bad_failed = 0;
        for (const auto& entry : bad_report) {
            const auto& what = entry.second;
            bad_failed += what == "failed" ? 1 : 0;
        }
        CHECK(bad_failed == 1);
        int synced_2022_01 = 0;
        for (auto* p : {good1.get(), good2.get()}) {
            auto r = p->Wait(300);
            CHECK_MESSAGE(r.exit_code == 0, r.All());
            synced_2022_01 += Report(r)["2022-01"] == "synced" ? 1 : 0;
        }
        CHECK(synced_2022_01 == 1);
        CheckEachMonthOnce(CommittedSyncs(db));
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state WHERE status = 'success'") == "24");
        CheckContentIsDelta(db, f);
    }

    TEST_CASE("a month's swap does not wait for another month's load in flight (another process, stopped "
              "in the middle of its stage)") {
        TestDatabase db;
        Fixture f = Claim();
        REQUIRE(pgsplit::test::RunPgsplit({"-q", "migrate"}, {{"POSTGRES_DSN", db.Dsn()}}).exit_code == 0);
        // 2022-02 exists, so its second sync DETACHes a partition (ACCESS EXCLUSIVE on the parent).
        auto pre = Start(db, f.dir, {"-q", "sync-signals", "--month", "2022-02"})->Wait(120);
        REQUIRE_MESSAGE(pre.exit_code == 0, pre.All());
        auto a = Start(db, f.dir, {"-q", "sync-signals", "--month", kBig});
        REQUIRE_MESSAGE(WaitFor(db, kBigMonthLoading, 120), a->StderrSoFar());
        a->Signal(SIGSTOP);
        // Another month, with no patience at all for a lock on the parents.
        auto b = Start(db, f.dir,
                       {"-q", "sync-signals", "--month", "2022-02", "--swap-lock-timeout", "200ms",
                        "--swap-retries", "0"})
                     ->Wait(120);
        a->Signal(SIGCONT);
        CHECK_MESSAGE(b.exit_code == 0, b.All());
        auto ra = a->Wait(300);
        CHECK_MESSAGE(ra.exit_code == 0, ra.All());
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state WHERE status = 'success'") == "2");
    }
}
