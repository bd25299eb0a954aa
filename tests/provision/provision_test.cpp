// The pieces of pgsplit provision below the CLI: option normalisation, secret masking and generation,
// az error classification, the process runner, and the role statements against the test PostgreSQL.
#include "config/config.h"
#include "core/error.h"
#include "provision/az_cli.h"
#include "provision/report.h"
#include "provision/roles.h"
#include "provision/secrets.h"
#include "provision/steps.h"
#include "support/pg_cluster.h"

#include <doctest/doctest.h>
#include <set>

namespace prov = pgsplit::provision;
using pgsplit::Error;
using pgsplit::ExitCode;

namespace {

ExitCode CodeOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return ExitCode::Ok;
}

prov::Options BaseOptions() {
    prov::Options o;
    o.resource_group = "rg-assets";
    o.server_name = "assets-pg";
    o.location = "eastus";
    return o;
}

pgsplit::Config EmptyConfig(std::map<std::string, std::string> env = {}) {
    return pgsplit::Config::FromMap({}, std::move(env));
}

prov::AzResult Failed(int code, std::string err) {
    return {code, "", std::move(err), nullptr};
}

} // namespace

TEST_SUITE("provision") {
    TEST_CASE("SKU names get Azure's casing and the tier follows the family letter") {
        CHECK(prov::NormalizeSku("standard_b1ms") == "Standard_B1ms");
        CHECK(prov::NormalizeSku("STANDARD_D2DS_V5") == "Standard_D2ds_v5");
        CHECK(prov::NormalizeSku("e4ds_v5") == "Standard_E4ds_v5");
        CHECK(prov::TierForSku("Standard_B2s") == "Burstable");
        CHECK(prov::TierForSku("Standard_D4ds_v4") == "GeneralPurpose");
        CHECK(prov::TierForSku("Standard_E2ds_v5") == "MemoryOptimized");
        CHECK(prov::TierForSku("Standard_L8s_v3").empty());
        CHECK(CodeOf([] { prov::NormalizeSku("B1 ms"); }) == ExitCode::Usage);
        CHECK(CodeOf([] { prov::NormalizeSku("Standard_"); }) == ExitCode::Usage);
    }

    TEST_CASE("Normalize derives the tier, accepts any casing, and refuses a contradicting one") {
        auto config = EmptyConfig();
        auto o = BaseOptions();
        prov::Normalize(o, config);
        CHECK(o.sku_name == "Standard_B1ms");
        CHECK(o.tier == "Burstable");

        o = BaseOptions();
        o.sku_name = "standard_d2ds_v5";
        o.tier = "generalpurpose";
        prov::Normalize(o, config);
        CHECK(o.tier == "GeneralPurpose");

        o = BaseOptions();
        o.tier = "MemoryOptimized";
        CHECK(CodeOf([&] { prov::Normalize(o, config); }) == ExitCode::Usage);
        o = BaseOptions();
        o.tier = "Premium";
        CHECK(CodeOf([&] { prov::Normalize(o, config); }) == ExitCode::Usage);
        o = BaseOptions();
        o.sku_name = "Standard_L8s_v3"; // unknown family: needs --tier
        CHECK(CodeOf([&] { prov::Normalize(o, config); }) == ExitCode::Usage);
        o.tier = "GeneralPurpose";
        CHECK(CodeOf([&] { prov::Normalize(o, config); }) == ExitCode::Ok);
    }

    TEST_CASE("Normalize refuses names Azure would reject, and --legacy-roles alone") {
        auto config = EmptyConfig();
        auto bad = [&](auto edit) {
            auto o = BaseOptions();
            edit(o);
            return CodeOf([&] { prov::Normalize(o, config); });
        };
        CHECK(bad([](prov::Options& o) { o.server_name = "Assets_PG"; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.server_name = "-pg"; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.admin_user = "admin"; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.admin_user = "pg_owner"; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.database = "asset-allocation"; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.location_fallback = {"east us"}; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.version = "sixteen"; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.storage_size_gb = 8; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.legacy_roles = true; }) == ExitCode::Usage);
        CHECK(bad([](prov::Options& o) { o.location = "EastUS2"; }) == ExitCode::Ok);
    }

    TEST_CASE("Normalize resolves --entra-admin: a UPN is a User, an object id a ServicePrincipal unless "
              "typed, Azure's casing, lower-case GUIDs") {
        auto config = EmptyConfig();
        auto o = BaseOptions();
        o.entra_admin_flag = "ops@contoso.com";
        o.password_auth = "DISABLED";
        prov::Normalize(o, config);
        REQUIRE(o.entra_admin);
        CHECK(o.entra_admin->type == "User");
        CHECK(o.entra_admin->upn == "ops@contoso.com");
        CHECK(o.entra_admin->display_name == "ops@contoso.com");
        CHECK(o.entra_admin->object_id.empty()); // looked up at run time
        CHECK(o.password_auth == "Disabled");

        o = BaseOptions();
        o.entra_admin_flag = "7D1E2F3A-4B5C-4D6E-8F70-8192A3B4C5D6";
        prov::Normalize(o, config);
        CHECK(o.entra_admin->type == "ServicePrincipal");
        CHECK(o.entra_admin->object_id == "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6");
        CHECK(o.entra_admin->display_name.empty());

        o = BaseOptions();
        o.entra_admin_flag = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
        o.entra_admin_type_flag = "group";
        o.entra_admin_name_flag = "pg admins";
        prov::Normalize(o, config);
        CHECK(o.entra_admin->type == "Group");
        CHECK(o.entra_admin->display_name == "pg admins");

        // Lambdas stay out of the CHECK macros (clang 14).
        auto code = [&](std::string admin, std::string name, std::string password_auth) {
            auto b = BaseOptions();
            b.entra_admin_flag = std::move(admin);
            b.entra_admin_name_flag = std::move(name);
            b.password_auth = std::move(password_auth);
            return CodeOf([&] { prov::Normalize(b, config); });
        };
        CHECK(code("user_fabrikam.com#EXT#@contoso.onmicrosoft.com", "", "") == ExitCode::Ok); // a guest
        CHECK(code("ops", "", "") == ExitCode::Usage);
        CHECK(code("ops@contoso", "", "") == ExitCode::Usage);
        CHECK(code("ops@contoso.com\n", "", "") == ExitCode::Usage);
        CHECK(code("", "", "disabled") == ExitCode::Usage);
        CHECK(code("ops@contoso.com", "tab\there", "") == ExitCode::Usage);
    }

    TEST_CASE("--app-identity ROLE=OBJECT_ID: parsed strictly; the role must be one provision creates; "
              "an Entra role needs no password") {
        auto id = prov::ParseAppIdentity("api_service=1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D");
        CHECK(id.role == "api_service");
        CHECK(id.object_id == "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
        auto parse = [](const std::string& text) { return CodeOf([&] { prov::ParseAppIdentity(text); }); };
        CHECK(parse("api_service") == ExitCode::Usage);
        CHECK(parse("=1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d") == ExitCode::Usage);
        CHECK(parse("api_service=1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'--") == ExitCode::Usage);

        auto config = EmptyConfig();
        auto o = BaseOptions();
        o.create_app_users = true;
        o.app_identities = {id};
        prov::Normalize(o, config);
        // ranking_writer still needs its password (from the environment, or generated with --emit-secrets);
        // api_service does not.
        auto s =
            prov::ResolveSecrets(o, EmptyConfig({{"PGSPLIT_RANKING_WRITER_PASSWORD", "Writer-Canary-9"}}));
        REQUIRE(s.app_roles.size() == 2);
        CHECK(s.app_roles[0].entra_object_id.empty());
        CHECK(s.app_roles[1].name == "api_service");
        CHECK(s.app_roles[1].password.empty());
        CHECK(s.app_roles[1].entra_object_id == "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
        CHECK(s.generated_roles.empty());

        o.app_identities = {prov::ParseAppIdentity("backtest_service=1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")};
        auto normalize = [&] { return CodeOf([&] { prov::Normalize(o, config); }); };
        CHECK(normalize() == ExitCode::Usage);
        o.legacy_roles = true;
        CHECK(normalize() == ExitCode::Ok);
    }

    TEST_CASE("PGSPLIT_ADMIN_DSN fills --admin-dsn only when the flag is absent") {
        auto config = EmptyConfig({{"PGSPLIT_ADMIN_DSN", "host=/env"}});
        auto o = BaseOptions();
        prov::Normalize(o, config);
        CHECK(o.admin_dsn.value_or("") == "host=/env");
        o = BaseOptions();
        o.admin_dsn = "host=/flag";
        prov::Normalize(o, config);
        CHECK(o.admin_dsn.value_or("") == "host=/flag");
    }

    TEST_CASE("--allow-ip-range takes one address or START-END") {
        auto one = prov::ParseIpRange("203.0.113.7");
        CHECK(one.start == "203.0.113.7");
        CHECK(one.end == "203.0.113.7");
        auto range = prov::ParseIpRange("203.0.113.0-203.0.113.255");
        CHECK(range.start == "203.0.113.0");
        CHECK(range.end == "203.0.113.255");
        CHECK(CodeOf([] { prov::ParseIpRange("203.0.113.9-203.0.113.1"); }) == ExitCode::Usage);
        CHECK(CodeOf([] { prov::ParseIpRange("example.com"); }) == ExitCode::Usage);
        CHECK(CodeOf([] { prov::ParseIpRange("1.2.3.4-"); }) == ExitCode::Usage);
    }

    TEST_CASE("generated passwords: 43 URL-safe characters from the CSPRNG, three classes, never '-' first") {
        std::set<std::string> seen;
        for (int i = 0; i < 200; ++i) {
            std::string pw = prov::GeneratePassword();
            CHECK(pw.size() == 43);
            CHECK(pw.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                  std::string::npos);
            CHECK(pw[0] != '-');
            CHECK(prov::AdminPasswordProblem(pw).empty());
            seen.insert(pw);
        }
        CHECK(seen.size() == 200);
    }

    TEST_CASE("Azure's admin password rules") {
        CHECK_FALSE(prov::AdminPasswordProblem("short1A").empty());
        CHECK_FALSE(prov::AdminPasswordProblem("alllowercaseletters").empty());
        CHECK(prov::AdminPasswordProblem("lower-and-digits-123").empty());
        CHECK(prov::AdminPasswordProblem("Mixed-Case-Pass").empty());
        CHECK_FALSE(prov::AdminPasswordProblem(std::string(129, 'a') + "A1").empty());
    }

    TEST_CASE("SecretMask hides raw and percent-encoded forms, the longer secret first") {
        prov::SecretMask mask;
        mask.Add("p@ss:word/1");
        mask.Add("abc");
        mask.Add("abcdef");
        mask.Add("");
        CHECK(mask.Apply("uri postgresql://u:p%40ss%3Aword%2F1@h and raw p@ss:word/1") ==
              "uri postgresql://u:***@h and raw ***");
        CHECK(mask.Apply("abcdef abc") == "*** ***");
        CHECK(mask.Secrets().size() == 3);
        CHECK(prov::AddMaskCommands(mask) ==
              "::add-mask::p@ss:word/1\n::add-mask::p%2540ss%253Aword%252F1\n::add-mask::abc\n"
              "::add-mask::abcdef\n");
    }

    TEST_CASE("ResolveSecrets: environment first, generated otherwise, all registered with the mask") {
        auto o = BaseOptions();
        o.create_app_users = true;
        o.legacy_roles = true;
        auto env = EmptyConfig({{"PGSPLIT_ADMIN_PASSWORD", "Env-Admin-Canary-1"}});
        CHECK(CodeOf([&] { prov::ResolveSecrets(o, env); }) == ExitCode::Usage); // generated, never shown
        o.emit_secrets = true;
        auto s =
            prov::ResolveSecrets(o, EmptyConfig({{"PGSPLIT_ADMIN_PASSWORD", "Env-Admin-Canary-1"},
                                                 {"PGSPLIT_API_SERVICE_PASSWORD", "Api-Canary-from-env"}}));
        CHECK(s.admin_password == "Env-Admin-Canary-1");
        CHECK_FALSE(s.admin_generated);
        REQUIRE(s.app_roles.size() == 3);
        CHECK(s.app_roles[0].name == "ranking_writer");
        CHECK(s.app_roles[0].password.size() == 43);
        CHECK(s.app_roles[1].password == "Api-Canary-from-env");
        CHECK(s.app_roles[2].name == "backtest_service");
        CHECK(s.generated_roles == std::vector<std::string>{"ranking_writer", "backtest_service"});
        CHECK(s.mask.Apply("x Api-Canary-from-env Env-Admin-Canary-1 " + s.app_roles[0].password) ==
              "x *** *** ***");
        CHECK(pgsplit::Config::RolePasswordVariable("backtest_service") ==
              "PGSPLIT_BACKTEST_SERVICE_PASSWORD");
        CHECK(CodeOf([&] {
                  prov::ResolveSecrets(o, EmptyConfig({{"PGSPLIT_ADMIN_PASSWORD", "Canary-"}}));
              }) == ExitCode::Config);
    }

    TEST_CASE("az failures are classified from the texts and exit codes az uses") {
        CHECK(prov::IsNotFound(Failed(3, "ERROR: (ResourceNotFound) The Resource ... was not found.")));
        CHECK(prov::IsNotFound(
            Failed(1, "ERROR: (ResourceGroupNotFound) Resource group 'x' could not be found.")));
        CHECK_FALSE(
            prov::IsNotFound(Failed(1, "ERROR: (AuthorizationFailed) The client does not have access")));
        CHECK_FALSE(prov::IsNotFound({0, "{}", "", nullptr}));
        CHECK(prov::IsRegionRestricted(Failed(1, "ERROR: The location is restricted for provisioning of "
                                                 "flexible servers. Please try using another "
                                                 "region.")));
        CHECK(prov::IsRegionRestricted(
            Failed(1, "ERROR: (LocationIsOfferRestricted) Subscriptions are restricted")));
        CHECK(prov::IsRegionRestricted(Failed(1, "Please try using another region")));
        CHECK_FALSE(
            prov::IsRegionRestricted(Failed(1, "ERROR: (QuotaExceeded) Operation could not be completed")));
        CHECK(prov::IsNotLoggedIn(Failed(1, "ERROR: Please run 'az login' to setup account.")));
        CHECK_FALSE(prov::IsNotLoggedIn(Failed(3, "ERROR: (ResourceNotFound)")));
    }

    TEST_CASE("rendered az commands are shell-quoted and hide the admin password even when unregistered") {
        prov::SecretMask mask;
        mask.Add("Registered-Canary-2");
        pgsplit::Logger log;
        auto config = EmptyConfig();
        prov::AzCli az("/opt/az/bin/az", config, mask, log);
        az.SetSubscription("sub 1");
        CHECK(az.Render({"group", "show", "--name", "it's", "--admin-password=Not-Registered-Canary-1",
                         "--tag", "Registered-Canary-2"}) ==
              "az group show --name 'it'\\''s' --admin-password=*** --tag *** --subscription 'sub 1' "
              "--only-show-errors -o json");
        auto argv = az.Argv({"account", "show"});
        CHECK(argv.front() == "/opt/az/bin/az");
        CHECK(argv.back() == "json");
    }

    TEST_CASE("an az failure names the step and the command, masks secrets in az's stderr, and maps the "
              "login error to exit 4") {
        prov::SecretMask mask;
        mask.Add("Leaky-Canary-1234");
        pgsplit::Logger log;
        auto config = EmptyConfig();
        prov::AzCli az("az", config, mask, log);
        auto e = az.Failure(
            "server", {"postgres", "flexible-server", "create", "--admin-password=Leaky-Canary-1234"},
            Failed(1, "ERROR: (InvalidPassword) 'Leaky-Canary-1234' contains the user name\nmore"),
            "the hint");
        std::string msg = e.what();
        CHECK(e.code() == ExitCode::Failure);
        CHECK(msg.rfind("step 'server': az postgres flexible-server create failed (exit 1): ERROR: "
                        "(InvalidPassword) '***' contains the user name",
                        0) == 0);
        CHECK(msg.find("Leaky-Canary-1234") == std::string::npos);
        CHECK(e.hint() == "the hint");
        auto login = az.Failure("login", {"account", "show"},
                                Failed(1, "ERROR: Please run 'az login' to setup account."), "");
        CHECK(login.code() == ExitCode::Connect);
    }

    TEST_CASE("RunProcess: argv without a shell, both streams captured whole, exit code kept") {
        auto r = prov::RunProcess(
            "/bin/sh", {"sh", "-c", "printf '%s' \"$1\"; echo err >&2; exit 3", "sh", "a; b $X"}, {"X=1"});
        CHECK(r.exit_code == 3);
        CHECK(r.out == "a; b $X");
        CHECK(r.err == "err\n");
        // More than a pipe buffer on both streams at once must not deadlock.
        auto big = prov::RunProcess("/bin/sh",
                                    {"sh", "-c",
                                     "head -c 300000 /dev/zero | tr '\\0' o; head -c 300000 /dev/zero | "
                                     "tr '\\0' e >&2"},
                                    {"PATH=/usr/bin:/bin"});
        CHECK(big.exit_code == 0);
        CHECK(big.out.size() == 300000);
        CHECK(big.err.size() == 300000);
        auto stdin_closed =
            prov::RunProcess("/bin/sh", {"sh", "-c", "cat; echo done"}, {"PATH=/usr/bin:/bin"});
        CHECK(stdin_closed.out == "done\n");
        CHECK(CodeOf([] { prov::RunProcess("/nonexistent/az", {"az"}, {}); }) == ExitCode::Config);
    }

    TEST_CASE("ScramVerifier computes the verifier client-side; EnsureAppRoles stores it, not the password") {
        pgsplit::test::TestDatabase db;
        auto conn = db.Connect();
        std::string v = prov::ScramVerifier(conn, "ranking_writer", "Unit-Canary-Pw-11");
        CHECK(v.rfind("SCRAM-SHA-256$4096:", 0) == 0);
        CHECK(v.find("Unit-Canary-Pw-11") == std::string::npos);
        CHECK(prov::ScramVerifier(conn, "ranking_writer", "Unit-Canary-Pw-11") != v); // fresh salt each time

        pgsplit::Logger log(pgsplit::LogFormat::Text, pgsplit::LogLevel::Error, false);
        auto outcomes = prov::EnsureAppRoles(conn, {{"backtest_service", "Unit-Canary-Pw-22", ""}}, log);
        REQUIRE(outcomes.size() == 1);
        CHECK((outcomes[0].action == "created" || outcomes[0].action == "password rotated"));
        CHECK(outcomes[0].granted.front() == "CONNECT ON DATABASE " + db.Name());
        // No migrations in this database: the backtest grants wait for 0004.
        CHECK(outcomes[0].skipped.size() == 2);
        CHECK(db.Value("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = "
                       "'backtest_service'") == "t");
        auto again = prov::EnsureAppRoles(conn, {{"backtest_service", "Unit-Canary-Pw-33", ""}}, log);
        CHECK(again[0].action == "password rotated");
        CHECK(conn.QueryValue("SELECT 1").value_or("") == "1"); // the transaction was closed
    }
}
