// verify --replica-dsn against a real streaming replica: a standby made by pg_basebackup from the
// test's own cluster and started on loopback. Caught up, it passes by counts and by digests; with
// replay paused after a sync, the month it has not replayed is reported as lag, and the lag fails
// only beyond --max-replica-lag. A "replica" that is not behind and holds other rows is wrong data.
#include "verify/verify.h"
#include "verify/verify_fixture.h"

#include <chrono>
#include <thread>

using pgsplit::test::MigrateForVerify;
using pgsplit::test::OwnCluster;
using pgsplit::test::ReportProblems;
using pgsplit::test::RunPgsplit;
using pgsplit::test::Standby;
using pgsplit::test::SyncMonths;
using pgsplit::test::SyncScenario;
using pgsplit::test::TestDatabase;
using pgsplit::test::VerifyEnv;
using pgsplit::test::VerifyHas;

namespace {

namespace vfy = pgsplit::verify;

vfy::Report RunWithReplica(const TestDatabase& db, const std::string& replica_dsn,
                           std::vector<std::string> months, vfy::Options options = {}) {
    auto config = pgsplit::Config::FromMap({}, {});
    options.months = std::move(months);
    options.content = true;
    options.signals_uri = (SyncScenario("basic") / "ranking_signal").string();
    options.composite_uri = (SyncScenario("basic") / "composite_signal_daily").string();
    options.replica_dsns = {replica_dsn};
    auto conn = db.Connect();
    return vfy::Run(config, conn, options);
}

std::string Notes(const vfy::ReplicaReport& r) {
    std::string out;
    for (const auto& n : r.notes) {
        out += n + "\n";
    }
    return out;
}

// Waits until the standby has replayed everything the primary wrote so far.
void WaitForReplay(pgsplit::pg::Connection& primary, pgsplit::pg::Connection& standby) {
    std::string lsn = *primary.QueryValue("SELECT pg_current_wal_insert_lsn()::text");
    for (int i = 0; i < 200; ++i) {
        if (standby.QueryValue("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {lsn}) == "t") {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("the standby did not replay up to ", lsn);
}

} // namespace

TEST_SUITE("verify") {
    TEST_CASE("replica: caught up it passes by digest; paused, the month it lacks is lag, not wrong data") {
        OwnCluster cluster;
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01"});
        Standby standby(cluster);
        auto replica = pgsplit::pg::Connection::Open(standby.Dsn(db.Name()), "pgsplit-test");
        auto primary = db.Connect();
        // One transaction replayed since the standby started, so its replay timestamp (the lag's
        // reference) is known, as on any replica that has been running a while.
        primary.Exec("CREATE TABLE public.replayed_once ()");
        WaitForReplay(primary, replica);

        auto good = RunWithReplica(db, standby.Dsn(db.Name()), {"2024-01"});
        CHECK_MESSAGE(good.Ok(), ReportProblems(good));
        REQUIRE(good.replicas.size() == 1);
        CHECK(good.replicas[0].in_recovery);
        CHECK_FALSE(good.replicas[0].Behind());
        CHECK(good.replicas[0].lag_seconds == 0.0);
        CHECK(good.replicas[0].receiver == "streaming");
        CHECK(good.replicas[0].differing_months.empty());

        // Replay paused, then a month synced on the primary: the replica lacks it because it lags.
        replica.Exec("SELECT pg_wal_replay_pause()");
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-02"});
        auto paused = RunWithReplica(db, standby.Dsn(db.Name()), {"2024-01", "2024-02"});
        CHECK_MESSAGE(paused.Ok(), ReportProblems(paused)); // within the default --max-replica-lag of 5m
        const auto& rr = paused.replicas[0];
        CHECK(rr.Behind());
        CHECK(rr.replay_paused);
        REQUIRE(rr.differing_months == std::vector<std::string>{"2024-02"});
        CHECK_MESSAGE(VerifyHas(Notes(rr), "2024-02: ranking_signal has 0 rows, the primary 600"), Notes(rr));
        CHECK_MESSAGE(VerifyHas(Notes(rr), "(the replica has not replayed it yet)"), Notes(rr));
        CHECK_MESSAGE(VerifyHas(Notes(rr), "behind the primary"), Notes(rr));

        // The same lag beyond --max-replica-lag fails verify, and the message says why the month differs.
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        vfy::Options strict;
        strict.max_replica_lag = std::chrono::seconds(1);
        strict.max_replica_lag_text = "1s";
        auto late = RunWithReplica(db, standby.Dsn(db.Name()), {"2024-01", "2024-02"}, strict);
        CHECK_FALSE(late.Ok());
        CHECK(late.FailedMonths() == 0); // the primary is fine
        CHECK_MESSAGE(VerifyHas(ReportProblems(late), "replay is paused"), ReportProblems(late));
        CHECK_MESSAGE(VerifyHas(ReportProblems(late),
                                "1 month(s) differ because of it, more than --max-replica-lag 1s"),
                      ReportProblems(late));

        // The binary, with the replica from the environment: exit 5, the replica named in the text.
        auto env = VerifyEnv(db, SyncScenario("basic"));
        env["PGSPLIT_REPLICA_DSNS"] = standby.Dsn(db.Name());
        auto cli =
            RunPgsplit({"verify", "--content", "--max-replica-lag", "1s"}, env); // every month: both synced
        CHECK_MESSAGE(cli.exit_code == 5, cli.All());
        CHECK_MESSAGE(VerifyHas(cli.out, "replay paused"), cli.All());
        CHECK_MESSAGE(VerifyHas(cli.out, "1 of 1 replica(s) failed"), cli.All());

        // Resumed and caught up: the new month's digests match on the replica too.
        replica.Exec("SELECT pg_wal_replay_resume()");
        WaitForReplay(primary, replica);
        auto resumed = RunWithReplica(db, standby.Dsn(db.Name()), {"2024-01", "2024-02"}, strict);
        CHECK_MESSAGE(resumed.Ok(), ReportProblems(resumed));
        CHECK(resumed.replicas[0].differing_months.empty());
    }

    TEST_CASE("replica: a copy that is not behind and holds another value is reported as wrong data") {
        TestDatabase db;
        MigrateForVerify(db);
        SyncMonths(db, SyncScenario("basic"), {"--month", "2024-01"});
        // A second database on the same server stands in for a replica that is no standby (e.g. one
        // fed by logical replication), with one value changed in place: counts equal, content not.
        TestDatabase copy;
        MigrateForVerify(copy);
        SyncMonths(copy, SyncScenario("basic"), {"--month", "2024-01"});
        copy.Connect().Exec(
            "UPDATE ranking.ranking_signal SET rank = rank + 1 WHERE strategy = 'strategy_0_0'");
        auto r = RunWithReplica(db, copy.Dsn(), {"2024-01"});
        CHECK_FALSE(r.Ok());
        CHECK(r.FailedMonths() == 0);
        REQUIRE(r.replicas.size() == 1);
        CHECK_FALSE(r.replicas[0].in_recovery);
        CHECK_MESSAGE(VerifyHas(ReportProblems(r),
                                "2024-01: ranking_signal content differs from the primary's, and the "
                                "replica is not behind"),
                      ReportProblems(r));
        // Without --content only counts are compared: they are equal.
        auto config = pgsplit::Config::FromMap({}, {});
        vfy::Options counts;
        counts.signals_uri = (SyncScenario("basic") / "ranking_signal").string();
        counts.composite_uri = (SyncScenario("basic") / "composite_signal_daily").string();
        counts.replica_dsns = {copy.Dsn()};
        counts.months = {"2024-01"};
        auto conn = db.Connect();
        CHECK(vfy::Run(config, conn, counts).Ok());
    }
}
