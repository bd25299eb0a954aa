// Which configured values are registered with ::add-mask:: at start-up (output/github.h ConfigSecrets).
#include "output/github.h"

#include <algorithm>
#include <doctest/doctest.h>

using pgsplit::Config;
using pgsplit::ConfigSecrets;
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
                    {"PGSPLIT_SIGNALS_TABLE", "https://acct.blob.core.windows.net/c/t?sv=1&sig=zzz"}});
        auto s = ConfigSecrets(c);
        REQUIRE(s.size() >= 2);
        CHECK(s[0] == "admin-pw");
        CHECK(s[1] == "api-pw");
        for (const char* want : {"dsn-pw", "admin-dsn-pw", "?sv=2024&sig=abc%2Bdef", "sv=2024&sig=abc%2Bdef",
                                 "a2V5+/==", "identity-header", "sv=1&sig=zzz"}) {
            CHECK_MESSAGE(Contains(s, want), want);
        }
        CHECK_FALSE(Contains(s, ""));
        CHECK(ConfigSecrets(Config::FromMap({}, {})).empty());
    }
}
