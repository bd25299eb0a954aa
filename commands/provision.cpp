// pgsplit provision: the phase-1 provisioning runbook over the az CLI (SPEC §5). This file only wires
// flags to src/provision/; the steps, az handling and role management live there.
#include "commands/command.h"
#include "config/dsn.h"
#include "core/error.h"
#include "core/log.h"
#include "output/github.h"
#include "output/table.h"
#include "provision/report.h"
#include "provision/steps.h"

#include <fmt/format.h>
#include <unistd.h>

namespace pgsplit {
namespace {

struct ProvisionFlags {
    provision::Options options;
    std::string location_fallback;
    std::string allow_ip_range;
    std::string admin_dsn;
    std::string az;
    std::vector<std::string> app_identities;
};

// Step summary (what each step found or did) and step outputs for later steps. DSNs are always redacted
// here: outputs and summaries are stored by GitHub beyond the masked log.
void ReportToGithub(const Context& ctx, const provision::Outcome& out) {
    std::string md = fmt::format(
        "### pgsplit provision: {}\n\n| step | result | duration |\n|---|---|---:|\n", out.server);
    for (const auto& s : out.steps) {
        std::string result = s.result;
        for (auto& c : result) {
            c = c == '|' ? '/' : c == '\n' ? ' ' : c;
        }
        md += fmt::format("| {} | {} | {} |\n", s.name, result, HumanDuration(static_cast<double>(s.ms)));
    }
    AppendStepSummary(ctx.config.github_step_summary, md + "\n");
    std::string dsns;
    for (const auto& d : out.dsns) {
        dsns += (dsns.empty() ? "" : "\n") + RedactDsn(d.dsn);
    }
    SetStepOutput(ctx.config.github_output, "server_fqdn", out.fqdn);
    SetStepOutput(ctx.config.github_output, "database", out.database);
    SetStepOutput(ctx.config.github_output, "server_created", out.server_created ? "true" : "false");
    SetStepOutput(ctx.config.github_output, "dsns", dsns);
}

} // namespace

Runner SetupProvision(CLI::App& app) {
    auto f = std::make_shared<ProvisionFlags>();
    auto& o = f->options;
    app.description(
        "Create what phase 1 needs on Azure, idempotently: resource group, PostgreSQL Flexible Server\n"
        "(trying fallback regions when a region is restricted), database, firewall rules, optionally the\n"
        "Microsoft Entra administrator (--entra-admin) with password login off (--password-auth disabled);\n"
        "then optionally apply the migrations and create/rotate the app roles (ranking_writer, "
        "api_service),\n"
        "as password roles or as Entra principals of managed identities (--app-identity). Each step shows\n"
        "the resource first and changes only what differs. Uses the az CLI, logged in beforehand.");
    app.footer(
        "Passwordless (Microsoft Entra ID):\n"
        "  --entra-admin OBJECT_ID|UPN        the server's Entra administrator; a UPN is a User and its "
        "object\n"
        "                                     id is looked up (az ad user show); an object id is a\n"
        "                                     ServicePrincipal unless --entra-admin-type says otherwise, "
        "its\n"
        "                                     name looked up (az ad sp/group/user show) unless "
        "--entra-admin-name\n"
        "  --password-auth disabled           then turn password login off (after the administrator exists)\n"
        "  --app-identity ROLE=OBJECT_ID      with --create-app-users: ROLE becomes an Entra principal of "
        "that\n"
        "                                     managed identity (pgaadauth_create_principal_with_oid), with "
        "the\n"
        "                                     same grants and no password; its DSN has user and host only "
        "and\n"
        "                                     needs --pg-auth entra. Name the identity after the role.\n"
        "  The database steps then connect as the Entra administrator (no password; --pg-auth entra).\n"
        "\n"
        "Passwords (environment; generated with OpenSSL's RNG when unset):\n"
        "  PGSPLIT_ADMIN_PASSWORD            server admin (needed to connect to an existing server)\n"
        "  PGSPLIT_RANKING_WRITER_PASSWORD   PGSPLIT_API_SERVICE_PASSWORD   "
        "PGSPLIT_BACKTEST_SERVICE_PASSWORD\n"
        "  (app role passwords are generated only with --emit-secrets, which prints them once)\n"
        "App role passwords are set as SCRAM verifiers computed locally: the plaintext never reaches the\n"
        "server or its log. The admin password goes to az once, in 'flexible-server create'.\n"
        "DSNs are printed redacted unless --emit-secrets; in GitHub Actions every secret is registered\n"
        "with ::add-mask:: first.\n"
        "\n"
        "Exit codes: 0 done (also when everything already existed), 1 az failed (the step and az's message\n"
        "are named; also: every region restricted), 2 usage (e.g. --tier contradicts --sku-name, checked\n"
        "before any az call), 3 configuration (az not installed, bad PGSPLIT_* value, admin password\n"
        "needed), 4 az not logged in or PostgreSQL connection refused, 6 migration lock not obtained.\n"
        "\n"
        "Examples:\n"
        "  PGSPLIT_PG_AUTH=entra pgsplit provision --resource-group rg-assets --server-name assets-pg \\\n"
        "      --location eastus --entra-admin ops@contoso.com --password-auth disabled \\\n"
        "      --apply-migrations --create-app-users \\\n"
        "      --app-identity ranking_writer=$WRITER_MI_ID --app-identity api_service=$API_MI_ID\n"
        "  pgsplit provision --subscription $SUB --resource-group rg-assets --server-name assets-pg \\\n"
        "      --location eastus --location-fallback eastus2,centralus,westus2 --allow-azure-services \\\n"
        "      --apply-migrations --create-app-users\n"
        "  pgsplit provision ... --dry-run                 the az commands it would run (passwords masked)\n"
        "  pgsplit provision ... --create-app-users --json re-run: rotates the app passwords, JSON result\n"
        "  pgsplit provision ... --allow-ip-range 203.0.113.10-203.0.113.20\n");

    app.add_option("--subscription", o.subscription, "subscription id or name (default: az's current one)")
        ->type_name("ID");
    app.add_option("--resource-group", o.resource_group, "resource group (created when missing)")
        ->required()
        ->type_name("NAME");
    app.add_option("--server-name", o.server_name, "flexible server name (the FQDN's first label)")
        ->required()
        ->type_name("NAME");
    app.add_option("--location", o.location, "region for a new resource group and server, e.g. eastus2")
        ->required()
        ->type_name("REGION");
    app.add_option("--location-fallback", f->location_fallback,
                   "regions to try, in order, when az says --location is restricted")
        ->type_name("A,B,C");
    app.add_option("--sku-name", o.sku_name, "compute SKU (default Standard_B1ms; any casing)")
        ->type_name("SKU");
    app.add_option("--tier", o.tier, "Burstable, GeneralPurpose or MemoryOptimized (default: from the SKU)")
        ->type_name("TIER");
    app.add_option("--version", o.version, "PostgreSQL major version for a new server (default 16)")
        ->type_name("N");
    app.add_option("--storage-size", o.storage_size_gb, "storage in GiB for a new server (default 32)")
        ->type_name("GIB");
    app.add_option("--database", o.database, "database to create (default asset_allocation)")
        ->type_name("NAME");
    app.add_option("--admin-user", o.admin_user,
                   "server admin login (default: the existing server's, else pgsplitadmin)")
        ->type_name("NAME");
    app.add_flag("--allow-azure-services", o.allow_azure_services,
                 "firewall rule allow-azure-services (0.0.0.0): Azure-hosted jobs and apps may connect");
    app.add_option("--allow-ip-range", f->allow_ip_range, "firewall rule allow-ip-range for these addresses")
        ->type_name("START[-END]");
    app.add_flag("--apply-migrations", o.apply_migrations, "apply the schema migrations as the admin");
    app.add_flag("--create-app-users", o.create_app_users,
                 "create ranking_writer and api_service (or rotate their passwords) with their grants "
                 "(README, Provision)");
    app.add_flag("--legacy-roles", o.legacy_roles, "with --create-app-users: also backtest_service");
    app.add_option(
           "--admin-dsn", f->admin_dsn,
           "connect the database steps here instead of the server's FQDN (default $PGSPLIT_ADMIN_DSN; "
           "e.g. through a tunnel); PGSPLIT_ADMIN_PASSWORD is added when it has no password")
        ->type_name("DSN");
    app.add_option("--entra-admin", o.entra_admin_flag,
                   "set the server's Microsoft Entra administrator (and turn Entra authentication on)")
        ->type_name("OBJECT_ID|UPN");
    app.add_option("--entra-admin-name", o.entra_admin_name_flag,
                   "the administrator's display name (default: the UPN, or looked up with az ad ... show)")
        ->type_name("NAME");
    app.add_option("--entra-admin-type", o.entra_admin_type_flag,
                   "User, Group or ServicePrincipal (default: User for a UPN, else ServicePrincipal)")
        ->type_name("TYPE");
    app.add_option("--password-auth", o.password_auth,
                   "with --entra-admin: enabled or disabled (default: leave the server's setting)")
        ->type_name("enabled|disabled");
    app.add_option("--app-identity", f->app_identities,
                   "with --create-app-users: create ROLE as an Entra principal of this managed identity "
                   "(repeatable)")
        ->type_name("ROLE=OBJECT_ID");
    app.add_flag("--emit-secrets", o.emit_secrets, "print DSNs with their passwords");
    app.add_flag("--dry-run", o.dry_run, "print the az commands (passwords masked); run nothing");
    app.add_option("--az", f->az, "the az program to run (default: az on PATH)")->type_name("PATH");

    return [f](Context& ctx) {
        provision::Options& opts = f->options;
        if (!f->location_fallback.empty()) {
            opts.location_fallback.clear();
            size_t start = 0;
            while (start <= f->location_fallback.size()) {
                size_t comma = f->location_fallback.find(',', start);
                if (comma == std::string::npos) {
                    comma = f->location_fallback.size();
                }
                std::string item = f->location_fallback.substr(start, comma - start);
                if (!item.empty()) {
                    opts.location_fallback.push_back(item);
                }
                start = comma + 1;
            }
        }
        if (!f->allow_ip_range.empty()) {
            opts.allow_ip_range = provision::ParseIpRange(f->allow_ip_range);
        }
        if (!f->admin_dsn.empty()) {
            opts.admin_dsn = f->admin_dsn;
        }
        if (!f->az.empty()) {
            opts.az_path = f->az;
        }
        opts.app_identities.clear();
        for (const auto& text : f->app_identities) {
            opts.app_identities.push_back(provision::ParseAppIdentity(text));
        }
        // Usage errors (SKU/tier, names) surface here, before az is even looked for.
        provision::Normalize(opts, ctx.config);
        provision::Secrets secrets = provision::ResolveSecrets(opts, ctx.config);
        // Registered before any step can log: the runner then masks these values in every later line. The
        // passwords from the environment were masked at start-up already (commands/cli.cpp); AddMask writes
        // each value once, so this adds the generated ones.
        for (const auto& secret : secrets.mask.Secrets()) {
            ctx.log.AddMask(secret);
            ctx.log.AddMask(PercentEncode(secret));
        }
        ctx.interrupt = {InterruptPolicy::Kind::Steps, "step", "steps", "",
                         "re-running provision is safe: each step looks before it acts"};
        if (opts.dry_run) {
            auto plan = provision::Plan(opts, secrets, ctx.config);
            ctx.Print(ctx.config.json ? provision::RenderPlanJson(plan) : provision::RenderPlanText(plan));
            return 0;
        }
        provision::Outcome out = provision::Provision(ctx.config, ctx.log, opts, secrets);
        std::vector<std::string> generated = secrets.generated_roles;
        if (secrets.admin_generated && out.server_created) {
            generated.insert(generated.begin(), "admin");
        }
        if (ctx.config.github_actions) {
            ReportToGithub(ctx, out);
        }
        ctx.Print(ctx.config.json ? provision::RenderJson(out, opts.emit_secrets, generated)
                                  : provision::RenderText(out, opts.emit_secrets, ctx.config.color_stdout));
        return 0;
    };
}

} // namespace pgsplit
