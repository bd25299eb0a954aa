// Reading ahead from blob storage (issue 20): with --io-concurrency N the files a scan announces and
// the windows after the current one are fetched on N - 1 threads while the caller decodes. The
// loopback fake here serves a Delta table from memory, holds every request for a while and counts
// how many are in flight at once, so overlap is shown by the server's own count (never by timing),
// and so is the bound: never more than N at once, never more than 2 x (N - 1) files fetched ahead.
#include "config/config.h"
#include "core/error.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "storage/azure/blob_storage.h"
#include "storage/azure/fetch_pool.h"
#include "tests/storage/azure/azurite.h"
#include "tests/storage/azure/fake_server.h"
#include "tests/support/paths.h"
#include "tests/support/process.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <thread>

namespace pgsplit::test {
namespace {

namespace az = storage::azure;
namespace fs = std::filesystem;

std::string PercentDecode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// Container "c" of devstoreaccount1, from memory: List Blobs (one page) and ranged Get Blob. Every
// request is held `delay` and counted while in flight.
class SlowBlobServer {
public:
    SlowBlobServer(std::map<std::string, std::string> blobs, std::chrono::milliseconds delay)
        : blobs_(std::move(blobs)), delay_(delay),
          server_([this](const FakeRequest& r) { return Answer(r); }) {}

    StorageSettings Settings() const {
        return Config::FromMap({},
                               {{"AZURE_STORAGE_KEY", kDevKey}, {"AZURE_STORAGE_ENDPOINT", server_.Url()}})
            .Storage();
    }
    int MaxInFlight() const { return max_in_flight_; }
    void ResetMax() { max_in_flight_ = 0; }
    // Get Blob requests for names containing `part`.
    size_t Gets(const std::string& part) const {
        return server_.Count([&](const FakeRequest& r) {
            return r.Query().empty() && PercentDecode(r.Path()).find(part) != std::string::npos;
        });
    }

private:
    FakeResponse Answer(const FakeRequest& req) {
        int now = ++in_flight_;
        int seen = max_in_flight_;
        while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(delay_);
        FakeResponse resp = Serve(req);
        --in_flight_;
        return resp;
    }

    FakeResponse Serve(const FakeRequest& req) const {
        const std::string base = "/devstoreaccount1/c";
        if (req.Path() == base) {
            std::string prefix;
            std::string q = req.Query();
            auto at = q.find("prefix=");
            if (at != std::string::npos) {
                prefix = PercentDecode(q.substr(at + 7, q.find('&', at) - at - 7));
            }
            std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults><Blobs>";
            for (const auto& [name, data] : blobs_) {
                if (name.rfind(prefix, 0) == 0 && name.find('/', prefix.size()) == std::string::npos) {
                    xml += fmt::format("<Blob><Name>{}</Name><Properties><Content-Length>{}</Content-Length>"
                                       "</Properties></Blob>",
                                       name, data.size());
                }
            }
            return {200,
                    {{"Content-Type", "application/xml"}},
                    xml + "</Blobs><NextMarker /></EnumerationResults>"};
        }
        auto it = blobs_.find(PercentDecode(req.Path().substr(base.size() + 1)));
        if (it == blobs_.end()) {
            return {404, {{"x-ms-error-code", "BlobNotFound"}}, ""};
        }
        return BlobAnswer(req, it->second);
    }

