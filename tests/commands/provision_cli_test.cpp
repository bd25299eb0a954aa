// pgsplit provision as operators and CI run it: the built binary against a fake az (tests/provision/
// fake_az/az, first on PATH) that records every argv and plays a scripted scenario, and against the
// throwaway PostgreSQL for --apply-migrations / --create-app-users (issue 8).
// Long because every scenario of the fake az (found, missing, region refused, throttled, secrets on the
// command line) is one case here, read next to the others it differs from by one answer.
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

using pgsplit::test::ProcResult;
using pgsplit::test::ReadText;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;
using pgsplit::test::SourceDir;
using pgsplit::test::TcpDsn;
using pgsplit::test::TestDatabase;

namespace {

// Canary passwords: each must show up only where the issue allows it.
constexpr const char* kAdminPw = "Adm1n-Canary-4f9c2e";
constexpr const char* kWriterPw = "Writer-Canary-8d1e7a";
constexpr const char* kApiPw = "Api-Canary-2b6c9f";
constexpr const char* kBacktestPw = "Backtest-Canary-5a0d3b";

size_t Count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

bool Has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// One fake az world: a log of calls and a state directory that persists across runs.
class FakeAz {
public:
    explicit FakeAz(std::string scenario) : scenario_(std::move(scenario)) {}

    std::string LogPath() const { return dir_ / "az.log"; }
    std::string Dir() const { return (SourceDir() / "tests" / "provision" / "fake_az").string(); }

