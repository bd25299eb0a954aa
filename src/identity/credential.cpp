#include "identity/credential.h"

#include "core/error.h"
#include "core/process.h"
#include "storage/azure/http.h"
#include "storage/azure/uri.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace pgsplit::identity {
namespace {

using storage::azure::EncodeQueryValue;
using storage::azure::HttpClient;
using storage::azure::HttpRequest;
using storage::azure::HttpResponse;
using storage::azure::RetryPolicy;
using Clock = std::chrono::system_clock;

// A federated token file is a JWT of a few KiB; anything larger is not one.
constexpr size_t kMaxAssertionBytes = 64 * 1024;
// A token endpoint's answer is a small JSON document.
constexpr size_t kMaxTokenResponseBytes = 1 << 20;

std::function<void(const std::string&)>& Observer() {
    static std::function<void(const std::string&)> observer;
    return observer;
}

// Untrusted text from an endpoint or az, for a message: printable ASCII only, at most `max` bytes.
std::string Brief(const std::string& text, size_t max = 240) {
    std::string out;
    for (char c : text) {
        unsigned char u = static_cast<unsigned char>(c);
        if (out.size() >= max) {
            out += "...";
            break;
        }
        if (u == '\n' || u == '\r' || u == '\t') {
            if (!out.empty() && out.back() != ' ') {
                out.push_back(' ');
            }
        } else if (u >= 0x20 && u < 0x7f) {
            out.push_back(c);
        }
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A token must be something a header and libpq can carry: printable, no spaces, bounded.
std::string CheckedToken(const std::string& token, const std::string& source) {
    bool ok = !token.empty() && token.size() <= 16384 &&
              std::all_of(token.begin(), token.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    if (!ok) {
        throw Error(ExitCode::Connect, fmt::format("{} returned an access token that is not one", source),
                    "the endpoint answered, but not with a token; check the endpoint address");
    }
    return token;
}

// Seconds from a JSON number or a string of digits; 0 when absent or not a number.
int64_t JsonSeconds(const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) {
        return 0;
    }
    const auto& v = j[key];
    if (v.is_number_integer()) {
        return v.get<int64_t>();
    }
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (!s.empty() && s.size() < 19 &&
            std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
            return std::stoll(s);
        }
    }
    return 0;
}

// The OAuth answer of a token endpoint or an identity endpoint: access_token with expires_in
// (seconds from now) or expires_on (epoch seconds).
AccessToken ParseTokenAnswer(const std::string& body, const std::string& source, const std::string& hint) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
        throw Error(ExitCode::Connect, fmt::format("{} answered without an access_token", source), hint);
    }
    AccessToken t;
    t.token = CheckedToken(j["access_token"].get<std::string>(), source);
    auto now = Clock::now();
    if (int64_t on = JsonSeconds(j, "expires_on"); on > 0) {
        t.expires_on = Clock::time_point(std::chrono::seconds(on));
    } else if (int64_t in = JsonSeconds(j, "expires_in"); in > 0) {
        t.expires_on = now + std::chrono::seconds(in);
    } else {
        t.expires_on = now + std::chrono::minutes(10); // no lifetime given: assume a short one
    }
    return t;
}

// The error an OAuth endpoint explains itself with ("invalid_client: AADSTS7000215: ..."), bounded.
std::string OAuthReason(const HttpResponse& resp) {
    auto j = nlohmann::json::parse(resp.body, nullptr, false);
    std::string reason = fmt::format("HTTP {}", resp.status);
    if (j.is_object()) {
        std::string code = j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
        std::string desc = j.contains("error_description") && j["error_description"].is_string()
                               ? j["error_description"].get<std::string>()
                               : "";
        // Entra's descriptions carry a trace id and a timestamp after the first line: keep the first.
        desc = desc.substr(0, desc.find_first_of("\r\n"));
        if (!code.empty() || !desc.empty()) {
            reason += ": " + Brief(code + (code.empty() || desc.empty() ? "" : ": ") + desc);
        }
    }
    return reason;
}

// "; a; b; c": each credential's outcome in chain order, each after a "; " (callers drop the first).
std::string Joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        out += "; " + p;
    }
    return out;
}

