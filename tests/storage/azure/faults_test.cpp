// The Azure back-end against a loopback fake (issue 6): retries with backoff on 503, Retry-After on
// 429, a connection reset mid-body, bounded retries, 403 with the credential named, NextMarker paging,
// and managed identity (token request shape, one token for many reads, refresh before expiry).
#include "config/config.h"
#include "core/error.h"
#include "migrate/migrator.h"
#include "storage/azure/blob_storage.h"
#include "tests/storage/azure/azurite.h"
#include "tests/storage/azure/fake_server.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/process.h"

#include <atomic>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace pgsplit::test {
namespace {

namespace az = storage::azure;
using Clock = std::chrono::steady_clock;

const char* kUri = "abfss://c@devstoreaccount1.dfs.core.windows.net/t";
const char* kBlobPath = "/devstoreaccount1/c/t/f.bin";

std::string Data(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>((i * 7919) % 251);
    }
    return s;
}

pgsplit::StorageSettings FakeConfig(const FakeServer& server, std::map<std::string, std::string> env = {}) {
    if (env.empty()) {
        env["AZURE_STORAGE_KEY"] = kDevKey;
    }
    env["AZURE_STORAGE_ENDPOINT"] = server.Url();
    return Config::FromMap({}, env).Storage();
}

az::BlobOptions Fast() {
    az::BlobOptions o;
    o.retry.base_delay = std::chrono::milliseconds(10);
    o.retry.max_delay = std::chrono::milliseconds(100);
    o.retry.connect_timeout = std::chrono::seconds(2);
    return o;
}

std::string ReadAll(ByteSource& src) {
    std::string out(src.Size(), '\0');
    src.Read(0, out.size(), reinterpret_cast<uint8_t*>(out.data()));
    return out;
}

FakeResponse Status(int status, const std::string& code = "") {
    FakeResponse r;
    r.status = status;
    if (!code.empty()) {
        r.headers.emplace_back("x-ms-error-code", code);
        r.body = "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>m</Message></Error>";
    }
    return r;
}

std::string TokenJson(const std::string& token, int64_t expires_in_s) {
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return nlohmann::json{{"access_token", token},
                          {"expires_on", std::to_string(now.count() + expires_in_s)},
                          {"resource", "https://storage.azure.com/"},
                          {"token_type", "Bearer"}}
        .dump();
}

} // namespace

