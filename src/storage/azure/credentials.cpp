#include "storage/azure/credentials.h"

#include "config/settings.h"
#include "core/error.h"
#include "identity/credential.h"
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

BearerCredential::BearerCredential(std::shared_ptr<identity::Chain> chain, std::string scope)
    : chain_(std::move(chain)), scope_(std::move(scope)) {}

void BearerCredential::Authorize(HttpRequest& req, const std::string&) {
    std::string token;
    try {
        token = chain_->Token(scope_);
    } catch (const Error& e) {
        // Storage has two more ways in than the chain: say so where the operator looks.
        throw Error(
            e.code(),
            fmt::format("no credentials for azure storage: no SAS or account key is set, and {}", e.what()),
            "set AZURE_STORAGE_SAS_TOKEN (a SAS with r and l) or AZURE_STORAGE_KEY, or give pgsplit an Entra "
            "identity with 'Storage Blob Data Reader' on the account (" +
                e.hint() + "); see runbooks/adls.md");
    }
    req.headers.emplace_back("Authorization", "Bearer " + token);
}

std::string BearerCredential::Describe() const {
    std::string in_use = chain_->InUse();
    return "Entra ID token (" + (in_use.empty() ? "the Azure credential chain" : in_use) + ")";
}

int BearerCredential::TokenRequests() const {
    return chain_->Fetches();
}

std::unique_ptr<Credential> ResolveCredential(const StorageSettings& settings, const std::string& uri_sas) {
    if (!uri_sas.empty()) {
        return std::make_unique<SasCredential>(uri_sas, "in the table URI");
    }
    if (const auto& sas = settings.sas_token; sas && !sas->empty()) {
        return std::make_unique<SasCredential>(*sas, "AZURE_STORAGE_SAS_TOKEN");
    }
    if (const auto& key = settings.account_key; key && !key->empty()) {
        return std::make_unique<SharedKeyCredential>(*key);
    }
    return std::make_unique<BearerCredential>(identity::ProcessChain(settings.identity),
                                              identity::kStorageScope);
}

} // namespace pgsplit::storage::azure
