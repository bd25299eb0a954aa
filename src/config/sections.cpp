// The typed sections of Config (config/settings.h) and the one table of environment variables.

#include "config/config.h"
#include "core/duration.h"
#include "core/error.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace pgsplit {

const std::vector<EnvVar>& EnvVars() {
    static const std::vector<EnvVar> vars = {
        // PostgreSQL and output
        {"POSTGRES_DSN", "postgres.dsn", true},
        {"PGSPLIT_LOG_FORMAT", "log.format", false},
        {"NO_COLOR", "", false},
        {"TERM", "", false},
        {"COLUMNS", "", false},
        {"PGPASSWORD", "", true},
        // Run modes
        {"GITHUB_ACTIONS", "", false},
        {"GITHUB_STEP_SUMMARY", "", false},
        {"GITHUB_OUTPUT", "", false},
        {"CONTAINER_APP_JOB_NAME", "", false},
        // sync-signals, sync, verify
        {"PGSPLIT_SIGNALS_TABLE", "signals.signals_table", false},
        {"PGSPLIT_COMPOSITE_TABLE", "signals.composite_table", false},
        {"POSTGRES_SIGNALS_WRITE_REQUIRED", "", false},
        {"POSTGRES_SIGNALS_VERIFY_COUNTS", "", false},
        {"PGSPLIT_READ_MEMORY_MB", "read.memory_mb", false},
        {"PGSPLIT_REPLICA_DSNS", "", true}, // verify: read replicas, separated by newlines or ';'
        // Azure storage
        {"AZURE_STORAGE_ENDPOINT", "storage.endpoint", false},
        {"AZURE_STORAGE_SAS_TOKEN", "storage.sas_token", true, true},
        {"AZURE_STORAGE_KEY", "storage.account_key", true, true},
        {"PGSPLIT_STORAGE_CA_FILE", "storage.ca_file", false},
        // Microsoft Entra ID: PostgreSQL auth and the credential chain (storage and PostgreSQL)
        {"PGSPLIT_PG_AUTH", "postgres.auth", false},
        {"PGSPLIT_PG_TOKEN_SCOPE", "postgres.token_scope", false},
        {"PGSPLIT_AZURE_CREDENTIAL", "azure.credential", false},
        {"PGSPLIT_AZURE_CLI_TIMEOUT", "", false},
        {"AZURE_TENANT_ID", "", false},
        {"AZURE_CLIENT_ID", "storage.client_id", false},
        {"AZURE_CLIENT_SECRET", "", true},
        {"AZURE_FEDERATED_TOKEN_FILE", "", false},
        {"AZURE_AUTHORITY_HOST", "", false},
        {"AZURE_POD_IDENTITY_AUTHORITY_HOST", "", false},
        {"IDENTITY_ENDPOINT", "", false},
        {"IDENTITY_HEADER", "", true, true}, // az login --identity needs it in Container Apps
        // runs
        {"BACKTEST_RUN_STORE_MODE", "backtest.run_store_mode", false},
        // provision (PGSPLIT_<ROLE>_PASSWORD of each app role too: see IsSecretVariable)
        {"PGSPLIT_ADMIN_DSN", "", true},
        {"PGSPLIT_ADMIN_PASSWORD", "", true},
        {"PATH", "", false},
    };
    return vars;
}

bool IsWithheldFromChildren(const std::string& name) {
    if (name.rfind("PGSPLIT_", 0) == 0 && name.find("PASSWORD") != std::string::npos) {
        return true;
    }
    for (const auto& v : EnvVars()) {
        if (v.secret && !v.children_need_it && name == v.name) {
            return true;
        }
    }
    return false;
}

namespace {

// The pgsplit.yaml key that stands in for an environment variable (the table above).
std::string FileKeyOf(const char* env) {
    for (const auto& v : EnvVars()) {
        if (std::string(v.name) == env) {
            return v.file_key;
        }
    }
    throw Error(ExitCode::Failure, std::string("environment variable not in EnvVars(): ") + env);
}

} // namespace

StorageSettings Config::Storage() const {
    StorageSettings s;
    s.endpoint = Setting("AZURE_STORAGE_ENDPOINT", FileKeyOf("AZURE_STORAGE_ENDPOINT"));
    s.sas_token = Setting("AZURE_STORAGE_SAS_TOKEN", FileKeyOf("AZURE_STORAGE_SAS_TOKEN"));
    s.account_key = Setting("AZURE_STORAGE_KEY", FileKeyOf("AZURE_STORAGE_KEY"));
    s.ca_file = Setting("PGSPLIT_STORAGE_CA_FILE", FileKeyOf("PGSPLIT_STORAGE_CA_FILE"));
    s.identity = Identity();
    return s;
}

