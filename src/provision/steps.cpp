// provision's steps: its options, the az argument lists shared by the plan (--dry-run) and the run,
// one Ensure* function per Azure resource (server, database, firewall rules, configuration, roles) on
// one show-then-create helper, the region fallback, and the Microsoft Entra steps (administrator, auth
// settings, the Graph look-ups). Long (about 1000 lines) because each resource's
// create arguments, idempotency check and failure text belong together and are read side by side with
// the plan that prints them; splitting by resource would split each pair across files.
#include "provision/steps.h"

#include "config/dsn.h"
#include "core/error.h"
#include "migrate/migrator.h"
#include "provision/az_cli.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <chrono>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <memory>
#include <regex>

namespace pgsplit::provision {
namespace {

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Azure's spelling of each tier, keyed by the lower-case form people type.
std::string NormalizeTier(const std::string& tier) {
    std::string t = Lower(tier);
    if (t == "burstable") {
        return "Burstable";
    }
    if (t == "generalpurpose") {
        return "GeneralPurpose";
    }
    if (t == "memoryoptimized") {
        return "MemoryOptimized";
    }
    throw Error(ExitCode::Usage, fmt::format("--tier {}: unknown tier", tier),
                "use Burstable, GeneralPurpose or MemoryOptimized, or leave --tier out to derive it from "
                "--sku-name");
}

uint32_t Ipv4(const std::string& text, const std::string& flag) {
    in_addr addr{};
    if (inet_pton(AF_INET, text.c_str(), &addr) != 1) {
        throw Error(ExitCode::Usage, fmt::format("{}: '{}' is not an IPv4 address", flag, text),
                    "write START or START-END, e.g. 203.0.113.10 or 203.0.113.0-203.0.113.255");
    }
    return ntohl(addr.s_addr);
}

// Times a step and records it both in the log and in the outcome.
// The step is also a LogPhase (a ::group:: in GitHub Actions, and the step in flight should a signal
// arrive) from construction to Done.
class StepTimer {
public:
    StepTimer(const Logger& log, Outcome& out, std::string name)
        : log_(log), out_(out), name_(std::move(name)), started_(std::chrono::steady_clock::now()) {
        phase_.emplace(log_, name_, "provision: " + name_);
    }
    void Done(const std::string& result) {
        auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_)
                .count();
        log_.Info(fmt::format("{}: {}", name_, result), {{"step", name_}, {"result", result}, {"ms", ms}});
        out_.steps.push_back({name_, result, ms});
        phase_.reset();
    }

private:
    const Logger& log_;
    Outcome& out_;
    std::string name_;
    std::chrono::steady_clock::time_point started_;
    std::optional<LogPhase> phase_;
};

std::string JsonString(const nlohmann::json& j, const char* key) {
    if (j.is_object() && j.contains(key) && j[key].is_string()) {
        return j[key].get<std::string>();
    }
    return {};
}

// ---- the az commands, built in one place so --dry-run shows exactly what a run executes ----

std::vector<std::string> GroupShow(const Options& o) {
    return {"group", "show", "--name", o.resource_group};
}
std::vector<std::string> GroupCreate(const Options& o) {
    return {"group", "create", "--name", o.resource_group, "--location", o.location};
}
std::vector<std::string> ServerShow(const Options& o) {
    return {"postgres",       "flexible-server", "show",       "--resource-group",
            o.resource_group, "--name",          o.server_name};
}
std::vector<std::string> ServerCreate(const Options& o, const std::string& location,
                                      const std::string& admin_user, const std::string& password) {
    return {"postgres", "flexible-server", "create", "--resource-group", o.resource_group, "--name",
            o.server_name, "--location", location, "--admin-user", admin_user,
            // One argument with '=' so a password that starts with '-' is not taken for a flag.
            "--admin-password=" + password, "--sku-name", o.sku_name, "--tier", o.tier, "--version",
            o.version, "--storage-size", std::to_string(o.storage_size_gb),
            // 'None': public endpoint without any firewall rule (the rules are pgsplit's next step).
            // Every az version accepts it; 'Disabled' is rejected by older ones.
            "--public-access", "None", "--yes"};
}
std::vector<std::string> DbShow(const Options& o) {
    return {"postgres",      "flexible-server",  "db",
            "show",          "--resource-group", o.resource_group,
            "--server-name", o.server_name,      "--database-name",
            o.database};
}
std::vector<std::string> DbCreate(const Options& o) {
    return {"postgres",       "flexible-server", "db",          "create",          "--resource-group",
            o.resource_group, "--server-name",   o.server_name, "--database-name", o.database};
}
std::vector<std::string> RuleArgs(const Options& o, const char* verb, const std::string& rule) {
    return {"postgres",       "flexible-server", "firewall-rule", verb,          "--resource-group",
            o.resource_group, "--name",          o.server_name,   "--rule-name", rule};
}
std::vector<std::string> RuleWrite(const Options& o, const char* verb, const std::string& rule,
                                   const IpRange& r) {
    auto args = RuleArgs(o, verb, rule);
    args.insert(args.end(), {"--start-ip-address", r.start, "--end-ip-address", r.end});
    return args;
}

// ---- Microsoft Entra ID ----

// `flexible-server update` with one of its auth settings. Enabling Entra and disabling passwords are two
// calls on purpose: passwords go off only after an Entra administrator exists, so a failure in between
// never leaves a server nobody can log in to.
std::vector<std::string> ServerUpdateAuth(const Options& o, const char* flag, const std::string& value) {
    return {"postgres",
            "flexible-server",
            "update",
            "--resource-group",
            o.resource_group,
            "--name",
            o.server_name,
            flag,
            value};
}
std::vector<std::string> EntraAdminShow(const Options& o, const std::string& object_id) {
    return {"postgres",       "flexible-server", "microsoft-entra-admin", "show",        "--resource-group",
            o.resource_group, "--server-name",   o.server_name,           "--object-id", object_id};
}
std::vector<std::string> EntraAdminCreate(const Options& o, const EntraAdmin& a) {
    return {"postgres",      "flexible-server",  "microsoft-entra-admin",
            "create",        "--resource-group", o.resource_group,
            "--server-name", o.server_name,      "--display-name=" + a.display_name,
            "--object-id",   a.object_id,        "--type",
            a.type};
}
// Microsoft Graph look-ups (tenant-wide: AzCli sends them without --subscription). A UPN gives the object
// id; an object id without --entra-admin-name gives the name Azure shows for the administrator.
std::vector<std::string> EntraLookup(const EntraAdmin& a) {
    const std::string& id = a.upn.empty() ? a.object_id : a.upn;
    if (a.type == "Group") {
        return {"ad", "group", "show", "--group", id};
    }
    if (a.type == "ServicePrincipal") {
        return {"ad", "sp", "show", "--id", id};
    }
    return {"ad", "user", "show", "--id", id};
}
bool EntraNeedsLookup(const EntraAdmin& a) {
    return a.object_id.empty() || a.display_name.empty();
}

std::vector<std::string> Locations(const Options& o) {
    std::vector<std::string> out;
    auto add = [&](const std::string& l) {
        if (!l.empty() && std::find(out.begin(), out.end(), l) == out.end()) {
            out.push_back(l);
        }
    };
    add(o.location);
    for (const auto& l : o.location_fallback) {
        add(l);
    }
    return out;
}

std::vector<std::pair<std::string, IpRange>> FirewallRules(const Options& o) {
    std::vector<std::pair<std::string, IpRange>> rules;
    if (o.allow_azure_services) {
        // 0.0.0.0-0.0.0.0 is Azure's convention for "any Azure service" (ACA jobs, the API).
        rules.push_back({kAzureServicesRule, {"0.0.0.0", "0.0.0.0"}});
    }
    if (o.allow_ip_range) {
        rules.push_back({kIpRangeRule, *o.allow_ip_range});
    }
    return rules;
}

bool DsnHasOption(const std::string& dsn, const char* key) {
    auto opts = ParseDsnOptions(dsn);
    if (!opts) {
        throw Error(
            ExitCode::Config, fmt::format("the admin DSN is not valid: {}", RedactDsn(dsn)),
            "give a postgresql:// URI or key=value connection string with --admin-dsn or PGSPLIT_ADMIN_DSN");
    }
    auto it = opts->find(key);
    return it != opts->end() && !it->second.empty();
}

// Whether the database steps connect as the Entra administrator (a token from --pg-auth entra) rather
// than the password admin: password login is being turned off, or no admin password is known.
bool EntraAdminConnects(const Options& o, bool admin_password_known) {
    return o.entra_admin && (o.password_auth == "Disabled" || !admin_password_known);
}

const std::regex kServerName("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$");
const std::regex kDatabaseName("^[A-Za-z_][A-Za-z0-9_]{0,62}$");
const std::regex kAdminUser("^[A-Za-z_][A-Za-z0-9_]{0,62}$");
const std::regex kLocation("^[a-z0-9]+$");
const std::regex kVersion("^[0-9]{2}$");
const std::regex kGuid("^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$");
// user@contoso.com, and a guest's user_fabrikam.com#EXT#@contoso.onmicrosoft.com.
const std::regex kUpn("^[A-Za-z0-9._%+#'-]{1,113}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$");

// A display name goes to az as one argv element; still, nothing that could read as a flag, no control
// characters, and Azure's 1-256 characters.
bool PlainDisplayName(const std::string& name) {
    if (name.empty() || name.size() > 256 || name[0] == '-') {
        return false;
    }
    return std::none_of(name.begin(), name.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

void NormalizeEntra(Options& o) {
    if (o.entra_admin_flag.empty()) {
        const std::vector<std::pair<const char*, const std::string*>> companions = {
            {"--entra-admin-name", &o.entra_admin_name_flag},
            {"--entra-admin-type", &o.entra_admin_type_flag},
            {"--password-auth", &o.password_auth}};
        for (const auto& [flag, value] : companions) {
            if (!value->empty()) {
                throw Error(ExitCode::Usage, fmt::format("{} needs --entra-admin", flag),
                            "add --entra-admin OBJECT_ID|UPN (the server's Microsoft Entra administrator)");
            }
        }
    } else {
        EntraAdmin a;
        a.given = o.entra_admin_flag;
        bool upn = a.given.find('@') != std::string::npos;
        if (upn) {
            if (!std::regex_match(a.given, kUpn)) {
                throw Error(ExitCode::Usage,
                            fmt::format("--entra-admin {}: not a user principal name", ShellQuote(a.given)),
                            "give the administrator's object id (a GUID) or a UPN like ops@contoso.com");
            }
            a.upn = a.given;
        } else if (std::regex_match(a.given, kGuid)) {
            a.object_id = Lower(a.given);
        } else {
            throw Error(
                ExitCode::Usage,
                fmt::format("--entra-admin {}: neither an object id nor a UPN", ShellQuote(a.given)),
                "give the object id (8-4-4-4-12 hex digits, 'az ad sp show --id NAME --query id') or a "
                "UPN like ops@contoso.com");
        }
        std::string type = Lower(o.entra_admin_type_flag);
        if (type.empty()) {
            a.type = upn ? "User" : "ServicePrincipal";
        } else if (type == "user") {
            a.type = "User";
        } else if (type == "group") {
            a.type = "Group";
        } else if (type == "serviceprincipal") {
            a.type = "ServicePrincipal";
        } else {
            throw Error(
                ExitCode::Usage,
                fmt::format("--entra-admin-type {}: unknown type", ShellQuote(o.entra_admin_type_flag)),
                "use User, Group or ServicePrincipal (managed identities are ServicePrincipal)");
        }
        if (upn && a.type != "User") {
            throw Error(
                ExitCode::Usage,
                fmt::format("--entra-admin {} is a UPN, which names a user, but --entra-admin-type is {}",
                            a.given, a.type),
                "give the group's or service principal's object id instead, or leave --entra-admin-type "
                "out");
        }
        if (!o.entra_admin_name_flag.empty()) {
            if (!PlainDisplayName(o.entra_admin_name_flag)) {
                throw Error(ExitCode::Usage,
                            fmt::format("--entra-admin-name {}: not a display name Azure accepts",
                                        ShellQuote(o.entra_admin_name_flag)),
                            "1-256 characters, no control characters, not starting with '-'");
            }
            a.display_name = o.entra_admin_name_flag;
        } else if (upn) {
            // A user administrator is shown, and logs in, under its UPN.
            a.display_name = a.upn;
        }
        o.entra_admin = a;
        if (!o.password_auth.empty()) {
            std::string pa = Lower(o.password_auth);
            if (pa != "enabled" && pa != "disabled") {
                throw Error(
                    ExitCode::Usage,
                    fmt::format("--password-auth {}: expected enabled or disabled",
                                ShellQuote(o.password_auth)),
                    "--password-auth disabled turns password login off (Entra tokens only); leave it out "
                    "to keep the server's setting");
            }
            o.password_auth = pa == "enabled" ? "Enabled" : "Disabled";
        }
    }
    auto known = AppRoleNames(o.legacy_roles);
    for (size_t i = 0; i < o.app_identities.size(); ++i) {
        const auto& id = o.app_identities[i];
        if (!o.create_app_users) {
            throw Error(ExitCode::Usage, "--app-identity needs --create-app-users",
                        "add --create-app-users to create the app roles as Entra principals");
        }
        if (std::find(known.begin(), known.end(), id.role) == known.end()) {
            std::string names;
            for (const auto& n : known) {
                names += (names.empty() ? "" : ", ") + n;
            }
            throw Error(ExitCode::Usage,
                        fmt::format("--app-identity {}={}: {} is not an app role provision creates",
                                    ShellQuote(id.role), id.object_id, ShellQuote(id.role)),
                        fmt::format("use one of {}{}", names,
                                    o.legacy_roles ? "" : " (backtest_service needs --legacy-roles)"));
        }
        for (size_t j = 0; j < i; ++j) {
            if (o.app_identities[j].role == id.role) {
                throw Error(ExitCode::Usage, fmt::format("--app-identity names {} twice", id.role),
                            "give each role one identity");
            }
        }
    }
}

} // namespace

bool IsGuid(const std::string& text) {
    return std::regex_match(text, kGuid);
}

AppIdentity ParseAppIdentity(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        throw Error(ExitCode::Usage,
                    fmt::format("--app-identity {}: expected ROLE=OBJECT_ID", ShellQuote(text)),
                    "e.g. --app-identity ranking_writer=00000000-0000-0000-0000-000000000000 (the managed "
                    "identity's principal id: az identity show -g RG -n NAME --query principalId)");
    }
    AppIdentity id{text.substr(0, eq), text.substr(eq + 1)};
    if (!IsGuid(id.object_id)) {
        throw Error(ExitCode::Usage,
                    fmt::format("--app-identity {}: '{}' is not an object id", ShellQuote(text),
                                ShellQuote(id.object_id)),
                    "the object id is a GUID (8-4-4-4-12 hex digits): az identity show -g RG -n NAME --query "
                    "principalId");
    }
    id.object_id = Lower(id.object_id);
    return id;
}

std::string NormalizeSku(const std::string& sku) {
    std::string s = Lower(sku);
    if (s.rfind("standard_", 0) != 0) {
        s = "standard_" + s;
    }
    static const std::regex shape("^standard_[a-z][0-9]+[a-z]*(_v[0-9]+)?$");
    if (!std::regex_match(s, shape)) {
        throw Error(
            ExitCode::Usage, fmt::format("--sku-name {}: not a flexible server SKU name", sku),
            "e.g. Standard_B1ms, Standard_D2ds_v5, Standard_E4ds_v5 (az postgres flexible-server list-skus "
            "-l REGION lists them)");
    }
    // Azure's casing: Standard_ + upper-case family letter + the rest in lower case (Standard_D2ds_v5).
    std::string out = "Standard_" + s.substr(9);
    out[9] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[9])));
    return out;
}

