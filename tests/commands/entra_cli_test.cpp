// --pg-auth entra over the wire: the test cluster has a role whose password (a SCRAM verifier) is the
// token the loopback identity endpoint issued last, and stops being it when that token expires. The
// built binary runs migrate, sync-signals and verify with no password anywhere; a wrong, expired or
// missing token is exit 4 with a hint; a backfill that outlives its first token gets a new one.

#include "provision/roles.h"
#include "support/fake_entra.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"

#include <atomic>
#include <chrono>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <thread>

namespace pgsplit::test {
namespace {

constexpr const char* kRole = "pgsplit-sync-identity";

// Keeps the role's password equal to the current token: set when the fake issues one, replaced by an
// unknown value once that token's lifetime is over (the server then refuses it, as Azure does).
class TokenRole {
public:
    explicit TokenRole(FakeEntra& fake, bool follow_tokens = true) : fake_(fake) {
        EnsureRole(kRole, "not-a-token-Canary-r0");
        auto c = pg::Connection::Open(SuperuserDsn(), "pgsplit-test");
        c.Exec(fmt::format("ALTER ROLE {} SUPERUSER", pg::QuoteIdent(c, kRole))); // the Entra administrator
        if (follow_tokens) {
            fake.OnIssue([this](const IssuedToken& t) {
                if (t.resource != "https://ossrdbms-aad.database.windows.net") {
                    return;
                }
                SetPassword(t.token);
                std::lock_guard lock(mu_);
                expires_ = std::chrono::steady_clock::now() + std::chrono::seconds(lifetime_);
            });
            watcher_ = std::thread([this] { Watch(); });
        }
    }
    ~TokenRole() {
        stop_ = true;
        if (watcher_.joinable()) {
            watcher_.join();
        }
        fake_.OnIssue(nullptr);
    }
    void SetLifetime(int s) {
        lifetime_ = s;
        fake_.SetLifetime(s);
    }
    int Expired() const { return expired_; }

private:
    void SetPassword(const std::string& password) {
        auto c = pg::Connection::Open(SuperuserDsn(), "pgsplit-test");
        c.Exec(fmt::format("ALTER ROLE {} PASSWORD {}", pg::QuoteIdent(c, kRole),
                           pg::QuoteLiteral(c, provision::ScramVerifier(c, kRole, password))));
    }
    void Watch() {
        while (!stop_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            bool expire = false;
            {
                std::lock_guard lock(mu_);
                if (expires_ && std::chrono::steady_clock::now() >= *expires_) {
                    expires_.reset();
                    expire = true;
                }
            }
            if (expire) {
                SetPassword(fmt::format("expired-Canary-{}", ++expired_));
            }
        }
    }