    std::map<std::string, std::string> Env(std::map<std::string, std::string> extra = {}) const {
        std::map<std::string, std::string> env = {
            {"PATH", Dir() + ":" + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin")},
            {"FAKE_AZ_LOG", LogPath()},
            {"FAKE_AZ_SCENARIO", scenario_},
            {"FAKE_AZ_STATE", dir_ / "state"},
        };
        for (auto& [k, v] : extra) {
            env[k] = v;
        }
        return env;
    }

    std::string RawLog() const { return ReadText(LogPath()); }

    // Every recorded argv, in order.
    std::vector<std::vector<std::string>> Calls() const {
        std::vector<std::vector<std::string>> calls;
        std::string log = RawLog();
        size_t start = 0;
        while (start < log.size()) {
            size_t end = log.find('\n', start);
            if (end == std::string::npos) {
                end = log.size();
            }
            if (end > start) {
                calls.push_back(
                    nlohmann::json::parse(log.substr(start, end - start)).get<std::vector<std::string>>());
            }
            start = end + 1;
        }
        return calls;
    }

    // Calls whose command words are exactly `words` ("postgres flexible-server create").
    std::vector<std::vector<std::string>> CallsOf(const std::string& words) const {
        std::vector<std::vector<std::string>> out;
        for (const auto& c : Calls()) {
            if (Words(c) == words) {
                out.push_back(c);
            }
        }
        return out;
    }

    static std::string Words(const std::vector<std::string>& argv) {
        std::string w;
        for (const auto& a : argv) {
            if (a.rfind("-", 0) == 0) {
                break;
            }
            w += (w.empty() ? "" : " ") + a;
        }
        return w;
    }

    static std::string Option(const std::vector<std::string>& argv, const std::string& flag) {
        for (size_t i = 0; i + 1 < argv.size(); ++i) {
            if (argv[i] == flag) {
                return argv[i + 1];
            }
        }
        return {};
    }

private:
    std::string scenario_;
    ScratchDir dir_;
};

std::vector<std::string> Args(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"provision",     "--resource-group",    "rg-assets",
                                     "--server-name", "assets-pg",           "--location",
                                     "eastus",        "--location-fallback", "eastus2,centralus"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// Calls that change something in Azure.
size_t MutatingCalls(const FakeAz& az) {
    size_t n = 0;
    for (const auto& c : az.Calls()) {
        std::string w = FakeAz::Words(c);
        if (Has(w, "create") || Has(w, "update") || Has(w, "delete") || Has(w, " set")) {
            ++n;
        }
    }
    return n;
}

void CheckNoPasswords(const ProcResult& r, std::initializer_list<const char*> passwords) {
    for (const char* pw : passwords) {
        INFO("password " << pw);
        CHECK_FALSE(Has(r.out, pw));
        CHECK_FALSE(Has(r.err, pw));
    }
}

// The throwaway cluster's server log (log_statement = 'all'): the cluster dir holds sock/ and server.log.
std::string ServerLog() {
    auto dir = std::filesystem::path(pgsplit::test::Cluster().socket_dir).parent_path();
    return ReadText((dir / "server.log").string());
}

bool CanLogIn(const std::string& role, const std::string& password, const std::string& db) {
    try {
        pgsplit::pg::Connection::Open(TcpDsn(role, password, db), "pgsplit-test", 5);
        return true;
    } catch (const pgsplit::Error&) {
        return false;
    }
}

} // namespace

TEST_SUITE("provision-cli") {
    TEST_CASE("fresh subscription: group, server, database and rules are created; the admin password reaches "
              "az only in the one create call") {
        FakeAz az("fresh");
        auto r = RunPgsplit(Args({"--allow-azure-services", "--allow-ip-range", "203.0.113.10-203.0.113.20"}),
                            az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(az.CallsOf("group create").size() == 1);
        auto creates = az.CallsOf("postgres flexible-server create");
        REQUIRE(creates.size() == 1);
        const auto& create = creates[0];
        CHECK(FakeAz::Option(create, "--location") == "eastus");
        CHECK(FakeAz::Option(create, "--sku-name") == "Standard_B1ms");
        CHECK(FakeAz::Option(create, "--tier") == "Burstable");
        CHECK(FakeAz::Option(create, "--public-access") == "None");
        CHECK(FakeAz::Option(create, "--admin-user") == "pgsplitadmin");
        CHECK(std::count(create.begin(), create.end(), std::string("--admin-password=") + kAdminPw) == 1);
        CHECK(az.CallsOf("postgres flexible-server db create").size() == 1);
        CHECK(az.CallsOf("postgres flexible-server firewall-rule create").size() == 2);
        // Every call: no shell, the common flags, pinned to the subscription account show reported.
        for (const auto& c : az.Calls()) {
            CHECK(std::count(c.begin(), c.end(), "--only-show-errors") == 1);
            CHECK(FakeAz::Option(c, "-o") == "json");
            if (FakeAz::Words(c) != "account show") {
                CHECK(FakeAz::Option(c, "--subscription") == "00000000-0000-4000-8000-000000000001");
            }
        }
        CHECK(Count(az.RawLog(), kAdminPw) == 1);
        CheckNoPasswords(r, {kAdminPw});
        CHECK(Has(r.out, "assets-pg.postgres.database.azure.com"));
        CHECK(Has(r.out, "pgsplitadmin:***@assets-pg.postgres.database.azure.com:5432/asset_allocation"));
        CHECK(Has(r.out, "sslmode=verify-full"));
        CHECK(Has(r.err, "server: assets-pg created in eastus"));

        // A second run in the same world finds everything and creates nothing.
        auto again =
            RunPgsplit(Args({"--allow-azure-services", "--allow-ip-range", "203.0.113.10-203.0.113.20"}),
                       az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        CHECK(again.exit_code == 0);
        CHECK(MutatingCalls(az) == 5); // the five of the first run, none added
        CHECK(Count(az.RawLog(), kAdminPw) == 1);
        CHECK(Has(again.err, "assets-pg exists"));
        CHECK(Has(again.err, "0.0.0.0-0.0.0.0 unchanged"));
    }

    TEST_CASE("everything already exists: only show calls, no create or update at all") {
        FakeAz az("exists");
        auto r = RunPgsplit(
            Args({"--allow-azure-services", "--allow-ip-range", "203.0.113.10-203.0.113.20", "--json"}),
            az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(MutatingCalls(az) == 0);
        CHECK(az.Calls().size() == 6); // account, group, server, db, two rules
        CHECK_FALSE(Has(az.RawLog(), kAdminPw));
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["ok"] == true);
        CHECK(j["server"]["created"] == false);
        CHECK(j["server"]["fqdn"] == "assets-pg.postgres.database.azure.com");
        CHECK(j["database"]["created"] == false);
        CHECK(j["firewall_rules"][0]["action"] == "unchanged");
        CHECK(j["firewall_rules"][1]["action"] == "unchanged");
        CHECK(j["dsns"]["pgsplitadmin"].get<std::string>().find(":***@") != std::string::npos);
        CheckNoPasswords(r, {kAdminPw});
    }

    TEST_CASE("a firewall rule with another range is updated in place, under its fixed name") {
        FakeAz az("exists");
        auto r = RunPgsplit(Args({"--allow-ip-range", "198.51.100.7"}), az.Env());
        REQUIRE(r.exit_code == 0);
        auto updates = az.CallsOf("postgres flexible-server firewall-rule update");
        REQUIRE(updates.size() == 1);
        CHECK(FakeAz::Option(updates[0], "--rule-name") == "allow-ip-range");
        CHECK(FakeAz::Option(updates[0], "--start-ip-address") == "198.51.100.7");
        CHECK(FakeAz::Option(updates[0], "--end-ip-address") == "198.51.100.7");
        CHECK(az.CallsOf("postgres flexible-server firewall-rule create").empty());
    }

    TEST_CASE("first region restricted: the next fallback region is tried and used") {
        FakeAz az("restricted-first");
        auto r = RunPgsplit(Args(), az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        auto creates = az.CallsOf("postgres flexible-server create");
        REQUIRE(creates.size() == 2);
        CHECK(FakeAz::Option(creates[0], "--location") == "eastus");
        CHECK(FakeAz::Option(creates[1], "--location") == "eastus2");
        CHECK(Has(r.err, "location eastus is restricted"));
        CHECK(Has(r.out, "created in eastus2 (eastus restricted)"));
        // The admin password is in the create calls and nowhere else.
        CHECK(Count(az.RawLog(), kAdminPw) == 2);
        CheckNoPasswords(r, {kAdminPw});
    }

    TEST_CASE("every region restricted: exit 1 naming all regions tried") {
        FakeAz az("all-restricted");
        auto r = RunPgsplit(Args({"--json"}), az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        CHECK(r.exit_code == 1);
        CHECK(az.CallsOf("postgres flexible-server create").size() == 3);
        CHECK(Has(r.err, "every location tried is restricted"));
        CHECK(Has(r.err, "eastus, eastus2, centralus"));
        CHECK(Has(r.err, "hint: add regions with --location-fallback"));
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["ok"] == false);
        CHECK(j["error"]["exit_code"] == 1);
        CHECK(az.CallsOf("postgres flexible-server db show").empty());
        CheckNoPasswords(r, {kAdminPw});
    }

    TEST_CASE("a create failure that is not about the region stops at once with az's message") {
        FakeAz az("quota");
        auto r = RunPgsplit(Args(), az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        CHECK(r.exit_code == 1);
        CHECK(az.CallsOf("postgres flexible-server create").size() == 1);
        CHECK(Has(r.err, "step 'server': az postgres flexible-server create failed (exit 1)"));
        CHECK(Has(r.err, "QuotaExceeded"));
        CheckNoPasswords(r, {kAdminPw});
    }

    TEST_CASE(
        "database missing: ResourceNotFound from db show leads to db create, the server is left alone") {
        FakeAz az("db-missing");
        auto r = RunPgsplit(Args({"--database", "asset_allocation"}), az.Env());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(az.CallsOf("postgres flexible-server create").empty());
        auto creates = az.CallsOf("postgres flexible-server db create");
        REQUIRE(creates.size() == 1);
        CHECK(FakeAz::Option(creates[0], "--database-name") == "asset_allocation");
        CHECK(FakeAz::Option(creates[0], "--server-name") == "assets-pg");
        CHECK(Has(r.err, "database: asset_allocation created"));
    }

    TEST_CASE("az not logged in: exit 4 with the login hint, after one call") {
        FakeAz az("not-logged-in");
        auto r = RunPgsplit(Args(), az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        CHECK(r.exit_code == 4);
        CHECK(az.Calls().size() == 1);
        CHECK(Has(r.err, "step 'login'"));
        CHECK(Has(r.err, "Please run 'az login'"));
        CHECK(Has(r.err, "hint: log in first"));
    }

    TEST_CASE("az missing: exit 3 before anything runs") {
        ScratchDir empty;
        SUBCASE("not on PATH") {
            auto r = RunPgsplit(Args(), {{"PATH", empty.Path()}});
            CHECK(r.exit_code == 3);
            CHECK(Has(r.err, "the Azure CLI (az) was not found on PATH"));
            CHECK(Has(r.err, "hint: install it"));
        }
        SUBCASE("--az names nothing executable") {
            auto r = RunPgsplit(Args({"--az", empty / "az"}), {});
            CHECK(r.exit_code == 3);
            CHECK(Has(r.err, "not an executable file"));
        }
    }

    TEST_CASE("--az runs the given program even when PATH has none") {
        FakeAz az("exists");
        auto env = az.Env();
        env["PATH"] = "/usr/bin:/bin";
        auto r = RunPgsplit(Args({"--az", az.Dir() + "/az"}), env);
        CHECK(r.exit_code == 0);
        CHECK(az.Calls().size() == 4);
    }

    TEST_CASE("az printing garbage instead of JSON: exit 1 naming the step") {
        FakeAz az("garbage-json");
        auto r = RunPgsplit(Args(), az.Env());
        CHECK(r.exit_code == 1);
        CHECK(Has(r.err, "step 'server'"));
        CHECK(Has(r.err, "not JSON"));
        CHECK(Has(r.err, "502 Bad Gateway"));
        CHECK(MutatingCalls(az) == 0);
    }

    TEST_CASE("SIGTERM during a long az call stops az too and exits 143 within seconds") {
        FakeAz az("slow-create");
        pgsplit::test::Process p({pgsplit::test::BinaryPath().string(), "provision", "--resource-group",
                                  "rg-assets", "--server-name", "assets-pg", "--location", "eastus"},
                                 az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        for (int i = 0; i < 200 && !Has(p.StderrSoFar(), "this takes several minutes"); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        REQUIRE(Has(p.StderrSoFar(), "this takes several minutes"));
        // The fake az records its argv as it starts, then sleeps in the create: signal once it is there.
        const std::string create = "[\"postgres\",\"flexible-server\",\"create\",";
        for (int i = 0; i < 400 && !Has(az.RawLog(), create); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        REQUIRE(Has(az.RawLog(), create));
        auto t0 = std::chrono::steady_clock::now();
        p.Signal(SIGTERM);
        auto r = p.Wait(30);
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(r.exit_code == 143);
        CHECK(secs < 10);
        CHECK(az.CallsOf("postgres flexible-server db show").empty());
        CheckNoPasswords(r, {kAdminPw});
    }

    TEST_CASE("--dry-run prints each az command with the password masked and runs nothing") {
        FakeAz az("fresh");
        auto r = RunPgsplit(Args({"--dry-run", "--subscription", "sub-123", "--allow-azure-services",
                                  "--apply-migrations", "--create-app-users"}),
                            az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw},
                                    {"PGSPLIT_RANKING_WRITER_PASSWORD", kWriterPw},
                                    {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw}}));
        INFO(r.out);
        CHECK(r.exit_code == 0);
        CHECK_FALSE(std::filesystem::exists(az.LogPath()));
        CHECK(Has(r.out, "dry run: nothing was executed"));
        CHECK(Has(r.out, "az account show --subscription sub-123 --only-show-errors -o json"));
        CHECK(Has(r.out, "az postgres flexible-server create --resource-group rg-assets --name assets-pg "
                         "--location eastus --admin-user pgsplitadmin --admin-password=*** --sku-name "
                         "Standard_B1ms --tier Burstable"));
        CHECK(Has(r.out, "[if missing and eastus is restricted] az postgres flexible-server create"));
        CHECK(Has(r.out, "--location centralus"));
        CHECK(Has(r.out, "firewall-rule create"));
        CHECK(Has(r.out, "ranking_writer, api_service"));
        CheckNoPasswords(r, {kAdminPw, kWriterPw, kApiPw});

        auto j = RunPgsplit(Args({"--dry-run", "--json"}), az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        CHECK(j.exit_code == 0);
        auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["dry_run"] == true);
        CHECK(doc["plan"].size() > 5);
        CHECK_FALSE(std::filesystem::exists(az.LogPath()));
        CheckNoPasswords(j, {kAdminPw});
    }

    TEST_CASE("a Burstable SKU with another tier is a usage error before any az call") {
        FakeAz az("fresh");
        auto r = RunPgsplit(Args({"--sku-name", "Standard_B1ms", "--tier", "GeneralPurpose"}), az.Env());
        CHECK(r.exit_code == 2);
        CHECK(Has(r.err, "--sku-name Standard_B1ms is a Burstable SKU, but --tier is GeneralPurpose"));
        CHECK_FALSE(std::filesystem::exists(az.LogPath()));
        auto bad_ip = RunPgsplit(Args({"--allow-ip-range", "300.1.1.1"}), az.Env());
        CHECK(bad_ip.exit_code == 2);
        auto bad_name = RunPgsplit(
            {"provision", "--resource-group", "rg", "--server-name", "Bad_Name", "--location", "eastus"},
            az.Env());
        CHECK(bad_name.exit_code == 2);
        auto missing = RunPgsplit({"provision", "--server-name", "assets-pg"}, az.Env());
        CHECK(missing.exit_code == 2);
        CHECK_FALSE(std::filesystem::exists(az.LogPath()));
    }

    TEST_CASE("the SKU is sent with Azure's casing and the tier derived from it") {
        FakeAz az("fresh");
        auto r =
            RunPgsplit(Args({"--sku-name", "standard_d2ds_v5", "--version", "15", "--storage-size", "64"}),
                       az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        REQUIRE(r.exit_code == 0);
        auto create = az.CallsOf("postgres flexible-server create").at(0);
        CHECK(FakeAz::Option(create, "--sku-name") == "Standard_D2ds_v5");
        CHECK(FakeAz::Option(create, "--tier") == "GeneralPurpose");
        CHECK(FakeAz::Option(create, "--version") == "15");
        CHECK(FakeAz::Option(create, "--storage-size") == "64");
    }

    TEST_CASE("an admin password Azure would refuse is a configuration error before any az call") {
        FakeAz az("fresh");
        auto r = RunPgsplit(Args(), az.Env({{"PGSPLIT_ADMIN_PASSWORD", "Canary-"}}));
        CHECK(r.exit_code == 3);
        CHECK(Has(r.err, "PGSPLIT_ADMIN_PASSWORD"));
        CHECK_FALSE(Has(r.err, "Canary-"));
        CHECK_FALSE(std::filesystem::exists(az.LogPath()));
    }

    TEST_CASE("a generated admin password is strong, used once, and shown only with --emit-secrets") {
        FakeAz az("fresh");
        auto r = RunPgsplit(Args({"--json", "--emit-secrets"}), az.Env());
        REQUIRE(r.exit_code == 0);
        auto create = az.CallsOf("postgres flexible-server create").at(0);
        std::string pw_arg;
        for (const auto& a : create) {
            if (a.rfind("--admin-password=", 0) == 0) {
                pw_arg = a.substr(17);
            }
        }
        pgsplit::test::RegisterSecret(pw_arg); // the canary scan looks for it in everything else
        CHECK(pw_arg.size() >= 32);
        CHECK(pw_arg.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              std::string::npos);
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["dsns"]["pgsplitadmin"].get<std::string>().find(":" + pw_arg + "@") != std::string::npos);
        CHECK(j["generated_passwords"][0] == "admin");
        // Nowhere but the DSN on stdout: not in the log lines, not in the fake's create output.
        CHECK_FALSE(Has(r.err, pw_arg));
        CHECK(Count(r.out, pw_arg) == 1);
    }

    TEST_CASE("GitHub Actions: ::add-mask:: for every secret comes before any other line") {
        FakeAz az("fresh");
        auto r =
            RunPgsplit(Args({"--emit-secrets", "--create-app-users", "--admin-dsn", "host=/nonexistent"}),
                       az.Env({{"GITHUB_ACTIONS", "true"},
                               {"PGSPLIT_ADMIN_PASSWORD", kAdminPw},
                               {"PGSPLIT_RANKING_WRITER_PASSWORD", kWriterPw},
                               {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw}}));
        // The database step cannot connect (exit 4), but the masks were registered first.
        CHECK(r.exit_code == 4);
        std::string expected = std::string("::add-mask::") + kAdminPw + "\n::add-mask::" + kWriterPw +
                               "\n::add-mask::" + kApiPw + "\n";
        CHECK(r.out.rfind(expected, 0) == 0);
        CHECK(Has(r.All(), "::error title=pgsplit::"));

        // With --json, stdout is the JSON document alone and the masks lead stderr.
        FakeAz again("exists");
        auto j = RunPgsplit(
            Args({"--json", "--emit-secrets", "--create-app-users", "--admin-dsn", "host=/nonexistent"}),
            again.Env({{"GITHUB_ACTIONS", "true"},
                       {"PGSPLIT_ADMIN_PASSWORD", kAdminPw},
                       {"PGSPLIT_RANKING_WRITER_PASSWORD", kWriterPw},
                       {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw}}));
        CHECK(j.exit_code == 4);
        CHECK(j.err.rfind(expected, 0) == 0);
        CHECK(nlohmann::json::parse(j.out.substr(0, j.out.find('\n')))["ok"] == false);
    }

    TEST_CASE(
        "--create-app-users refuses to set generated passwords it would not show (exit 2, no az call)") {
        FakeAz az("exists");
        auto r = RunPgsplit(Args({"--create-app-users"}), az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw},
                                                                  {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw}}));
        CHECK(r.exit_code == 2);
        CHECK(Has(r.err, "PGSPLIT_RANKING_WRITER_PASSWORD unset"));
        CHECK_FALSE(Has(r.err, "PGSPLIT_API_SERVICE_PASSWORD"));
        CHECK(Has(r.err, "hint: set those variables"));
        CHECK_FALSE(std::filesystem::exists(az.LogPath()));
    }

    TEST_CASE("an existing server needs PGSPLIT_ADMIN_PASSWORD for the database steps (exit 3)") {
        FakeAz az("exists");
        auto r = RunPgsplit(Args({"--apply-migrations"}), az.Env());
        CHECK(r.exit_code == 3);
        CHECK(Has(r.err, "PGSPLIT_ADMIN_PASSWORD is needed to connect to the existing server assets-pg"));
    }

    TEST_CASE("--apply-migrations and --create-app-users against PostgreSQL: roles created, privileges "
              "granted, re-run rotates, no plaintext password in the server log") {
        // Roles are cluster-wide: they are created, rotated and logged in as on a cluster of the test's own.
        pgsplit::test::OwnCluster own;
        TestDatabase db;
        FakeAz az("exists");
        auto env = az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw},
                           {"PGSPLIT_RANKING_WRITER_PASSWORD", kWriterPw},
                           {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw},
                           {"PGSPLIT_BACKTEST_SERVICE_PASSWORD", kBacktestPw}});
        auto r = RunPgsplit(Args({"--database", db.Name(), "--admin-dsn", db.Dsn(), "--apply-migrations",
                                  "--create-app-users", "--json"}),
                            env);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["migrations"]["version"] == "0006");
        REQUIRE(j["roles"].size() == 2);
        CHECK(j["roles"][0]["name"] == "ranking_writer");
        CHECK(j["roles"][0]["action"] == "created");
        CHECK(j["roles"][1]["name"] == "api_service");
        CHECK(j["roles"][1]["action"] == "created");
        CHECK(j["roles"][0]["skipped"].empty());
        CHECK(j["dsns"]["ranking_writer"] ==
              "postgresql://ranking_writer:***@assets-pg.postgres.database.azure.com:5432/" + db.Name() +
                  "?sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt");
        CHECK(db.Value("SELECT count(*) FROM pg_roles WHERE rolname = 'backtest_service'") == "0");