    std::map<std::string, std::string> blobs_;
    std::chrono::milliseconds delay_;
    std::atomic<int> in_flight_{0};
    std::atomic<int> max_in_flight_{0};
    FakeServer server_;
};

constexpr const char* kUri = "abfss://c@devstoreaccount1.dfs.core.windows.net/t";

// Table "t": one month of `files` copies of one DuckDB-written fixture file (azurite.h).
std::map<std::string, std::string> ManyFileTable(int files) {
    std::map<std::string, std::string> blobs;
    for (auto& [name, bytes] : CopiesOfOneFile(files)) {
        blobs["t/" + name] = std::move(bytes);
    }
    return blobs;
}

int64_t ScanRows(std::unique_ptr<az::BlobStorage> storage) {
    delta::Table table(std::move(storage));
    auto snap = table.LoadSnapshot();
    delta::Scan scan(snap, table.GetStorage(),
                     {.columns = {}, .predicate = delta::Predicate{"year_month", "2024-02"}});
    delta::ScanBatch batch;
    int64_t rows = 0;
    while (scan.Next(batch)) {
        rows += static_cast<int64_t>(batch.size);
    }
    return rows;
}

az::BlobOptions WithConcurrency(int n) {
    az::BlobOptions o;
    o.io_concurrency = n;
    return o;
}

} // namespace

TEST_SUITE("azure read-ahead") {
    TEST_CASE("FetchPool runs at most N tasks at once, drops the unstarted ones when destroyed, and runs "
              "inline with no threads") {
        std::atomic<int> running{0}, most{0}, done{0};
        std::vector<std::future<int>> results;
        {
            az::FetchPool pool(3);
            for (int i = 0; i < 12; ++i) {
                results.push_back(pool.Submit([&, i] {
                    int now = ++running;
                    int seen = most;
                    while (now > seen && !most.compare_exchange_weak(seen, now)) {
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    --running;
                    ++done;
                    return i * i;
                }));
            }
            for (int i = 0; i < 12; ++i) {
                CHECK(results[i].get() == i * i);
            }
            CHECK(most.load() <= 3);
            CHECK(most.load() >= 2);
        }
        std::future<void> dropped;
        {
            az::FetchPool pool(1);
            auto blocker = pool.Submit([] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); });
            dropped = pool.Submit([] {});
        } // the blocker runs to its end; the second task never starts
        CHECK_THROWS_AS(dropped.get(), std::future_error);
        az::FetchPool none(0);
        auto id = none.Submit([] { return std::this_thread::get_id(); });
        CHECK(id.get() == std::this_thread::get_id());
    }

    TEST_CASE("--io-concurrency 8: a 40-file month has requests in flight together, never more than 8, "
              "and reads the same rows with at most 2 requests per file") {
        SlowBlobServer server(ManyFileTable(40), std::chrono::milliseconds(15));
        int64_t rows =
            ScanRows(std::make_unique<az::BlobStorage>(kUri, server.Settings(), WithConcurrency(8)));
        CHECK(rows == 40 * kRowsPerCopy);
        MESSAGE("most requests in flight at once: " << server.MaxInFlight());
        CHECK(server.MaxInFlight() >= 2);
        CHECK(server.MaxInFlight() <= 8);
        CHECK(server.Gets("part-") <= 2 * 40);
    }

    TEST_CASE("--io-concurrency 1 reads as before: one request at a time") {
        SlowBlobServer server(ManyFileTable(12), std::chrono::milliseconds(5));
        int64_t rows =
            ScanRows(std::make_unique<az::BlobStorage>(kUri, server.Settings(), WithConcurrency(1)));
        CHECK(rows == 12 * kRowsPerCopy);
        CHECK(server.MaxInFlight() == 1);
    }

    TEST_CASE("files are fetched ahead only up to 2 x (N - 1) at once, and only once announced") {
        SlowBlobServer server(ManyFileTable(40), std::chrono::milliseconds(5));
        delta::Table table(std::make_unique<az::BlobStorage>(kUri, server.Settings(), WithConcurrency(4)));
        auto snap = table.LoadSnapshot();
        CHECK(server.Gets("part-") == 0);
        {
            delta::Scan scan(snap, table.GetStorage(),
                             {.columns = {}, .predicate = delta::Predicate{"year_month", "2024-02"}});
            std::this_thread::sleep_for(std::chrono::milliseconds(300)); // every head asked for has arrived
            CHECK(server.Gets("part-") == 2 * 3);
            delta::ScanBatch batch;
            REQUIRE(scan.Next(batch)); // opening the first file lets one more be fetched ahead
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            CHECK(server.Gets("part-") == 2 * 3 + 1);
        }
        // The scan is gone: nothing more is fetched for it.
        size_t after = server.Gets("part-");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK(server.Gets("part-") == after);
    }

