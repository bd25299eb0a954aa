// Storage with a Bearer token, against Azurite's OAuth mode: `--oauth basic` accepts a well-formed
// Entra token (audience storage.azure.com, an Entra issuer, nbf/exp in range) without checking its
// signature, and only over HTTPS. So the test makes a CA and a certificate for 127.0.0.1, starts its own
// Azurite with them, uploads the fixture lake with the account key, and then reads it over abfss:// with
// no key and no SAS: only a managed identity token issued by the loopback fake.

#include "storage/azure/azurite.h"
#include "support/fake_entra.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"
#include "support/sync_fixtures.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace pgsplit::test {
namespace {

bool Listening(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// An Azurite of the test's own: HTTPS with a certificate for 127.0.0.1 signed by a CA made here, and
// OAuth (basic) on. Stopped when it goes out of scope.
class OAuthAzurite {
public:
    OAuthAzurite() {
        AzuritePort(); // the suite's Azurite is up, so the pinned package is installed
        auto r = RunShell(fmt::format(
            "set -e; cd '{}'\n"
            "key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
            "openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 -subj '/CN=pgsplit azurite CA' "
            "2>/dev/null\n"
            "openssl req $key -keyout server.key -out server.csr -subj '/CN=127.0.0.1' 2>/dev/null\n"
            "printf "
            "'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' "
            ">server.ext\n"
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "-extfile server.ext -out server.crt 2>/dev/null\n",
            dir_.Path()));
        REQUIRE_MESSAGE(r.exit_code == 0, r.All());
        port_ = FreeLoopbackPort();
        std::string bin =
            (SourceDir() / "tests" / "azurite" / "node_modules" / ".bin" / "azurite-blob").string();
        proc_ = std::make_unique<Process>(
            std::vector<std::string>{bin, "--blobHost", "127.0.0.1", "--blobPort", std::to_string(port_),
                                     "--location", dir_ / "data", "--silent", "--skipApiVersionCheck",
                                     "--loose", "--disableTelemetry", "--oauth", "basic", "--cert",
                                     dir_ / "server.crt", "--key", dir_ / "server.key"},
            std::map<std::string, std::string>{});
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!Listening(port_) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        REQUIRE_MESSAGE(Listening(port_), "azurite --oauth basic did not start: ", proc_->StderrSoFar());
    }
    ~OAuthAzurite() {
        if (proc_) {
            proc_->Signal(SIGTERM);
            proc_->Wait(20);
        }
    }
    std::string Endpoint() const { return fmt::format("https://127.0.0.1:{}", port_); }
    std::string CaFile() const { return dir_ / "ca.crt"; }

private:
    static ProcResult RunShell(const std::string& script) {
        Process p({"/bin/sh", "-c", script}, {});
        return p.Wait(60);
    }
    ScratchDir dir_;
    int port_ = 0;
    std::unique_ptr<Process> proc_;
};

} // namespace

TEST_SUITE("azure") {
    TEST_CASE(
        "Azurite in OAuth mode over HTTPS: the lake is read over abfss:// with a managed identity's Bearer "
        "token, no key and no SAS") {
        OAuthAzurite azurite;
        Uploader up(azurite.Endpoint(), azurite.CaFile());
        up.CreateContainer("lake");
        for (const char* t : {"ranking_signal", "composite_signal_daily"}) {
            up.PutTree("lake", std::string("gold/") + t, FixturesDir() / "sync" / "basic" / t);
        }
        FakeEntra fake;
        auto table = [](const char* t) {
            return fmt::format("abfss://lake@{}.dfs.core.windows.net/gold/{}", kDevAccount, t);
        };
        std::map<std::string, std::string> env = {{"AZURE_STORAGE_ENDPOINT", azurite.Endpoint()},
                                                  {"PGSPLIT_STORAGE_CA_FILE", azurite.CaFile()},
                                                  {"IDENTITY_ENDPOINT", fake.Url() + "/msi/token"},
                                                  {"IDENTITY_HEADER", FakeEntra::kIdentityHeader}};

        auto inspect = RunPgsplit({"inspect", "delta", "--json", table("ranking_signal")}, env);
        REQUIRE_MESSAGE(inspect.exit_code == 0, inspect.All());
        REQUIRE(fake.Issued().size() == 1);
        CHECK(fake.Issued()[0].resource == "https://storage.azure.com");
        CHECK(inspect.All().find(fake.Issued()[0].token) == std::string::npos);

        // A whole sync-signals month from the lake: one storage token for both tables and every read.
        TestDatabase db;
        MigrateQuietly(db);
        auto expected = SyncExpected("basic");
        std::string month = expected["ranking_signal"]["latest"].begin().key();
        auto sync_env = env;
        sync_env["POSTGRES_DSN"] = db.Dsn();
        sync_env["PGSPLIT_SIGNALS_TABLE"] = table("ranking_signal");
        sync_env["PGSPLIT_COMPOSITE_TABLE"] = table("composite_signal_daily");
        auto sync = RunPgsplit({"sync-signals", "--month", month}, sync_env);
        REQUIRE_MESSAGE(sync.exit_code == 0, sync.All());
        CHECK(fake.Issued().size() == 2);
        CHECK(db.Value(fmt::format("SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '{}'",
                                   month)) ==
              std::to_string(expected["ranking_signal"]["latest"][month].get<int64_t>()));

        // TLS is verified, not switched off: without the CA the same read is refused (exit 4).
        auto no_ca = env;
        no_ca.erase("PGSPLIT_STORAGE_CA_FILE");
        auto refused = RunPgsplit({"inspect", "delta", table("ranking_signal")}, no_ca);
        CHECK(refused.exit_code == 4);
        for (const auto& t : fake.Issued()) {
            CHECK(sync.All().find(t.token) == std::string::npos);
            CHECK(refused.All().find(t.token) == std::string::npos);
        }
    }
}

} // namespace pgsplit::test
