#pragma once

// How requests to Azure Storage are authorised. The first of these that is configured wins:
//   1. a SAS token: in the table URI's query string, else AZURE_STORAGE_SAS_TOKEN (storage.sas_token);
//   2. an account key: AZURE_STORAGE_KEY (storage.account_key), SharedKey signing with HMAC-SHA256;
//   3. Microsoft Entra ID: a Bearer token from the credential chain (identity/credential.h: client
//      secret, workload identity, managed identity, az CLI), cached until shortly before it expires.
// None of them: the chain's Error(Connect) listing each credential and why it gave no token. A key, SAS
// or token is never put in a message.

#include "storage/azure/http.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pgsplit {
struct StorageSettings;
} // namespace pgsplit
namespace pgsplit::identity {
class Chain;
} // namespace pgsplit::identity

namespace pgsplit::storage::azure {

// The x-ms-version sent with every request (SharedKey, SAS and Bearer all accept it).
inline constexpr const char* kApiVersion = "2021-08-06";

class Credential {
public:
    virtual ~Credential() = default;
    // Adds what authorises `req` for `account`: a header, or the SAS appended to the query. Called for
    // every attempt, after every other header is set (SharedKey signs them).
    virtual void Authorize(HttpRequest& req, const std::string& account) = 0;
    // "account key (AZURE_STORAGE_KEY)" and the like, for the hint of an authorisation failure.
    virtual std::string Describe() const = 0;
    // Extra advice for a 401/403 with this credential.
    virtual std::string Advice() const = 0;
};

// Picks the credential per the order above. `uri_sas` is a SAS found in the table URI (may be empty).
// A Bearer credential asks the chain at the first request, so an unusable chain fails there (exit 4).
std::unique_ptr<Credential> ResolveCredential(const StorageSettings& settings, const std::string& uri_sas);

// --- building blocks, exposed for tests ---

// Base64 encode / decode (decode throws Error(Config) naming `what` on bad input).
std::string Base64Encode(const std::string& bytes);
std::string Base64Decode(const std::string& text, const std::string& what);
// Raw HMAC-SHA256 of `message` under `key`.
std::string HmacSha256(const std::string& key, const std::string& message);
// RFC 1123 date for x-ms-date ("Sun, 22 Nov 2026 01:02:03 GMT").
std::string HttpDate(std::chrono::system_clock::time_point t);

// The SharedKey string-to-sign for a request (Blob service, version 2009-09-19 and later):
// verb, the standard headers, the canonicalized x-ms-* headers and the canonicalized resource
// "/ACCOUNT/URL-PATH" with the query parameters lower-cased, sorted and decoded.
std::string SharedKeyStringToSign(const HttpRequest& req, const std::string& account);

// SharedKey: signs each request with the account key.
class SharedKeyCredential final : public Credential {
public:
    // `key_base64` as the portal shows it; throws Error(Config) when it is not base64.
    explicit SharedKeyCredential(const std::string& key_base64);
    void Authorize(HttpRequest& req, const std::string& account) override;
    std::string Describe() const override { return "account key (AZURE_STORAGE_KEY)"; }
    std::string Advice() const override {
        return "check that the key belongs to this storage account and has not been rotated";
    }

private:
    std::string key_;
};

// An account SAS (services b, resource types sco) signed with `key_base64`, valid until `expiry`.
// pgsplit does not need one to run; operators and the tests use it to mint a read/list token.
std::string MakeAccountSas(const std::string& account, const std::string& key_base64,
                           const std::string& permissions, std::chrono::system_clock::time_point expiry);

// Microsoft Entra ID: a Bearer token for https://storage.azure.com/.default from the process's credential
// chain (identity/credential.h), shared with PostgreSQL and refreshed ahead of expiry.
class BearerCredential final : public Credential {
public:
    BearerCredential(std::shared_ptr<identity::Chain> chain, std::string scope);
    void Authorize(HttpRequest& req, const std::string& account) override;
    std::string Describe() const override;
    std::string Advice() const override {
        return "grant the identity the 'Storage Blob Data Reader' role on the account or container";
    }
    // Tokens the chain fetched (the cache keeps it at one per scope and lifetime).
    int TokenRequests() const;

private:
    std::shared_ptr<identity::Chain> chain_;
    std::string scope_;
};

} // namespace pgsplit::storage::azure
