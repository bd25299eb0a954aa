#pragma once

// A small HTTP client over libcurl for the blob back-end and the managed-identity endpoint.
//
// Connections are reused: easy handles are pooled (one per concurrent caller) and keep their
// connection cache between requests. Transient failures are retried with exponential backoff and
// jitter: connection errors, timeouts, a body cut short, and statuses 408, 429, 500, 502, 503 and 504,
// honouring Retry-After. Retries are bounded both in count and in total time, so a dead endpoint fails
// the command instead of hanging an ACA job.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pgsplit::storage::azure {

struct HttpRequest {
    std::string method = "GET";
    std::string url; // fully encoded, query included
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
    int attempts = 1; // how many tries it took (a retryable status is returned once they run out)

    std::string Header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

struct RetryPolicy {
    int max_attempts = 6; // the first try included
    std::chrono::milliseconds base_delay{250};
    std::chrono::milliseconds max_delay{8000};
    std::chrono::milliseconds total_budget{60000}; // no new attempt starts after this
    std::chrono::seconds connect_timeout{10};
    // A transfer slower than 1 KiB/s for this long counts as a timeout (and is retried).
    std::chrono::seconds stall_timeout{30};
};

// True for the statuses the policy retries.
bool RetryableStatus(long status);

// Seconds to wait from a Retry-After value (delta-seconds only; an HTTP date gives nullopt-like -1).
long ParseRetryAfter(const std::string& value);

class HttpClient {
public:
    // `ca_file`: PEM bundle that signs the servers' certificates, instead of the system's (empty: the
    // system bundle), for a private endpoint behind a TLS-inspecting proxy or a local emulator.
    explicit HttpClient(RetryPolicy policy = {}, std::string ca_file = {});
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Sends the request built by `build` (called again for every attempt, so signatures and dates are
    // fresh) until it gets a non-retryable status or the policy gives up. Returns the last response
    // whatever its status; throws Error(Connect) naming `what` and the redacted URL when no response
    // came back at all.
    HttpResponse Send(const std::function<HttpRequest()>& build, const std::string& what);

    // Requests sent over this client's lifetime, for tests and the debug log.
    uint64_t RequestCount() const { return requests_; }

private:
    struct Handle;
    std::unique_ptr<Handle> Acquire();
    void Release(std::unique_ptr<Handle> handle);
    // One attempt. Returns false with `error` set on a transport failure.
    bool Perform(Handle& h, const HttpRequest& req, HttpResponse& resp, std::string& error, bool& timed_out);

    RetryPolicy policy_;
    std::string ca_file_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Handle>> idle_;
    std::atomic<uint64_t> requests_{0};
};

} // namespace pgsplit::storage::azure
