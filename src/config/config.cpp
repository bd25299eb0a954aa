#include "config/config.h"

#include "core/error.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

namespace pgsplit {

std::optional<bool> ParseBool(const std::string& text) {
    std::string v = text;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "1" || v == "true" || v == "yes" || v == "on") {
        return true;
    }
    if (v == "0" || v == "false" || v == "no" || v == "off") {
        return false;
    }
    return std::nullopt;
}

Config Config::Load(const GlobalFlags& flags, char** environ) {
    Config c;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) {
            c.env_[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    c.stdout_tty = ::isatty(STDOUT_FILENO) == 1;
    c.stderr_tty = ::isatty(STDERR_FILENO) == 1;
    c.Resolve(flags, true);
    return c;
}

Config Config::FromMap(const GlobalFlags& flags, std::map<std::string, std::string> env) {
    Config c;
    c.env_ = std::move(env);
    c.Resolve(flags, false);
    return c;
}

std::optional<std::string> Config::Env(const std::string& name) const {
    auto it = env_.find(name);
    if (it == env_.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool Config::EnvBool(const std::string& name, bool fallback) const {
    auto v = Env(name);
    if (!v || v->empty()) {
        return fallback;
    }
    auto b = ParseBool(*v);
    if (!b) {
        throw Error(ExitCode::Config, fmt::format("{}='{}' is not a boolean", name, *v),
                    "use one of 1/0, true/false, yes/no, on/off");
    }
    return *b;
}

YAML::Node Config::File(const std::string& dotted_path) const {
    if (!file_ || !file_.IsMap()) {
        return YAML::Node();
    }
    YAML::Node node = YAML::Clone(file_);
    size_t start = 0;
    while (start <= dotted_path.size()) {
        auto dot = dotted_path.find('.', start);
        std::string key =
            dotted_path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!node.IsMap() || !node[key]) {
            return YAML::Node();
        }
        node = node[key];
        if (dot == std::string::npos) {
            break;
        }
        start = dot + 1;
    }
    return node;
}

std::optional<std::string> Config::Setting(const std::string& env_name, const std::string& file_path) const {
    if (!env_name.empty()) {
        if (auto v = Env(env_name); v && !v->empty()) {
            return v;
        }
    }
    if (!file_path.empty()) {
        YAML::Node n = File(file_path);
        if (n && n.IsScalar()) {
            return n.as<std::string>();
        }
    }
    return std::nullopt;
}

std::string Config::RequireDsn(const std::string& what) const {
    if (!dsn || dsn->empty()) {
        throw Error(ExitCode::Config, fmt::format("{} needs a PostgreSQL connection but no DSN is set", what),
                    "pass --dsn, set POSTGRES_DSN, or set postgres.dsn in pgsplit.yaml");
    }
    return *dsn;
}

namespace {

// Every key pgsplit.yaml may hold; "*" is a name the user chooses (tables.NAME). A key outside this
// tree is refused by name: a misspelt key would otherwise be silently ignored.
struct KeyTree {
    const char* name;
    std::vector<KeyTree> children; // empty: a scalar value
};

const KeyTree& KnownKeys() {
    static const KeyTree root{
        "",
        {{"postgres", {{"dsn", {}}, {"auth", {}}, {"token_scope", {}}}},
         {"azure", {{"credential", {}}}},
         {"log", {{"format", {}}}},
         {"signals", {{"signals_table", {}}, {"composite_table", {}}}},
         {"storage",
          {{"endpoint", {}}, {"sas_token", {}}, {"account_key", {}}, {"client_id", {}}, {"ca_file", {}}}},
         {"backtest", {{"run_store_mode", {}}}},
         {"read", {{"memory_mb", {}}}},
         {"tables", {{"*", {{"source", {}}, {"target", {}}, {"partition_column", {}}}}}}}};
    return root;
}

std::string Names(const KeyTree& tree) {
    std::string out;
    for (const auto& c : tree.children) {
        out += (out.empty() ? "" : ", ") + std::string(c.name);
    }
    return out;
}

void CheckKeys(const YAML::Node& node, const KeyTree& tree, const std::string& prefix,
               const std::string& path) {
    if (tree.children.empty()) {
        if (!node.IsScalar() && !node.IsNull()) {
            throw Error(ExitCode::Config,
                        fmt::format("config file '{}': '{}' must be a single value", path, prefix),
                        "write it as  key: value");
        }
        return;
    }
    if (node.IsNull()) {
        return;
    }
    if (!node.IsMap()) {
        throw Error(ExitCode::Config,
                    fmt::format("config file '{}': {} must be a mapping of keys", path,
                                prefix.empty() ? "the file" : "'" + prefix + "'"),
                    fmt::format("expected keys: {}", Names(tree)));
    }
    for (const auto& kv : node) {
        std::string key = kv.first.as<std::string>();
        std::string full = prefix.empty() ? key : prefix + "." + key;
        const KeyTree* child = nullptr;
        for (const auto& c : tree.children) {
            if (key == c.name || std::string(c.name) == "*") {
                child = &c;
                break;
            }
        }
        if (!child) {
            throw Error(ExitCode::Config, fmt::format("config file '{}': unknown key '{}'", path, full),
                        fmt::format("known keys{}: {}", prefix.empty() ? "" : " under '" + prefix + "'",
                                    Names(tree)));
        }
        CheckKeys(kv.second, *child, full, path);
    }
}

} // namespace

void Config::LoadFile(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw Error(ExitCode::Config, fmt::format("config file '{}' is not a regular file", path),
                    "point --config at a YAML file");
    }
    if (::access(path.c_str(), R_OK) != 0) {
        throw Error(ExitCode::Config, fmt::format("config file '{}' cannot be read", path),
                    "check the file's permissions");
    }
    try {
        file_ = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
        throw Error(ExitCode::Config, fmt::format("cannot parse config file '{}': {}", path, e.what()),
                    "fix the YAML syntax at the line shown");
    }
    CheckKeys(file_, KnownKeys(), "", path);
    config_path = path;
}

void Config::Resolve(const GlobalFlags& flags, bool allow_default_file) {
    // Config file.
    std::string path;
    if (flags.config_path) {
        path = *flags.config_path;
        if (!std::filesystem::exists(path)) {
            throw Error(ExitCode::Config, fmt::format("config file '{}' does not exist", path),
                        "check the --config path");
        }
    } else if (allow_default_file && std::filesystem::exists("pgsplit.yaml")) {
        path = "pgsplit.yaml";
    }
    if (!path.empty()) {
        LoadFile(path);
    }

    // DSN: flag > env > file.
    if (flags.dsn) {
        dsn = *flags.dsn;
    } else {
        dsn = Setting("POSTGRES_DSN", "postgres.dsn");
    }

    json = flags.json;
    pg_auth_flag_ = flags.pg_auth;
    azure_credential_flag_ = flags.azure_credential;
    github_actions = Env("GITHUB_ACTIONS").value_or("") == "true";
    github_step_summary = Env("GITHUB_STEP_SUMMARY").value_or("");
    github_output = Env("GITHUB_OUTPUT").value_or("");
    // An empty variable counts as unset, here as everywhere (README, Configuration).
    aca_job = !Env("CONTAINER_APP_JOB_NAME").value_or("").empty();

    std::string fmt_name =
        flags.log_format.value_or(Setting("PGSPLIT_LOG_FORMAT", "log.format").value_or(""));
    if (fmt_name.empty()) {
        log_format = aca_job ? LogFormat::Json : LogFormat::Text;
    } else if (fmt_name == "text") {
        log_format = LogFormat::Text;
    } else if (fmt_name == "json") {
        log_format = LogFormat::Json;
    } else {
        throw Error(flags.log_format ? ExitCode::Usage : ExitCode::Config,
                    fmt::format("log format '{}' is not known", fmt_name), "use text or json");
    }

    log_level = flags.quiet ? LogLevel::Warn : flags.verbose ? LogLevel::Debug : LogLevel::Info;

    table_width = 0;
    if (!flags.wide) {
        std::string columns = Env("COLUMNS").value_or("");
        if (!columns.empty() && columns.size() < 6 &&
            columns.find_first_not_of("0123456789") == std::string::npos) {
            table_width = static_cast<size_t>(std::stoul(columns));
        } else if (stdout_tty) {
            struct winsize ws {};
            if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
                table_width = ws.ws_col;
            }
        }
    }

    std::string color_mode = flags.color.value_or("auto");
    if (color_mode == "always") {
        // Always means always: CI logs render ANSI although stdout is a pipe there.
        color = color_stdout = true;
    } else if (color_mode == "never") {
        color = color_stdout = false;
    } else if (color_mode == "auto") {
        bool allowed = Env("NO_COLOR").value_or("").empty() && log_format == LogFormat::Text &&
                       Env("TERM").value_or("") != "dumb";
        color = allowed && stderr_tty;
        color_stdout = allowed && stdout_tty;
    } else {
        throw Error(ExitCode::Usage, fmt::format("--color '{}' is not known", color_mode),
                    "use auto, always or never");
    }
}

} // namespace pgsplit
