#include "output/github.h"

#include "config/dsn.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <libpq-fe.h>
#include <memory>
#include <random>

namespace pgsplit {
namespace {

constexpr uintmax_t kSummaryLimit = 1024 * 1024 - 4096; // GitHub's 1 MiB, with room for the note

void AddUnique(std::vector<std::string>& out, const std::string& value) {
    if (!value.empty() && std::find(out.begin(), out.end(), value) == out.end()) {
        out.push_back(value);
    }
}

// RFC 3986: everything but unreserved characters is %XX (upper-case hex), as a DSN's userinfo holds it.
std::string PercentEncoded(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
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
                AddUnique(forms, PercentEncoded(o->val));
            }
        }
    }
    // A userinfo libpq reads differently from what was meant (an unencoded '/' or '@' in it).
    for (const auto& span : UnclearUserinfoSecrets(dsn)) {
        AddUnique(forms, span);
    }
    // As written in a URI's userinfo (it may be encoded differently from PercentEncoded's choice).
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

std::vector<std::string> ConfigSecrets(const Config& config) {
    std::vector<std::string> out;
    for (const char* var : {"PGSPLIT_ADMIN_PASSWORD", "PGSPLIT_RANKING_WRITER_PASSWORD",
                            "PGSPLIT_API_SERVICE_PASSWORD", "PGSPLIT_BACKTEST_SERVICE_PASSWORD"}) {
        if (auto v = config.Env(var)) {
            AddUnique(out, *v);
            AddUnique(out, PercentEncoded(*v));
        }
    }
    for (const auto& dsn : {config.dsn, config.Env("PGSPLIT_ADMIN_DSN")}) {
        if (dsn) {
            for (const auto& form : DsnPasswordForms(*dsn)) {
                AddUnique(out, form);
            }
        }
    }
    if (auto sas = config.Setting("AZURE_STORAGE_SAS_TOKEN", "storage.sas_token")) {
        AddUnique(out, *sas);
        if (!sas->empty() && (*sas)[0] == '?') {
            AddUnique(out, sas->substr(1));
        }
    }
    if (auto key = config.Setting("AZURE_STORAGE_KEY", "storage.account_key")) {
        AddUnique(out, *key);
    }
    if (auto header = config.Env("IDENTITY_HEADER")) {
        AddUnique(out, *header);
    }
    for (auto [env, file_key] : {std::pair{"PGSPLIT_SIGNALS_TABLE", "signals.signals_table"},
                                 std::pair{"PGSPLIT_COMPOSITE_TABLE", "signals.composite_table"}}) {
        auto uri = config.Setting(env, file_key);
        auto q = uri ? uri->find('?') : std::string::npos;
        if (q != std::string::npos && uri->find("sig=", q) != std::string::npos) {
            AddUnique(out, uri->substr(q + 1));
        }
    }
    return out;
}

void AppendStepSummary(const std::string& path, const std::string& markdown) {
    if (path.empty()) {
        return;
    }
    std::error_code ec;
    uintmax_t size = std::filesystem::exists(path, ec) ? std::filesystem::file_size(path, ec) : 0;
    std::ofstream out(path, std::ios::app | std::ios::binary);
    if (!out) {
        return;
    }
    if (size + markdown.size() > kSummaryLimit) {
        out << "\n_pgsplit: summary truncated to stay under GitHub's 1 MiB step-summary limit_\n";
        return;
    }
    out << markdown;
}

void SetStepOutput(const std::string& path, const std::string& key, const std::string& value) {
    if (path.empty()) {
        return;
    }
    std::ofstream out(path, std::ios::app | std::ios::binary);
    if (!out) {
        return;
    }
    if (value.find('\n') == std::string::npos && value.find('\r') == std::string::npos) {
        out << key << "=" << value << "\n";
        return;
    }
    // A delimiter that cannot occur in the value.
    std::mt19937_64 rng(std::random_device{}());
    std::string delim;
    do {
        delim = fmt::format("pgsplit_{:016x}", rng());
    } while (value.find(delim) != std::string::npos);
    out << key << "<<" << delim << "\n" << value << "\n" << delim << "\n";
}

} // namespace pgsplit