std::string TierForSku(const std::string& normalized_sku) {
    switch (normalized_sku.size() > 9 ? normalized_sku[9] : '\0') {
    case 'B':
        return "Burstable";
    case 'D':
        return "GeneralPurpose";
    case 'E':
        return "MemoryOptimized";
    default:
        return {};
    }
}

IpRange ParseIpRange(const std::string& text) {
    auto dash = text.find('-');
    IpRange r{text.substr(0, dash), dash == std::string::npos ? text.substr(0, dash) : text.substr(dash + 1)};
    uint32_t a = Ipv4(r.start, "--allow-ip-range");
    uint32_t b = Ipv4(r.end, "--allow-ip-range");
    if (a > b) {
        throw Error(ExitCode::Usage, fmt::format("--allow-ip-range {}: the start is after the end", text),
                    "write START-END with START <= END");
    }
    return r;
}

void Normalize(Options& o, const Config& config) {
    o.sku_name = NormalizeSku(o.sku_name);
    std::string derived = TierForSku(o.sku_name);
    if (o.tier.empty()) {
        if (derived.empty()) {
            throw Error(ExitCode::Usage,
                        fmt::format("--sku-name {}: cannot derive the tier from this SKU family", o.sku_name),
                        "pass --tier Burstable, GeneralPurpose or MemoryOptimized");
        }
        o.tier = derived;
    } else {
        o.tier = NormalizeTier(o.tier);
        if (!derived.empty() && derived != o.tier) {
            throw Error(
                ExitCode::Usage,
                fmt::format("--sku-name {} is a {} SKU, but --tier is {}", o.sku_name, derived, o.tier),
                fmt::format("leave --tier out (it is derived from the SKU) or pass --tier {}", derived));
        }
    }
    if (!std::regex_match(o.server_name, kServerName)) {
        throw Error(
            ExitCode::Usage, fmt::format("--server-name {}: not a valid server name", o.server_name),
            "3-63 characters: lower-case letters, digits and hyphens, not starting or ending with a hyphen");
    }
    o.location = Lower(o.location);
    for (auto& l : o.location_fallback) {
        l = Lower(l);
    }
    for (const auto& l : Locations(o)) {
        if (!std::regex_match(l, kLocation)) {
            throw Error(ExitCode::Usage, fmt::format("location '{}' is not an Azure region name", l),
                        "use the short names az uses, e.g. eastus2, centralus, westeurope (az account "
                        "list-locations)");
        }
    }
    if (!std::regex_match(o.version, kVersion)) {
        throw Error(ExitCode::Usage,
                    fmt::format("--version {}: expected a PostgreSQL major version", o.version),
                    "e.g. --version 16");
    }
    if (o.storage_size_gb < 32) {
        throw Error(ExitCode::Usage,
                    fmt::format("--storage-size {}: flexible servers start at 32 GiB", o.storage_size_gb),
                    "give the size in GiB: 32, 64, 128, ...");
    }
    if (!std::regex_match(o.database, kDatabaseName)) {
        throw Error(ExitCode::Usage, fmt::format("--database {}: not a plain database name", o.database),
                    "letters, digits and underscores, not starting with a digit");
    }
    if (!o.admin_user.empty()) {
        static const std::vector<std::string> reserved = {
            "admin",  "administrator",   "root",           "guest",
            "public", "azure_superuser", "azure_pg_admin", "postgres"};
        std::string lower = Lower(o.admin_user);
        if (!std::regex_match(o.admin_user, kAdminUser) || lower.rfind("pg_", 0) == 0 ||
            std::find(reserved.begin(), reserved.end(), lower) != reserved.end()) {
            throw Error(
                ExitCode::Usage, fmt::format("--admin-user {}: Azure does not allow this name", o.admin_user),
                "letters, digits and underscores; not pg_*, admin, administrator, root, guest, public, "
                "postgres or azure_*");
        }
    }
    if (o.legacy_roles && !o.create_app_users) {
        throw Error(ExitCode::Usage, "--legacy-roles needs --create-app-users",
                    "add --create-app-users to create backtest_service with the other roles");
    }
    NormalizeEntra(o);
    if (!o.admin_dsn) {
        o.admin_dsn = config.Provision().admin_dsn;
    }
    if (o.admin_dsn && o.admin_dsn->empty()) {
        o.admin_dsn.reset();
    }
}

