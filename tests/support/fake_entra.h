#pragma once

// A loopback stand-in for the three places an Azure token comes from, on one port:
//   GET  /msi/token?api-version=2019-08-01&resource=R[&client_id=C]   Container Apps / App Service
//        (X-IDENTITY-HEADER must be the configured secret)
//   GET  /metadata/identity/oauth2/token?api-version=2018-02-01&...   IMDS (Metadata: true)
//   POST /TENANT/oauth2/v2.0/token                                   Entra ID token endpoint
//        (client_credentials with client_secret, or client_assertion of the federated token)
// It issues JWT-shaped tokens (aud, iss, tid, oid, nbf, exp claims; an unsigned signature part that
// carries "Canary-" so the suite's canary scan finds any that leaks), each living `lifetime` seconds,
// and calls `on_issue` with every one before answering.

#include "../storage/azure/fake_server.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pgsplit::test {

struct IssuedToken {
    std::string token;
    std::string resource; // "https://ossrdbms-aad.database.windows.net" (no trailing slash, no /.default)
    std::string via;      // "aca", "imds", "secret", "federated"
};

class FakeEntra {
public:
    static constexpr const char* kTenant = "72f988bf-0000-4000-8000-00000000cafe";
    static constexpr const char* kIdentityHeader = "fake-identity-header-Canary-ih";
    static constexpr const char* kClientSecret = "fake-client-secret-Canary-cs";
    static constexpr const char* kFederatedToken =
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyZXBvOm8vcjpyZWY6bWFpbiJ9.fed-Canary-assertion";

    FakeEntra();
    std::string Url() const { return server_.Url(); }
    int Port() const { return server_.Port(); }

    // Seconds each new token lives (default 3600).
    void SetLifetime(int seconds) { lifetime_ = seconds; }
    // Runs with each new token before the answer is sent (e.g. makes it the role's password).
    void OnIssue(std::function<void(const IssuedToken&)> hook);
    // Makes every endpoint answer `status` with an OAuth error body from now on (0: back to normal).
    void FailWith(int status) { fail_status_ = status; }

    std::vector<IssuedToken> Issued() const;
    std::vector<FakeRequest> Requests() const { return server_.Requests(); }
    // Requests to one of the endpoints: "aca", "imds" or "token".
    size_t Count(const std::string& endpoint) const;

private:
    FakeResponse Handle(const FakeRequest& req);
    FakeResponse Issue(const std::string& resource, const std::string& via);

    std::atomic<int> lifetime_{3600};
    std::atomic<int> fail_status_{0};
    mutable std::mutex mutex_;
    std::vector<IssuedToken> issued_;
    std::function<void(const IssuedToken&)> on_issue_;
    FakeServer server_;
};

// A 127.0.0.1 port nobody listens on right now (bound to port 0, read back, closed): for a server the
// test starts, or for an address that must not answer.
int FreeLoopbackPort();

// A JWT-shaped token for `audience` valid for `lifetime_s` (the claims Azurite's OAuth mode checks).
std::string MakeFakeJwt(const std::string& audience, const std::string& tenant, int lifetime_s,
                        const std::string& signature);

} // namespace pgsplit::test