        // Password login works, and the privileges are SPEC §8's: nothing more.
        CHECK(CanLogIn("ranking_writer", kWriterPw, db.Name()));
        CHECK(CanLogIn("api_service", kApiPw, db.Name()));
        {
            auto w = pgsplit::pg::Connection::Open(TcpDsn("ranking_writer", kWriterPw, db.Name()));
            w.Exec(
                "INSERT INTO ranking.signal_sync_state (year_month, status) VALUES ('2026-01', 'success')");
            CHECK_THROWS(w.Exec("SELECT count(*) FROM backtest.runs"));
            CHECK_THROWS(w.Exec("CREATE TABLE core.nope (a int)"));
            auto api = pgsplit::pg::Connection::Open(TcpDsn("api_service", kApiPw, db.Name()));
            CHECK(api.QueryValue("SELECT count(*) FROM ranking.signal_sync_state").value_or("") == "1");
            api.Exec("INSERT INTO backtest.runs (run_id, status, config_json, effective_config_json) "
                     "VALUES ('r1', 'queued', '{}', '{}')");
            CHECK_THROWS(api.Exec("DELETE FROM ranking.signal_sync_state"));
            CHECK_THROWS(api.Exec("CREATE TABLE ranking.nope (a int)"));
        }
        CHECK(db.Value("SELECT has_schema_privilege('api_service', 'ranking', 'CREATE')") == "f");
        CHECK(db.Value("SELECT has_database_privilege('api_service', current_database(), 'CREATE')") == "f");
        CHECK(db.Value("SELECT has_database_privilege('ranking_writer', current_database(), 'CREATE')") ==
              "f");
        CHECK(db.Value("SELECT rolcreatedb OR rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = "
                       "'ranking_writer'") == "f");
        CHECK(db.Value("SELECT pg_has_role('ranking_writer', 'ranking_owner', 'MEMBER')") == "t");