Secrets ResolveSecrets(const Options& o, const Config& config) {
    Secrets s;
    if (auto pw = config.Provision().admin_password) {
        std::string problem = AdminPasswordProblem(*pw);
        if (!problem.empty()) {
            throw Error(ExitCode::Config,
                        "PGSPLIT_ADMIN_PASSWORD is not a password Azure accepts: " + problem,
                        "set another value, or unset it to let pgsplit generate one");
        }
        s.admin_password = *pw;
    } else {
        s.admin_password = GeneratePassword();
        s.admin_generated = true;
    }
    s.mask.Add(s.admin_password);
    if (o.create_app_users) {
        for (const auto& role : AppRoleNames(o.legacy_roles)) {
            auto identity = std::find_if(o.app_identities.begin(), o.app_identities.end(),
                                         [&](const AppIdentity& a) { return a.role == role; });
            if (identity != o.app_identities.end()) {
                // An Entra principal logs in with a token: no password to read, generate or show.
                s.app_roles.push_back({role, "", identity->object_id});
                continue;
            }
            std::string pw;
            if (auto v = config.RolePassword(role)) {
                pw = *v;
            } else {
                pw = GeneratePassword();
                s.generated_roles.push_back(role);
            }
            s.mask.Add(pw);
            s.app_roles.push_back({role, pw, ""});
        }
    }
    if (!s.generated_roles.empty() && !o.emit_secrets) {
        // Rotating an existing role to a password nobody will ever see locks its application out.
        std::string vars;
        for (const auto& role : s.generated_roles) {
            vars += (vars.empty() ? "" : ", ") + Config::RolePasswordVariable(role);
        }
        throw Error(
            ExitCode::Usage,
            "--create-app-users would set generated passwords that are never shown (" + vars + " unset)",
            "set those variables (GitHub secrets in CI), or add --emit-secrets to print the generated "
            "passwords once");
    }
    // A password inside the admin DSN is a secret too.
    if (o.admin_dsn) {
        if (std::string pw = DsnOption(*o.admin_dsn, "password"); !pw.empty()) {
            s.mask.Add(pw);
        }
    }
    return s;
}

