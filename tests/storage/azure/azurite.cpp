#include "tests/storage/azure/azurite.h"

#include "storage/azure/credentials.h"
#include "storage/azure/uri.h"
#include "tests/support/paths.h"
#include "tests/support/process.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace pgsplit::test {
namespace {

namespace fs = std::filesystem;
namespace az = storage::azure;

struct OwnedAzurite {
    std::string dir;
    ~OwnedAzurite() {
        if (!dir.empty()) {
            std::string cmd =
                (SourceDir() / "scripts" / "azurite.sh").string() + " stop " + dir + " >/dev/null 2>&1";
            (void)std::system(cmd.c_str());
            fs::remove_all(dir);
        }
    }
};

int StartAzurite() {
    if (const char* port = std::getenv("PGSPLIT_TEST_AZURITE_PORT"); port && *port) {
        return std::atoi(port);
    }
    static OwnedAzurite owned;
    char tmpl[] = "/tmp/pgsplit-azurite-XXXXXX";
    if (!mkdtemp(tmpl)) {
        throw std::runtime_error("mkdtemp failed for azurite");
    }
    owned.dir = tmpl;
    std::string cmd = (SourceDir() / "scripts" / "azurite.sh").string() + " start " + owned.dir;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    std::array<char, 256> buf{};
    std::string out;
    while (pipe && fgets(buf.data(), buf.size(), pipe.get())) {
        out += buf.data();
    }
    int port = std::atoi(out.c_str());
    if (port <= 0) {
        throw std::runtime_error("could not start azurite with scripts/azurite.sh: " + out);
    }
    return port;
}

std::string ReadBytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

int AzuritePort() {
    static int port = StartAzurite();
    return port;
}

std::string AzuriteEndpoint() {
    return fmt::format("http://127.0.0.1:{}", AzuritePort());
}

Uploader::Uploader(std::string endpoint, std::string ca_file)
    : endpoint_(std::move(endpoint)), http_(storage::azure::RetryPolicy{}, std::move(ca_file)) {}

int Uploader::Send(const std::string& method, const std::string& url, const std::string& body,
                   std::vector<std::pair<std::string, std::string>> extra) {
    az::SharedKeyCredential key(kDevKey);
    auto resp = http_.Send(
        [&] {
            az::HttpRequest r;
            r.method = method;
            r.url = url;
            r.body = body;
            r.headers = extra;
            r.headers.emplace_back("Content-Length", std::to_string(body.size()));
            r.headers.emplace_back("x-ms-version", az::kApiVersion);
            r.headers.emplace_back("x-ms-date", az::HttpDate(std::chrono::system_clock::now()));
            key.Authorize(r, kDevAccount);
            return r;
        },
        method + " " + url);
    return static_cast<int>(resp.status);
}

void Uploader::CreateContainer(const std::string& container) {
    int status = Send("PUT", endpoint_ + "/" + kDevAccount + "/" + container + "?restype=container", "", {});
    if (status != 201 && status != 409) {
        throw std::runtime_error(fmt::format("create container {}: HTTP {}", container, status));
    }
}

void Uploader::Put(const std::string& container, const std::string& blob, const std::string& data) {
    int status = Send("PUT", endpoint_ + "/" + kDevAccount + "/" + container + "/" + az::EncodePath(blob),
                      data, {{"x-ms-blob-type", "BlockBlob"}});
    if (status != 201) {
        throw std::runtime_error(fmt::format("put {}/{}: HTTP {}", container, blob, status));
    }
}

void Uploader::PutTree(const std::string& container, const std::string& prefix, const fs::path& dir) {
    if (!fs::is_directory(dir)) {
        throw std::runtime_error("fixture directory missing: " + dir.string() + " (run scripts/fixtures.sh)");
    }
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) {
            Put(container, prefix + "/" + fs::relative(e.path(), dir).generic_string(), ReadBytes(e.path()));
        }
    }
}

std::map<std::string, std::string> CopiesOfOneFile(int files) {
    fs::path src = FixturesDir() / "sync" / "basic" / "ranking_signal";
    std::string log0 = ReadText((src / "_delta_log" / "00000000000000000000.json").string());
    fs::path data;
    for (const auto& e : fs::directory_iterator(src / "year_month=2024-02")) {
        data = e.path();
    }
    if (data.empty()) {
        throw std::runtime_error("sync fixtures are missing: run scripts/fixtures.sh");
    }
    std::string bytes = ReadText(data.string());
    std::string log = log0.substr(0, log0.find("{\"add\""));
    std::map<std::string, std::string> blobs;
    for (int i = 0; i < files; ++i) {
        std::string name = fmt::format("year_month=2024-02/part-{:05}.snappy.parquet", i);
        blobs[name] = bytes;
        nlohmann::json add = {{"add",
                               {{"path", name},
                                {"partitionValues", {{"year_month", "2024-02"}}},
                                {"size", bytes.size()},
                                {"modificationTime", 1719792001000},
                                {"dataChange", true}}}};
        log += add.dump() + "\n";
    }
    blobs["_delta_log/00000000000000000000.json"] = log;
    return blobs;
}

const std::string& FixtureContainer() {
    static const std::string name = [] {
        // One container per test process, so a shared emulator serves concurrent suites.
        std::string c = fmt::format("fixtures{}", getpid());
        Uploader up;
        up.CreateContainer(c);
        for (const auto& e : fs::directory_iterator(FixturesDir() / "delta")) {
            if (e.is_directory()) {
                up.PutTree(c, "delta/" + e.path().filename().string(), e.path());
            }
        }
        for (const char* t : {"ranking_signal", "composite_signal_daily"}) {
            up.PutTree(c, std::string("sync/basic/") + t, FixturesDir() / "sync" / "basic" / t);
        }
        return c;
    }();
    return name;
}

} // namespace pgsplit::test
