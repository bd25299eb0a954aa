#include "config/dsn.h"

#include <libpq-fe.h>
#include <memory>
#include <regex>

namespace pgsplit {
namespace {

constexpr const char* kAzureSuffix = ".postgres.database.azure.com";
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

bool IsUri(const std::string& dsn) {
    return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
}

struct ConninfoFree {
    void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

std::string Option(const std::string& dsn, const char* key) {
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoFree> opts(PQconninfoParse(dsn.c_str(), &err));
    if (err) {
        PQfreemem(err);
    }
    if (!opts) {
        return {};
    }
    for (auto* o = opts.get(); o->keyword; ++o) {
        if (std::string(o->keyword) == key && o->val) {
            return o->val;
        }
    }
    return {};
}

bool EndsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

std::string RedactDsn(const std::string& dsn) {
    std::string out = dsn;
    if (IsUri(out)) {
        // userinfo: scheme://user:password@host
        static const std::regex userinfo(R"(^(postgres(?:ql)?://[^:/@?#]*:)[^@/?#]*@)");
        out = std::regex_replace(out, userinfo, "$1***@", std::regex_constants::format_first_only);
        static const std::regex query_pw(R"(([?&]password=)[^&#]*)", std::regex::icase);
        out = std::regex_replace(out, query_pw, "$1***");
        return out;
    }
    static const std::regex kv_pw(R"((\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*))", std::regex::icase);
    return std::regex_replace(out, kv_pw, "$1***");
}

std::string DsnHost(const std::string& dsn) {
    std::string host = Option(dsn, "host");
    auto comma = host.find(',');
    if (comma != std::string::npos) {
        host = host.substr(0, comma);
    }
    return host;
}

std::string ApplyDsnDefaults(const std::string& dsn) {
    std::string host = DsnHost(dsn);
    if (!EndsWith(host, kAzureSuffix) || !Option(dsn, "sslmode").empty()) {
        return dsn;
    }
    bool has_root = !Option(dsn, "sslrootcert").empty();
    if (IsUri(dsn)) {
        std::string out = dsn;
        out += (out.find('?') == std::string::npos) ? "?" : "&";
        out += "sslmode=verify-full";
        if (!has_root) {
            out += std::string("&sslrootcert=") + kSystemCaBundle;
        }
        return out;
    }
    std::string out = dsn + " sslmode=verify-full";
    if (!has_root) {
        out += std::string(" sslrootcert=") + kSystemCaBundle;
    }
    return out;
}

} // namespace pgsplit