std::vector<PlannedCommand> Plan(const Options& o, const Secrets& secrets, const Config& config) {
    Logger quiet;
    AzCli az("az", config, secrets.mask, quiet);
    if (!o.subscription.empty()) {
        az.SetSubscription(o.subscription);
    }
    std::string admin_user = o.admin_user.empty() ? kDefaultAdminUser : o.admin_user;
    std::vector<PlannedCommand> plan;
    plan.push_back({"login", "always", az.Render({"account", "show"})});
    if (o.subscription.empty()) {
        // A run pins every later call to the subscription account show reports.
        az.SetSubscription("<id from account show>");
    }
    plan.push_back({"resource group", "always", az.Render(GroupShow(o))});
    plan.push_back({"resource group", "if missing", az.Render(GroupCreate(o))});
    plan.push_back({"server", "always", az.Render(ServerShow(o))});
    auto locations = Locations(o);
    for (size_t i = 0; i < locations.size(); ++i) {
        std::string when =
            i == 0 ? "if missing" : fmt::format("if missing and {} is restricted", locations[i - 1]);
        plan.push_back(
            {"server", when, az.Render(ServerCreate(o, locations[i], admin_user, secrets.admin_password))});
    }
    plan.push_back({"server", "after a create", az.Render(ServerShow(o))});
    plan.push_back({"database", "always", az.Render(DbShow(o))});
    plan.push_back({"database", "if missing", az.Render(DbCreate(o))});
    for (const auto& [rule, range] : FirewallRules(o)) {
        std::string step = "firewall " + rule;
        plan.push_back({step, "always", az.Render(RuleArgs(o, "show", rule))});
        plan.push_back({step, "if missing", az.Render(RuleWrite(o, "create", rule, range))});
        plan.push_back({step, "if the range differs", az.Render(RuleWrite(o, "update", rule, range))});
    }
    if (o.entra_admin) {
        const EntraAdmin& a = *o.entra_admin;
        EntraAdmin shown = a;
        if (EntraNeedsLookup(a)) {
            plan.push_back({"entra admin",
                            a.upn.empty() ? "always (no --entra-admin-name)" : "always (a UPN)",
                            az.Render(EntraLookup(a))});
            if (shown.object_id.empty()) {
                shown.object_id = "<id from az ad user show>";
            }
            if (shown.display_name.empty()) {
                shown.display_name = "<name from az ad " + EntraLookup(a)[1] + " show>";
            }
        }
        plan.push_back({"entra auth", "if the server's authConfig.activeDirectoryAuth is not Enabled",
                        az.Render(ServerUpdateAuth(o, "--microsoft-entra-auth", "Enabled"))});
        plan.push_back({"entra admin", "always", az.Render(EntraAdminShow(o, shown.object_id))});
        plan.push_back({"entra admin", "if missing, or its name or type differs",
                        az.Render(EntraAdminCreate(o, shown))});
        if (!o.password_auth.empty()) {
            plan.push_back({"password auth", "if authConfig.passwordAuth is not " + o.password_auth,
                            az.Render(ServerUpdateAuth(o, "--password-auth", o.password_auth))});
        }
    }
    std::string target =
        o.admin_dsn ? RedactDsn(*o.admin_dsn)
        : EntraAdminConnects(o, !secrets.admin_generated)
            ? fmt::format("the Entra administrator {} on the server's FQDN (a token, --pg-auth "
                          "entra), database {}",
                          o.entra_admin->display_name.empty() ? o.entra_admin->given
                                                              : o.entra_admin->display_name,
                          o.database)
            : fmt::format("{} on the server's FQDN, database {}", admin_user, o.database);
    if (o.apply_migrations) {
        plan.push_back({"migrations", "always", "apply pending migrations (pgsplit migrate) as " + target});
    }
    if (o.create_app_users) {
        std::string names;
        for (const auto& r : secrets.app_roles) {
            if (r.entra_object_id.empty()) {
                names += (names.empty() ? "" : ", ") + r.name;
            }
        }
        if (!names.empty()) {
            plan.push_back(
                {"app roles", "always",
                 fmt::format("create or rotate {} (SCRAM verifiers computed locally) and grant CONNECT and "
                             "the SPEC §8 privileges, as {}",
                             names, target)});
        }
        for (const auto& r : secrets.app_roles) {
            if (r.entra_object_id.empty()) {
                continue;
            }
            plan.push_back(
                {"app roles", "if role " + r.name + " is missing",
                 fmt::format("SELECT pgaadauth_create_principal_with_oid($1, $2, 'service', false, "
                             "false) with $1 = {}, $2 = {} (Entra principal, no password), as {}",
                             r.name, r.entra_object_id, target)});
            plan.push_back({"app roles", "always",
                            fmt::format("grant {} CONNECT and the SPEC §8 privileges (the same as a password "
                                        "role)",
                                        r.name)});
        }
    }
    return plan;
}

