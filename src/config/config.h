#pragma once

#include "config/settings.h"
#include "core/log.h"

#include <map>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace pgsplit {

enum class ColorMode { Auto, Always, Never };

// Flags shared by every command, as parsed from the command line (unset = not given).
struct GlobalFlags {
    std::optional<std::string> dsn;
    std::optional<std::string> config_path;
    bool json = false;
    std::optional<std::string> log_format; // "text" | "json"
    bool quiet = false;
    bool verbose = false;
    std::optional<std::string> color;            // "auto" | "always" | "never"
    bool wide = false;                           // --wide: never cut table cells to the terminal width
    std::optional<std::string> pg_auth;          // --pg-auth password|entra
    std::optional<std::string> azure_credential; // --azure-credential env|workload|managed|cli
};

// Resolved configuration. This is the only place that reads the process environment and the YAML
// file; everything else asks the Config. Precedence: flag > environment > config file > default.
class Config {
public:
    // Snapshots `environ` and loads --config FILE, else ./pgsplit.yaml when present.
    static Config Load(const GlobalFlags& flags, char** environ);
    // For tests: explicit environment map and no implicit ./pgsplit.yaml.
    static Config FromMap(const GlobalFlags& flags, std::map<std::string, std::string> env);

    // --- global settings ---
    std::optional<std::string> dsn; // --dsn > POSTGRES_DSN > file `postgres.dsn`
    bool json = false;              // --json: machine-readable result on stdout
    LogFormat log_format = LogFormat::Text;
    LogLevel log_level = LogLevel::Info;
    // --color always: both on; never: both off; auto: on for a TTY, off under NO_COLOR, TERM=dumb or
    // JSON logs. Diagnostics (stderr) and results (stdout) are decided separately.
    bool color = false;        // colour in diagnostics on stderr
    bool color_stdout = false; // colour in results (tables) on stdout
    bool stdout_tty = false;
    bool stderr_tty = false;
    // Columns tables are fitted to: $COLUMNS when set, else the terminal's width when stdout is one;
    // 0 (never cut) when piped or with --wide.
    size_t table_width = 0;
    std::string config_path; // the file that was loaded, or empty

    // CI / platform detection.
    bool github_actions = false; // GITHUB_ACTIONS=true
    std::string github_step_summary;
    std::string github_output;
    bool aca_job = false; // CONTAINER_APP_JOB_NAME set

    // --- environment lookups (all env access goes through these) ---
    std::optional<std::string> Env(const std::string& name) const;
    // Parses a boolean env var (1/0, true/false, yes/no, on/off, any case). Unset -> fallback.
    // Any other value throws Error(Config) naming the variable.
    bool EnvBool(const std::string& name, bool fallback) const;
    // Config-file lookup by dotted path ("sync.signals_table"); Null node when absent.
    YAML::Node File(const std::string& dotted_path) const;
    // Setting with precedence env > file > nothing (flags are applied by the caller).
    std::optional<std::string> Setting(const std::string& env_name, const std::string& file_path) const;

    // --- typed sections (config/settings.h; names in EnvVars()) ---
    StorageSettings Storage() const;
    // The credential chain's settings; a --azure-credential / PGSPLIT_AZURE_CREDENTIAL that names no
    // credential, or a bad PGSPLIT_AZURE_CLI_TIMEOUT, is Error(Config) (exit 3).
    IdentitySettings Identity() const;
    // --pg-auth > PGSPLIT_PG_AUTH > postgres.auth (password | entra, default password); any other
    // value is Error(Config).
    PgAuthSettings PgAuth() const;
    SignalsSettings Signals() const;
    TableSettings Table(const std::string& name) const; // tables.NAME in pgsplit.yaml
    ProvisionSettings Provision() const;
    // PGSPLIT_<ROLE>_PASSWORD of an app role; nullopt when unset or empty.
    std::optional<std::string> RolePassword(const std::string& role) const;
    static std::string RolePasswordVariable(const std::string& role);
    // POSTGRES_SIGNALS_WRITE_REQUIRED (default true) and POSTGRES_SIGNALS_VERIFY_COUNTS (default false);
    // a value that is not a boolean is a configuration error (exit 3) when asked for.
    bool SignalsWriteRequired() const;
    bool SignalsVerifyCounts() const;
    std::optional<std::string> RunStoreMode() const; // BACKTEST_RUN_STORE_MODE, backtest.run_store_mode
    std::string SearchPath() const;                  // PATH, for finding az
    // PGSPLIT_REPLICA_DSNS: read replicas for verify, separated by newlines or ';' (blank ones skipped).
    std::vector<std::string> ReplicaDsns() const;
    // The environment for a child process (az): every variable but pgsplit's secrets, as NAME=VALUE.
    std::vector<std::string> ChildEnvironment() const;
    // Every secret the configuration holds, in each spelling it could be printed in, for ::add-mask::
    // before anything runs: the password of POSTGRES_DSN/--dsn and of PGSPLIT_ADMIN_DSN (decoded, as
    // written in the URI, and fully percent-encoded), PGSPLIT_*_PASSWORD (provision), the SAS token,
    // the account key, IDENTITY_HEADER, and the query of a SAS URL given as a table location.
    // Provision passwords come first, in the order provision registers them (config/secrets.cpp).
    std::vector<std::string> SecretValues() const;

    const std::map<std::string, std::string>& Environment() const { return env_; }

    // The DSN or a configuration error (exit 3) with a hint on how to provide one.
    std::string RequireDsn(const std::string& what) const;

private:
    std::map<std::string, std::string> env_;
    YAML::Node file_;
    std::optional<std::string> pg_auth_flag_;
    std::optional<std::string> azure_credential_flag_;
    void Resolve(const GlobalFlags& flags, bool allow_default_file);
    // Loads and checks pgsplit.yaml: a regular, readable file, valid YAML, only known keys.
    void LoadFile(const std::string& path);
};

// Every environment variable pgsplit reads: the pgsplit.yaml key that stands in for it (empty when
// none), whether its value is a secret (masked in GitHub mode, redacted in logs), and whether a child
// process (az) still gets it because the child needs it too.
struct EnvVar {
    const char* name;
    const char* file_key;
    bool secret;
    bool children_need_it = false;
};
const std::vector<EnvVar>& EnvVars();
// Whether a variable stays out of a child's environment: PGSPLIT_*PASSWORD* and the secrets that no
// child needs (POSTGRES_DSN, PGSPLIT_ADMIN_DSN, PGPASSWORD).
bool IsWithheldFromChildren(const std::string& name);

// Parses the boolean spellings of SPEC §2; nullopt when `text` is not one of them.
std::optional<bool> ParseBool(const std::string& text);

} // namespace pgsplit
