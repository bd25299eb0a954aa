#include "storage/azure/credentials.h"

#include "config/settings.h"
#include "core/error.h"
#include "storage/azure/uri.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pgsplit::storage::azure {
namespace {

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string HeaderValue(const HttpRequest& req, const std::string& name) {
    std::string want = Lower(name);
    for (const auto& [n, v] : req.headers) {
        if (Lower(n) == want) {
            return v;
        }
    }
    return {};
}

// Collapses runs of spaces and tabs and trims, as the canonicalized-header rules ask.
std::string CollapseWhitespace(const std::string& v) {
    std::string out;
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out.push_back(' ');
            space = false;
        }
        out.push_back(c);
    }
    return out;
}

class SasCredential final : public Credential {
public:
    SasCredential(std::string token, std::string source)
        : token_(std::move(token)), source_(std::move(source)) {
        while (!token_.empty() && token_.front() == '?') {
            token_.erase(0, 1);
        }
    }
    void Authorize(HttpRequest& req, const std::string&) override {
        req.url += (req.url.find('?') == std::string::npos ? "?" : "&") + token_;
    }
    std::string Describe() const override { return "SAS token (" + source_ + ")"; }
    std::string Advice() const override {
        return "the SAS must be unexpired, for this account or container, and grant r (read) and l (list)";
    }

private:
    std::string token_;
    std::string source_;
};

} // namespace

std::string Base64Encode(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string Base64Decode(const std::string& text, const std::string& what) {
    std::string clean;
    for (char c : text) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
            clean.push_back(c);
        }
    }
    if (clean.empty() || clean.size() % 4 != 0) {
        throw Error(ExitCode::Config, fmt::format("{} is not base64", what),
                    "copy the key exactly as the portal or `az storage account keys list` shows it");
    }
    std::string out(clean.size() / 4 * 3 + 1, '\0');
    int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
    if (n < 0) {
        throw Error(ExitCode::Config, fmt::format("{} is not base64", what),
                    "copy the key exactly as the portal or `az storage account keys list` shows it");
    }
    // EVP_DecodeBlock counts the padding as zero bytes; drop them.
    size_t pad =
        clean.size() >= 2 && clean[clean.size() - 1] == '=' ? (clean[clean.size() - 2] == '=' ? 2 : 1) : 0;
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

std::string HmacSha256(const std::string& key, const std::string& message) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &len);
    return std::string(reinterpret_cast<char*>(digest), len);
}

