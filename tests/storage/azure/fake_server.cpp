#include "tests/storage/azure/fake_server.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace pgsplit::test {
namespace {

bool WriteAll(int fd, const char* data, size_t n) {
    while (n > 0) {
        ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return false;
        }
        data += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

const char* Reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 206:
        return "Partial Content";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

} // namespace

FakeServer::FakeServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
        throw std::runtime_error("fake server: cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeServer::~FakeServer() {
    stop_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        threads.swap(connections_);
    }
    for (auto& t : threads) {
        t.join();
    }
}

std::vector<FakeRequest> FakeServer::Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

size_t FakeServer::Count(const std::function<bool(const FakeRequest&)>& which) const {
    auto all = Requests();
    return static_cast<size_t>(std::count_if(all.begin(), all.end(), which));
}

void FakeServer::AcceptLoop() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
            continue;
        }
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) {
            continue;
        }
        std::lock_guard lock(mutex_);
        connections_.emplace_back([this, fd] { Serve(fd); });
    }
}

void FakeServer::Serve(int fd) {
    std::string buf;
    char chunk[65536];
    while (!stop_) {
        // Read one request: headers, then Content-Length bytes of body.
        size_t header_end;
        while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
            pollfd p{fd, POLLIN, 0};
            int ready = ::poll(&p, 1, 50);
            if (stop_) {
                ::close(fd);
                return;
            }
            if (ready <= 0) {
                continue;
            }
            ssize_t r = ::recv(fd, chunk, sizeof chunk, 0);
            if (r <= 0) {
                ::close(fd);
                return;
            }
            buf.append(chunk, static_cast<size_t>(r));
        }
        FakeRequest req;
        std::string head = buf.substr(0, header_end);
        buf.erase(0, header_end + 4);
        size_t line_end = head.find("\r\n");
        std::string first = head.substr(0, line_end);
        auto sp1 = first.find(' ');
        auto sp2 = first.find(' ', sp1 + 1);
        req.method = first.substr(0, sp1);
        req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            std::string line = head.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string name = line.substr(0, colon);
                std::transform(name.begin(), name.end(), name.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                std::string value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                req.headers[name] = value;
            }
            if (e == std::string::npos) {
                break;
            }
            pos = e + 2;
        }
        size_t body_len = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
        while (buf.size() < body_len) {
            ssize_t r = ::recv(fd, chunk, sizeof chunk, 0);
            if (r <= 0) {
                ::close(fd);
                return;
            }
            buf.append(chunk, static_cast<size_t>(r));
        }
        req.body = buf.substr(0, body_len);
        buf.erase(0, body_len);
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(req);
        }
        FakeResponse resp = handler_(req);
        std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) + "\r\n";
        for (const auto& [n, v] : resp.headers) {
            out += n + ": " + v + "\r\n";
        }
        out += "Content-Length: " + std::to_string(req.method == "HEAD" ? 0 : resp.body.size()) + "\r\n\r\n";
        if (resp.cut_after >= 0) {
            out += resp.body.substr(0, static_cast<size_t>(resp.cut_after));
            WriteAll(fd, out.data(), out.size());
            // SO_LINGER 0 makes close() send a RST: the client sees a reset, not a clean end.
            linger l{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            ::close(fd);
            return;
        }
        if (req.method != "HEAD") {
            out += resp.body;
        }
        if (!WriteAll(fd, out.data(), out.size())) {
            ::close(fd);
            return;
        }
    }
    ::close(fd);
}

FakeResponse BlobAnswer(const FakeRequest& req, const std::string& data) {
    FakeResponse resp;
    std::string range = req.Header("x-ms-range");
    if (range.empty()) {
        resp.body = data;
        return resp;
    }
    // "bytes=A-B"
    auto eq = range.find('=');
    auto dash = range.find('-');
    uint64_t a = std::stoull(range.substr(eq + 1, dash - eq - 1));
    uint64_t b = std::stoull(range.substr(dash + 1));
    if (a >= data.size()) {
        resp.status = 416;
        resp.headers.emplace_back("x-ms-error-code", "InvalidRange");
        return resp;
    }
    b = std::min<uint64_t>(b, data.size() - 1);
    resp.status = 206;
    resp.body = data.substr(a, b - a + 1);
    resp.headers.emplace_back("Content-Range", "bytes " + std::to_string(a) + "-" + std::to_string(b) + "/" +
                                                   std::to_string(data.size()));
    return resp;
}

} // namespace pgsplit::test
