#pragma once

// pgsplit provision (SPEC §5): the phase-1 runbook as idempotent steps over the az CLI, then the
// database steps (migrations, application roles) over libpq. Each step looks before it acts: `show`
// first, `create` only for what is missing, so a re-run against a finished setup changes nothing
// (apart from rotating the application passwords when --create-app-users asks for it).

#include "config/config.h"
#include "core/log.h"
#include "provision/roles.h"
#include "provision/secrets.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::provision {

inline constexpr const char* kDefaultSku = "Standard_B1ms";
inline constexpr const char* kDefaultAdminUser = "pgsplitadmin";
inline constexpr const char* kAzureServicesRule = "allow-azure-services";
inline constexpr const char* kIpRangeRule = "allow-ip-range";

struct IpRange {
    std::string start;
    std::string end;
};

// --app-identity ROLE=OBJECT_ID: the app role becomes an Entra principal of that identity.
struct AppIdentity {
    std::string role;
    std::string object_id; // a GUID, lower case after Normalize
};

// --entra-admin and its companions, resolved by Normalize.
struct EntraAdmin {
    std::string given;        // what --entra-admin said (a GUID or a UPN)
    std::string object_id;    // the GUID; empty until looked up when a UPN was given
    std::string upn;          // when --entra-admin was a UPN
    std::string display_name; // --entra-admin-name; empty: looked up in Microsoft Graph (az ad ...)
    std::string type;         // User, Group or ServicePrincipal (Azure's casing)
};

// The command line, validated and normalised (see Normalize).
struct Options {
    std::string subscription; // empty: az's current default subscription
    std::string resource_group;
    std::string server_name;
    std::string location;
    std::vector<std::string> location_fallback;
    std::string sku_name = kDefaultSku; // Azure casing after Normalize
    std::string tier;                   // Azure casing after Normalize; derived from the SKU when empty
    std::string version = "16";
    int storage_size_gb = 32;
    std::string database = "asset_allocation";
    std::string admin_user; // empty: the existing server's administratorLogin, else kDefaultAdminUser
    bool allow_azure_services = false;
    std::optional<IpRange> allow_ip_range;
    bool apply_migrations = false;
    bool create_app_users = false;
    bool legacy_roles = false;
    bool emit_secrets = false;
    bool dry_run = false;
    std::optional<std::string> az_path;
    std::optional<std::string> admin_dsn; // --admin-dsn > PGSPLIT_ADMIN_DSN: where the database steps connect
    // Microsoft Entra ID (issue 17). The raw flag values are checked and resolved by Normalize.
    std::string entra_admin_flag;      // --entra-admin OBJECT_ID|UPN
    std::string entra_admin_name_flag; // --entra-admin-name NAME
    std::string entra_admin_type_flag; // --entra-admin-type User|Group|ServicePrincipal
    std::string password_auth;         // --password-auth: "", then "Enabled" or "Disabled"
    std::optional<EntraAdmin> entra_admin;
    std::vector<AppIdentity> app_identities;
};

// "ROLE=OBJECT_ID" (--app-identity). Throws Error(Usage) naming the flag; the role is checked by Normalize.
AppIdentity ParseAppIdentity(const std::string& text);
// 8-4-4-4-12 hexadecimal digits.
bool IsGuid(const std::string& text);

// "standard_b1ms" / "B1ms" -> "Standard_B1ms". Throws Error(Usage) for a name that is not a SKU.
std::string NormalizeSku(const std::string& sku);
// B -> Burstable, D -> GeneralPurpose, E -> MemoryOptimized; empty for a family pgsplit does not know.
std::string TierForSku(const std::string& normalized_sku);
// "1.2.3.4" or "1.2.3.4-1.2.3.9". Throws Error(Usage).
IpRange ParseIpRange(const std::string& text);

// Checks and normalises the options before anything runs: SKU casing, the tier (derived, or a usage
// error when it contradicts the SKU), names Azure would reject, --allow-ip-range, --legacy-roles
// without --create-app-users, the Entra flags (--entra-admin a GUID or UPN, --entra-admin-type,
// --password-auth, --app-identity roles pgsplit manages). Fills admin_dsn from PGSPLIT_ADMIN_DSN when the
// flag is absent.
void Normalize(Options& o, const Config& config);

// The passwords of one run. Values from the environment win; the others are generated.
struct Secrets {
    std::string admin_password;
    bool admin_generated = false;
    std::vector<AppRole> app_roles; // only with --create-app-users
    std::vector<std::string> generated_roles;
    SecretMask mask;
};

// Reads PGSPLIT_ADMIN_PASSWORD, PGSPLIT_RANKING_WRITER_PASSWORD, PGSPLIT_API_SERVICE_PASSWORD and
// PGSPLIT_BACKTEST_SERVICE_PASSWORD (through Config), generating what is missing. An admin password from
// the environment that Azure would refuse is a configuration error (exit 3) raised before any az call.
// Generating an app role password without --emit-secrets is a usage error (exit 2): the role would get
// a password nobody knows, and a re-run would lock the application that uses it out.
Secrets ResolveSecrets(const Options& o, const Config& config);

struct StepRecord {
    std::string name;
    std::string result;
    int64_t ms = 0;
};

struct FirewallOutcome {
    std::string name;
    IpRange range;
    std::string action; // created, updated, unchanged
};

struct ConnectionString {
    std::string role;
    std::string dsn;    // with the password when pgsplit knows it
    bool entra = false; // passwordless: connect with --pg-auth entra (a token is the password)
};

struct Outcome {
    std::string subscription_id;
    std::string subscription_name;
    std::string account_user;
    std::string resource_group;
    bool resource_group_created = false;
    std::string server;
    bool server_created = false;
    std::string location; // where the server lives
    std::vector<std::string> restricted_locations;
    std::string state;
    std::string fqdn;
    std::string sku;
    std::string tier;
    std::string version;
    std::string admin_user;
    std::string database;
    bool database_created = false;
    std::vector<FirewallOutcome> firewall;
    bool migrations_ran = false;
    std::vector<std::string> migrations_applied; // versions
    std::string schema_version;
    std::vector<RoleOutcome> roles;
    std::vector<ConnectionString> dsns;
    // Entra ID: what the server had and what provision did ("" when --entra-admin was not given).
    std::string entra_auth;         // enabled, already enabled
    std::string entra_admin_action; // created, updated, unchanged
    std::string entra_admin_name;
    std::string entra_admin_object_id;
    std::string entra_admin_type;
    std::string password_auth;       // the server's setting after the run (Enabled/Disabled), when known
    std::string shown_entra_auth;    // authConfig.activeDirectoryAuth from server show
    std::string shown_password_auth; // authConfig.passwordAuth from server show
    std::vector<StepRecord> steps;
};

// A step of the --dry-run plan: what would run, and when.
struct PlannedCommand {
    std::string step;
    std::string when;    // "always", "if missing", "if eastus is restricted", ...
    std::string command; // the az command line (masked) or a description of the database work
};

// Everything a real run could execute, in order, with secrets masked. Runs nothing.
std::vector<PlannedCommand> Plan(const Options& o, const Secrets& secrets, const Config& config);

// Runs the steps. Throws Error naming the failed step (its exit code per SPEC §3).
Outcome Provision(const Config& config, const Logger& log, const Options& o, Secrets& secrets);

} // namespace pgsplit::provision