    FakeEntra& fake_;
    std::mutex mu_;
    std::optional<std::chrono::steady_clock::time_point> expires_;
    std::atomic<int> lifetime_{3600};
    std::atomic<int> expired_{0};
    std::atomic<bool> stop_{false};
    std::thread watcher_;
};

std::string EntraDsn(const TestDatabase& db) {
    return fmt::format("postgresql://{}@127.0.0.1:{}/{}", kRole, Cluster().port, db.Name());
}

// The Container Apps managed identity, pointed at the fake; nothing else that could authenticate.
std::map<std::string, std::string> ManagedIdentityEnv(const FakeEntra& fake) {
    return {{"IDENTITY_ENDPOINT", fake.Url() + "/msi/token"},
            {"IDENTITY_HEADER", FakeEntra::kIdentityHeader}};
}

void CheckNoToken(const ProcResult& r, const FakeEntra& fake) {
    for (const auto& t : fake.Issued()) {
        CHECK_MESSAGE(r.All().find(t.token) == std::string::npos, "a token was printed");
        // Any JWT-looking part of it either.
        CHECK(r.All().find(t.token.substr(t.token.rfind('.') + 1)) == std::string::npos);
    }
}

} // namespace

TEST_SUITE("entra cli") {
    TEST_CASE(
        "--pg-auth entra: migrate, sync-signals and verify with a managed identity token and no password "
        "anywhere") {
        OwnCluster cluster;
        FakeEntra fake;
        TokenRole role(fake);
        TestDatabase db;
        auto env = ManagedIdentityEnv(fake);
        env["POSTGRES_DSN"] = EntraDsn(db);

        auto migrate = RunPgsplit({"--pg-auth", "entra", "migrate"}, env);
        CHECK_MESSAGE(migrate.exit_code == 0, migrate.All());
        CHECK(db.Value("SELECT max(version) FROM public.schema_migrations") == "0006");
        // Applied as the token's identity.
        CHECK(db.Value("SELECT count(DISTINCT applied_by) FROM public.schema_migrations") == "1");
        CHECK(db.Value("SELECT min(applied_by) FROM public.schema_migrations") == kRole);

        auto sync_env = SyncEnv(EntraDsn(db), "basic");
        for (const auto& [k, v] : ManagedIdentityEnv(fake)) {
            sync_env[k] = v;
        }
        sync_env["PGSPLIT_PG_AUTH"] = "entra";
        auto month = SyncExpected("basic")["ranking_signal"]["latest"].begin().key();
        auto sync = RunPgsplit({"sync-signals", "--month", month}, sync_env);
        CHECK_MESSAGE(sync.exit_code == 0, sync.All());
        CHECK(db.Value(fmt::format("SELECT status FROM ranking.signal_sync_state WHERE year_month = '{}'",
                                   month)) == "success");

        auto verify = RunPgsplit({"verify", "--month", month}, sync_env);
        CHECK_MESSAGE(verify.exit_code == 0, verify.All());

        // One token per process (each connection of a run shares the cached one), all for the database.
        CHECK(fake.Count("aca") == 3);
        for (const auto& t : fake.Issued()) {
            CHECK(t.resource == "https://ossrdbms-aad.database.windows.net");
        }
        for (const auto* r : {&migrate, &sync, &verify}) {
            CheckNoToken(*r, fake);
        }
    }

    TEST_CASE("--pg-auth entra refuses a DSN with a password, and a bad PGSPLIT_PG_AUTH is exit 3") {
        FakeEntra fake;
        auto env = ManagedIdentityEnv(fake);
        env["POSTGRES_DSN"] = "postgresql://u:pw-Canary-e1@127.0.0.1:1/db";
        auto r = RunPgsplit({"--pg-auth", "entra", "migrate", "status"}, env);
        CHECK(r.exit_code == 3);
        CHECK(r.err.find(
                  "postgresql://u:***@127.0.0.1:1/db carries a password, but --pg-auth entra authenticates "
                  "with a token") != std::string::npos);
        CHECK(fake.Requests().empty()); // refused before any token was asked for

        env["POSTGRES_DSN"] = "host=127.0.0.1 port=1 user=u password=pw-Canary-e2 dbname=db";
        env["PGSPLIT_PG_AUTH"] = "entra";
        CHECK(RunPgsplit({"migrate", "status"}, env).exit_code == 3);

        env["PGSPLIT_PG_AUTH"] = "kerberos";
        r = RunPgsplit({"migrate", "status"}, env);
        CHECK(r.exit_code == 3);
        CHECK(r.err.find("PGSPLIT_PG_AUTH 'kerberos' is not an authentication method") != std::string::npos);
        r = RunPgsplit({"--pg-auth", "kerberos", "migrate", "status"}, env);
        CHECK(r.exit_code == 2);
    }

    TEST_CASE(
        "--pg-auth entra: a token the server refuses, an expired token and no credential are exit 4 with "
        "a hint") {
        OwnCluster cluster;
        FakeEntra fake;
        TokenRole role(fake, /*follow_tokens=*/false); // the role's password is not the token
        TestDatabase db;
        auto env = ManagedIdentityEnv(fake);
        env["POSTGRES_DSN"] = EntraDsn(db);
        auto r = RunPgsplit({"--pg-auth", "entra", "migrate"}, env);
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("password authentication failed for user \"pgsplit-sync-identity\"") !=
              std::string::npos);
        CHECK(r.err.find("the server refused the Entra ID token") != std::string::npos);
        CHECK(r.err.find("pgaadauth_create_principal_with_oid") != std::string::npos);
        CheckNoToken(r, fake);
        CHECK(db.Value("SELECT to_regclass('public.schema_migrations') IS NULL") == "t");

        // The az CLI handing out a token that expired a minute ago: said before any connection.
        ScratchDir az;
        std::map<std::string, std::string> cli = {
            {"POSTGRES_DSN", EntraDsn(db)},
            {"PGSPLIT_PG_AUTH", "entra"},
            {"PGSPLIT_AZURE_CREDENTIAL", "cli"},
            {"FAKE_AZ_LOG", az / "az.log"},
            {"FAKE_AZ_TOKEN_TTL", "-60"},
            {"FAKE_AZ_TOKEN", "eyJhbGciOiJub25lIn0.e30.old-Canary-t"},
            {"PATH", (SourceDir() / "tests" / "provision" / "fake_az").string() + ":/usr/bin:/bin"}};
        r = RunPgsplit({"migrate"}, cli);
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("az CLI (az account get-access-token) gave a token that has already expired") !=
              std::string::npos);
        CHECK(r.err.find("old-Canary") == std::string::npos);