std::string HttpDate(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    // strftime's %a/%b follow the C locale, which the process never changes.
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string SharedKeyStringToSign(const HttpRequest& req, const std::string& account) {
    std::string content_length = HeaderValue(req, "Content-Length");
    if (content_length.empty() && !req.body.empty()) {
        content_length = std::to_string(req.body.size());
    }
    if (content_length == "0") {
        content_length.clear(); // version 2015-02-21 and later sign a zero length as empty
    }
    std::string s = req.method + "\n";
    s += HeaderValue(req, "Content-Encoding") + "\n";
    s += HeaderValue(req, "Content-Language") + "\n";
    s += content_length + "\n";
    s += HeaderValue(req, "Content-MD5") + "\n";
    s += HeaderValue(req, "Content-Type") + "\n";
    s += HeaderValue(req, "Date") + "\n";
    s += HeaderValue(req, "If-Modified-Since") + "\n";
    s += HeaderValue(req, "If-Match") + "\n";
    s += HeaderValue(req, "If-None-Match") + "\n";
    s += HeaderValue(req, "If-Unmodified-Since") + "\n";
    s += HeaderValue(req, "Range") + "\n";

    std::map<std::string, std::string> ms;
    for (const auto& [n, v] : req.headers) {
        std::string name = Lower(n);
        if (name.rfind("x-ms-", 0) == 0) {
            ms[name] = CollapseWhitespace(v);
        }
    }
    for (const auto& [n, v] : ms) {
        s += n + ":" + v + "\n";
    }

    std::string rest = req.url.substr(req.url.find("://") + 3);
    auto q = rest.find('?');
    std::string query = q == std::string::npos ? "" : rest.substr(q + 1);
    rest = rest.substr(0, q);
    auto slash = rest.find('/');
    std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
    s += "/" + account + path;

    std::map<std::string, std::vector<std::string>> params;
    size_t pos = 0;
    while (!query.empty() && pos <= query.size()) {
        size_t amp = query.find('&', pos);
        std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
        if (!part.empty()) {
            auto eq = part.find('=');
            std::string name = Lower(DecodePercent(part.substr(0, eq)));
            std::string value = eq == std::string::npos ? "" : DecodePercent(part.substr(eq + 1));
            params[name].push_back(value);
        }
        if (amp == std::string::npos) {
            break;
        }
        pos = amp + 1;
    }
    for (auto& [name, values] : params) {
        std::sort(values.begin(), values.end());
        std::string joined;
        for (const auto& v : values) {
            joined += (joined.empty() ? "" : ",") + v;
        }
        s += "\n" + name + ":" + joined;
    }
    return s;
}

SharedKeyCredential::SharedKeyCredential(const std::string& key_base64)
    : key_(Base64Decode(key_base64, "AZURE_STORAGE_KEY")) {}

void SharedKeyCredential::Authorize(HttpRequest& req, const std::string& account) {
    std::string signature = Base64Encode(HmacSha256(key_, SharedKeyStringToSign(req, account)));
    req.headers.emplace_back("Authorization", "SharedKey " + account + ":" + signature);
}

std::string MakeAccountSas(const std::string& account, const std::string& key_base64,
                           const std::string& permissions, std::chrono::system_clock::time_point expiry) {
    std::time_t tt = std::chrono::system_clock::to_time_t(expiry);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char se[32];
    std::strftime(se, sizeof se, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const std::string services = "b", types = "sco", protocol = "https,http";
    // Field order of the account SAS for versions 2020-12-06 and later (encryption scope included,
    // empty), each followed by a newline.
    std::string to_sign = account + "\n" + permissions + "\n" + services + "\n" + types + "\n" + "\n" + se +
                          "\n" + "\n" + protocol + "\n" + kApiVersion + "\n" + "\n";
    std::string sig = Base64Encode(HmacSha256(Base64Decode(key_base64, "the account key"), to_sign));
    return fmt::format("sv={}&ss={}&srt={}&sp={}&se={}&spr={}&sig={}", kApiVersion, services, types,
                       permissions, EncodeQueryValue(se), EncodeQueryValue(protocol), EncodeQueryValue(sig));
}

ManagedIdentityCredential::ManagedIdentityCredential(std::string endpoint, std::string header_secret,
                                                     std::string client_id, std::shared_ptr<HttpClient> http)
    : endpoint_(std::move(endpoint)), header_secret_(std::move(header_secret)),
      client_id_(std::move(client_id)), http_(std::move(http)) {
    // Process-wide on purpose (see TokenCache): the identity endpoint throttles, and a token is valid
    // for every table of the accounts the identity can read.
    static std::mutex registry_mutex;
    static std::map<std::string, std::shared_ptr<TokenCache>> registry;
    std::lock_guard lock(registry_mutex);
    auto& slot = registry[endpoint_ + "\n" + client_id_];
    if (!slot) {
        slot = std::make_shared<TokenCache>();
    }
    cache_ = slot;
}

int ManagedIdentityCredential::TokenRequests() const {
    std::lock_guard lock(cache_->mutex);
    return cache_->requests;
}

std::string ManagedIdentityCredential::Describe() const {
    return client_id_.empty()
               ? "managed identity (IDENTITY_ENDPOINT, system-assigned)"
               : "managed identity (IDENTITY_ENDPOINT, user-assigned client id " + client_id_ + ")";
}

void ManagedIdentityCredential::Authorize(HttpRequest& req, const std::string&) {
    req.headers.emplace_back("Authorization", "Bearer " + Token());
}

std::string ManagedIdentityCredential::Token() {
    std::lock_guard lock(cache_->mutex);
    auto now = std::chrono::system_clock::now();
    if (!cache_->token.empty() && now < cache_->refresh_at) {
        return cache_->token;
    }
    std::string url = endpoint_ + (endpoint_.find('?') == std::string::npos ? "?" : "&") +
                      "api-version=2019-08-01&resource=" + EncodeQueryValue("https://storage.azure.com/");
    if (!client_id_.empty()) {
        url += "&client_id=" + EncodeQueryValue(client_id_);
    }
    ++cache_->requests;
    HttpResponse resp = http_->Send(
        [&] {
            HttpRequest r;
            r.url = url;
            r.headers.emplace_back("X-IDENTITY-HEADER", header_secret_);
            return r;
        },
        "a managed identity token");
    const std::string hint = "check that the container app has a managed identity assigned"
                             " (and AZURE_CLIENT_ID names it when it is user-assigned)";
    if (resp.status != 200) {
        throw Error(ExitCode::Connect,
                    fmt::format("managed identity endpoint {} answered HTTP {} for a storage token",
                                RedactUrl(url), resp.status),
                    hint);
    }
    auto j = nlohmann::json::parse(resp.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
        throw Error(ExitCode::Connect, "managed identity endpoint returned no access_token", hint);
    }
    cache_->token = j["access_token"].get<std::string>();
    // expires_on is epoch seconds, as a string in this api-version; be lenient about the type.
    int64_t expires_on = 0;
    if (j.contains("expires_on")) {
        const auto& e = j["expires_on"];
        if (e.is_number_integer()) {
            expires_on = e.get<int64_t>();
        } else if (e.is_string()) {
            try {
                expires_on = std::stoll(e.get<std::string>());
            } catch (...) {
                expires_on = 0;
            }
        }
    }
    auto expiry = expires_on > 0 ? std::chrono::system_clock::time_point(std::chrono::seconds(expires_on))
                                 : now + std::chrono::minutes(10);
    // Refresh five minutes early so a request never carries a token that expires in flight; a token
    // shorter-lived than that is used for half its life.
    auto margin = std::min<std::chrono::system_clock::duration>(std::chrono::minutes(5), (expiry - now) / 2);
    cache_->refresh_at = expiry - margin;
    return cache_->token;
}

std::unique_ptr<Credential> ResolveCredential(const StorageSettings& settings, const std::string& uri_sas,
                                              std::shared_ptr<HttpClient> http,
                                              const std::string& shown_uri) {
    if (!uri_sas.empty()) {
        return std::make_unique<SasCredential>(uri_sas, "in the table URI");
    }
    if (const auto& sas = settings.sas_token; sas && !sas->empty()) {
        return std::make_unique<SasCredential>(*sas, "AZURE_STORAGE_SAS_TOKEN");
    }
    if (const auto& key = settings.account_key; key && !key->empty()) {
        return std::make_unique<SharedKeyCredential>(*key);
    }
    const auto& endpoint = settings.identity_endpoint;
    const auto& header = settings.identity_header;
    if (endpoint && !endpoint->empty() && header && !header->empty()) {
        return std::make_unique<ManagedIdentityCredential>(*endpoint, *header,
                                                           settings.client_id.value_or(""), std::move(http));
    }
    throw Error(
        ExitCode::Config, fmt::format("no credentials for azure storage (table location '{}')", shown_uri),
        "set AZURE_STORAGE_SAS_TOKEN (a SAS with r and l), AZURE_STORAGE_KEY (the account key), or run "
        "with a managed identity (IDENTITY_ENDPOINT and IDENTITY_HEADER); see runbooks/adls.md");
}

} // namespace pgsplit::storage::azure