        // Re-run with new passwords: the old ones stop working, the new ones work.
        const std::string new_writer = "Writer-Canary-Rotated-71c4e0";
        const std::string new_api = "Api-Canary-Rotated-93ab51";
        env["PGSPLIT_RANKING_WRITER_PASSWORD"] = new_writer;
        env["PGSPLIT_API_SERVICE_PASSWORD"] = new_api;
        auto again = RunPgsplit(Args({"--database", db.Name(), "--admin-dsn", db.Dsn(), "--apply-migrations",
                                      "--create-app-users", "--legacy-roles"}),
                                env);
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        CHECK(Has(again.out, "ranking_writer password rotated"));
        CHECK(Has(again.out, "api_service password rotated"));
        CHECK(Has(again.out, "backtest_service created"));
        CHECK(Has(again.out, "up to date (version 0006)"));
        CHECK_FALSE(CanLogIn("ranking_writer", kWriterPw, db.Name()));
        CHECK_FALSE(CanLogIn("api_service", kApiPw, db.Name()));
        CHECK(CanLogIn("ranking_writer", new_writer, db.Name()));
        CHECK(CanLogIn("api_service", new_api, db.Name()));
        CHECK(CanLogIn("backtest_service", kBacktestPw, db.Name()));
        {
            auto bt = pgsplit::pg::Connection::Open(TcpDsn("backtest_service", kBacktestPw, db.Name()));
            CHECK(bt.QueryValue("SELECT count(*) FROM backtest.runs").value_or("") == "1");
            CHECK_THROWS(bt.Exec("SELECT count(*) FROM ranking.ranking_signal"));
        }

