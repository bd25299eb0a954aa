#pragma once

// The Azurite emulator the Azure integration tests run against. scripts/test.sh starts one and
// exports PGSPLIT_TEST_AZURITE_PORT; without it the first use starts one with scripts/azurite.sh and
// stops it at exit (as support/pg_cluster.cpp does for PostgreSQL).

#include "storage/azure/http.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace pgsplit::test {

// The emulator's published development account (not a secret).
inline constexpr const char* kDevAccount = "devstoreaccount1";
inline constexpr const char* kDevKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

int AzuritePort();
std::string AzuriteEndpoint(); // http://127.0.0.1:PORT

// Uploads files with SharedKey Put Blob (the test's own client, built on pgsplit's signer).
class Uploader {
public:
    explicit Uploader(std::string endpoint = AzuriteEndpoint(), std::string ca_file = {});
    void CreateContainer(const std::string& container);
    void Put(const std::string& container, const std::string& blob, const std::string& data);
    // Every file under `dir`, as blobs under `prefix` (relative paths kept).
    void PutTree(const std::string& container, const std::string& prefix, const std::filesystem::path& dir);

private:
    int Send(const std::string& method, const std::string& url, const std::string& body,
             std::vector<std::pair<std::string, std::string>> extra);
    std::string endpoint_;
    storage::azure::HttpClient http_;
};

// A container holding the Delta fixtures, uploaded once per test process:
//   delta/<name>/...        from tests/fixtures/out/delta/<name>
//   sync/basic/<table>/...  from tests/fixtures/out/sync/basic/<table>
const std::string& FixtureContainer();

// A Delta table of one month (2024-02) made of `files` copies of the DuckDB-written 2024-02 ranking
// file of the basic sync scenario (600 rows each): blob name relative to the table -> bytes, the
// commit included. For tests of many-file months on Azurite and on the loopback fakes.
std::map<std::string, std::string> CopiesOfOneFile(int files);
inline constexpr int64_t kRowsPerCopy = 600;

} // namespace pgsplit::test