namespace {

// Every resource step starts the same way: `show` it, and tell "exists" (its JSON) from "does not
// exist" (az's exit 3 with ResourceNotFound). Any other failure of the show is the step's error.
std::optional<nlohmann::json> ShowIfExists(AzCli& az, const std::string& step,
                                           const std::vector<std::string>& show_args) {
    auto show = az.Try(step, show_args);
    if (show.Ok()) {
        return show.json;
    }
    if (IsNotFound(show)) {
        return std::nullopt;
    }
    throw az.Failure(step, show_args, show, "");
}

void EnsureLogin(AzCli& az, const Logger& log, const Options& o, Outcome& out) {
    StepTimer t(log, out, "login");
    if (!o.subscription.empty()) {
        az.SetSubscription(o.subscription);
    }
    auto r =
        az.Call("login", {"account", "show"},
                o.subscription.empty() ? "check 'az account show' at a shell"
                                       : fmt::format("check that subscription {} exists and your login can "
                                                     "use it ('az account list -o table')",
                                                     o.subscription));
    out.subscription_id = JsonString(r.json, "id");
    out.subscription_name = JsonString(r.json, "name");
    if (r.json.is_object() && r.json.contains("user") && r.json["user"].is_object()) {
        out.account_user = JsonString(r.json["user"], "name");
    }
    if (out.subscription_id.empty()) {
        throw Error(ExitCode::Failure, "step 'login': az account show returned no subscription id",
                    "run 'az account show' and check its output");
    }
    // Later calls name the subscription explicitly instead of relying on (or changing) the default.
    az.SetSubscription(out.subscription_id);
    t.Done(fmt::format("logged in as {}, subscription {} ({})",
                       out.account_user.empty() ? "?" : out.account_user, out.subscription_name,
                       out.subscription_id));
}

void EnsureResourceGroup(AzCli& az, const Logger& log, const Options& o, Outcome& out) {
    StepTimer t(log, out, "resource group");
    if (ShowIfExists(az, "resource group", GroupShow(o))) {
        t.Done(o.resource_group + " exists");
        return;
    }
    az.Call("resource group", GroupCreate(o), "check that your login may create resource groups");
    out.resource_group_created = true;
    t.Done(fmt::format("{} created in {}", o.resource_group, o.location));
}

// Creates the server in the first location of --location/--location-fallback that is not restricted
// for flexible servers in this subscription. Returns the location used.
std::string CreateServer(AzCli& az, const Logger& log, const Options& o, const Secrets& secrets,
                         Outcome& out) {
    for (const auto& location : Locations(o)) {
        log.Info(fmt::format("server: creating {} in {} ({} {}, PostgreSQL {}); this takes several minutes",
                             o.server_name, location, o.tier, o.sku_name, o.version),
                 {{"step", "server"}, {"location", location}});
        auto args = ServerCreate(o, location, out.admin_user, secrets.admin_password);
        auto r = az.Try("server", args);
        if (r.Ok()) {
            return location;
        }
        if (!IsRegionRestricted(r)) {
            throw az.Failure("server", args, r,
                             "fix the cause az reports and re-run; regions are only retried when az says "
                             "the location is restricted");
        }
        out.restricted_locations.push_back(location);
        log.Warn(fmt::format("server: location {} is restricted for flexible servers in this subscription",
                             location),
                 {{"step", "server"}, {"location", location}});
    }
    std::string tried;
    for (const auto& l : out.restricted_locations) {
        tried += (tried.empty() ? "" : ", ") + l;
    }
    throw Error(ExitCode::Failure,
                fmt::format("step 'server': every location tried is restricted for flexible servers in this "
                            "subscription: {}",
                            tried),
                "add regions with --location-fallback a,b,c; check one with 'az postgres flexible-server "
                "list-skus -l REGION --query \"[0].reason\" -o tsv' (empty means allowed)");
}

void EnsureServer(AzCli& az, const Logger& log, const Options& o, const Secrets& secrets, Outcome& out) {
    StepTimer t(log, out, "server");
    nlohmann::json server;
    std::string created_in;
    if (auto shown = ShowIfExists(az, "server", ServerShow(o))) {
        server = *shown;
        std::string existing_admin = JsonString(server, "administratorLogin");
        out.admin_user = o.admin_user.empty() ? existing_admin : o.admin_user;
        if (!o.admin_user.empty() && !existing_admin.empty() && existing_admin != o.admin_user) {
            log.Warn(fmt::format("server {} has administrator {}, not --admin-user {}; connecting as {}",
                                 o.server_name, existing_admin, o.admin_user, o.admin_user));
        }
    } else {
        out.admin_user = o.admin_user.empty() ? kDefaultAdminUser : o.admin_user;
        created_in = CreateServer(az, log, o, secrets, out);
        out.server_created = true;
        server = az.Call("server", ServerShow(o), "the server was created; re-run to continue").json;
    }
    out.fqdn = JsonString(server, "fullyQualifiedDomainName");
    out.location = JsonString(server, "location");
    out.state = JsonString(server, "state");
    out.version = JsonString(server, "version");
    if (server.is_object() && server.contains("sku") && server["sku"].is_object()) {
        out.sku = JsonString(server["sku"], "name");
        out.tier = JsonString(server["sku"], "tier");
    }
    if (server.is_object() && server.contains("authConfig") && server["authConfig"].is_object()) {
        out.shown_entra_auth = JsonString(server["authConfig"], "activeDirectoryAuth");
        out.shown_password_auth = JsonString(server["authConfig"], "passwordAuth");
    }
    if (out.fqdn.empty()) {
        throw Error(ExitCode::Failure,
                    "step 'server': az postgres flexible-server show returned no fullyQualifiedDomainName",
                    "run the show command with --verbose and check the az version (az version)");
    }
    if (!out.state.empty() && out.state != "Ready") {
        log.Warn(fmt::format("server {} is in state {}, not Ready; the database steps may fail",
                             o.server_name, out.state),
                 {{"step", "server"}, {"state", out.state}});
    }
    if (!out.server_created) {
        t.Done(fmt::format("{} exists ({}, state {})", o.server_name, out.location, out.state));
        return;
    }
    std::string note;
    if (!out.restricted_locations.empty()) {
        note = fmt::format(" ({} restricted)",
                           out.restricted_locations.size() == 1
                               ? out.restricted_locations[0]
                               : std::to_string(out.restricted_locations.size()) + " locations");
    }
    t.Done(fmt::format("{} created in {}{}", o.server_name, created_in, note));
}

void EnsureDatabase(AzCli& az, const Logger& log, const Options& o, Outcome& out) {
    StepTimer t(log, out, "database");
    if (ShowIfExists(az, "database", DbShow(o))) {
        t.Done(o.database + " exists");
        return;
    }
    az.Call("database", DbCreate(o), "");
    out.database_created = true;
    t.Done(o.database + " created");
}

void EnsureFirewallRule(AzCli& az, const Logger& log, const Options& o, const std::string& rule,
                        const IpRange& range, Outcome& out) {
    std::string step = "firewall " + rule;
    StepTimer t(log, out, step);
    FirewallOutcome f{rule, range, ""};
    if (auto shown = ShowIfExists(az, step, RuleArgs(o, "show", rule))) {
        if (JsonString(*shown, "startIpAddress") == range.start &&
            JsonString(*shown, "endIpAddress") == range.end) {
            f.action = "unchanged";
        } else {
            az.Call(step, RuleWrite(o, "update", rule, range), "");
            f.action = "updated";
        }
    } else {
        az.Call(step, RuleWrite(o, "create", rule, range), "");
        f.action = "created";
    }
    out.firewall.push_back(f);
    t.Done(fmt::format("{}-{} {}", range.start, range.end, f.action));
}

// Finds what --entra-admin left open: the object id of a UPN, the display name of an object id.
void ResolveEntraAdmin(AzCli& az, const Logger& log, EntraAdmin& a, Outcome& out) {
    if (!EntraNeedsLookup(a)) {
        return;
    }
    StepTimer t(log, out, "entra lookup");
    auto args = EntraLookup(a);
    auto r = az.Try("entra lookup", args);
    if (!r.Ok()) {
        throw az.Failure("entra lookup", args, r,
                         IsNotFound(r)
                             ? fmt::format("no {} {} in this tenant: check the value of --entra-admin "
                                           "and --entra-admin-type",
                                           a.type, a.given)
                             : "reading Microsoft Graph needs directory read permission; pass "
                               "--entra-admin-name NAME (and an object id) to skip the look-up");
    }
    std::string id = JsonString(r.json, "id");
    std::string name =
        a.type == "User" ? JsonString(r.json, "userPrincipalName") : JsonString(r.json, "displayName");
    if (a.object_id.empty()) {
        if (!IsGuid(id)) {
            throw Error(
                ExitCode::Failure,
                fmt::format("step 'entra lookup': az {} returned no object id for {}", args[1], a.given),
                "pass the object id to --entra-admin instead");
        }
        a.object_id = Lower(id);
    }
    if (a.display_name.empty()) {
        if (!PlainDisplayName(name)) {
            throw Error(
                ExitCode::Failure,
                fmt::format("step 'entra lookup': az {} returned no usable name for {}", args[1], a.given),
                "pass --entra-admin-name NAME");
        }
        a.display_name = name;
    }
    t.Done(fmt::format("{} {} is {}", a.type, a.display_name, a.object_id));
}

// Entra authentication on, then the administrator, then (when asked) password authentication: each
// only when the server's state differs, like every other step.
void EnsureEntra(AzCli& az, const Logger& log, const Options& o, const EntraAdmin& a, Outcome& out) {
    {
        StepTimer t(log, out, "entra auth");
        if (out.shown_entra_auth == "Enabled") {
            out.entra_auth = "already enabled";
        } else {
            az.Call("entra auth", ServerUpdateAuth(o, "--microsoft-entra-auth", "Enabled"),
                    "check that your login may update the server (Contributor on it)");
            out.entra_auth = "enabled";
        }
        t.Done("Microsoft Entra authentication " + out.entra_auth);
    }
    {
        StepTimer t(log, out, "entra admin");
        out.entra_admin_name = a.display_name;
        out.entra_admin_object_id = a.object_id;
        out.entra_admin_type = a.type;
        auto shown = ShowIfExists(az, "entra admin", EntraAdminShow(o, a.object_id));
        if (shown && JsonString(*shown, "principalName") == a.display_name &&
            JsonString(*shown, "principalType") == a.type) {
            out.entra_admin_action = "unchanged";
        } else {
            // create is a PUT keyed by the object id: it also corrects the name or type of an existing one.
            az.Call("entra admin", EntraAdminCreate(o, a),
                    "check the object id and --entra-admin-type (a managed identity is ServicePrincipal)");
            out.entra_admin_action = shown ? "updated" : "created";
        }
        t.Done(fmt::format("{} {} ({}) {}", a.type, a.display_name, a.object_id, out.entra_admin_action));
    }
    out.password_auth = out.shown_password_auth;
    if (!o.password_auth.empty()) {
        StepTimer t(log, out, "password auth");
        if (out.shown_password_auth == o.password_auth) {
            t.Done("password authentication already " + Lower(o.password_auth));
        } else {
            az.Call("password auth", ServerUpdateAuth(o, "--password-auth", o.password_auth), "");
            out.password_auth = o.password_auth;
            t.Done("password authentication " + Lower(o.password_auth));
        }
    }
}

// The DSN of the database steps, as the admin: --admin-dsn/PGSPLIT_ADMIN_DSN completed with the
// password and database when it lacks them, else built from the server's FQDN.
std::string AdminDsn(const Options& o, const Secrets& secrets, const Outcome& out,
                     bool admin_password_known) {
    if (o.admin_dsn) {
        std::string dsn = *o.admin_dsn;
        // Not when the admin logs in through Entra: a token and a password in one DSN is a contradiction.
        if (!DsnHasOption(dsn, "password") && admin_password_known && !EntraAdminConnects(o, true)) {
            dsn = DsnWithOption(dsn, "password", secrets.admin_password);
        }
        if (!DsnHasOption(dsn, "dbname")) {
            dsn = DsnWithOption(dsn, "dbname", o.database);
        }
        return dsn;
    }
    if (EntraAdminConnects(o, admin_password_known)) {
        // No password: the token comes from --pg-auth entra (PGSPLIT_PG_AUTH), as for any Entra login.
        return AzureServerDsn(out.entra_admin_name, "", out.fqdn, o.database);
    }
    if (!admin_password_known) {
        throw Error(ExitCode::Config,
                    fmt::format("PGSPLIT_ADMIN_PASSWORD is needed to connect to the existing server {} as {}",
                                o.server_name, out.admin_user),
                    "export PGSPLIT_ADMIN_PASSWORD (a GitHub secret in CI), or pass --admin-dsn");
    }
    return AzureServerDsn(out.admin_user, secrets.admin_password, out.fqdn, o.database);
}

void ApplyMigrations(const Logger& log, const std::string& admin_dsn, Outcome& out) {
    StepTimer t(log, out, "migrations");
    migrate::Options m;
    m.dsn = admin_dsn;
    m.application_name = "pgsplit provision";
    migrate::Migrator migrator(log, m);
    auto applied = migrator.Apply(false);
    out.migrations_ran = true;
    for (const auto& e : applied.applied) {
        out.migrations_applied.push_back(e.version);
    }
    for (const auto& e : migrator.Status()) {
        if (e.state == migrate::State::Applied || e.state == migrate::State::Baseline) {
            out.schema_version = e.version;
        }
    }
    t.Done(out.migrations_applied.empty() ? fmt::format("up to date (version {})", out.schema_version)
                                          : fmt::format("applied {} migration(s), now at version {}",
                                                        out.migrations_applied.size(), out.schema_version));
}

void CreateAppUsers(const Logger& log, const std::string& admin_dsn, const Secrets& secrets, Outcome& out) {
    StepTimer t(log, out, "app roles");
    auto conn = pg::Connection::Open(admin_dsn, "pgsplit provision");
    out.roles = EnsureAppRoles(conn, secrets.app_roles, log);
    std::string summary;
    for (const auto& r : out.roles) {
        summary += (summary.empty() ? "" : ", ") + r.name + " " + r.action;
    }
    t.Done(summary);
}

} // namespace