TEST_SUITE("azure") {
    TEST_CASE("503 twice then success: retried with backoff, same range, data intact") {
        std::string data = Data(5000);
        std::atomic<int> calls{0};
        FakeServer server([&](const FakeRequest& req) {
            if (req.Path() == kBlobPath && calls++ < 2) {
                return Status(503, "ServerBusy");
            }
            return BlobAnswer(req, data);
        });
        az::BlobStorage s(kUri, FakeConfig(server), Fast());
        auto src = s.Open("f.bin");
        CHECK(ReadAll(*src) == data);
        auto reqs = server.Requests();
        REQUIRE(reqs.size() == 3);
        CHECK(reqs[0].Header("x-ms-range") == reqs[2].Header("x-ms-range"));
        CHECK(reqs[2].Header("authorization").rfind("SharedKey devstoreaccount1:", 0) == 0);
        CHECK(s.RequestCount() == 3);
    }

    TEST_CASE("blob paths that leave the table are refused before any request (issue 14, item 5)") {
        std::string data = Data(100);
        FakeServer server([&](const FakeRequest& req) { return BlobAnswer(req, data); });
        az::BlobStorage s(kUri, FakeConfig(server), Fast());
        for (const std::string& path :
             {std::string("../other/f.bin"), std::string("x/../../../d/f.bin"), std::string(".."),
              std::string("abfss://c@devstoreaccount1.dfs.core.windows.net/elsewhere/f.bin"),
              std::string("abfss://c@devstoreaccount1.dfs.core.windows.net/t/../u/f.bin"),
              std::string("abfss://other@devstoreaccount1.dfs.core.windows.net/t/f.bin")}) {
            CAPTURE(path);
            try {
                s.Open(path);
                FAIL("opened a path outside the table");
            } catch (const Error& e) {
                CHECK(e.code() == ExitCode::Source);
            }
            CHECK_THROWS_AS(s.ReadIfExists(path), Error);
        }
        CHECK(server.Requests().empty());
        // Inside the table, dot segments are resolved before the URL is built: the request names the
        // blob itself, not a path for the HTTP layer to collapse.
        auto src = s.Open("./sub/./f.bin");
        CHECK(ReadAll(*src) == data);
        auto reqs = server.Requests();
        REQUIRE(!reqs.empty());
        CHECK(reqs.back().Path() == "/devstoreaccount1/c/t/sub/f.bin");
    }

    TEST_CASE("429 with Retry-After: waits the time the service asked for") {
        std::string data = Data(100);
        std::atomic<int> calls{0};
        FakeServer server([&](const FakeRequest& req) {
            if (calls++ == 0) {
                FakeResponse r = Status(429, "ServerBusy");
                r.headers.emplace_back("Retry-After", "1");
                return r;
            }
            return BlobAnswer(req, data);
        });
        az::BlobStorage s(kUri, FakeConfig(server), Fast());
        auto start = Clock::now();
        auto src = s.Open("f.bin");
        double waited = std::chrono::duration<double>(Clock::now() - start).count();
        CHECK(ReadAll(*src) == data);
        CHECK(waited >= 0.95); // not the 10 ms backoff
        CHECK(waited < 5.0);
        CHECK(server.Requests().size() == 2);
    }

    TEST_CASE("a connection reset mid-body is retried from the same range") {
        std::string data = Data(200000);
        std::atomic<int> calls{0};
        FakeServer server([&](const FakeRequest& req) {
            FakeResponse r = BlobAnswer(req, data);
            if (req.Path() == kBlobPath && req.Header("x-ms-range") == "bytes=100000-199999" &&
                calls++ == 0) {
                r.cut_after = 30000; // headers promise 100000 bytes; 30000 arrive, then RST
            }
            return r;
        });
        az::BlobOptions o = Fast();
        o.first_window = 50000;
        o.tail_window = 100000;
        az::BlobStorage s(kUri, FakeConfig(server), o);
        auto src = s.Open("f.bin");
        std::string tail(100000, '\0');
        src->Read(100000, tail.size(), reinterpret_cast<uint8_t*>(tail.data()));
        CHECK(tail == data.substr(100000));
        auto reqs = server.Requests();
        REQUIRE(reqs.size() == 3); // head window, cut tail, tail again
        CHECK(reqs[1].Header("x-ms-range") == "bytes=100000-199999");
        CHECK(reqs[2].Header("x-ms-range") == "bytes=100000-199999");
    }

    TEST_CASE("retries are bounded in count and in time, then exit 4") {
        FakeServer server([&](const FakeRequest&) { return Status(503, "ServerBusy"); });
        az::BlobOptions o = Fast();
        o.retry.max_attempts = 4;
        az::BlobStorage s(kUri, FakeConfig(server), o);
        try {
            s.Open("f.bin");
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::Connect);
            CHECK(std::string(e.what()).find("503") != std::string::npos);
        }
        CHECK(server.Requests().size() == 4);

        // A Retry-After beyond the time budget is not waited for.
        FakeServer slow([&](const FakeRequest&) {
            FakeResponse r = Status(503, "ServerBusy");
            r.headers.emplace_back("Retry-After", "3600");
            return r;
        });
        az::BlobOptions b = Fast();
        b.retry.total_budget = std::chrono::milliseconds(2000);
        az::BlobStorage s2(kUri, FakeConfig(slow), b);
        auto start = Clock::now();
        CHECK_THROWS_AS(s2.Open("f.bin"), Error);
        CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 2.0);

        // Nothing listening: connection errors are retried, then reported as exit 4 with the URL.
        int dead_port;
        {
            FakeServer gone([](const FakeRequest&) { return FakeResponse{}; });
            dead_port = gone.Port();
        }
        Config dead =
            Config::FromMap({}, {{"AZURE_STORAGE_KEY", kDevKey},
                                 {"AZURE_STORAGE_ENDPOINT", fmt::format("http://127.0.0.1:{}", dead_port)}});
        az::BlobStorage s3(kUri, dead.Storage(), o);
        try {
            s3.ReadIfExists("_delta_log/_last_checkpoint");
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::Connect);
            CHECK(std::string(e.what()).find("4 attempts") != std::string::npos);
        }
    }

    TEST_CASE("403 exits 4 with Azure's error code and the credential used in the hint") {
        FakeServer server([&](const FakeRequest&) { return Status(403, "AuthorizationPermissionMismatch"); });
        az::BlobStorage key(kUri, FakeConfig(server), Fast());
        try {
            key.List("_delta_log");
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::Connect);
            CHECK(std::string(e.what()).find("AuthorizationPermissionMismatch") != std::string::npos);
            CHECK(e.hint().find("account key (AZURE_STORAGE_KEY)") != std::string::npos);
        }
        CHECK(server.Requests().size() == 1); // 403 is not retried

        std::string sas = "sv=2021-08-06&ss=b&srt=sco&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=SIGNATURE123";
        az::BlobStorage with_sas(kUri, FakeConfig(server, {{"AZURE_STORAGE_SAS_TOKEN", sas}}), Fast());
        try {
            with_sas.Open("f.bin");
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.hint().find("SAS token (AZURE_STORAGE_SAS_TOKEN)") != std::string::npos);
            CHECK(e.hint().find("r (read) and l (list)") != std::string::npos);
            CHECK(std::string(e.what()).find("SIGNATURE123") == std::string::npos);
        }

        // The same through the binary: exit 4, the hint on stderr, no secret anywhere.
        auto r = RunPgsplit({"inspect", "delta", kUri},
                            {{"AZURE_STORAGE_SAS_TOKEN", sas}, {"AZURE_STORAGE_ENDPOINT", server.Url()}});
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("AuthorizationPermissionMismatch") != std::string::npos);
        CHECK(r.err.find("SAS token") != std::string::npos);
        CHECK(r.All().find("SIGNATURE123") == std::string::npos);
    }

    TEST_CASE("a listing of 3 pages joined by NextMarker finds every file") {
        FakeServer server([&](const FakeRequest& req) {
            auto page = [](std::vector<std::string> names, const std::string& next) {
                std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults><Blobs>";
                for (const auto& n : names) {
                    xml += "<Blob><Name>t/_delta_log/" + n + "</Name><Properties><Content-Length>" +
                           std::to_string(n.size()) + "</Content-Length></Properties></Blob>";
                }
                xml += "</Blobs><NextMarker>" + next + "</NextMarker></EnumerationResults>";
                FakeResponse r;
                r.body = xml;
                return r;
            };
            std::string q = req.Query();
            if (q.find("marker=") == std::string::npos) {
                return page({"00000000000000000000.json", "00000000000000000001.json"}, "m1");
            }
            if (q.find("marker=m1") != std::string::npos) {
                return page({"00000000000000000002.json"}, "m2");
            }
            return page({"00000000000000000003.json", "_last_checkpoint"}, "");
        });
        az::BlobStorage s(kUri, FakeConfig(server), Fast());
        auto files = s.List("_delta_log");
        REQUIRE(files.size() == 5);
        CHECK(files[0].name == "00000000000000000000.json");
        CHECK(files[3].name == "00000000000000000003.json");
        CHECK(files[4].name == "_last_checkpoint");
        CHECK(files[4].size == 16);
        auto reqs = server.Requests();
        REQUIRE(reqs.size() == 3);
        CHECK(reqs[0].Query().find("restype=container&comp=list") != std::string::npos);
        CHECK(reqs[0].Query().find("prefix=t%2F_delta_log%2F") != std::string::npos);
        CHECK(reqs[0].Query().find("delimiter=%2F") != std::string::npos);
    }

    TEST_CASE("managed identity: the token request shape, one token for many reads, Bearer on every read") {
        std::string data = Data(3000);
        FakeServer server([&](const FakeRequest& req) {
            if (req.Path() == "/msi/token") {
                if (req.Header("x-identity-header") != "identity-secret") {
                    return Status(401);
                }
                FakeResponse r;
                r.body = TokenJson("token-abc", 3600);
                return r;
            }
            if (req.Header("authorization") != "Bearer token-abc") {
                return Status(403, "AuthenticationFailed");
            }
            return BlobAnswer(req, data);
        });
        std::map<std::string, std::string> env = {
            {"IDENTITY_ENDPOINT", server.Url() + "/msi/token"},
            {"IDENTITY_HEADER", "identity-secret"},
            {"AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555"}};
        az::BlobStorage s(kUri, FakeConfig(server, env), Fast());
        for (int i = 0; i < 20; ++i) {
            auto src = s.Open(fmt::format("f{}.bin", i));
            CHECK(ReadAll(*src) == data);
        }
        // The chain names the credential that answered.
        CHECK(s.GetCredential().Describe().find("managed identity (IDENTITY_ENDPOINT") != std::string::npos);
        auto reqs = server.Requests();
        std::vector<FakeRequest> tokens;
        for (const auto& r : reqs) {
            if (r.Path() == "/msi/token") {
                tokens.push_back(r);
            } else {
                CHECK(r.Header("authorization") == "Bearer token-abc");
                CHECK(r.Header("x-ms-version") == az::kApiVersion);
            }
        }
        REQUIRE(tokens.size() == 1);
        CHECK(reqs.size() == 21);
        CHECK(tokens[0].method == "GET");
        CHECK(tokens[0].Query() == "api-version=2019-08-01&resource=https%3A%2F%2Fstorage.azure.com%2F"
                                   "&client_id=11111111-2222-3333-4444-555555555555");
        CHECK(tokens[0].Header("x-identity-header") == "identity-secret");

        // A wrong identity header: the endpoint's 401 is exit 4, and the secret is not echoed.
        env["IDENTITY_HEADER"] = "wrong-secret";
        env["AZURE_CLIENT_ID"] = "other";
        az::BlobStorage bad(kUri, FakeConfig(server, env), Fast());
        try {
            bad.Open("f.bin");
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::Connect);
            CHECK(std::string(e.what()).find("wrong-secret") == std::string::npos);
        }
    }

    TEST_CASE("managed identity: a short-lived token is used for half its life, then renewed") {
        std::string data = Data(10);
        std::mutex mu;
        std::vector<Clock::time_point> issued_at;
        FakeServer server([&](const FakeRequest& req) {
            if (req.Path() == "/msi/token") {
                std::lock_guard<std::mutex> lock(mu);
                issued_at.push_back(Clock::now());
                FakeResponse r;
                // expires_on is whole seconds: the token lives 3-4 s, so it is renewed 1.5-2 s after it
                // was issued.
                r.body = TokenJson("t" + std::to_string(issued_at.size()), 4);
                return r;
            }
            return BlobAnswer(req, data);
        });
        az::BlobStorage s(kUri,
                          FakeConfig(server, {{"IDENTITY_ENDPOINT", server.Url() + "/msi/token"},
                                              {"IDENTITY_HEADER", "h"}}),
                          Fast());
        // Reads until the second token appears (observed, not slept for), each one noting how long
        // after the first token it was sent and which token it carried.
        std::vector<std::pair<double, std::string>> reads;
        auto deadline = Clock::now() + std::chrono::seconds(20);
        auto issued = [&] {
            std::lock_guard<std::mutex> lock(mu);
            return issued_at.size();
        };
        while (issued() < 2 && Clock::now() < deadline) {
            s.Open("f" + std::to_string(reads.size()));
            Clock::time_point first;
            {
                std::lock_guard<std::mutex> lock(mu);
                first = issued_at.at(0);
            }
            double since_first = std::chrono::duration<double>(Clock::now() - first).count();
            reads.emplace_back(since_first, server.Requests().back().Header("authorization"));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        REQUIRE(issued() == 2);
        double renewed_after = std::chrono::duration<double>(issued_at[1] - issued_at[0]).count();
        MESSAGE("token renewed ", renewed_after, " s after the first; ", reads.size(), " reads");
        CHECK(renewed_after >= 1.4); // not before half its life
        for (const auto& read : reads) {
            double at = read.first; // not structured bindings: doctest's macros capture them
            const std::string& auth = read.second;
            if (at < 1.4) {
                CAPTURE(at);
                CHECK(auth == "Bearer t1"); // the first token served every read of its first half-life
            }
        }
        CHECK(reads.back().second == "Bearer t2");
    }

    TEST_CASE("managed identity for a whole sync-signals: one token request, every read a Bearer read") {
        // The fake plays the identity endpoint and a blob endpoint that checks the Bearer token, then
        // forwards the read to Azurite signed with the development key (Azurite's own OAuth mode needs
        // HTTPS certificates).
        FixtureContainer();
        std::atomic<int> tokens{0}, reads{0};
        az::HttpClient upstream;
        az::SharedKeyCredential key(kDevKey);
        FakeServer server([&](const FakeRequest& req) {
            if (req.Path() == "/msi/token") {
                ++tokens;
                if (req.Header("x-identity-header") != "aca-secret") {
                    return Status(401);
                }
                FakeResponse r;
                r.body = TokenJson("sync-token", 3600);
                return r;
            }
            if (req.Header("authorization") != "Bearer sync-token") {
                return Status(403, "AuthenticationFailed");
            }
            ++reads;
            auto resp = upstream.Send(
                [&] {
                    az::HttpRequest r;
                    r.url = AzuriteEndpoint() + req.target;
                    for (const char* h : {"x-ms-version", "x-ms-range"}) {
                        if (!req.Header(h).empty()) {
                            r.headers.emplace_back(h, req.Header(h));
                        }
                    }
                    r.headers.emplace_back("x-ms-date", az::HttpDate(std::chrono::system_clock::now()));
                    key.Authorize(r, kDevAccount);
                    return r;
                },
                "proxy");
            FakeResponse out;
            out.status = static_cast<int>(resp.status);
            out.body = resp.body;
            for (const char* h : {"content-range", "x-ms-error-code", "content-type"}) {
                if (!resp.Header(h).empty()) {
                    out.headers.emplace_back(h, resp.Header(h));
                }
            }
            return out;
        });
        TestDatabase db;
        {
            migrate::Options o;
            o.dsn = db.Dsn();
            Logger quiet(LogFormat::Text, LogLevel::Error, false);
            migrate::Migrator(quiet, o).Apply(false);
        }
        auto uri = [&](const std::string& t) {
            return fmt::format("abfss://{}@{}.dfs.core.windows.net/sync/basic/{}", FixtureContainer(),
                               kDevAccount, t);
        };
        auto r = RunPgsplit({"sync-signals", "--month", "2024-01", "--month", "2024-02"},
                            {{"POSTGRES_DSN", db.Dsn()},
                             {"PGSPLIT_SIGNALS_TABLE", uri("ranking_signal")},
                             {"PGSPLIT_COMPOSITE_TABLE", uri("composite_signal_daily")},
                             {"AZURE_STORAGE_ENDPOINT", server.Url()},
                             {"IDENTITY_ENDPOINT", server.Url() + "/msi/token"},
                             {"IDENTITY_HEADER", "aca-secret"}});
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        MESSAGE("sync-signals with managed identity: ", tokens.load(), " token request(s), ", reads.load(),
                " blob requests");
        CHECK(tokens == 1);
        CHECK(reads > 10);
        CHECK(db.Value("SELECT count(*) FROM ranking.ranking_signal") == "1050");
        CHECK(r.All().find("aca-secret") == std::string::npos);
        CHECK(r.All().find("sync-token") == std::string::npos);
    }
}

} // namespace pgsplit::test
