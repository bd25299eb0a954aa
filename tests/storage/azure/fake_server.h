#pragma once

// A loopback HTTP/1.1 server for the Azure fault tests: it plays the blob service or the managed
// identity endpoint with scripted answers, records every request, and can cut a body short to
// simulate a connection reset. One thread per connection, keep-alive honoured.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pgsplit::test {

struct FakeRequest {
    std::string method;
    std::string target;                         // path and query, as sent
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;

    std::string Path() const { return target.substr(0, target.find('?')); }
    std::string Query() const {
        auto q = target.find('?');
        return q == std::string::npos ? "" : target.substr(q + 1);
    }
    std::string Header(const std::string& lower) const {
        auto it = headers.find(lower);
        return it == headers.end() ? "" : it->second;
    }
};

struct FakeResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // >= 0: send the headers (with the full Content-Length) and only this many body bytes, then reset
    // the connection.
    long cut_after = -1;
};

class FakeServer {
public:
    using Handler = std::function<FakeResponse(const FakeRequest&)>;
    explicit FakeServer(Handler handler);
    ~FakeServer();
    FakeServer(const FakeServer&) = delete;
    FakeServer& operator=(const FakeServer&) = delete;

    int Port() const { return port_; }
    std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<FakeRequest> Requests() const;
    size_t Count(const std::function<bool(const FakeRequest&)>& which) const;

private:
    void AcceptLoop();
    void Serve(int fd);

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::thread> connections_;
    std::vector<FakeRequest> requests_;
};

// Serves a byte range of `data` the way Get Blob does (206 + Content-Range for x-ms-range, else 200).
FakeResponse BlobAnswer(const FakeRequest& req, const std::string& data);

} // namespace pgsplit::test
