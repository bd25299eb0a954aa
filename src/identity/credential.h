#pragma once

// Microsoft Entra ID access tokens: one credential chain, shared by Azure Storage (Bearer requests)
// and PostgreSQL (`--pg-auth entra`: the token is the password of each new connection).
//
// The chain, in this order unless --azure-credential / PGSPLIT_AZURE_CREDENTIAL picks one:
//   env       client secret: AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET, exchanged at
//             AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com/);
//   workload  workload identity federation: AZURE_FEDERATED_TOKEN_FILE (a Kubernetes or GitHub OIDC
//             token, read again for every exchange) + AZURE_CLIENT_ID + AZURE_TENANT_ID;
//   managed   managed identity: IDENTITY_ENDPOINT + IDENTITY_HEADER (Container Apps, App Service), else
//             IMDS at AZURE_POD_IDENTITY_AUTHORITY_HOST (default http://169.254.169.254). AZURE_CLIENT_ID
//             selects a user-assigned identity. The auto chain probes IMDS only when
//             AZURE_POD_IDENTITY_AUTHORITY_HOST is set; `--azure-credential managed` probes the default
//             address, with a one-second connect timeout and no retry of an unanswered probe. So no
//             default run on a laptop or a CI machine sends anything to 169.254.169.254.
//   cli       `az account get-access-token --scope SCOPE` (argv, no shell, PGSPLIT_AZURE_CLI_TIMEOUT,
//             default 30 s), the operator's own `az login` or a workflow's azure/login.
// A credential that is not configured here is skipped with the reason; the first one that is configured
// decides: its token, or its failure. When none gives a token, one Error(Connect) (exit 4) names every
// credential and why it was skipped or failed. The one that answered is used for the rest of the run.
//
// Tokens are cached per scope, process-wide, and fetched again ahead of expiry (five minutes, or half
// the lifetime of a shorter-lived token). They are never put in a message or written to disk; a
// process-wide observer (SetTokenObserver) sees each new one first, so GitHub mode can mask it.

#include "config/settings.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgsplit::storage::azure {
class HttpClient;
} // namespace pgsplit::storage::azure

namespace pgsplit::identity {

inline constexpr const char* kStorageScope = "https://storage.azure.com/.default";
inline constexpr const char* kDefaultAuthority = "https://login.microsoftonline.com/";
inline constexpr const char* kDefaultImdsHost = "http://169.254.169.254";

struct AccessToken {
    std::string token;
    std::chrono::system_clock::time_point expires_on{};
    // Set by Chain::Get: when the cache fetches a new one (RefreshPoint of the fetch time).
    std::chrono::system_clock::time_point refresh_at{};
};

// "Not configured / not available here": the chain moves on. Its what() is the reason, shown in the
// chain's failure message. Any other exception a credential throws is a failure that ends the chain.
class Unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One way of getting a token. Fetch asks its endpoint every time (the chain caches).
class TokenCredential {
public:
    virtual ~TokenCredential() = default;
    virtual AccessToken Fetch(const std::string& scope) = 0;
    // "client secret (AZURE_CLIENT_SECRET)", for messages.
    virtual std::string Name() const = 0;
};

// The credentials of the chain, built from the settings; exposed for tests.
std::unique_ptr<TokenCredential> MakeClientSecret(const IdentitySettings& s,
                                                  std::shared_ptr<storage::azure::HttpClient> http);
std::unique_ptr<TokenCredential> MakeWorkload(const IdentitySettings& s,
                                              std::shared_ptr<storage::azure::HttpClient> http);
// `probe_imds`: whether IMDS at the default address may be asked when IDENTITY_ENDPOINT is unset.
std::unique_ptr<TokenCredential> MakeManaged(const IdentitySettings& s, bool probe_imds);
std::unique_ptr<TokenCredential> MakeCli(const IdentitySettings& s);

class Chain {
public:
    // `pinned`: --azure-credential named one, so "not configured" is that credential's failure.
    Chain(std::vector<std::unique_ptr<TokenCredential>> credentials, bool pinned);

    // A token for `scope` valid for at least the refresh margin: cached, else fetched. Thread-safe.
    // Throws Error(Connect) listing every credential tried when none gives one.
    AccessToken Get(const std::string& scope);
    std::string Token(const std::string& scope) { return Get(scope).token; }
    // The credential in use ("managed identity (IDENTITY_ENDPOINT)"), or empty before the first token.
    std::string InUse() const;
    // Tokens fetched from an endpoint so far (cache hits excluded), for tests and the debug log.
    int Fetches() const;

private:
    struct Cached {
        AccessToken token;
        std::chrono::system_clock::time_point refresh_at{};
    };
    AccessToken FetchFromChain(const std::string& scope);

    std::vector<std::unique_ptr<TokenCredential>> credentials_;
    bool pinned_;
    mutable std::mutex mutex_;
    std::map<std::string, Cached> cache_;
    TokenCredential* chosen_ = nullptr;
    int fetches_ = 0;
};

// A chain for these settings, in the order above or the one credential settings.credential picks.
std::unique_ptr<Chain> BuildChain(const IdentitySettings& settings);

// The process's chain for these settings (one per distinct configuration, so storage and PostgreSQL
// share tokens and the identity endpoint is asked once per scope).
std::shared_ptr<Chain> ProcessChain(const IdentitySettings& settings);

// Called with every newly fetched token before anything else sees it (GitHub mode: ::add-mask::).
void SetTokenObserver(std::function<void(const std::string&)> observer);

// When a token should be fetched again: five minutes before it expires, or halfway for a token that
// lives less than ten minutes.
std::chrono::system_clock::time_point RefreshPoint(const AccessToken& token,
                                                   std::chrono::system_clock::time_point now);

// The resource an identity endpoint wants for a scope: "https://x/.default" -> "https://x/".
std::string ResourceOfScope(const std::string& scope);

// Whether `url` is http(s) to this machine (localhost, 127.0.0.0/8, [::1]) or, with `link_local`,
// 169.254.0.0/16: the only places a secret may be sent over plain http.
bool IsLocalHttp(const std::string& url, bool link_local);

} // namespace pgsplit::identity
