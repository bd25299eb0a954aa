#include "storage/azure/uri.h"

#include "core/error.h"

#include <cctype>
#include <fmt/format.h>
#include <vector>

namespace pgsplit::storage::azure {
namespace {

constexpr const char* kForms = "use abfss://FILESYSTEM@ACCOUNT.dfs.core.windows.net/PATH, "
                               "https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH, or a path-style URL "
                               "http://HOST:PORT/ACCOUNT/CONTAINER/PATH for an emulator";

[[noreturn]] void Bad(const std::string& uri, const std::string& why) {
    throw Error(ExitCode::Usage, fmt::format("table location '{}': {}", RedactUrl(uri), why), kForms);
}

bool Unreserved(unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string Encode(std::string_view text, bool keep_slash) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (Unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::string Trim(std::string_view s, char c) {
    while (!s.empty() && s.front() == c) {
        s.remove_prefix(1);
    }
    while (!s.empty() && s.back() == c) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

bool ValidAccount(const std::string& a) {
    if (a.empty() || a.size() > 64) {
        return false;
    }
    for (unsigned char c : a) {
        if (!std::islower(c) && !std::isdigit(c)) {
            return false;
        }
    }
    return true;
}

// A host that serves accounts in its path rather than as a subdomain: an IP address or localhost
// (Azurite, the legacy emulator, a local proxy).
bool PathStyleHost(const std::string& host) {
    std::string h = host.substr(0, host.rfind(':') == std::string::npos ? host.size() : host.rfind(':'));
    if (h.empty()) {
        return false;
    }
    if (h == "localhost" || h.front() == '[') {
        return true;
    }
    for (unsigned char c : h) {
        if (!std::isdigit(c) && c != '.') {
            return false;
        }
    }
    return true;
}

struct Split {
    std::string scheme, authority, path, query;
};

Split SplitUrl(const std::string& uri) {
    Split s;
    auto scheme_end = uri.find("://");
    s.scheme = uri.substr(0, scheme_end);
    for (auto& ch : s.scheme) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    std::string rest = uri.substr(scheme_end + 3);
    if (auto q = rest.find('?'); q != std::string::npos) {
        s.query = rest.substr(q + 1);
        rest.resize(q);
    }
    auto slash = rest.find('/');
    s.authority = rest.substr(0, slash);
    s.path = slash == std::string::npos ? "" : rest.substr(slash + 1);
    return s;
}

} // namespace

bool IsAzureUri(const std::string& uri) {
    auto end = uri.find("://");
    if (end == std::string::npos) {
        return false;
    }
    std::string scheme = uri.substr(0, end);
    return scheme == "abfss" || scheme == "abfs" || scheme == "https" || scheme == "http";
}

std::string EncodePath(std::string_view name) {
    return Encode(name, true);
}

std::string EncodeQueryValue(std::string_view value) {
    return Encode(value, false);
}

std::string DecodePercent(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::string RedactUrl(const std::string& url) {
    auto q = url.find('?');
    if (q == std::string::npos) {
        return url;
    }
    std::string out = url.substr(0, q + 1);
    std::string query = url.substr(q + 1);
    size_t pos = 0;
    bool first = true;
    while (pos <= query.size()) {
        size_t amp = query.find('&', pos);
        std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
        std::string name = part.substr(0, part.find('='));
        std::string lower;
        for (unsigned char c : name) {
            lower.push_back(static_cast<char>(std::tolower(c)));
        }
        out += first ? "" : "&";
        first = false;
        out += (lower == "sig" || lower == "code" || lower == "token") ? name + "=***" : part;
        if (amp == std::string::npos) {
            break;
        }
        pos = amp + 1;
    }
    return out;
}

BlobLocation ParseBlobUri(const std::string& uri, const std::optional<std::string>& endpoint_override) {
    if (!IsAzureUri(uri)) {
        Bad(uri, "not an abfss://, https:// or http:// location");
    }
    Split s = SplitUrl(uri);
    BlobLocation loc;
    loc.sas = s.query;
    if (s.authority.empty()) {
        Bad(uri, "no host");
    }
    std::string host_scheme = "https";
    std::vector<std::string> segments;
    {
        std::string path = Trim(s.path, '/');
        size_t pos = 0;
        while (!path.empty() && pos <= path.size()) {
            size_t slash = path.find('/', pos);
            segments.push_back(
                path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
            if (slash == std::string::npos) {
                break;
            }
            pos = slash + 1;
        }
    }
    size_t first_path_segment = 0;
    std::string blob_host;
    if (s.scheme == "abfss" || s.scheme == "abfs") {
        auto at = s.authority.find('@');
        if (at == std::string::npos || at == 0) {
            Bad(uri, "an abfss:// location needs FILESYSTEM@ACCOUNT.dfs.core.windows.net");
        }
        loc.container = s.authority.substr(0, at);
        std::string host = s.authority.substr(at + 1);
        auto dot = host.find('.');
        loc.account = host.substr(0, dot);
        if (dot == std::string::npos || host.find(".dfs.") != dot) {
            Bad(uri, fmt::format("host '{}' is not ACCOUNT.dfs.<cloud suffix>", host));
        }
        // The blob API of the same account answers on the .blob. twin of the .dfs. host.
        blob_host = loc.account + ".blob." + host.substr(dot + 5);
        if (s.scheme == "abfs") {
            host_scheme = "https"; // abfs only differs in the Hadoop driver; always use TLS here
        }
    } else {
        host_scheme = s.scheme;
        const std::string& host = s.authority;
        if (host.find('@') != std::string::npos) {
            Bad(uri,
                "user information in the URL is not supported; pass credentials through the environment");
        }
        if (host.empty() || host.front() == ':') {
            Bad(uri, "the URL has no host name");
        }
        if (PathStyleHost(host)) {
            if (segments.size() < 2) {
                Bad(uri, "a path-style URL needs /ACCOUNT/CONTAINER after the host");
            }
            loc.account = segments[0];
            loc.container = segments[1];
            first_path_segment = 2;
            blob_host = host + "/" + loc.account;
        } else {
            auto dot = host.find('.');
            loc.account = host.substr(0, dot);
            if (dot == std::string::npos || (host.find(".blob.") != dot && host.find(".dfs.") != dot)) {
                Bad(uri, fmt::format("host '{}' is not ACCOUNT.blob.<cloud suffix>", host));
            }
            if (segments.empty()) {
                Bad(uri, "no container after the host");
            }
            loc.container = segments[0];
            first_path_segment = 1;
            blob_host = host.find(".dfs.") == dot ? loc.account + ".blob." + host.substr(dot + 5) : host;
        }
    }
    if (!ValidAccount(loc.account)) {
        Bad(uri, fmt::format("'{}' is not a storage account name (3-24 lower-case letters and digits)",
                             loc.account));
    }
    if (loc.container.empty()) {
        Bad(uri, "no container (file system) named");
    }
    std::string prefix;
    for (size_t i = first_path_segment; i < segments.size(); ++i) {
        if (segments[i].empty() || segments[i] == "." || segments[i] == "..") {
            Bad(uri, "empty, '.' or '..' path segments are not allowed");
        }
        if (!prefix.empty()) {
            prefix += '/';
        }
        prefix += DecodePercent(segments[i]);
    }
    loc.prefix = prefix;
    loc.container = DecodePercent(loc.container);

    if (endpoint_override && !endpoint_override->empty()) {
        const std::string& ep = *endpoint_override;
        if (ep.rfind("http://", 0) != 0 && ep.rfind("https://", 0) != 0) {
            throw Error(ExitCode::Config,
                        fmt::format("storage endpoint '{}' is not an http:// or https:// URL", RedactUrl(ep)),
                        "set AZURE_STORAGE_ENDPOINT (or storage.endpoint) to e.g. http://127.0.0.1:10000");
        }
        Split e = SplitUrl(ep);
        std::string path = Trim(e.path, '/');
        loc.base_url = e.scheme + "://" + e.authority + "/" + (path.empty() ? loc.account : path);
    } else {
        loc.base_url = host_scheme + "://" + blob_host;
    }
    return loc;
}

} // namespace pgsplit::storage::azure