    TEST_CASE("a read larger than the read-ahead is fetched in parts at once, byte for byte") {
        std::string data(200 * 1024, '\0');
        for (size_t i = 0; i < data.size(); ++i) {
            data[i] = static_cast<char>((i * 7919) % 251);
        }
        SlowBlobServer server({{"t/big.bin", data}}, std::chrono::milliseconds(10));
        az::BlobOptions o = WithConcurrency(8);
        o.first_window = 4096;
        o.tail_window = 4096;
        o.read_ahead = 16 * 1024;
        az::BlobStorage storage(kUri, server.Settings(), o);
        auto src = storage.Open("big.bin");
        server.ResetMax();
        std::string got(150 * 1024, '\0');
        src->Read(10000, got.size(), reinterpret_cast<uint8_t*>(got.data()));
        CHECK(got == data.substr(10000, got.size()));
        CHECK(server.MaxInFlight() >= 2);
        CHECK(server.MaxInFlight() <= 8);
        // Sequential small reads after it are served by windows fetched ahead: same bytes.
        std::string more(3000, '\0');
        for (uint64_t at = 160000; at + more.size() < data.size() - 4096; at += more.size()) {
            src->Read(at, more.size(), reinterpret_cast<uint8_t*>(more.data()));
            REQUIRE(more == data.substr(at, more.size()));
        }
    }

    TEST_CASE("a file fetched ahead that fails fails the scan when it gets there, with the sequential "
              "read's message") {
        auto blobs = ManyFileTable(10);
        blobs.erase("t/year_month=2024-02/part-00006.snappy.parquet"); // vacuumed under the reader
        std::string messages[2];
        int64_t rows_before[2] = {0, 0};
        for (int n : {1, 8}) {
            SlowBlobServer server(blobs, std::chrono::milliseconds(2));
            delta::Table table(
                std::make_unique<az::BlobStorage>(kUri, server.Settings(), WithConcurrency(n)));
            auto snap = table.LoadSnapshot();
            delta::Scan scan(snap, table.GetStorage(),
                             {.columns = {}, .predicate = delta::Predicate{"year_month", "2024-02"}});
            delta::ScanBatch batch;
            int64_t rows = 0;
            try {
                while (scan.Next(batch)) {
                    rows += static_cast<int64_t>(batch.size);
                }
                FAIL("the missing file was not noticed");
            } catch (const Error& e) {
                CHECK(e.code() == ExitCode::Source);
                messages[n == 8] = e.what();
            }
            rows_before[n == 8] = rows;
        }
        CHECK(messages[0].find("part-00006.snappy.parquet' does not exist") != std::string::npos);
        CHECK(messages[0] == messages[1]);
        CHECK(rows_before[0] == rows_before[1]); // the files before it were read, in order, either way
    }

    TEST_CASE("SIGTERM stops a remote read the server never answers: exit 143 within seconds, no retry") {
        // The blob's answer never comes (until the test ends): libcurl would wait for the 30 s stall
        // timeout and then retry; the signal must end it at once.
        std::atomic<bool> release{false};
        std::atomic<int> asked{0};
        FakeServer server([&](const FakeRequest&) {
            ++asked;
            for (int i = 0; i < 3000 && !release; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            return FakeResponse{503, {}, ""};
        });
        Process p({BinaryPath().string(), "inspect", "parquet",
                   "abfss://c@devstoreaccount1.dfs.core.windows.net/t/f.parquet"},
                  {{"AZURE_STORAGE_KEY", kDevKey}, {"AZURE_STORAGE_ENDPOINT", server.Url()}});
        for (int i = 0; i < 500 && asked == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        REQUIRE(asked == 1);
        auto t0 = std::chrono::steady_clock::now();
        p.Signal(SIGTERM);
        auto r = p.Wait(30);
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        release = true;
        MESSAGE("exited " << secs << " s after SIGTERM");
        CHECK_MESSAGE(r.exit_code == 143, r.All());
        CHECK(secs < 5);
        CHECK(asked == 1); // not retried
    }
}

} // namespace pgsplit::test