std::string TrimSlash(std::string s) {
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

// --- client secret and workload identity: the Entra token endpoint ---

class TokenEndpointCredential : public TokenCredential {
public:
    TokenEndpointCredential(const IdentitySettings& s, std::shared_ptr<HttpClient> http)
        : tenant_(s.tenant_id.value_or("")), client_id_(s.client_id.value_or("")),
          authority_(TrimSlash(s.authority_host.value_or(kDefaultAuthority))), http_(std::move(http)) {}

protected:
    // Checks what every exchange needs; throws Unavailable naming what is missing.
    void RequireIdentity(const std::vector<std::pair<const char*, bool>>& present) const {
        std::vector<std::string> missing;
        for (const auto& [name, ok] : present) {
            if (!ok) {
                missing.emplace_back(name);
            }
        }
        if (!missing.empty()) {
            std::string list;
            for (size_t i = 0; i < missing.size(); ++i) {
                list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
            }
            throw Unavailable(list + (missing.size() == 1 ? " is not set" : " are not set"));
        }
        bool tenant_ok = std::all_of(tenant_.begin(), tenant_.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '-' || c == '.' || c == '_';
        });
        if (!tenant_ok || tenant_.size() > 128) {
            throw Error(ExitCode::Config, "AZURE_TENANT_ID is not a tenant id or domain",
                        "use the directory (tenant) id, a GUID, or its domain name");
        }
        if (authority_.rfind("https://", 0) != 0 && !IsLocalHttp(authority_, false)) {
            throw Error(
                ExitCode::Config,
                fmt::format("AZURE_AUTHORITY_HOST '{}' is not an https:// address", Brief(authority_, 80)),
                "a client secret or federated token is only sent over https (plain http only to this "
                "machine, for tests)");
        }
    }

    AccessToken Exchange(const std::string& scope, const std::string& grant_fields) {
        std::string url = authority_ + "/" + tenant_ + "/oauth2/v2.0/token";
        std::string body = "grant_type=client_credentials&client_id=" + EncodeQueryValue(client_id_) +
                           "&scope=" + EncodeQueryValue(scope) + "&" + grant_fields;
        HttpResponse resp = http_->Send(
            [&] {
                HttpRequest r;
                r.method = "POST";
                r.url = url;
                r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
                r.headers.emplace_back("Accept", "application/json");
                r.body = body;
                return r;
            },
            "an Entra ID token");
        const std::string hint = Hint();
        if (resp.status != 200) {
            throw Error(ExitCode::Connect, fmt::format("the token endpoint refused: {}", OAuthReason(resp)),
                        hint);
        }
        if (resp.body.size() > kMaxTokenResponseBytes) {
            throw Error(ExitCode::Connect, "the token endpoint's answer is too large to be a token", hint);
        }
        return ParseTokenAnswer(resp.body, "the token endpoint", hint);
    }

    virtual std::string Hint() const = 0;

    std::string tenant_, client_id_, authority_;
    std::shared_ptr<HttpClient> http_;
};

class ClientSecretCredential final : public TokenEndpointCredential {
public:
    ClientSecretCredential(const IdentitySettings& s, std::shared_ptr<HttpClient> http)
        : TokenEndpointCredential(s, std::move(http)), secret_(s.client_secret.value_or("")) {}
    std::string Name() const override { return "client secret (AZURE_CLIENT_SECRET)"; }
    AccessToken Fetch(const std::string& scope) override {
        RequireIdentity({{"AZURE_TENANT_ID", !tenant_.empty()},
                         {"AZURE_CLIENT_ID", !client_id_.empty()},
                         {"AZURE_CLIENT_SECRET", !secret_.empty()}});
        return Exchange(scope, "client_secret=" + EncodeQueryValue(secret_));
    }

private:
    std::string Hint() const override {
        return "check AZURE_TENANT_ID, AZURE_CLIENT_ID and that AZURE_CLIENT_SECRET is the secret's value "
               "(not its id) and has not expired";
    }
    std::string secret_;
};