Outcome Provision(const Config& config, const Logger& log, const Options& o, Secrets& secrets) {
    Outcome out;
    out.resource_group = o.resource_group;
    out.server = o.server_name;
    out.database = o.database;

    StepTimer locate(log, out, "az");
    std::string az_path = AzCli::Locate(o.az_path, config);
    AzCli az(az_path, config, secrets.mask, log);
    locate.Done("found " + az_path);

    EnsureLogin(az, log, o, out);
    EnsureResourceGroup(az, log, o, out);
    EnsureServer(az, log, o, secrets, out);
    if (out.server_created && secrets.admin_generated && !o.emit_secrets) {
        log.Warn("the admin password was generated and is not shown without --emit-secrets; it is not stored "
                 "anywhere: reset it with 'az postgres flexible-server update --admin-password' or set "
                 "PGSPLIT_ADMIN_PASSWORD before creating",
                 {{"step", "server"}});
    }
    EnsureDatabase(az, log, o, out);
    for (const auto& [rule, range] : FirewallRules(o)) {
        EnsureFirewallRule(az, log, o, rule, range, out);
    }
    if (o.entra_admin) {
        EntraAdmin admin = *o.entra_admin;
        ResolveEntraAdmin(az, log, admin, out);
        EnsureEntra(az, log, o, admin, out);
    }

    bool admin_password_known = !secrets.admin_generated || out.server_created;
    if (o.apply_migrations || o.create_app_users) {
        std::string admin_dsn = AdminDsn(o, secrets, out, admin_password_known);
        if (o.apply_migrations) {
            ApplyMigrations(log, admin_dsn, out);
        }
        if (o.create_app_users) {
            CreateAppUsers(log, admin_dsn, secrets, out);
        }
    }

    if (out.password_auth != "Disabled") {
        out.dsns.push_back({out.admin_user,
                            AzureServerDsn(out.admin_user, admin_password_known ? secrets.admin_password : "",
                                           out.fqdn, o.database),
                            false});
    }
    if (!out.entra_admin_name.empty()) {
        out.dsns.push_back(
            {out.entra_admin_name, AzureServerDsn(out.entra_admin_name, "", out.fqdn, o.database), true});
    }
    for (const auto& r : secrets.app_roles) {
        bool entra = !r.entra_object_id.empty();
        out.dsns.push_back({r.name, AzureServerDsn(r.name, r.password, out.fqdn, o.database), entra});
    }
    return out;
}

} // namespace pgsplit::provision