IdentitySettings Config::Identity() const {
    auto non_empty = [&](const char* name) -> std::optional<std::string> {
        auto v = Env(name);
        return v && !v->empty() ? v : std::nullopt;
    };
    IdentitySettings s;
    s.credential = azure_credential_flag_;
    if (!s.credential) {
        s.credential = Setting("PGSPLIT_AZURE_CREDENTIAL", FileKeyOf("PGSPLIT_AZURE_CREDENTIAL"));
    }
    if (s.credential) {
        const std::string& v = *s.credential;
        if (v != "env" && v != "workload" && v != "managed" && v != "cli" && v != "auto") {
            throw Error(
                azure_credential_flag_ ? ExitCode::Usage : ExitCode::Config,
                fmt::format("{} '{}' names no credential",
                            azure_credential_flag_ ? "--azure-credential" : "PGSPLIT_AZURE_CREDENTIAL",
                            v.substr(0, 40)),
                "use env, workload, managed or cli (or auto, the default: try them in that order)");
        }
        if (v == "auto") {
            s.credential.reset();
        }
    }
    s.tenant_id = non_empty("AZURE_TENANT_ID");
    s.client_id = Setting("AZURE_CLIENT_ID", FileKeyOf("AZURE_CLIENT_ID"));
    s.client_secret = non_empty("AZURE_CLIENT_SECRET");
    s.federated_token_file = non_empty("AZURE_FEDERATED_TOKEN_FILE");
    s.authority_host = non_empty("AZURE_AUTHORITY_HOST");
    s.identity_endpoint = non_empty("IDENTITY_ENDPOINT");
    s.identity_header = non_empty("IDENTITY_HEADER");
    s.imds_host = non_empty("AZURE_POD_IDENTITY_AUTHORITY_HOST");
    s.search_path = SearchPath();
    s.child_environment = ChildEnvironment();
    if (auto t = non_empty("PGSPLIT_AZURE_CLI_TIMEOUT")) {
        auto d = ParseDuration(*t);
        if (!d || d->count() <= 0) {
            throw Error(ExitCode::Config,
                        fmt::format("PGSPLIT_AZURE_CLI_TIMEOUT='{}' is not a duration", t->substr(0, 40)),
                        "use e.g. 30s or 2m (how long `az account get-access-token` may take)");
        }
        s.cli_timeout = *d;
    }
    return s;
}

PgAuthSettings Config::PgAuth() const {
    PgAuthSettings s;
    std::optional<std::string> mode = pg_auth_flag_;
    const char* source = "--pg-auth";
    if (!mode) {
        source = Env("PGSPLIT_PG_AUTH").value_or("").empty() ? "postgres.auth" : "PGSPLIT_PG_AUTH";
        mode = Setting("PGSPLIT_PG_AUTH", FileKeyOf("PGSPLIT_PG_AUTH"));
    }
    if (mode && *mode != "password" && *mode != "entra") {
        throw Error(
            pg_auth_flag_ ? ExitCode::Usage : ExitCode::Config,
            fmt::format("{} '{}' is not an authentication method", source, mode->substr(0, 40)),
            "use password (the DSN's, the default) or entra (a Microsoft Entra ID token per connection)");
    }
    s.entra = mode && *mode == "entra";
    if (auto scope = Setting("PGSPLIT_PG_TOKEN_SCOPE", FileKeyOf("PGSPLIT_PG_TOKEN_SCOPE"))) {
        s.token_scope = *scope;
    }
    return s;
}

SignalsSettings Config::Signals() const {
    SignalsSettings s;
    s.signals_table = Setting("PGSPLIT_SIGNALS_TABLE", FileKeyOf("PGSPLIT_SIGNALS_TABLE"));
    s.composite_table = Setting("PGSPLIT_COMPOSITE_TABLE", FileKeyOf("PGSPLIT_COMPOSITE_TABLE"));
    return s;
}

TableSettings Config::Table(const std::string& name) const {
    auto scalar = [&](const char* key) -> std::optional<std::string> {
        YAML::Node node = File("tables." + name + "." + key);
        if (!node || !node.IsScalar() || node.as<std::string>().empty()) {
            return std::nullopt;
        }
        return node.as<std::string>();
    };
    return {scalar("source"), scalar("target"), scalar("partition_column")};
}

ProvisionSettings Config::Provision() const {
    auto non_empty = [&](const char* name) -> std::optional<std::string> {
        auto v = Env(name);
        return v && !v->empty() ? v : std::nullopt;
    };
    return {non_empty("PGSPLIT_ADMIN_DSN"), non_empty("PGSPLIT_ADMIN_PASSWORD")};
}

std::string Config::RolePasswordVariable(const std::string& role) {
    std::string upper = role;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    return "PGSPLIT_" + upper + "_PASSWORD";
}

std::optional<std::string> Config::RolePassword(const std::string& role) const {
    auto v = Env(RolePasswordVariable(role));
    return v && !v->empty() ? v : std::nullopt;
}

bool Config::SignalsWriteRequired() const {
    return EnvBool("POSTGRES_SIGNALS_WRITE_REQUIRED", true);
}

bool Config::SignalsVerifyCounts() const {
    return EnvBool("POSTGRES_SIGNALS_VERIFY_COUNTS", false);
}

std::optional<std::string> Config::RunStoreMode() const {
    return Setting("BACKTEST_RUN_STORE_MODE", FileKeyOf("BACKTEST_RUN_STORE_MODE"));
}

std::string Config::SearchPath() const {
    return Env("PATH").value_or("");
}

std::vector<std::string> Config::ChildEnvironment() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : env_) {
        if (!IsWithheldFromChildren(k)) {
            out.push_back(k + "=" + v);
        }
    }
    return out;
}

std::vector<std::string> Config::ReplicaDsns() const {
    std::vector<std::string> out;
    std::string all = Env("PGSPLIT_REPLICA_DSNS").value_or("");
    size_t start = 0;
    while (start <= all.size()) {
        size_t end = all.find_first_of(";\n", start);
        if (end == std::string::npos) {
            end = all.size();
        }
        std::string one = all.substr(start, end - start);
        size_t a = one.find_first_not_of(" \t\r");
        size_t b = one.find_last_not_of(" \t\r");
        if (a != std::string::npos) {
            out.push_back(one.substr(a, b - a + 1));
        }
        start = end + 1;
    }
    return out;
}

} // namespace pgsplit
