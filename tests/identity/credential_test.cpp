// The Azure credential chain against loopback fakes: which credential is picked in which order, the
// request each sends, the one message when none gives a token, caching and early refresh, and what a
// hostile environment or endpoint cannot make it do. Nothing here reaches IMDS: every address is
// 127.0.0.1, and the one IMDS probe points AZURE_POD_IDENTITY_AUTHORITY_HOST at a closed loopback port.

#include "config/config.h"
#include "core/error.h"
#include "identity/credential.h"
#include "support/fake_entra.h"
#include "support/paths.h"
#include "support/process.h"

#include <chrono>
#include <doctest/doctest.h>
#include <thread>

namespace pgsplit::test {
namespace {

using identity::BuildChain;
constexpr const char* kPgScope = "https://ossrdbms-aad.database.windows.net/.default";

std::string FakeAzDir() {
    return (SourceDir() / "tests" / "provision" / "fake_az").string();
}

IdentitySettings Settings(std::map<std::string, std::string> env,
                          std::optional<std::string> pick = std::nullopt) {
    GlobalFlags flags;
    flags.azure_credential = pick;
    env.emplace("PATH", "/usr/bin:/bin"); // no az unless a test puts the fake first
    return Config::FromMap(flags, env).Identity();
}

// Every credential configured at once, each against the fake (plus the fake az on PATH).
std::map<std::string, std::string> Everything(const FakeEntra& fake, const ScratchDir& dir) {
    WriteText(dir / "federated.jwt", std::string(FakeEntra::kFederatedToken) + "\n");
    return {{"AZURE_TENANT_ID", FakeEntra::kTenant},
            {"AZURE_CLIENT_ID", "0b7c3a2e-0000-4000-8000-0000000000a2"},
            {"AZURE_CLIENT_SECRET", FakeEntra::kClientSecret},
            {"AZURE_AUTHORITY_HOST", fake.Url()},
            {"AZURE_FEDERATED_TOKEN_FILE", dir / "federated.jwt"},
            {"IDENTITY_ENDPOINT", fake.Url() + "/msi/token"},
            {"IDENTITY_HEADER", FakeEntra::kIdentityHeader},
            {"AZURE_POD_IDENTITY_AUTHORITY_HOST", fake.Url()},
            {"FAKE_AZ_LOG", dir / "az.log"},
            {"FAKE_AZ_TOKEN", "eyJhbGciOiJub25lIn0.eyJhdWQiOiJheiJ9.az-Canary-token"},
            {"PATH", FakeAzDir() + ":/usr/bin:/bin"}};
}

ExitCode CodeOf(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (message) {
            *message = std::string(e.what()) + " | hint: " + e.hint();
        }
        return e.code();
    }
    return ExitCode::Ok;
}

} // namespace