        // The server logged the role statements (log_statement = 'all') with verifiers only.
        std::string log = ServerLog();
        REQUIRE((Has(log, "CREATE ROLE \"ranking_writer\"") || Has(log, "CREATE ROLE ranking_writer")));
        CHECK(Has(log, "PASSWORD 'SCRAM-SHA-256$4096:"));
        for (const std::string pw :
             {kAdminPw, kWriterPw, kApiPw, kBacktestPw, new_writer.c_str(), new_api.c_str()}) {
            INFO("password " << pw);
            CHECK_FALSE(Has(log, pw));
            CHECK_FALSE(Has(az.RawLog(), pw));
            CHECK_FALSE(Has(r.All(), pw));
            CHECK_FALSE(Has(again.All(), pw));
        }
    }

    TEST_CASE("--create-app-users before the migrations: roles exist, schema grants are reported as skipped; "
              "generated passwords work when emitted") {
        pgsplit::test::OwnCluster own; // generated passwords replace the roles' cluster-wide ones
        TestDatabase db;
        FakeAz az("exists");
        auto r = RunPgsplit(Args({"--database", db.Name(), "--create-app-users", "--emit-secrets", "--json"}),
                            az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}, {"PGSPLIT_ADMIN_DSN", db.Dsn()}}));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["generated_passwords"] == nlohmann::json::array({"ranking_writer", "api_service"}));
        CHECK_FALSE(j["roles"][0]["skipped"].empty());
        CHECK(Has(r.err, "grant(s) skipped"));
        for (const char* role : {"ranking_writer", "api_service"}) {
            std::string dsn = j["dsns"][role];
            auto at = dsn.find('@');
            auto colon = dsn.rfind(':', at);
            std::string pw = dsn.substr(colon + 1, at - colon - 1);
            pgsplit::test::RegisterSecret(pw);
            CHECK(pw.size() >= 32);
            CHECK(CanLogIn(role, pw, db.Name()));
            CHECK_FALSE(Has(r.err, pw));
            CHECK_FALSE(Has(az.RawLog(), pw));
        }
        CHECK(db.Value("SELECT has_database_privilege('api_service', current_database(), 'CONNECT')") == "t");
    }

    TEST_CASE("provision --help documents flags, passwords, exit codes and examples") {
        auto r = RunPgsplit({"provision", "--help"});
        CHECK(r.exit_code == 0);
        for (const char* s : {"--location-fallback", "--admin-dsn", "--emit-secrets",
                              "PGSPLIT_ADMIN_PASSWORD", "Exit codes", "Examples", "--dry-run"}) {
            INFO(s);
            CHECK(Has(r.out, s));
        }
    }
}