class WorkloadCredential final : public TokenEndpointCredential {
public:
    WorkloadCredential(const IdentitySettings& s, std::shared_ptr<HttpClient> http)
        : TokenEndpointCredential(s, std::move(http)), file_(s.federated_token_file.value_or("")) {}
    std::string Name() const override { return "workload identity (AZURE_FEDERATED_TOKEN_FILE)"; }
    AccessToken Fetch(const std::string& scope) override {
        RequireIdentity({{"AZURE_FEDERATED_TOKEN_FILE", !file_.empty()},
                         {"AZURE_CLIENT_ID", !client_id_.empty()},
                         {"AZURE_TENANT_ID", !tenant_.empty()}});
        // Read for every exchange: the platform rotates the file.
        std::string assertion = ReadAssertion();
        return Exchange(scope,
                        "client_assertion_type=" +
                            EncodeQueryValue("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
                            "&client_assertion=" + EncodeQueryValue(assertion));
    }

private:
    std::string Hint() const override {
        return "check the federated credential on the app registration or identity: its issuer, subject "
               "and audience must match the token in AZURE_FEDERATED_TOKEN_FILE";
    }
    std::string ReadAssertion() const {
        struct stat st {};
        if (::stat(file_.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            throw Error(
                ExitCode::Config,
                fmt::format("AZURE_FEDERATED_TOKEN_FILE '{}' is not a readable file", Brief(file_, 200)),
                "the platform mounts it (AKS workload identity); check the pod's service account");
        }
        if (static_cast<size_t>(st.st_size) > kMaxAssertionBytes) {
            throw Error(ExitCode::Config,
                        fmt::format("AZURE_FEDERATED_TOKEN_FILE '{}' holds {} bytes, more than a token",
                                    Brief(file_, 200), st.st_size),
                        "it must hold one JWT");
        }
        std::ifstream in(file_, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
            text.pop_back();
        }
        bool jwt = !text.empty() && text.size() <= kMaxAssertionBytes &&
                   std::all_of(text.begin(), text.end(), [](unsigned char c) {
                       return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '=';
                   });
        if (!jwt) {
            throw Error(ExitCode::Config,
                        fmt::format("AZURE_FEDERATED_TOKEN_FILE '{}' does not hold a JWT", Brief(file_, 200)),
                        "it must hold one token (three base64url parts separated by dots)");
        }
        return text;
    }
    std::string file_;
};

// --- managed identity ---

class ManagedCredential final : public TokenCredential {
public:
    ManagedCredential(const IdentitySettings& s, bool probe_imds)
        : endpoint_(s.identity_endpoint.value_or("")), header_(s.identity_header.value_or("")),
          client_id_(s.client_id.value_or("")), imds_(s.imds_host.value_or("")), probe_imds_(probe_imds) {
        if (imds_.empty() && probe_imds_) {
            imds_ = kDefaultImdsHost;
        }
        imds_ = TrimSlash(imds_);
        if (!endpoint_.empty()) {
            http_ = std::make_shared<HttpClient>();
        } else {
            // IMDS: answered at once on an Azure VM; anywhere else nobody answers. One quick try, so a
            // machine that is not in Azure costs a second, not a minute of retries.
            RetryPolicy probe;
            probe.max_attempts = 2;
            probe.connect_timeout = std::chrono::seconds(1);
            probe.stall_timeout = std::chrono::seconds(10);
            probe.total_budget = std::chrono::milliseconds(3000);
            http_ = std::make_shared<HttpClient>(probe);
        }
    }

    std::string Name() const override {
        std::string who = client_id_.empty() ? "system-assigned" : "client id " + Brief(client_id_, 64);
        if (!endpoint_.empty()) {
            return "managed identity (IDENTITY_ENDPOINT, " + who + ")";
        }
        return "managed identity (IMDS, " + who + ")";
    }

    AccessToken Fetch(const std::string& scope) override {
        std::string resource = ResourceOfScope(scope);
        std::string id = client_id_.empty() ? "" : "&client_id=" + EncodeQueryValue(client_id_);
        if (!endpoint_.empty()) {
            if (header_.empty()) {
                throw Unavailable("IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not");
            }
            if (endpoint_.rfind("https://", 0) != 0 && !IsLocalHttp(endpoint_, true)) {
                throw Error(
                    ExitCode::Config,
                    fmt::format("IDENTITY_ENDPOINT '{}' is not on this machine", Brief(endpoint_, 80)),
                    "the platform sets it to a local address; an identity header is never sent elsewhere "
                    "over plain http");
            }
            std::string url = endpoint_ + (endpoint_.find('?') == std::string::npos ? "?" : "&") +
                              "api-version=2019-08-01&resource=" + EncodeQueryValue(resource) + id;
            return Ask(url, {"X-IDENTITY-HEADER", header_}, "the managed identity endpoint",
                       "check that the container app or job has a managed identity assigned (and "
                       "AZURE_CLIENT_ID names it when it is user-assigned)");
        }
        if (imds_.empty()) {
            throw Unavailable("IDENTITY_ENDPOINT is not set, and IMDS is asked only with --azure-credential "
                              "managed or AZURE_POD_IDENTITY_AUTHORITY_HOST");
        }
        if (imds_.rfind("https://", 0) != 0 && !IsLocalHttp(imds_, true)) {
            throw Error(
                ExitCode::Config,
                fmt::format("AZURE_POD_IDENTITY_AUTHORITY_HOST '{}' is not a local address",
                            Brief(imds_, 80)),
                "IMDS is at http://169.254.169.254; point the variable only at a local fake or proxy");
        }
        std::string url = imds_ + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" +
                          EncodeQueryValue(resource) + id;
        return Ask(
            url, {"Metadata", "true"}, "IMDS",
            "assign a managed identity to the VM or pod (and set AZURE_CLIENT_ID when it is user-assigned)");
    }

private:
    AccessToken Ask(const std::string& url, const std::pair<std::string, std::string>& header,
                    const std::string& source, const std::string& hint) {
        HttpResponse resp;
        try {
            resp = http_->Send(
                [&] {
                    HttpRequest r;
                    r.url = url;
                    r.headers.push_back(header);
                    return r;
                },
                "a managed identity token");
        } catch (const Error& e) {
            if (endpoint_.empty()) {
                // Nobody at the IMDS address: not an Azure VM or pod.
                throw Unavailable(fmt::format("no answer from IMDS at {}", Brief(imds_, 80)));
            }
            throw;
        }
        if (endpoint_.empty() && resp.status == 400) {
            // IMDS answers 400 when the machine has no identity (or not the one asked for).
            throw Unavailable(fmt::format("IMDS has no identity for this machine: {}", OAuthReason(resp)));
        }
        if (resp.status != 200) {
            throw Error(ExitCode::Connect, fmt::format("{} answered {}", source, OAuthReason(resp)), hint);
        }
        if (resp.body.size() > kMaxTokenResponseBytes) {
            throw Error(ExitCode::Connect, fmt::format("{}'s answer is too large to be a token", source),
                        hint);
        }
        return ParseTokenAnswer(resp.body, source, hint);
    }

    std::string endpoint_, header_, client_id_, imds_;
    bool probe_imds_;
    std::shared_ptr<HttpClient> http_;
};

// --- az CLI ---

class CliCredential final : public TokenCredential {
public:
    explicit CliCredential(const IdentitySettings& s)
        : search_path_(s.search_path), env_(s.child_environment), timeout_(s.cli_timeout) {}
    std::string Name() const override { return "az CLI (az account get-access-token)"; }

    AccessToken Fetch(const std::string& scope) override {
        auto az = FindOnPath("az", search_path_);
        if (!az) {
            throw Unavailable("az is not on PATH");
        }
        bool scope_ok =
            !scope.empty() && scope.size() < 512 && scope[0] != '-' &&
            std::all_of(scope.begin(), scope.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
        if (!scope_ok) {
            throw Error(ExitCode::Config, "the token scope is not a URI", "check PGSPLIT_PG_TOKEN_SCOPE");
        }
        ProcessOutput p = RunProcess(
            *az, {"az", "account", "get-access-token", "--scope", scope, "--only-show-errors", "-o", "json"},
            env_, timeout_, kMaxTokenResponseBytes);
        const std::string hint = "run `az login` (or azure/login in a workflow) as an identity that may use "
                                 "this resource, then try again";
        if (p.timed_out) {
            throw Error(
                ExitCode::Connect,
                fmt::format("`az account get-access-token` did not finish within {} s",
                            std::max<int64_t>(1, timeout_.count() / 1000)),
                "check that az works here (`az account show`); PGSPLIT_AZURE_CLI_TIMEOUT sets the limit");
        }
        if (p.exit_code != 0) {
            std::string err = Lower(p.err);
            if (err.find("az login") != std::string::npos || err.find("aadsts700082") != std::string::npos) {
                throw Unavailable("az is not logged in");
            }
            throw Error(ExitCode::Connect,
                        fmt::format("`az account get-access-token` failed (exit {}): {}", p.exit_code,
                                    Brief(p.err.empty() ? "(no message)" : p.err)),
                        hint);
        }
        auto j = nlohmann::json::parse(p.out, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("accessToken") ||
            !j["accessToken"].is_string()) {
            throw Error(ExitCode::Connect, "`az account get-access-token` printed no accessToken",
                        "check that PATH finds the Azure CLI (az version)");
        }
        AccessToken t;
        t.token = CheckedToken(j["accessToken"].get<std::string>(), "az account get-access-token");
        if (int64_t on = JsonSeconds(j, "expires_on"); on > 0) {
            t.expires_on = Clock::time_point(std::chrono::seconds(on));
        } else if (j.contains("expiresOn") && j["expiresOn"].is_string()) {
            // Older az: local time, "2026-12-02 16:10:13.000000".
            std::tm tm{};
            std::string text = j["expiresOn"].get<std::string>();
            if (::strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm) != nullptr) {
                tm.tm_isdst = -1;
                t.expires_on = Clock::from_time_t(std::mktime(&tm));
            }
        }
        if (t.expires_on == Clock::time_point{}) {
            t.expires_on = Clock::now() + std::chrono::minutes(10);
        }
        return t;
    }

private:
    std::string search_path_;
    std::vector<std::string> env_;
    std::chrono::milliseconds timeout_;
};

std::string SettingsKey(const IdentitySettings& s) {
    std::string key;
    for (const auto& v : {s.credential, s.tenant_id, s.client_id, s.client_secret, s.federated_token_file,
                          s.authority_host, s.identity_endpoint, s.identity_header, s.imds_host}) {
        key += v.value_or("") + '\n';
    }
    return key + s.search_path + '\n' + std::to_string(s.cli_timeout.count());
}

} // namespace

std::string ResourceOfScope(const std::string& scope) {
    const std::string suffix = "/.default";
    if (scope.size() > suffix.size() &&
        scope.compare(scope.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return scope.substr(0, scope.size() - suffix.size() + 1);
    }
    return scope;
}

bool IsLocalHttp(const std::string& url, bool link_local) {
    std::string rest;
    if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else if (url.rfind("https://", 0) == 0) {
        rest = url.substr(8);
    } else {
        return false;
    }
    std::string host = rest.substr(0, rest.find_first_of("/?#"));
    if (host.find('@') != std::string::npos) {
        return false; // userinfo: not an address pgsplit would be given
    }
    if (!host.empty() && host[0] == '[') {
        return host.rfind("[::1]", 0) == 0;
    }
    host = Lower(host.substr(0, host.find(':')));
    if (host == "localhost") {
        return true;
    }
    // Dotted quad only: no other spelling of an address (decimal, octal) is accepted.
    unsigned a = 0, b = 0, c = 0, d = 0;
    char tail = 0;
    if (std::sscanf(host.c_str(), "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
        c > 255 || d > 255 || host.find_first_not_of("0123456789.") != std::string::npos) {
        return false;
    }
    return a == 127 || (link_local && a == 169 && b == 254);
}

std::unique_ptr<TokenCredential> MakeClientSecret(const IdentitySettings& s,
                                                  std::shared_ptr<HttpClient> http) {
    return std::make_unique<ClientSecretCredential>(s, std::move(http));
}
std::unique_ptr<TokenCredential> MakeWorkload(const IdentitySettings& s, std::shared_ptr<HttpClient> http) {
    return std::make_unique<WorkloadCredential>(s, std::move(http));
}
std::unique_ptr<TokenCredential> MakeManaged(const IdentitySettings& s, bool probe_imds) {
    return std::make_unique<ManagedCredential>(s, probe_imds);
}
std::unique_ptr<TokenCredential> MakeCli(const IdentitySettings& s) {
    return std::make_unique<CliCredential>(s);
}

Clock::time_point RefreshPoint(const AccessToken& token, Clock::time_point now) {
    auto life = token.expires_on - now;
    auto margin = std::min<Clock::duration>(std::chrono::minutes(5), life / 2);
    return token.expires_on - std::max<Clock::duration>(margin, Clock::duration::zero());
}

Chain::Chain(std::vector<std::unique_ptr<TokenCredential>> credentials, bool pinned)
    : credentials_(std::move(credentials)), pinned_(pinned) {}

AccessToken Chain::Get(const std::string& scope) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    auto it = cache_.find(scope);
    if (it != cache_.end() && now < it->second.refresh_at) {
        return it->second.token;
    }
    AccessToken fresh;
    try {
        fresh = FetchFromChain(scope);
    } catch (const Error&) {
        if (it != cache_.end() && now < it->second.token.expires_on) {
            // A failed early refresh: the token in hand is still good; the next request tries again.
            return it->second.token;
        }
        throw;
    }
    ++fetches_;
    if (fresh.expires_on <= now) {
        // Said here, not as the server's "authentication failed" later.
        throw Error(
            ExitCode::Connect,
            fmt::format("{} gave a token that has already expired ({} s ago)",
                        chosen_ ? chosen_->Name() : "the credential",
                        std::chrono::duration_cast<std::chrono::seconds>(now - fresh.expires_on).count()),
            "check this machine's clock (a token's expiry is absolute), or sign in again (`az login`)");
    }
    if (auto& observer = Observer()) {
        observer(fresh.token);
    }
    fresh.refresh_at = RefreshPoint(fresh, now);
    cache_[scope] = Cached{fresh, fresh.refresh_at};
    return fresh;
}

AccessToken Chain::FetchFromChain(const std::string& scope) {
    if (chosen_ != nullptr) {
        return chosen_->Fetch(scope);
    }
    std::vector<std::string> tried;
    for (auto& c : credentials_) {
        try {
            AccessToken t = c->Fetch(scope);
            chosen_ = c.get();
            return t;
        } catch (const Unavailable& u) {
            tried.push_back(fmt::format("{}: {}", c->Name(),
                                        pinned_ ? "not usable here, " + std::string(u.what())
                                                : "skipped, " + std::string(u.what())));
        } catch (const Error& e) {
            tried.push_back(fmt::format("{}: failed, {}", c->Name(), e.what()));
            std::string list = Joined(tried);
            std::string hint = e.hint().empty() ? "see the reason above" : e.hint();
            throw Error(e.code() == ExitCode::Config ? ExitCode::Config : ExitCode::Connect,
                        fmt::format("no Azure credential gave a token for {} ({})", scope, list.substr(2)),
                        hint);
        }
    }
    std::string list = Joined(tried);
    throw Error(
        ExitCode::Connect,
        fmt::format("no Azure credential gave a token for {} ({})", scope,
                    list.empty() ? "none tried" : list.substr(2)),
        pinned_ ? "configure the credential --azure-credential names, or pick another"
                : "configure one of them: a managed identity in Azure, `az login` at a shell, azure/login "
                  "in GitHub Actions (README, 'Passwordless'), or pick one with --azure-credential");
}

std::string Chain::InUse() const {
    std::lock_guard lock(mutex_);
    return chosen_ ? chosen_->Name() : "";
}

int Chain::Fetches() const {
    std::lock_guard lock(mutex_);
    return fetches_;
}

std::unique_ptr<Chain> BuildChain(const IdentitySettings& settings) {
    auto http = std::make_shared<HttpClient>();
    std::vector<std::unique_ptr<TokenCredential>> list;
    const std::string pick = settings.credential.value_or("");
    if (pick.empty() || pick == "env") {
        list.push_back(MakeClientSecret(settings, http));
    }
    if (pick.empty() || pick == "workload") {
        list.push_back(MakeWorkload(settings, http));
    }
    if (pick.empty() || pick == "managed") {
        list.push_back(MakeManaged(settings, pick == "managed"));
    }
    if (pick.empty() || pick == "cli") {
        list.push_back(MakeCli(settings));
    }
    return std::make_unique<Chain>(std::move(list), !pick.empty());
}

std::shared_ptr<Chain> ProcessChain(const IdentitySettings& settings) {
    static std::mutex registry_mutex;
    static std::map<std::string, std::shared_ptr<Chain>> registry;
    std::lock_guard lock(registry_mutex);
    auto& slot = registry[SettingsKey(settings)];
    if (!slot) {
        slot = BuildChain(settings);
    }
    return slot;
}

void SetTokenObserver(std::function<void(const std::string&)> observer) {
    Observer() = std::move(observer);
}

} // namespace pgsplit::identity