TEST_SUITE("identity chain") {
    TEST_CASE("the chain takes the first configured credential: client secret, workload, managed (ACA, then "
              "IMDS), az CLI") {
        FakeEntra fake;
        ScratchDir dir;
        auto env = Everything(fake, dir);

        auto token = BuildChain(Settings(env))->Get(kPgScope);
        REQUIRE(fake.Issued().size() == 1);
        CHECK(fake.Issued().back().via == "secret");
        CHECK(token.token == fake.Issued().back().token);
        auto post = fake.Requests().back();
        CHECK(post.method == "POST");
        CHECK(post.Path() == std::string("/") + FakeEntra::kTenant + "/oauth2/v2.0/token");
        CHECK(post.Header("content-type") == "application/x-www-form-urlencoded");
        CHECK(post.body.find("grant_type=client_credentials") != std::string::npos);
        CHECK(post.body.find("scope=https%3A%2F%2Fossrdbms-aad.database.windows.net%2F.default") !=
              std::string::npos);

        env.erase("AZURE_CLIENT_SECRET");
        BuildChain(Settings(env))->Get(kPgScope);
        CHECK(fake.Issued().back().via == "federated");
        CHECK(fake.Requests().back().body.find("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"
                                               "assertion-type%3Ajwt-bearer") != std::string::npos);

        env.erase("AZURE_FEDERATED_TOKEN_FILE");
        BuildChain(Settings(env))->Get(kPgScope);
        CHECK(fake.Issued().back().via == "aca");
        auto aca = fake.Requests().back();
        CHECK(aca.method == "GET");
        CHECK(aca.Query() ==
              "api-version=2019-08-01&resource=https%3A%2F%2Fossrdbms-aad.database.windows.net%2F"
              "&client_id=0b7c3a2e-0000-4000-8000-0000000000a2");
        CHECK(aca.Header("x-identity-header") == FakeEntra::kIdentityHeader);

        env.erase("IDENTITY_ENDPOINT");
        BuildChain(Settings(env))->Get(kPgScope);
        CHECK(fake.Issued().back().via == "imds");
        auto imds = fake.Requests().back();
        CHECK(imds.Path() == "/metadata/identity/oauth2/token");
        CHECK(imds.Query().rfind("api-version=2018-02-01&resource=https%3A%2F%2Fossrdbms-aad", 0) == 0);
        CHECK(imds.Header("metadata") == "true");

        env.erase("AZURE_POD_IDENTITY_AUTHORITY_HOST");
        size_t before = fake.Requests().size();
        auto chain = BuildChain(Settings(env));
        CHECK(chain->Token(kPgScope) == "eyJhbGciOiJub25lIn0.eyJhdWQiOiJheiJ9.az-Canary-token");
        CHECK(chain->InUse().find("az CLI") != std::string::npos);
        CHECK(fake.Requests().size() == before); // no endpoint was asked
        std::string argv = ReadText(dir / "az.log");
        CHECK(
            argv.find(
                R"(["account","get-access-token","--scope","https://ossrdbms-aad.database.windows.net/.default","--only-show-errors","-o","json"])") !=
            std::string::npos);
    }

    TEST_CASE("--azure-credential picks one credential, and the others are not asked") {
        FakeEntra fake;
        ScratchDir dir;
        auto env = Everything(fake, dir);
        BuildChain(Settings(env, "managed"))->Get(kPgScope);
        CHECK(fake.Issued().back().via == "aca");
        BuildChain(Settings(env, "workload"))->Get(kPgScope);
        CHECK(fake.Issued().back().via == "federated");
        CHECK(fake.Count("token") == 1);
        // A picked credential that is not configured is that credential's failure, named as such.
        std::string msg;
        env.erase("AZURE_CLIENT_SECRET");
        CHECK(CodeOf([&] { BuildChain(Settings(env, "env"))->Get(kPgScope); }, &msg) == ExitCode::Connect);
        CHECK(msg.find(
                  "client secret (AZURE_CLIENT_SECRET): not usable here, AZURE_CLIENT_SECRET is not set") !=
              std::string::npos);
        CHECK(msg.find("managed identity") == std::string::npos);
        // A name that is no credential: exit 3 from the environment, exit 2 from the flag.
        CHECK(CodeOf(
                  [] {
                      Config::FromMap({}, {{"PGSPLIT_AZURE_CREDENTIAL", "vault"}}).Identity();
                  },
                  &msg) == ExitCode::Config);
        CHECK(msg.find("PGSPLIT_AZURE_CREDENTIAL 'vault' names no credential") != std::string::npos);
    }

    TEST_CASE("nothing configured: one exit-4 message naming every credential and why it was skipped, and "
              "no request to IMDS") {
        std::string msg;
        auto settings = Settings({});
        CHECK(CodeOf([&] { BuildChain(settings)->Get(kPgScope); }, &msg) == ExitCode::Connect);
        MESSAGE(msg);
        CHECK(
            msg.find(
                "no Azure credential gave a token for https://ossrdbms-aad.database.windows.net/.default") !=
            std::string::npos);
        CHECK(msg.find("client secret (AZURE_CLIENT_SECRET): skipped, AZURE_TENANT_ID, AZURE_CLIENT_ID and "
                       "AZURE_CLIENT_SECRET are not set") != std::string::npos);
        CHECK(msg.find("workload identity (AZURE_FEDERATED_TOKEN_FILE): skipped, AZURE_FEDERATED_TOKEN_FILE, "
                       "AZURE_CLIENT_ID and AZURE_TENANT_ID are not set") != std::string::npos);
        CHECK(msg.find(
                  "managed identity (IMDS, system-assigned): skipped, IDENTITY_ENDPOINT is not set, and IMDS "
                  "is asked only with --azure-credential managed or AZURE_POD_IDENTITY_AUTHORITY_HOST") !=
              std::string::npos);
        CHECK(msg.find("az CLI (az account get-access-token): skipped, az is not on PATH") !=
              std::string::npos);
        CHECK(msg.find("hint: configure one of them") != std::string::npos);
    }

    TEST_CASE("IMDS probed where nobody answers: skipped within seconds, not a minute of retries") {
        auto settings = Settings(
            {{"AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:" + std::to_string(FreeLoopbackPort())}},
            "managed");
        auto started = std::chrono::steady_clock::now();
        std::string msg;
        CHECK(CodeOf([&] { BuildChain(settings)->Get(kPgScope); }, &msg) == ExitCode::Connect);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        MESSAGE("unanswered IMDS probe took ", seconds, " s");
        CHECK(seconds < 5);
        CHECK(msg.find("managed identity (IMDS, system-assigned): not usable here, no answer from IMDS at "
                       "http://127.0.0.1:") != std::string::npos);
    }

    TEST_CASE("a configured credential that fails ends the chain with its reason; its secret is not shown") {
        FakeEntra fake;
        ScratchDir dir;
        auto env = Everything(fake, dir);
        env["AZURE_CLIENT_SECRET"] = "wrong-secret-Canary-x1";
        std::string msg;
        CHECK(CodeOf([&] { BuildChain(Settings(env))->Get(kPgScope); }, &msg) == ExitCode::Connect);
        CHECK(msg.find("client secret (AZURE_CLIENT_SECRET): failed, the token endpoint refused: HTTP 401: "
                       "invalid_client: AADSTS7000215: Invalid client secret provided.") !=
              std::string::npos);
        CHECK(msg.find("Trace ID") == std::string::npos); // only the description's first line
        CHECK(msg.find("wrong-secret") == std::string::npos);
        CHECK(fake.Count("aca") == 0); // not silently another identity
        CHECK(fake.Issued().empty());

        // The managed identity endpoint refusing the header: exit 4, the header not echoed.
        env.erase("AZURE_CLIENT_SECRET");
        env.erase("AZURE_FEDERATED_TOKEN_FILE");
        env["IDENTITY_HEADER"] = "bad-header-Canary-x2";
        CHECK(CodeOf([&] { BuildChain(Settings(env))->Get(kPgScope); }, &msg) == ExitCode::Connect);
        CHECK(
            msg.find("managed identity (IDENTITY_ENDPOINT, client id 0b7c3a2e-0000-4000-8000-0000000000a2): "
                     "failed, the managed identity endpoint answered HTTP 401") != std::string::npos);
        CHECK(msg.find("bad-header") == std::string::npos);

        // A federated token the endpoint does not know.
        WriteText(dir / "other.jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJvdGhlciJ9.other-Canary-x3");
        auto wl = Everything(fake, dir);
        wl.erase("AZURE_CLIENT_SECRET");
        wl["AZURE_FEDERATED_TOKEN_FILE"] = dir / "other.jwt";
        CHECK(CodeOf([&] { BuildChain(Settings(wl))->Get(kPgScope); }, &msg) == ExitCode::Connect);
        CHECK(msg.find("AADSTS70021: No matching federated identity record found") != std::string::npos);
        CHECK(msg.find("other-Canary") == std::string::npos);
    }

    TEST_CASE("tokens are cached per scope and fetched again at half the life of a short-lived one") {
        FakeEntra fake;
        fake.SetLifetime(4);
        auto chain = BuildChain(Settings({{"IDENTITY_ENDPOINT", fake.Url() + "/msi/token"},
                                          {"IDENTITY_HEADER", FakeEntra::kIdentityHeader}}));
        auto t0 = std::chrono::steady_clock::now();
        auto first = chain->Get(kPgScope);
        for (int i = 0; i < 10; ++i) {
            CHECK(chain->Token(kPgScope) == first.token);
        }
        CHECK(chain->Fetches() == 1);
        // Another scope is another token.
        CHECK(chain->Token(identity::kStorageScope) != first.token);
        CHECK(chain->Fetches() == 2);
        CHECK(fake.Issued().back().resource == "https://storage.azure.com");
        // Refreshed at half its life (the token lives 3-4 s: expires_on is whole seconds).
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (chain->Token(kPgScope) == first.token && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        auto renewed_after = std::chrono::steady_clock::now() - t0;
        CHECK(chain->Token(kPgScope) != first.token);
        CHECK(renewed_after >= std::chrono::milliseconds(1400)); // not before half its life
        CHECK(renewed_after < std::chrono::milliseconds(3000));  // and well before it expired

        // A refresh that fails while the token in hand is still valid keeps using it.
        auto current = chain->Get(kPgScope);
        fake.FailWith(400);
        while (std::chrono::system_clock::now() < current.refresh_at) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        CHECK(chain->Token(kPgScope) == current.token);
        // Past its expiry, the failure is the answer.
        while (std::chrono::system_clock::now() < current.expires_on) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        CHECK(CodeOf([&] { chain->Get(kPgScope); }) == ExitCode::Connect);
    }

    TEST_CASE("az CLI: bounded in time, not logged in is skipped, the token and expiry read from its JSON") {
        ScratchDir dir;
        std::map<std::string, std::string> env = {{"FAKE_AZ_LOG", dir / "az.log"},
                                                  {"FAKE_AZ_TOKEN", "eyJhbGciOiJub25lIn0.e30.cli-Canary-t"},
                                                  {"FAKE_AZ_TOKEN_TTL", "1800"},
                                                  {"PATH", FakeAzDir() + ":/usr/bin:/bin"}};
        auto t = BuildChain(Settings(env, "cli"))->Get(kPgScope);
        CHECK(t.token == "eyJhbGciOiJub25lIn0.e30.cli-Canary-t");
        auto left = t.expires_on - std::chrono::system_clock::now();
        CHECK(left > std::chrono::minutes(29));
        CHECK(left <= std::chrono::minutes(30));

        env["FAKE_AZ_TOKEN_DELAY"] = "20";
        env["PGSPLIT_AZURE_CLI_TIMEOUT"] = "1s";
        auto started = std::chrono::steady_clock::now();
        std::string msg;
        CHECK(CodeOf([&] { BuildChain(Settings(env, "cli"))->Get(kPgScope); }, &msg) == ExitCode::Connect);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
        CHECK(msg.find("`az account get-access-token` did not finish within 1 s") != std::string::npos);

        env.erase("FAKE_AZ_TOKEN_DELAY");
        env["FAKE_AZ_SCENARIO"] = "not-logged-in";
        CHECK(CodeOf([&] { BuildChain(Settings(env))->Get(kPgScope); }, &msg) == ExitCode::Connect);
        CHECK(msg.find("az CLI (az account get-access-token): skipped, az is not logged in") !=
              std::string::npos);

        env["PGSPLIT_AZURE_CLI_TIMEOUT"] = "soon";
        CHECK(CodeOf([&] { Settings(env); }, &msg) == ExitCode::Config);
        CHECK(msg.find("PGSPLIT_AZURE_CLI_TIMEOUT='soon' is not a duration") != std::string::npos);
    }

    TEST_CASE(
        "hostile settings and answers: no secret over plain http to another host, no bogus token kept") {
        FakeEntra fake;
        std::string msg;
        // A client secret is sent only over https, or to this machine.
        auto evil = Settings({{"AZURE_TENANT_ID", FakeEntra::kTenant},
                              {"AZURE_CLIENT_ID", "c"},
                              {"AZURE_CLIENT_SECRET", FakeEntra::kClientSecret},
                              {"AZURE_AUTHORITY_HOST", "http://login.example.net/"}});
        CHECK(CodeOf([&] { BuildChain(evil)->Get(kPgScope); }, &msg) == ExitCode::Config);
        CHECK(msg.find("AZURE_AUTHORITY_HOST 'http://login.example.net' is not an https:// address") !=
              std::string::npos);
        // The identity header goes only to a local identity endpoint.
        auto far =
            Settings({{"IDENTITY_ENDPOINT", "http://10.1.2.3:8081/msi/token"}, {"IDENTITY_HEADER", "h"}});
        CHECK(CodeOf([&] { BuildChain(far)->Get(kPgScope); }, &msg) == ExitCode::Config);
        CHECK(msg.find("IDENTITY_ENDPOINT 'http://10.1.2.3:8081/msi/token' is not on this machine") !=
              std::string::npos);
        // A tenant that would change the token URL's path.
        auto path = Settings({{"AZURE_TENANT_ID", "../evil"},
                              {"AZURE_CLIENT_ID", "c"},
                              {"AZURE_CLIENT_SECRET", "s"},
                              {"AZURE_AUTHORITY_HOST", fake.Url()}});
        CHECK(CodeOf([&] { BuildChain(path)->Get(kPgScope); }, &msg) == ExitCode::Config);
        CHECK(fake.Requests().empty());
        // A federated token file that is not a token (a directory, a huge file, a non-JWT).
        ScratchDir dir;
        WriteText(dir / "big", std::string(100000, 'a'));
        WriteText(dir / "text", "not a jwt\nrm -rf /\n");
        for (const std::string& file : {dir.Str(), dir / "big", dir / "text"}) {
            auto s = Settings({{"AZURE_TENANT_ID", FakeEntra::kTenant},
                               {"AZURE_CLIENT_ID", "c"},
                               {"AZURE_FEDERATED_TOKEN_FILE", file},
                               {"AZURE_AUTHORITY_HOST", fake.Url()}});
            CAPTURE(file);
            CHECK(CodeOf([&] { BuildChain(s)->Get(kPgScope); }) == ExitCode::Config);
        }
        CHECK(fake.Requests().empty());

        // An endpoint answering something that is not a token.
        for (const std::string& body :
             {std::string("{\"access_token\": \"two words\", \"expires_in\": 60}"), std::string("[1,2]"),
              std::string("{\"access_token\": \"") + std::string(20000, 'x') + "\"}",
              std::string("<html>")}) {
            FakeServer bad([&](const FakeRequest&) {
                FakeResponse r;
                r.body = body;
                return r;
            });
            auto s = Settings({{"IDENTITY_ENDPOINT", bad.Url() + "/msi/token"}, {"IDENTITY_HEADER", "h"}});
            CHECK(CodeOf([&] { BuildChain(s)->Get(kPgScope); }) == ExitCode::Connect);
        }
    }

    TEST_CASE("IsLocalHttp: loopback and link-local only, in plain dotted form") {
        using identity::IsLocalHttp;
        CHECK(IsLocalHttp("http://127.0.0.1:42356/msi/token", false));
        CHECK(IsLocalHttp("http://localhost:8081/", false));
        CHECK(IsLocalHttp("http://[::1]:80/x", false));
        CHECK(IsLocalHttp("http://169.254.10.20:8080/token", true));
        CHECK_FALSE(IsLocalHttp("http://169.254.10.20:8080/token", false));
        CHECK_FALSE(IsLocalHttp("http://127.0.0.1.evil.net/", false));
        CHECK_FALSE(IsLocalHttp("http://2130706433/", false));
        CHECK_FALSE(IsLocalHttp("http://user@127.0.0.1/", false));
        CHECK_FALSE(IsLocalHttp("http://10.0.0.1/", true));
        CHECK_FALSE(IsLocalHttp("ftp://127.0.0.1/", true));
        CHECK(identity::ResourceOfScope("https://storage.azure.com/.default") ==
              "https://storage.azure.com/");
    }
}

} // namespace pgsplit::test