// Issue 17: Microsoft Entra ID. The fake az's directory (tests/provision/fake_az/az) knows these.
namespace {

constexpr const char* kOpsUserId = "5b3c6f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";    // ops@contoso.com
constexpr const char* kAdminSpId = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";    // id-pgsplit-admin
constexpr const char* kAdminGroupId = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"; // pg-admins
constexpr const char* kWriterMiId = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
constexpr const char* kApiMiId = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

// The command words of every call after the last firewall/database step, in order.
std::vector<std::string> EntraWords(const FakeAz& az) {
    std::vector<std::string> out;
    for (const auto& c : az.Calls()) {
        std::string w = FakeAz::Words(c);
        if (Has(w, "ad ") || Has(w, "microsoft-entra-admin") || w == "postgres flexible-server update") {
            out.push_back(w);
        }
    }
    return out;
}

bool HasArg(const std::vector<std::string>& argv, const std::string& arg) {
    return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

// Everything a role may do in the current database, as one sorted text: table and schema privileges,
// CONNECT/CREATE/TEMP on the database, role memberships.
std::string PrivilegesOf(const TestDatabase& db, const std::string& role) {
    return db.Value(
        "SELECT string_agg(x, ', ' ORDER BY x) FROM ("
        " SELECT c.oid::regclass::text || ': ' || a.privilege_type AS x FROM pg_class c, "
        "aclexplode(c.relacl) a"
        "  WHERE a.grantee = '" +
        role +
        "'::regrole"
        " UNION ALL SELECT 'schema ' || n.nspname || ': ' || a.privilege_type FROM pg_namespace n,"
        "  aclexplode(n.nspacl) a WHERE a.grantee = '" +
        role +
        "'::regrole"
        " UNION ALL SELECT 'database: ' || a.privilege_type FROM pg_database d, aclexplode(d.datacl) a"
        "  WHERE d.datname = current_database() AND a.grantee = '" +
        role +
        "'::regrole"
        " UNION ALL SELECT 'member of ' || r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = "
        "m.roleid"
        "  WHERE m.member = '" +
        role + "'::regrole) s");
}

// Azure's pgaadauth extension (pg_catalog.pgaadauth_create_principal_with_oid) exists only on Azure; this
// stand-in with its name and signature creates the LOGIN role and records the mapping in the role's
// comment, in the form Azure writes into its security label ('aadauth,oid=...,type=service').
void InstallPgaadauthStandIn(const TestDatabase& db) {
    auto conn = db.Connect();
    conn.Exec("CREATE FUNCTION public.pgaadauth_create_principal_with_oid(rolename text, objectid text, "
              "objecttype text, isadmin boolean, ismfa boolean) RETURNS text LANGUAGE plpgsql AS $$ "
              "BEGIN "
              "  EXECUTE format('CREATE ROLE %I LOGIN', rolename); "
              "  EXECUTE format('COMMENT ON ROLE %I IS %L', rolename, "
              "                 format('aadauth,oid=%s,type=%s', objectid, objecttype)); "
              "  RETURN format('Created role for %s', rolename); "
              "END $$");
}

} // namespace

TEST_SUITE("provision-cli") {
    TEST_CASE("--entra-admin UPN --password-auth disabled: object id looked up, Entra enabled, administrator "
              "set, then passwords off; a re-run changes nothing") {
        FakeAz az("exists");
        auto args = Args({"--entra-admin", "ops@contoso.com", "--password-auth", "disabled", "--json"});
        auto r = RunPgsplit(args, az.Env());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(EntraWords(az) ==
              std::vector<std::string>{"ad user show", "postgres flexible-server update",
                                       "postgres flexible-server microsoft-entra-admin show",
                                       "postgres flexible-server microsoft-entra-admin create",
                                       "postgres flexible-server update"});
        auto lookup = az.CallsOf("ad user show").at(0);
        CHECK(FakeAz::Option(lookup, "--id") == "ops@contoso.com");
        CHECK_FALSE(HasArg(lookup, "--subscription")); // Graph is tenant-wide; az refuses it there
        auto updates = az.CallsOf("postgres flexible-server update");
        REQUIRE(updates.size() == 2);
        CHECK(FakeAz::Option(updates[0], "--microsoft-entra-auth") == "Enabled");
        CHECK_FALSE(HasArg(updates[0], "--password-auth")); // passwords go off only once an admin exists
        CHECK(FakeAz::Option(updates[1], "--password-auth") == "Disabled");
        CHECK_FALSE(HasArg(updates[1], "--microsoft-entra-auth"));
        for (const auto& u : updates) {
            CHECK(FakeAz::Option(u, "--name") == "assets-pg");
            CHECK(FakeAz::Option(u, "--resource-group") == "rg-assets");
            CHECK(FakeAz::Option(u, "--subscription") == "00000000-0000-4000-8000-000000000001");
        }
        auto create = az.CallsOf("postgres flexible-server microsoft-entra-admin create").at(0);
        CHECK(HasArg(create, "--display-name=ops@contoso.com"));
        CHECK(FakeAz::Option(create, "--object-id") == kOpsUserId);
        CHECK(FakeAz::Option(create, "--type") == "User");
        CHECK(FakeAz::Option(create, "--server-name") == "assets-pg");
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["entra"]["auth"] == "enabled");
        CHECK(j["entra"]["admin"]["action"] == "created");
        CHECK(j["entra"]["admin"]["object_id"] == kOpsUserId);
        CHECK(j["entra"]["password_auth"] == "Disabled");
        // Password login is off: the admin's password DSN is gone, the Entra admin's has no password.
        CHECK_FALSE(j["dsns"].contains("pgsplitadmin"));
        CHECK(j["dsns"]["ops@contoso.com"] ==
              "postgresql://ops%40contoso.com@assets-pg.postgres.database.azure.com:5432/asset_allocation"
              "?sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt");
        CHECK(j["entra_dsns"] == nlohmann::json::array({"ops@contoso.com"}));

        auto again =
            RunPgsplit(Args({"--entra-admin", "ops@contoso.com", "--password-auth", "disabled"}), az.Env());
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        CHECK(MutatingCalls(az) == 3); // the first run's update, create, update; none added
        CHECK(Has(again.err, "Microsoft Entra authentication already enabled"));
        CHECK(Has(again.err, "ops@contoso.com (" + std::string(kOpsUserId) + ") unchanged"));
        CHECK(Has(again.err, "password authentication already disabled"));
        CHECK(Has(again.out,
                  "passwordless (Microsoft Entra) for ops@contoso.com: connect with --pg-auth entra"));
    }

    TEST_CASE("--entra-admin OBJECT_ID: a service principal's or group's name comes from az ad, "
              "--entra-admin-name skips the look-up, a changed name is updated") {
        FakeAz az("exists");
        auto sp = RunPgsplit(Args({"--entra-admin", kAdminSpId}), az.Env());
        INFO(sp.err);
        REQUIRE(sp.exit_code == 0);
        REQUIRE(az.CallsOf("ad sp show").size() == 1);
        CHECK(FakeAz::Option(az.CallsOf("ad sp show")[0], "--id") == kAdminSpId);
        auto create = az.CallsOf("postgres flexible-server microsoft-entra-admin create").at(0);
        CHECK(HasArg(create, "--display-name=id-pgsplit-admin"));
        CHECK(FakeAz::Option(create, "--type") == "ServicePrincipal");
        CHECK(az.CallsOf("postgres flexible-server update").size() == 1); // Entra on; passwords left as is

        // The same object id under another name: the administrator is updated (create is Azure's PUT).
        auto renamed = RunPgsplit(
            Args({"--entra-admin", std::string(kAdminSpId), "--entra-admin-name", "pgsplit admin (CI)"}),
            az.Env());
        INFO(renamed.err);
        REQUIRE(renamed.exit_code == 0);
        CHECK(az.CallsOf("ad sp show").size() == 1); // no second look-up
        auto creates = az.CallsOf("postgres flexible-server microsoft-entra-admin create");
        REQUIRE(creates.size() == 2);
        CHECK(HasArg(creates[1], "--display-name=pgsplit admin (CI)"));
        CHECK(Has(renamed.err, "updated"));
        CHECK(az.CallsOf("postgres flexible-server update").size() == 1); // already enabled

        FakeAz groups("exists");
        auto g =
            RunPgsplit(Args({"--entra-admin", kAdminGroupId, "--entra-admin-type", "group"}), groups.Env());
        INFO(g.err);
        REQUIRE(g.exit_code == 0);
        REQUIRE(groups.CallsOf("ad group show").size() == 1);
        CHECK(FakeAz::Option(groups.CallsOf("ad group show")[0], "--group") == kAdminGroupId);
        auto gc = groups.CallsOf("postgres flexible-server microsoft-entra-admin create").at(0);
        CHECK(HasArg(gc, "--display-name=pg-admins"));
        CHECK(FakeAz::Option(gc, "--type") == "Group");
    }

