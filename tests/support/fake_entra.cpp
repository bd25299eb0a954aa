#include "support/fake_entra.h"

#include "storage/azure/credentials.h"
#include "storage/azure/uri.h"

#include <chrono>
#include <fmt/format.h>
#include <map>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

namespace pgsplit::test {
namespace {

std::string Base64Url(const std::string& bytes) {
    std::string b = storage::azure::Base64Encode(bytes);
    for (char& c : b) {
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    while (!b.empty() && b.back() == '=') {
        b.pop_back();
    }
    return b;
}

std::map<std::string, std::string> Fields(const std::string& text) {
    std::map<std::string, std::string> out;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t amp = text.find('&', pos);
        std::string part = text.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
        auto eq = part.find('=');
        if (!part.empty()) {
            out[storage::azure::DecodePercent(part.substr(0, eq))] =
                eq == std::string::npos ? "" : storage::azure::DecodePercent(part.substr(eq + 1));
        }
        if (amp == std::string::npos) {
            break;
        }
        pos = amp + 1;
    }
    return out;
}

FakeResponse OAuthError(int status, const std::string& code, const std::string& description) {
    FakeResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = nlohmann::json{{"error", code}, {"error_description", description}}.dump();
    return r;
}

std::string TrimSlash(std::string s) {
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

} // namespace

int FreeLoopbackPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

std::string MakeFakeJwt(const std::string& audience, const std::string& tenant, int lifetime_s,
                        const std::string& signature) {
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", "fake"}};
    nlohmann::json claims = {{"aud", audience},
                             {"iss", "https://sts.windows.net/" + tenant + "/"},
                             {"tid", tenant},
                             {"oid", "0b7c3a2e-0000-4000-8000-0000000000a1"},
                             {"appid", "0b7c3a2e-0000-4000-8000-0000000000a2"},
                             {"iat", now - 5},
                             {"nbf", now - 5},
                             {"exp", now + lifetime_s}};
    return Base64Url(header.dump()) + "." + Base64Url(claims.dump()) + "." + signature;
}

FakeEntra::FakeEntra() : server_([this](const FakeRequest& req) { return Handle(req); }) {}

void FakeEntra::OnIssue(std::function<void(const IssuedToken&)> hook) {
    std::lock_guard lock(mutex_);
    on_issue_ = std::move(hook);
}

std::vector<IssuedToken> FakeEntra::Issued() const {
    std::lock_guard lock(mutex_);
    return issued_;
}

size_t FakeEntra::Count(const std::string& endpoint) const {
    return server_.Count([&](const FakeRequest& r) {
        if (endpoint == "aca") {
            return r.Path() == "/msi/token";
        }
        if (endpoint == "imds") {
            return r.Path() == "/metadata/identity/oauth2/token";
        }
        return r.Path().find("/oauth2/v2.0/token") != std::string::npos;
    });
}

FakeResponse FakeEntra::Issue(const std::string& resource, const std::string& via) {
    if (int status = fail_status_.load(); status != 0) {
        return OAuthError(status, "temporarily_unavailable", "AADSTS50000: the fake was told to fail");
    }
    IssuedToken t;
    t.resource = TrimSlash(resource);
    t.via = via;
    std::function<void(const IssuedToken&)> hook;
    int lifetime = lifetime_.load();
    {
        std::lock_guard lock(mutex_);
        t.token = MakeFakeJwt(t.resource, kTenant, lifetime,
                              fmt::format("tok{}-Canary-{}", issued_.size() + 1, via));
        issued_.push_back(t);
        hook = on_issue_;
    }
    if (hook) {
        hook(t);
    }
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    FakeResponse r;
    r.headers.emplace_back("Content-Type", "application/json");
    if (via == "aca" || via == "imds") {
        // The identity endpoints: expires_on as a string of epoch seconds, resource echoed.
        r.body = nlohmann::json{{"access_token", t.token},
                                {"expires_on", std::to_string(now + lifetime)},
                                {"resource", resource},
                                {"token_type", "Bearer"}}
                     .dump();
    } else {
        r.body = nlohmann::json{{"token_type", "Bearer"}, {"expires_in", lifetime}, {"access_token", t.token}}
                     .dump();
    }
    return r;
}

FakeResponse FakeEntra::Handle(const FakeRequest& req) {
    auto q = Fields(req.Query());
    if (req.Path() == "/msi/token") {
        if (req.Header("x-identity-header") != kIdentityHeader) {
            return OAuthError(401, "unauthorized", "the identity header is wrong");
        }
        if (q["api-version"] != "2019-08-01" || q["resource"].empty()) {
            return OAuthError(400, "invalid_request", "api-version and resource are required");
        }
        return Issue(q["resource"], "aca");
    }
    if (req.Path() == "/metadata/identity/oauth2/token") {
        if (req.Header("metadata") != "true") {
            return OAuthError(400, "invalid_request", "Required metadata header not specified");
        }
        if (q["api-version"].empty() || q["resource"].empty()) {
            return OAuthError(400, "invalid_request", "api-version and resource are required");
        }
        return Issue(q["resource"], "imds");
    }
    if (req.method == "POST" && req.Path() == std::string("/") + kTenant + "/oauth2/v2.0/token") {
        auto f = Fields(req.body);
        if (f["grant_type"] != "client_credentials" || f["client_id"].empty()) {
            return OAuthError(400, "unsupported_grant_type",
                              "AADSTS70003: grant_type and client_id are required");
        }
        std::string scope = f["scope"];
        const std::string suffix = "/.default";
        if (scope.size() <= suffix.size() ||
            scope.compare(scope.size() - suffix.size(), suffix.size(), suffix) != 0) {
            return OAuthError(400, "invalid_scope", "AADSTS1002012: the scope must end in /.default");
        }
        std::string resource = scope.substr(0, scope.size() - suffix.size());
        if (f.count("client_secret")) {
            if (f["client_secret"] != kClientSecret) {
                return OAuthError(
                    401, "invalid_client",
                    "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nTimestamp: x");
            }
            return Issue(resource, "secret");
        }
        if (f["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
            if (f["client_assertion"] != kFederatedToken) {
                return OAuthError(400, "invalid_client",
                                  "AADSTS70021: No matching federated identity record found");
            }
            return Issue(resource, "federated");
        }
        return OAuthError(400, "invalid_request",
                          "AADSTS900144: client_secret or client_assertion is required");
    }
    return OAuthError(404, "not_found", "no such endpoint on the fake");
}

} // namespace pgsplit::test
