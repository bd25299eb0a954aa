#include "config/dsn.h"

#include <cctype>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <map>
#include <memory>
#include <optional>

// Redaction and defaults follow libpq's own grammar (fe-connect.c: conninfo_parse for key=value,
// conninfo_uri_parse_options / conninfo_uri_parse_params for URIs) rather than regular expressions, so
// the text we hide is exactly the text libpq would send as a password. Where the two could still
// disagree, the result is checked against PQconninfoParse and rebuilt from libpq's view.

namespace pgsplit {
namespace {

constexpr const char* kAzureSuffix = ".postgres.database.azure.com";
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr const char* kMask = "***";

size_t UriPrefixLength(const std::string& dsn) {
    if (dsn.rfind("postgresql://", 0) == 0) {
        return 13;
    }
    if (dsn.rfind("postgres://", 0) == 0) {
        return 11;
    }
    return 0;
}

struct ConninfoFree {
    void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

// libpq's reading of a DSN (keyword -> value, set values only), or nullopt when libpq rejects it.
std::optional<std::map<std::string, std::string>> Parse(const std::string& dsn) {
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoFree> opts(PQconninfoParse(dsn.c_str(), &err));
    if (err) {
        PQfreemem(err);
    }
    if (!opts) {
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (auto* o = opts.get(); o->keyword; ++o) {
        if (o->val) {
            out[o->keyword] = o->val;
        }
    }
    return out;
}

std::string Get(const std::map<std::string, std::string>& opts, const char* key) {
    auto it = opts.find(key);
    return it == opts.end() ? std::string() : it->second;
}

std::string Option(const std::string& dsn, const char* key) {
    auto opts = Parse(dsn);
    return opts ? Get(*opts, key) : std::string();
}

std::string Lower(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// password, sslpassword (the client key's passphrase), in any case: every keyword that holds a secret.
bool SecretKeyword(const std::string& keyword) {
    return EndsWith(Lower(keyword), "password");
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// %XX decoding as libpq applies it to URI components; a malformed escape stays as written.
std::string PercentDecode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// Offset of the first character after a URI's userinfo ("user:pw@"), or the prefix end when none.
size_t UriAfterUserinfo(const std::string& dsn, size_t prefix) {
    size_t p = dsn.find_first_of("@/", prefix);
    return p != std::string::npos && dsn[p] == '@' ? p + 1 : prefix;
}

// Where libpq's reading and the writer's intent may differ, the whole span between "://" and an '@'
// is hidden: when libpq rejects the URI, up to the last '@' of the text; when an '@' before the query
// is not the one libpq ended the user info at (an unencoded '/' or '@' in the password: libpq then
// reads part of the password as host, port or database), up to that '@'. Returns its position, or
// npos when libpq's reading is unambiguous.
size_t UnclearUserinfoEnd(const std::string& dsn, size_t prefix, bool parses) {
    if (!parses) {
        size_t last = dsn.rfind('@');
        return last != std::string::npos && last >= prefix ? last : std::string::npos;
    }
    size_t after = UriAfterUserinfo(dsn, prefix); // == prefix when libpq saw no user info
    size_t query = dsn.find('?', after);
    size_t last = dsn.rfind('@', query);
    if (last == std::string::npos || last < prefix || (after > prefix && last == after - 1)) {
        return std::string::npos;
    }
    return last;
}

std::string RedactUri(const std::string& dsn, size_t prefix) {
    std::string out = dsn.substr(0, prefix);
    size_t after = UriAfterUserinfo(dsn, prefix);
    if (after > prefix) {
        // libpq: the user name ends at the first ':' and everything up to the '@' is the password.
        std::string_view userinfo(dsn.data() + prefix, after - 1 - prefix);
        size_t colon = userinfo.find(':');
        if (colon != std::string_view::npos && colon + 1 < userinfo.size()) {
            out += userinfo.substr(0, colon + 1);
            out += kMask;
        } else {
            out += userinfo;
        }
        out += '@';
    }
    size_t query = dsn.find('?', after);
    out += dsn.substr(after, query == std::string::npos ? std::string::npos : query + 1 - after);
    if (query == std::string::npos) {
        return out;
    }
    // name=value&name=value; libpq percent-decodes names too, so "pass%77ord" is a password.
    size_t pos = query + 1;
    while (true) {
        size_t amp = dsn.find('&', pos);
        std::string_view param(dsn.data() + pos, (amp == std::string::npos ? dsn.size() : amp) - pos);
        size_t eq = param.find('=');
        if (eq != std::string_view::npos && SecretKeyword(PercentDecode(param.substr(0, eq)))) {
            out += param.substr(0, eq + 1);
            out += kMask;
        } else {
            out += param;
        }
        if (amp == std::string::npos) {
            break;
        }
        out += '&';
        pos = amp + 1;
    }
    return out;
}

bool Space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// key = value pairs separated by white space; a value is 'quoted' or bare, and a backslash escapes the
// next character in both. Text that is not key=value (a libpq error message) is copied as it is.
std::string RedactKeyValue(const std::string& dsn) {
    std::string out;
    size_t i = 0;
    const size_t n = dsn.size();
    while (i < n) {
        size_t start = i;
        while (i < n && Space(dsn[i])) {
            ++i;
        }
        size_t key_start = i;
        while (i < n && !Space(dsn[i]) && dsn[i] != '=') {
            ++i;
        }
        std::string key = dsn.substr(key_start, i - key_start);
        size_t j = i;
        while (j < n && Space(dsn[j])) {
            ++j;
        }
        if (j >= n || dsn[j] != '=') {
            out.append(dsn, start, i - start);
            continue;
        }
        ++j;
        while (j < n && Space(dsn[j])) {
            ++j;
        }
        size_t value_start = j;
        if (j < n && dsn[j] == '\'') {
            ++j;
            while (j < n && dsn[j] != '\'') {
                j += dsn[j] == '\\' ? 2 : 1;
            }
            j = std::min(j + 1, n);
        } else {
            while (j < n && !Space(dsn[j])) {
                j += dsn[j] == '\\' ? 2 : 1;
            }
            j = std::min(j, n);
        }
        out.append(dsn, start, value_start - start);
        if (SecretKeyword(key) && j > value_start) {
            out += kMask;
        } else {
            out.append(dsn, value_start, j - value_start);
        }
        i = j;
    }
    return out;
}

std::string Quote(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out + "'";
}

// A key=value DSN with libpq's values; secrets masked when `redact`.
std::string Rebuild(const std::map<std::string, std::string>& opts, bool redact) {
    std::string out;
    for (const auto& [key, value] : opts) {
        out += (out.empty() ? "" : " ") + key + "=" + (redact && SecretKeyword(key) ? kMask : Quote(value));
    }
    return out;
}

bool AnyAzureHost(const std::string& hosts) {
    size_t pos = 0;
    while (true) {
        size_t comma = hosts.find(',', pos);
        std::string host =
            Lower(hosts.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (EndsWith(host, kAzureSuffix)) {
            return true;
        }
        if (comma == std::string::npos) {
            return false;
        }
        pos = comma + 1;
    }
}

} // namespace

namespace {

std::string RedactDsnText(const std::string& dsn) {
    size_t prefix = UriPrefixLength(dsn);
    if (prefix) {
        size_t at = UnclearUserinfoEnd(dsn, prefix, Parse(dsn).has_value());
        if (at != std::string::npos) {
            // Nothing of the userinfo is shown; the rest is redacted as a URI without one.
            std::string rest = RedactUri(dsn.substr(0, prefix) + dsn.substr(at + 1), prefix);
            return rest.substr(0, prefix) + kMask + "@" + rest.substr(prefix);
        }
    }
    return prefix ? RedactUri(dsn, prefix) : RedactKeyValue(dsn);
}

} // namespace

std::string RedactDsn(const std::string& dsn) {
    std::string out = RedactDsnText(dsn);
    // Belt and braces, for every form: if the text still spells a secret libpq reads from the DSN (a
    // value of 4 bytes or more: shorter ones match by chance), or libpq still reads a secret out of
    // the redacted text, show libpq's own view of the DSN with the secrets masked instead. (The
    // fuzzer found a DSN with '@' in a query password and NUL bytes that the text rules missed.)
    auto orig = Parse(dsn);
    if (!orig) {
        return out;
    }
    for (const auto& [key, value] : *orig) {
        if (SecretKeyword(key) && value.size() >= 4 && value != kMask &&
            out.find(value) != std::string::npos) {
            return Rebuild(*orig, /*redact=*/true);
        }
    }
    auto again = Parse(out);
    if (!again) {
        return out;
    }
    for (const auto& [key, value] : *again) {
        if (SecretKeyword(key) && value != kMask) {
            return Rebuild(*orig, /*redact=*/true);
        }
    }
    return out;
}

std::string DsnHost(const std::string& dsn) {
    std::string host = Option(dsn, "host");
    auto comma = host.find(',');
    if (comma != std::string::npos) {
        host = host.substr(0, comma);
    }
    return host;
}

std::string DsnOption(const std::string& dsn, const std::string& keyword) {
    return Option(dsn, keyword.c_str());
}

std::string ApplyDsnDefaults(const std::string& dsn) {
    auto opts = Parse(dsn);
    if (!opts || !AnyAzureHost(Get(*opts, "host")) || !Get(*opts, "sslmode").empty()) {
        return dsn;
    }
    bool has_root = !Get(*opts, "sslrootcert").empty();
    std::string out = dsn;
    if (size_t prefix = UriPrefixLength(dsn)) {
        // The query starts at the first '?' after the userinfo (a '?' in a password is not one).
        bool has_query = dsn.find('?', UriAfterUserinfo(dsn, prefix)) != std::string::npos;
        if (!has_query) {
            out += "?";
        } else if (out.back() != '?' && out.back() != '&') {
            out += "&";
        }
        out += "sslmode=verify-full";
        if (!has_root) {
            out += std::string("&sslrootcert=") + kSystemCaBundle;
        }
    } else {
        out += " sslmode=verify-full";
        if (!has_root) {
            out += std::string(" sslrootcert=") + kSystemCaBundle;
        }
    }
    // Appending must not change what libpq reads (a trailing backslash would swallow the space, an
    // empty query parameter would be rejected): when it would, hand libpq a rebuilt key=value DSN.
    auto check = Parse(out);
    if (check) {
        auto expect = *opts;
        expect["sslmode"] = "verify-full";
        if (!has_root) {
            expect["sslrootcert"] = kSystemCaBundle;
        }
        if (*check == expect) {
            return out;
        }
    }
    (*opts)["sslmode"] = "verify-full";
    if (!has_root) {
        (*opts)["sslrootcert"] = kSystemCaBundle;
    }
    return Rebuild(*opts, /*redact=*/false);
}

std::optional<std::map<std::string, std::string>> ParseDsnOptions(const std::string& dsn) {
    return Parse(dsn);
}

std::vector<std::string> UnclearUserinfoSecrets(const std::string& dsn) {
    size_t prefix = UriPrefixLength(dsn);
    if (!prefix) {
        return {};
    }
    size_t at = UnclearUserinfoEnd(dsn, prefix, Parse(dsn).has_value());
    if (at == std::string::npos || at == prefix) {
        return {};
    }
    std::string span = dsn.substr(prefix, at - prefix);
    std::vector<std::string> out{span};
    size_t colon = span.find(':');
    if (colon != std::string::npos && colon + 1 < span.size()) {
        out.push_back(span.substr(colon + 1));
    }
    return out;
}

std::string PercentEncode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    return out;
}

std::string DsnWithOption(const std::string& dsn, const std::string& key, const std::string& value) {
    if (dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0) {
        return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + key + "=" + PercentEncode(value);
    }
    std::string quoted = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            quoted.push_back('\\');
        }
        quoted.push_back(c);
    }
    return dsn + " " + key + "=" + quoted + "'";
}

std::string AzureServerDsn(const std::string& user, const std::string& password, const std::string& fqdn,
                           const std::string& database) {
    std::string userinfo = PercentEncode(user);
    if (!password.empty()) {
        userinfo += ':';
        userinfo += PercentEncode(password);
    }
    // ApplyDsnDefaults adds sslmode=verify-full with the system CA bundle for Azure hosts (SPEC §2), so
    // the printed DSN verifies the server the same way pgsplit does.
    return ApplyDsnDefaults(
        fmt::format("postgresql://{}@{}:5432/{}", userinfo, fqdn, PercentEncode(database)));
}

} // namespace pgsplit
