#include "provision/report.h"

#include "config/dsn.h"
#include "output/github.h"
#include "output/table.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit::provision {
namespace {

std::string Shown(const std::string& dsn, bool emit_secrets) {
    return emit_secrets ? dsn : RedactDsn(dsn);
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : sep) + i;
    }
    return out;
}

std::string Indent(const std::string& text, const std::string& prefix) {
    std::string out;
    bool at_line_start = true;
    for (char c : text) {
        if (at_line_start && c != '\n') {
            out += prefix;
        }
        out.push_back(c);
        at_line_start = c == '\n';
    }
    return out;
}

} // namespace

std::string RenderText(const Outcome& out, bool emit_secrets, bool color) {
    std::string text = fmt::format("server {} is provisioned\n\n", out.server);
    TextTable steps({"STEP", "RESULT"});
    for (const auto& s : out.steps) {
        steps.AddRow({s.name, s.result});
    }
    text += steps.Render(color);
    text += "\n";
    TextTable facts({"", ""});
    facts.AddRow({"subscription", fmt::format("{} ({})", out.subscription_name, out.subscription_id)});
    facts.AddRow({"resource group", out.resource_group});
    facts.AddRow({"server", fmt::format("{} ({}, {} {}, PostgreSQL {})", out.server, out.location, out.tier,
                                        out.sku, out.version)});
    facts.AddRow({"fqdn", out.fqdn});
    facts.AddRow({"database", out.database});
    facts.AddRow({"admin user", out.admin_user});
    if (!out.schema_version.empty()) {
        facts.AddRow({"schema version", out.schema_version});
    }
    if (!out.entra_admin_name.empty()) {
        facts.AddRow(
            {"entra admin", fmt::format("{} ({}, {}), {}", out.entra_admin_name, out.entra_admin_type,
                                        out.entra_admin_object_id, out.entra_admin_action)});
        facts.AddRow(
            {"authentication", fmt::format("Microsoft Entra {}, password {}", out.entra_auth,
                                           out.password_auth.empty() ? "unchanged" : out.password_auth)});
    }
    // The header row of a two-column fact list carries nothing; drop it.
    std::string rendered = facts.Render(false);
    text += rendered.substr(rendered.find('\n') + 1);
    for (const auto& r : out.roles) {
        if (!r.skipped.empty()) {
            text += fmt::format("\n{}: not granted yet (objects missing, run the migrations): {}\n", r.name,
                                Join(r.skipped, "; "));
        }
    }
    text += emit_secrets ? "\nconnection strings:\n"
                         : "\nconnection strings (passwords hidden; --emit-secrets shows them):\n";
    TextTable dsns({"ROLE", "DSN"});
    for (const auto& d : out.dsns) {
        dsns.AddRow({d.role, Shown(d.dsn, emit_secrets)});
    }
    std::string dsn_text = dsns.Render(false);
    text += Indent(dsn_text.substr(dsn_text.find('\n') + 1), "  ");
    std::vector<std::string> entra;
    for (const auto& d : out.dsns) {
        if (d.entra) {
            entra.push_back(d.role);
        }
    }
    if (!entra.empty()) {
        text += fmt::format("  passwordless (Microsoft Entra) for {}: connect with --pg-auth entra (or "
                            "PGSPLIT_PG_AUTH=entra), the token is the password\n",
                            Join(entra, ", "));
    }
    return text;
}

std::string RenderJson(const Outcome& out, bool emit_secrets, const std::vector<std::string>& generated) {
    nlohmann::ordered_json j = {
        {"ok", true},
        {"dry_run", false},
        {"subscription",
         {{"id", out.subscription_id}, {"name", out.subscription_name}, {"user", out.account_user}}},
        {"resource_group", {{"name", out.resource_group}, {"created", out.resource_group_created}}},
        {"server",
         {{"name", out.server},
          {"created", out.server_created},
          {"location", out.location},
          {"restricted_locations", out.restricted_locations},
          {"state", out.state},
          {"fqdn", out.fqdn},
          {"sku", out.sku},
          {"tier", out.tier},
          {"version", out.version},
          {"admin_user", out.admin_user}}},
        {"database", {{"name", out.database}, {"created", out.database_created}}},
        {"firewall_rules", nlohmann::ordered_json::array()},
        {"roles", nlohmann::ordered_json::array()},
        {"dsns", nlohmann::ordered_json::object()},
        {"secrets_emitted", emit_secrets},
        {"generated_passwords", generated},
        {"steps", nlohmann::ordered_json::array()},
    };
    for (const auto& f : out.firewall) {
        j["firewall_rules"].push_back(
            {{"name", f.name}, {"start", f.range.start}, {"end", f.range.end}, {"action", f.action}});
    }
    if (out.migrations_ran) {
        j["migrations"] = {{"applied", out.migrations_applied}, {"version", out.schema_version}};
    }
    for (const auto& r : out.roles) {
        j["roles"].push_back({{"name", r.name},
                              {"action", r.action},
                              {"auth", r.auth},
                              {"granted", r.granted},
                              {"skipped", r.skipped}});
    }
    nlohmann::ordered_json passwordless = nlohmann::ordered_json::array();
    for (const auto& d : out.dsns) {
        j["dsns"][d.role] = Shown(d.dsn, emit_secrets);
        if (d.entra) {
            passwordless.push_back(d.role);
        }
    }
    // These DSNs carry no password: pgsplit connects with them under --pg-auth entra.
    j["entra_dsns"] = passwordless;
    if (!out.entra_admin_name.empty()) {
        j["entra"] = {{"auth", out.entra_auth},
                      {"admin",
                       {{"name", out.entra_admin_name},
                        {"object_id", out.entra_admin_object_id},
                        {"type", out.entra_admin_type},
                        {"action", out.entra_admin_action}}},
                      {"password_auth", out.password_auth}};
    }
    for (const auto& s : out.steps) {
        j["steps"].push_back({{"name", s.name}, {"result", s.result}, {"ms", s.ms}});
    }
    return j.dump(2) + "\n";
}

std::string RenderPlanText(const std::vector<PlannedCommand>& plan) {
    std::string text = "dry run: nothing was executed; pgsplit provision would run these steps in order\n"
                       "(show commands always, the others only in the case named)\n\n";
    std::string last_step;
    for (const auto& p : plan) {
        if (p.step != last_step) {
            text += p.step + "\n";
            last_step = p.step;
        }
        text += fmt::format("  [{}] {}\n", p.when, p.command);
    }
    return text;
}

std::string RenderPlanJson(const std::vector<PlannedCommand>& plan) {
    nlohmann::ordered_json j = {{"ok", true}, {"dry_run", true}, {"plan", nlohmann::ordered_json::array()}};
    for (const auto& p : plan) {
        j["plan"].push_back({{"step", p.step}, {"when", p.when}, {"command", p.command}});
    }
    return j.dump(2) + "\n";
}

std::string AddMaskCommands(const SecretMask& mask) {
    std::string out;
    for (const auto& s : mask.Secrets()) {
        out += "::add-mask::" + GithubEscapeData(s) + "\n";
        std::string encoded = PercentEncode(s);
        if (encoded != s) {
            out += "::add-mask::" + GithubEscapeData(encoded) + "\n";
        }
    }
    return out;
}

} // namespace pgsplit::provision
