#pragma once

// The Azure back-end of storage::Storage: a table folder in a Blob container (or an ADLS Gen2 file
// system, read through the Blob REST API, which hierarchical-namespace accounts also serve).
//
// Requests per Parquet file: Open fetches the first window (default 4 MiB) with one ranged Get Blob,
// which also gives the size from Content-Range; a file smaller than that is then read from memory. A
// larger file costs one more request for its tail (footer) and then one per read-ahead window
// (default 8 MiB) of column chunks that are not already held. Memory per open file is bounded by the
// three windows (head, tail, current), whatever the file's size; a single read larger than the
// read-ahead goes straight into the caller's buffer.
//
// Overlap (io_concurrency > 1, the default 8): the requests above are the same, but they are made
// ahead of need on a pool of io_concurrency - 1 threads (storage/azure/fetch_pool.h), so a month of
// many files pays the round trip once per io_concurrency files instead of once per file:
//   - the files a scan announces (Storage::Prefetch) get their head (and tail) fetched ahead, up to
//     2 x the pool's threads files and prefetch_bytes bytes at once;
//   - while a window is decoded, the next one is on its way (one more window per open file);
//   - a read larger than the read-ahead is fetched in read-ahead-sized parts at once.
// Memory per open file is then four windows at most, plus prefetch_bytes per table for the heads of
// the files to come. io_concurrency 1 reads sequentially, as before.

#include "storage/azure/credentials.h"
#include "storage/azure/fetch_pool.h"
#include "storage/azure/http.h"
#include "storage/azure/uri.h"
#include "storage/storage.h"

#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string>

namespace pgsplit::storage::azure {

struct BlobOptions {
    RetryPolicy retry;
    uint64_t first_window = 4u << 20;
    uint64_t tail_window = 1u << 20;
    uint64_t read_ahead = 8u << 20;
    int io_concurrency = 8;              // requests in flight per table, the caller's own included
    uint64_t prefetch_bytes = 32u << 20; // heads of announced files held at once
};

// What the first requests for a blob bring: the head window and, for a blob larger than that, its
// tail window (the footer), both unchecked. Made by FetchHead, checked by the byte source.
struct BlobHead {
    HttpResponse first;
    std::optional<HttpResponse> tail;
    uint64_t tail_offset = 0;
};

class BlobStorage final : public Storage {
public:
    // `uri` as given by the operator; credentials and the endpoint override come from `settings`.
    BlobStorage(const std::string& uri, const StorageSettings& settings, BlobOptions options = {});

    const std::string& Root() const override { return shown_root_; }
    std::vector<FileEntry> List(const std::string& dir) override;
    std::unique_ptr<ByteSource> Open(const std::string& path) override;
    void Prefetch(const std::vector<PlannedFile>& files) override;
    std::optional<std::string> ReadIfExists(const std::string& path) override;
    std::string Describe(const std::string& path) const override;

    // HTTP requests sent so far (all attempts), for tests and diagnostics.
    uint64_t RequestCount() const { return http_->RequestCount(); }
    const Credential& GetCredential() const { return *credential_; }
    const BlobLocation& Location() const { return loc_; }

    // --- used by the byte source ---
    // Get Blob for `blob` (a name inside the container), with an inclusive byte range when
    // `length` > 0. Returns the response (200/206/404/416); throws for authorisation and service
    // failures.
    HttpResponse GetBlob(const std::string& blob, uint64_t offset, uint64_t length, const std::string& what);
    // Throws the Error a failed response deserves (401/403 Connect with hint, 404 Source, ...).
    [[noreturn]] void Fail(const HttpResponse& resp, const std::string& what, const std::string& shown);
    const BlobOptions& Options() const { return options_; }
    // The read-ahead threads (io_concurrency - 1 of them, started on first use).
    FetchPool& Pool();

private:
    // An announced file: its path, the bytes its head may take, and the head once asked for.
    struct Ahead {
        std::string path;
        uint64_t cost = 0;
        std::future<BlobHead> head;
    };
    uint64_t HeadCost(uint64_t size) const;
    void StartAhead();

    std::string BlobName(const std::string& path) const;
    std::string ContainerUrl() const;
    HttpResponse Send(const std::string& url, uint64_t offset, uint64_t length, const std::string& what);

    BlobLocation loc_;
    std::string shown_root_; // the URI with any SAS signature masked
    BlobOptions options_;
    std::shared_ptr<HttpClient> http_; // shared with the managed-identity credential
    std::unique_ptr<Credential> credential_;
    std::deque<Ahead> ahead_; // the files announced and not opened yet, in order
    uint64_t ahead_bytes_ = 0;
    size_t ahead_started_ = 0;
    std::unique_ptr<FetchPool> pool_; // last: destroyed first, so no fetch outlives what it uses
};

// The first requests for `blob` (shown as `shown`): the head window, and the tail window when the
// blob is larger than the head.
BlobHead FetchHead(BlobStorage& storage, const std::string& blob, const std::string& shown);

// Parses one page of a List Blobs answer: the blobs (name and size, folders of hierarchical
// namespaces skipped) and the NextMarker (empty on the last page). Exposed for tests.
struct ListPage {
    std::vector<FileEntry> blobs; // names as Azure returns them (full blob names)
    std::string next_marker;
};
ListPage ParseListBlobs(const std::string& xml);

// What storage::OpenStorage calls for abfss://, abfs://, https:// and http:// locations.
std::unique_ptr<Storage> OpenAzureStorage(const std::string& uri, const StorageSettings& settings);

} // namespace pgsplit::storage::azure
