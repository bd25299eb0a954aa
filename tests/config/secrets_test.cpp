// Which configured values are registered with ::add-mask:: at start-up (Config::SecretValues), and
// which variables stay out of a child process's environment.
#include "config/config.h"
#include "config/dsn.h"

#include <algorithm>
#include <doctest/doctest.h>

using pgsplit::Config;
using pgsplit::DsnPasswordForms;

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST_SUITE("github-secrets") {
    TEST_CASE("a URI password is masked decoded, as written and fully encoded") {
        auto forms = DsnPasswordForms("postgresql://w:p%40ss%2Cw0rd%3a1@db.example.com/app");
        CHECK(Contains(forms, "p@ss,w0rd:1"));
        CHECK(Contains(forms, "p%40ss%2Cw0rd%3A1"));
        CHECK(Contains(forms, "p%40ss%2Cw0rd%3a1")); // as the operator wrote it (lower-case hex)
        CHECK(DsnPasswordForms("postgresql://w@db.example.com/app").empty());
        auto kv = DsnPasswordForms("host=db user=w password='with space' dbname=app");
        CHECK(Contains(kv, "with space"));
        CHECK(Contains(kv, "with%20space"));
    }

    TEST_CASE("every secret of the configuration, provision passwords first") {
        pgsplit::GlobalFlags flags;
        flags.dsn = "postgresql://w:dsn-pw@db.example.com/app";
        Config c = Config::FromMap(
            flags, {{"PGSPLIT_ADMIN_PASSWORD", "admin-pw"},
                    {"PGSPLIT_API_SERVICE_PASSWORD", "api-pw"},
                    {"PGSPLIT_ADMIN_DSN", "host=x user=a password=admin-dsn-pw"},
                    {"AZURE_STORAGE_SAS_TOKEN", "?sv=2024&sig=abc%2Bdef"},
                    {"AZURE_STORAGE_KEY", "a2V5+/=="},
                    {"IDENTITY_HEADER", "identity-header"},
                    {"PGSPLIT_SIGNALS_TABLE", "https://acct.blob.core.windows.net/c/t?sv=1&sig=zzz"},
                    {"PGSPLIT_REPLICA_DSNS",
                     "postgresql://r:replica-pw-1@r1/app ;\n host=r2 password=replica-pw-2"}});
        auto s = c.SecretValues();
        REQUIRE(s.size() >= 2);
        CHECK(s[0] == "admin-pw");
        CHECK(s[1] == "api-pw");
        for (const char* want :
             {"dsn-pw", "admin-dsn-pw", "?sv=2024&sig=abc%2Bdef", "sv=2024&sig=abc%2Bdef",
              "a2V5+/==", "identity-header", "sv=1&sig=zzz", "replica-pw-1", "replica-pw-2"}) {
            CHECK_MESSAGE(Contains(s, want), want);
        }
        CHECK_FALSE(Contains(s, ""));
        CHECK(Config::FromMap({}, {}).SecretValues().empty());
    }

    TEST_CASE("PGSPLIT_REPLICA_DSNS: one DSN per line or between semicolons, blanks skipped") {
        Config c =
            Config::FromMap({}, {{"PGSPLIT_REPLICA_DSNS", " host=a dbname=x ;\n\npostgresql://b/x;;\r\n "}});
        CHECK(c.ReplicaDsns() == std::vector<std::string>{"host=a dbname=x", "postgresql://b/x"});
        CHECK(Config::FromMap({}, {}).ReplicaDsns().empty());
    }
}

TEST_SUITE("config-secrets") {
    TEST_CASE("pgsplit's secret variables are not passed on to a child; those az itself needs are") {
        using pgsplit::IsWithheldFromChildren;
        CHECK(IsWithheldFromChildren("PGSPLIT_ADMIN_PASSWORD"));
        CHECK(IsWithheldFromChildren("PGSPLIT_RANKING_WRITER_PASSWORD"));
        CHECK(IsWithheldFromChildren("PGSPLIT_ADMIN_DSN"));
        CHECK(IsWithheldFromChildren("POSTGRES_DSN"));
        CHECK(IsWithheldFromChildren("PGPASSWORD"));
        CHECK_FALSE(IsWithheldFromChildren("AZURE_CONFIG_DIR"));
        CHECK_FALSE(IsWithheldFromChildren("PATH"));
        CHECK_FALSE(IsWithheldFromChildren("IDENTITY_HEADER")); // az login --identity in Container Apps
        Config c = Config::FromMap({}, {{"PATH", "/bin"},
                                        {"POSTGRES_DSN", "host=x password=p"},
                                        {"PGSPLIT_API_SERVICE_PASSWORD", "pw"}});
        CHECK(c.ChildEnvironment() == std::vector<std::string>{"PATH=/bin"});
    }

    TEST_CASE("typed sections: environment over pgsplit.yaml, empty provision values unset") {
        Config c = Config::FromMap({}, {{"AZURE_STORAGE_ENDPOINT", "http://127.0.0.1:1/devstoreaccount1"},
                                        {"IDENTITY_ENDPOINT", "http://127.0.0.1:2/token"},
                                        {"PGSPLIT_ADMIN_DSN", ""},
                                        {"PGSPLIT_BACKTEST_SERVICE_PASSWORD", "bt"}});
        auto storage = c.Storage();
        CHECK(storage.endpoint.value_or("") == "http://127.0.0.1:1/devstoreaccount1");
        CHECK(storage.identity.identity_endpoint.value_or("") == "http://127.0.0.1:2/token");
        CHECK_FALSE(storage.sas_token);
        CHECK_FALSE(c.Provision().admin_dsn);
        CHECK(c.RolePassword("backtest_service").value_or("") == "bt");
        CHECK_FALSE(c.RolePassword("api_service"));
        for (const auto& v : pgsplit::EnvVars()) {
            INFO(v.name);
            CHECK(std::string(v.name).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                  std::string::npos);
        }
    }
}
