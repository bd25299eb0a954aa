#include "storage/azure/http.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "storage/azure/uri.h"

#include <algorithm>
#include <cctype>
#include <curl/curl.h>
#include <fmt/format.h>
#include <random>
#include <thread>

namespace pgsplit::storage::azure {
namespace {

// curl_global_init is not thread-safe; run it once before the first handle.
void GlobalInit() {
    static const bool done = [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return true;
    }();
    (void)done;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
    static_cast<HttpResponse*>(user)->body.append(data, size * n);
    return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* resp = static_cast<HttpResponse*>(user);
    std::string line(data, size * n);
    // A new status line (after a redirect or 100-continue) starts a new header block.
    if (line.rfind("HTTP/", 0) == 0) {
        resp->headers.clear();
        return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) {
        return size * n;
    }
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    auto first = value.find_first_not_of(" \t");
    auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    resp->headers[name] = value;
    return size * n;
}

std::chrono::milliseconds Backoff(const RetryPolicy& p, int attempt) {
    // Exponential with "equal jitter": half the step is fixed, half random, so parallel jobs that
    // failed together do not come back together.
    double step =
        static_cast<double>(p.base_delay.count()) * static_cast<double>(1u << std::min(attempt, 16));
    step = std::min(step, static_cast<double>(p.max_delay.count()));
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> dist(0.5, 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(step * dist(rng)));
}

} // namespace

struct HttpClient::Handle {
    CURL* curl = nullptr;
    Handle() : curl(curl_easy_init()) {}
    ~Handle() {
        if (curl) {
            curl_easy_cleanup(curl);
        }
    }
};

bool RetryableStatus(long status) {
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

long ParseRetryAfter(const std::string& value) {
    if (value.empty() || value.size() > 9) {
        return -1;
    }
    for (unsigned char c : value) {
        if (!std::isdigit(c)) {
            return -1;
        }
    }
    return std::stol(value);
}

HttpClient::HttpClient(RetryPolicy policy, std::string ca_file)
    : policy_(policy), ca_file_(std::move(ca_file)) {
    GlobalInit();
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::Acquire() {
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            auto h = std::move(idle_.back());
            idle_.pop_back();
            return h;
        }
    }
    auto h = std::make_unique<Handle>();
    if (!h->curl) {
        throw Error(ExitCode::Failure, "cannot create a libcurl handle");
    }
    return h;
}

void HttpClient::Release(std::unique_ptr<Handle> handle) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(handle));
}

namespace {

// libcurl's progress callback: a non-zero return aborts the transfer (SIGINT/SIGTERM arrived).
int AbortOnSignal(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return InterruptSignal() != 0 ? 1 : 0;
}

} // namespace

bool HttpClient::Perform(Handle& h, const HttpRequest& req, HttpResponse& resp, std::string& error,
                         bool& timed_out) {
    CURL* c = h.curl;
    // Reset clears options but keeps the connection cache, which is the point of reusing the handle.
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    // Paths were confined to the table before the URL was built; curl must not re-resolve them.
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(policy_.connect_timeout.count() * 1000));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(policy_.stall_timeout.count()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!ca_file_.empty()) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
    }
    // A signal stops a transfer within about a second (libcurl calls this at least once a second).
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, AbortOnSignal);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (req.method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.method == "PUT" || req.method == "POST") {
        // A PUT (blob writes in tests) or a POST (the Entra token endpoint's form): the body as given.
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    } else if (req.method != "GET") {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    curl_slist* list = nullptr;
    for (const auto& [name, value] : req.headers) {
        list = curl_slist_append(list, (name + ": " + value).c_str());
    }
    // curl would add "Expect: 100-continue" to large PUTs and a Content-Type to POSTFIELDS; both
    // change what the server sees from what was signed.
    list = curl_slist_append(list, "Expect:");
    bool has_type = std::any_of(req.headers.begin(), req.headers.end(),
                                [](const auto& kv) { return kv.first == "Content-Type"; });
    if (!has_type) {
        list = curl_slist_append(list, "Content-Type:");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    ++requests_;
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(list);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    if (rc != CURLE_OK) {
        error = curl_easy_strerror(rc);
        timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    return true;
}

HttpResponse HttpClient::Send(const std::function<HttpRequest()>& build, const std::string& what) {
    auto start = std::chrono::steady_clock::now();
    auto handle = Acquire();
    std::string last_error;
    std::string url_shown;
    for (int attempt = 0;; ++attempt) {
        HttpRequest req = build();
        url_shown = RedactUrl(req.url);
        HttpResponse resp;
        bool timed_out = false;
        std::string error;
        bool got = Perform(*handle, req, resp, error, timed_out);
        resp.attempts = attempt + 1;
        if (InterruptSignal() != 0) {
            // No retry after SIGINT/SIGTERM: the command is stopping (and a fetch made ahead of
            // time must not keep it alive for the whole retry budget).
            Release(std::move(handle));
            CheckInterrupt();
        }
        std::chrono::milliseconds wait = Backoff(policy_, attempt);
        if (got) {
            if (!RetryableStatus(resp.status)) {
                Release(std::move(handle));
                return resp;
            }
            long after = ParseRetryAfter(resp.Header("retry-after"));
            if (after >= 0) {
                wait = std::chrono::seconds(after);
            }
            last_error = fmt::format("HTTP {}", resp.status);
            auto elapsed = std::chrono::steady_clock::now() - start;
            if (attempt + 1 >= policy_.max_attempts || elapsed + wait > policy_.total_budget) {
                Release(std::move(handle));
                return resp; // the caller turns the status into its error
            }
        } else {
            last_error = error;
            auto elapsed = std::chrono::steady_clock::now() - start;
            if (attempt + 1 >= policy_.max_attempts || elapsed + wait > policy_.total_budget) {
                Release(std::move(handle));
                auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                throw Error(
                    ExitCode::Connect,
                    fmt::format("cannot reach azure storage for {} ({}): {} after {} attempts in {:.1f}s",
                                what, url_shown, last_error, attempt + 1, secs),
                    timed_out ? "the endpoint did not answer in time; check the network path and "
                                "AZURE_STORAGE_ENDPOINT"
                              : "check the account name, the endpoint and the network path");
            }
        }
        // The backoff in slices, so a signal ends it too.
        for (auto until = std::chrono::steady_clock::now() + wait;
             std::chrono::steady_clock::now() < until;) {
            if (InterruptSignal() != 0) {
                Release(std::move(handle));
                CheckInterrupt();
            }
            std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
                std::chrono::milliseconds(50), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   until - std::chrono::steady_clock::now()) +
                                                   std::chrono::milliseconds(1)));
        }
    }
}

} // namespace pgsplit::storage::azure
