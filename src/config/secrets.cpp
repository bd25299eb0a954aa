// Config::SecretValues: every secret the configuration holds, in the spellings it could be printed in.

#include "config/config.h"
#include "config/dsn.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <memory>

namespace pgsplit {
namespace {

void AddUnique(std::vector<std::string>& out, const std::string& value) {
    if (!value.empty() && std::find(out.begin(), out.end(), value) == out.end()) {
        out.push_back(value);
    }
}

} // namespace

std::vector<std::string> DsnPasswordForms(const std::string& dsn) {
    std::vector<std::string> forms;
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> opts(PQconninfoParse(dsn.c_str(), &err),
                                                                      &PQconninfoFree);
    if (err) {
        PQfreemem(err);
    }
    if (opts) {
        for (auto* o = opts.get(); o->keyword; ++o) {
            if (std::string(o->keyword) == "password" && o->val) {
                AddUnique(forms, o->val);
                AddUnique(forms, PercentEncode(o->val));
            }
        }
    }
    // A userinfo libpq reads differently from what was meant (an unencoded '/' or '@' in it).
    for (const auto& span : UnclearUserinfoSecrets(dsn)) {
        AddUnique(forms, span);
    }
    // As written in a URI's userinfo (it may be encoded differently from PercentEncode's choice).
    auto scheme = dsn.find("://");
    if (scheme != std::string::npos) {
        size_t start = scheme + 3;
        size_t slash = dsn.find_first_of("/?", start);
        std::string authority =
            dsn.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        auto at = authority.rfind('@');
        auto colon = authority.find(':');
        if (at != std::string::npos && colon != std::string::npos && colon < at) {
            AddUnique(forms, authority.substr(colon + 1, at - colon - 1));
        }
    }
    return forms;
}

std::vector<std::string> Config::SecretValues() const {
    std::vector<std::string> out;
    ProvisionSettings provision = Provision();
    std::vector<std::optional<std::string>> passwords = {provision.admin_password};
    for (const char* role : {"ranking_writer", "api_service", "backtest_service"}) {
        passwords.push_back(RolePassword(role));
    }
    for (const auto& pw : passwords) {
        if (pw) {
            AddUnique(out, *pw);
            AddUnique(out, PercentEncode(*pw));
        }
    }
    std::vector<std::optional<std::string>> dsns = {dsn, provision.admin_dsn};
    for (const auto& replica : ReplicaDsns()) {
        dsns.emplace_back(replica);
    }
    for (const auto& d : dsns) {
        if (d) {
            for (const auto& form : DsnPasswordForms(*d)) {
                AddUnique(out, form);
            }
        }
    }
    StorageSettings storage = Storage();
    if (storage.sas_token) {
        AddUnique(out, *storage.sas_token);
        if (!storage.sas_token->empty() && (*storage.sas_token)[0] == '?') {
            AddUnique(out, storage.sas_token->substr(1));
        }
    }
    if (storage.account_key) {
        AddUnique(out, *storage.account_key);
    }
    if (storage.identity.identity_header) {
        AddUnique(out, *storage.identity.identity_header);
    }
    if (storage.identity.client_secret) {
        AddUnique(out, *storage.identity.client_secret);
    }
    SignalsSettings signals = Signals();
    for (const auto& uri : {signals.signals_table, signals.composite_table}) {
        auto q = uri ? uri->find('?') : std::string::npos;
        if (q != std::string::npos && uri->find("sig=", q) != std::string::npos) {
            AddUnique(out, uri->substr(q + 1));
        }
    }
    return out;
}

} // namespace pgsplit