        // No credential at all: every one named, exit 4, and nothing sent anywhere.
        r = RunPgsplit({"migrate"}, {{"POSTGRES_DSN", EntraDsn(db)}, {"PGSPLIT_PG_AUTH", "entra"}});
        CHECK(r.exit_code == 4);
        CHECK(
            r.err.find(
                "no Azure credential gave a token for https://ossrdbms-aad.database.windows.net/.default") !=
            std::string::npos);
        CHECK(r.err.find("managed identity (IMDS, system-assigned): skipped") != std::string::npos);
        CHECK(r.err.find("az CLI (az account get-access-token): skipped") != std::string::npos);
    }

    TEST_CASE(
        "--pg-auth entra: a 12-month backfill that outlives its first token connects again with a new one") {
        OwnCluster cluster;
        FakeEntra fake;
        TokenRole role(fake);
        role.SetLifetime(2); // each token: 1-2 s (whole seconds), fetched again at half its life
        TestDatabase db;
        MigrateQuietly(db);
        // Each month's ledger write takes 0.3 s, so the backfill lasts well past the first token.
        db.Connect().Exec("CREATE FUNCTION public.slow_ledger() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$");
        db.Connect().Exec(
            "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON ranking.signal_sync_state FOR EACH ROW "
            "EXECUTE FUNCTION public.slow_ledger()");
        auto env = SyncEnv(EntraDsn(db), "backfill");
        for (const auto& [k, v] : ManagedIdentityEnv(fake)) {
            env[k] = v;
        }
        auto started = std::chrono::steady_clock::now();
        auto r =
            RunPgsplit({"--pg-auth", "entra", "sync-signals", "--from", "2023-01", "--to", "2023-12"}, env);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        MESSAGE("backfill took ", seconds, " s; ", fake.Count("aca"), " token(s) fetched; ", role.Expired(),
                " token(s) expired on the server meanwhile");
        CHECK_MESSAGE(r.exit_code == 0, r.All());
        CHECK(db.Value("SELECT count(*) FROM ranking.signal_sync_state WHERE status = 'success'") == "12");
        CHECK(seconds > 3.6);          // longer than the first token lived (at most 2 s)
        CHECK(fake.Count("aca") >= 2); // so the run fetched another, ahead of the old one's expiry
        CheckNoToken(r, fake);
    }
}

} // namespace pgsplit::test