    TEST_CASE("Azure refusing the administrator's object id, or Graph refusing the look-up: exit 1 naming "
              "the step and az's message") {
        FakeAz az("entra-unknown-principal");
        auto r = RunPgsplit(Args({"--entra-admin", kAdminSpId, "--entra-admin-name", "id-x"}), az.Env());
        CHECK(r.exit_code == 1);
        CHECK(Has(r.err,
                  "step 'entra admin': az postgres flexible-server microsoft-entra-admin create failed"));
        CHECK(Has(r.err, "InvalidParameterValue"));
        CHECK(Has(r.err, "hint: check the object id"));

        FakeAz denied("graph-denied");
        auto d = RunPgsplit(Args({"--entra-admin", "ops@contoso.com"}), denied.Env());
        CHECK(d.exit_code == 1);
        CHECK(Has(d.err, "step 'entra lookup'"));
        CHECK(Has(d.err, "Authorization_RequestDenied"));
        CHECK(Has(d.err, "--entra-admin-name"));
        CHECK(MutatingCalls(denied) == 0);

        FakeAz unknown("exists");
        auto u = RunPgsplit(Args({"--entra-admin", "nobody@contoso.com"}), unknown.Env());
        CHECK(u.exit_code == 1);
        CHECK(Has(u.err, "does not exist"));
        CHECK(Has(u.err, "no User nobody@contoso.com in this tenant"));
    }

    TEST_CASE("bad --entra-admin, --entra-admin-type, --password-auth and --app-identity values: exit 2 "
              "naming the flag, before any az call") {
        struct Bad {
            std::vector<std::string> args;
            const char* says;
        };
        const std::string id = kWriterMiId;
        const std::vector<Bad> cases = {
            {{"--entra-admin", "not-a-guid"}, "--entra-admin not-a-guid: neither an object id nor a UPN"},
            {{"--entra-admin", "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f"}, "neither an object id nor a UPN"},
            {{"--entra-admin", "ops@contoso.com; rm -rf /"},
             "--entra-admin 'ops@contoso.com; rm -rf /': not a "
             "user principal name"},
            {{"--entra-admin", "ops@contoso.com", "--entra-admin-type", "Robot"}, "--entra-admin-type Robot"},
            {{"--entra-admin", "ops@contoso.com", "--entra-admin-type", "Group"},
             "is a UPN, which names a user"},
            {{"--entra-admin", id, "--entra-admin-name", "-rf"}, "--entra-admin-name -rf"},
            {{"--entra-admin", id, "--password-auth", "off"},
             "--password-auth off: expected enabled or disabled"},
            {{"--password-auth", "disabled"}, "--password-auth needs --entra-admin"},
            {{"--entra-admin-name", "x"}, "--entra-admin-name needs --entra-admin"},
            {{"--app-identity", "api_service=" + id}, "--app-identity needs --create-app-users"},
            {{"--create-app-users", "--app-identity", "api_service"}, "expected ROLE=OBJECT_ID"},
            {{"--create-app-users", "--app-identity", "api_service=xyz"}, "'xyz' is not an object id"},
            {{"--create-app-users", "--app-identity", "postgres=" + id}, "postgres is not an app role"},
            {{"--create-app-users", "--app-identity", "backtest_service=" + id}, "needs --legacy-roles"},
            {{"--create-app-users", "--app-identity", "api_service=" + id, "--app-identity",
              "api_service=" + std::string(kApiMiId)},
             "--app-identity names api_service twice"},
        };
        for (const auto& c : cases) {
            FakeAz az("exists");
            auto r = RunPgsplit(Args(c.args), az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
            INFO(c.says);
            INFO(r.err);
            CHECK(r.exit_code == 2);
            CHECK(Has(r.err, c.says));
            CHECK(Has(r.err, "hint: "));
            CHECK_FALSE(std::filesystem::exists(az.LogPath()));
        }
    }

    TEST_CASE("--dry-run shows the Entra az commands and the principal SQL, and no secret") {
        FakeAz az("exists");
        auto r = RunPgsplit(
            Args({"--dry-run", "--entra-admin", "ops@contoso.com", "--password-auth", "disabled",
                  "--apply-migrations", "--create-app-users", "--app-identity",
                  std::string("ranking_writer=") + kWriterMiId}),
            az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}, {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw}}));
        INFO(r.out);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK_FALSE(std::filesystem::exists(az.LogPath()));
        CHECK(Has(r.out, "az ad user show --id ops@contoso.com --only-show-errors -o json"));
        CHECK(Has(r.out, "az postgres flexible-server update --resource-group rg-assets --name assets-pg "
                         "--microsoft-entra-auth Enabled --subscription"));
        CHECK(Has(r.out,
                  "az postgres flexible-server microsoft-entra-admin create --resource-group rg-assets "
                  "--server-name assets-pg --display-name=ops@contoso.com --object-id '<id from az ad "
                  "user show>' --type User"));
        CHECK(Has(r.out, "--password-auth Disabled"));
        CHECK(Has(r.out, "create or rotate api_service (SCRAM verifiers computed locally)"));
        CHECK(Has(r.out,
                  "SELECT pgaadauth_create_principal_with_oid($1, $2, 'service', false, false) with $1 = "
                  "ranking_writer, $2 = " +
                      std::string(kWriterMiId)));
        CHECK(Has(r.out, "as the Entra administrator ops@contoso.com"));
        CheckNoPasswords(r, {kAdminPw, kApiPw});

        auto j = RunPgsplit(Args({"--dry-run", "--json", "--entra-admin", kAdminSpId, "--entra-admin-name",
                                  "id-pgsplit-admin"}),
                            az.Env());
        REQUIRE(j.exit_code == 0);
        auto doc = nlohmann::json::parse(j.out);
        bool lookup = false, create = false;
        for (const auto& p : doc["plan"]) {
            std::string cmd = p["command"];
            lookup = lookup || Has(cmd, "az ad ");
            create = create || (Has(cmd, "microsoft-entra-admin create") && Has(cmd, kAdminSpId) &&
                                Has(cmd, "--type ServicePrincipal"));
        }
        CHECK_FALSE(lookup); // the name was given
        CHECK(create);
    }

    TEST_CASE("--app-identity: app roles created as Entra principals (pgaadauth_create_principal_with_oid) "
              "with exactly a password role's grants; no password asked for, generated or printed") {
        pgsplit::test::OwnCluster own; // app roles are cluster-wide
        TestDatabase db;
        InstallPgaadauthStandIn(db);
        FakeAz az("exists");
        // First as password roles, to record the grants a password role gets.
        auto pw = RunPgsplit(Args({"--database", db.Name(), "--admin-dsn", db.Dsn(), "--apply-migrations",
                                   "--create-app-users"}),
                             az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw},
                                     {"PGSPLIT_RANKING_WRITER_PASSWORD", kWriterPw},
                                     {"PGSPLIT_API_SERVICE_PASSWORD", kApiPw}}));
        INFO(pw.err);
        REQUIRE(pw.exit_code == 0);
        std::string writer_grants = PrivilegesOf(db, "ranking_writer");
        std::string api_grants = PrivilegesOf(db, "api_service");
        CHECK(Has(writer_grants, "member of ranking_owner"));
        CHECK(Has(api_grants, "backtest.runs: INSERT"));
        {
            auto conn = db.Connect();
            conn.Exec("DROP OWNED BY ranking_writer, api_service");
            conn.Exec("DROP ROLE ranking_writer, api_service");
        }

        // Now as Entra principals: no PGSPLIT_*_PASSWORD, no --emit-secrets, and no admin password in the
        // admin DSN; none of that is an error.
        auto entra_args = Args({"--database", db.Name(), "--admin-dsn", db.Dsn(), "--create-app-users",
                                "--app-identity", std::string("ranking_writer=") + kWriterMiId,
                                "--app-identity", std::string("api_service=") + kApiMiId, "--json"});
        auto r = RunPgsplit(entra_args, az.Env());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        auto j = nlohmann::json::parse(r.out);
        REQUIRE(j["roles"].size() == 2);
        for (const auto& role : j["roles"]) {
            CHECK(role["auth"] == "entra");
            CHECK(role["action"] == "created");
            CHECK(role["skipped"].empty());
        }
        CHECK(j["generated_passwords"].empty());
        CHECK(db.Value("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = "
                       "'ranking_writer'") == std::string("aadauth,oid=") + kWriterMiId + ",type=service");
        CHECK(db.Value(
                  "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'api_service'") ==
              std::string("aadauth,oid=") + kApiMiId + ",type=service");
        CHECK(
            db.Value("SELECT count(*) FROM pg_authid WHERE rolname IN ('ranking_writer', 'api_service') AND "
                     "rolpassword IS NULL AND rolcanlogin") == "2");
        CHECK(PrivilegesOf(db, "ranking_writer") == writer_grants);
        CHECK(PrivilegesOf(db, "api_service") == api_grants);
        // The call went with bound parameters: the statement text holds $1/$2, not the names.
        CHECK(
            Has(ServerLog(), "SELECT pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)"));

        // A re-run with --emit-secrets leaves them be, and prints user-and-host DSNs with the --pg-auth note.
        auto again =
            RunPgsplit(Args({"--database", db.Name(), "--admin-dsn", db.Dsn(), "--create-app-users",
                             "--emit-secrets", "--app-identity", std::string("ranking_writer=") + kWriterMiId,
                             "--app-identity", std::string("api_service=") + kApiMiId}),
                       az.Env());
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        CHECK(Has(again.out, "ranking_writer exists"));
        CHECK(Has(again.out, "api_service exists"));
        CHECK(Has(again.out,
                  "postgresql://api_service@assets-pg.postgres.database.azure.com:5432/" + db.Name()));
        CHECK(Has(again.out,
                  "postgresql://ranking_writer@assets-pg.postgres.database.azure.com:5432/" + db.Name()));
        CHECK(Has(again.out, "passwordless (Microsoft Entra) for ranking_writer, api_service: connect with "
                             "--pg-auth entra"));
        CHECK(PrivilegesOf(db, "api_service") == api_grants);
        CheckNoPasswords(again, {kAdminPw, kWriterPw, kApiPw});
    }

    TEST_CASE("with password login turned off, the admin DSN gets no PGSPLIT_ADMIN_PASSWORD added") {
        FakeAz az("exists");
        auto r =
            RunPgsplit(Args({"--entra-admin", "ops@contoso.com", "--password-auth", "disabled",
                             "--apply-migrations", "--admin-dsn", "host=/nonexistent user=ops@contoso.com"}),
                       az.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        CHECK(r.exit_code == 4); // nothing listens there; the DSN it tried is in the message
        CHECK(Has(r.err, "cannot connect to host=/nonexistent user=ops@contoso.com dbname="));
        CHECK_FALSE(Has(r.err, "password="));
        CheckNoPasswords(r, {kAdminPw});
        // Password login left on: the admin password is added as before.
        FakeAz on("exists");
        auto p = RunPgsplit(Args({"--apply-migrations", "--admin-dsn", "host=/nonexistent user=x"}),
                            on.Env({{"PGSPLIT_ADMIN_PASSWORD", kAdminPw}}));
        CHECK(p.exit_code == 4);
        CHECK(Has(p.err, "password=***"));
    }

    TEST_CASE("provision --help documents the Entra flags") {
        auto r = RunPgsplit({"provision", "--help"});
        CHECK(r.exit_code == 0);
        for (const char* s : {"--entra-admin", "--entra-admin-name", "--entra-admin-type", "--password-auth",
                              "--app-identity", "pgaadauth_create_principal_with_oid", "--pg-auth entra"}) {
            INFO(s);
            CHECK(Has(r.out, s));
        }
    }
}
