#include "provision/roles.h"

#include "core/error.h"
#include "pg/transaction.h"

#include <fmt/format.h>
#include <memory>

namespace pgsplit::provision {
namespace {

constexpr const char* kDuplicateObject = "42710";
constexpr const char* kUndefinedFunction = "42883";

struct PqFree {
    void operator()(char* p) const { PQfreemem(p); }
};

// One privilege on one object, granted only when the object exists.
struct Grant {
    std::string what;       // "USAGE ON SCHEMA ranking"
    std::string exists_sql; // a query returning true when the object exists
};

Grant SchemaGrant(const std::string& privileges, const std::string& schema) {
    return {fmt::format("{} ON SCHEMA {}", privileges, schema),
            fmt::format("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{}')", schema)};
}

Grant TableGrant(const std::string& privileges, const std::string& table) {
    return {fmt::format("{} ON TABLE {}", privileges, table),
            fmt::format("SELECT to_regclass('{}') IS NOT NULL", table)};
}

const std::vector<std::string> kRankingTables = {"ranking.ranking_signal", "ranking.composite_signal_daily",
                                                 "ranking.signal_sync_state"};

// SPEC §8, least privilege: no CREATE anywhere for the application roles. ranking_writer manages the
// month partitions through membership in ranking_owner (attaching a partition needs ownership).
std::vector<Grant> GrantsFor(const std::string& role) {
    std::vector<Grant> grants;
    if (role == "ranking_writer") {
        grants.push_back({"ranking_owner (membership)",
                          "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ranking_owner')"});
        grants.push_back(SchemaGrant("USAGE", "ranking"));
        for (const auto& t : kRankingTables) {
            grants.push_back(TableGrant("SELECT, INSERT, UPDATE, DELETE", t));
        }
    } else if (role == "api_service") {
        grants.push_back(SchemaGrant("USAGE", "ranking"));
        for (const auto& t : kRankingTables) {
            grants.push_back(TableGrant("SELECT", t));
        }
        grants.push_back(SchemaGrant("USAGE", "backtest"));
        grants.push_back(TableGrant("SELECT, INSERT, UPDATE", "backtest.runs"));
    } else if (role == "backtest_service") {
        grants.push_back(SchemaGrant("USAGE", "backtest"));
        grants.push_back(TableGrant("SELECT, INSERT, UPDATE", "backtest.runs"));
    }
    return grants;
}

std::string Verifier(const pg::Connection& conn, const AppRole& role) {
    return pg::QuoteLiteral(conn, ScramVerifier(conn, role.name, role.password));
}

// Azure's pgaadauth extension maps the new role to the identity's object id (a security label); the
// token's oid claim is what it checks at login. Name and object id are bound parameters, never spliced.
// In a savepoint, so a concurrent provision that created it first leaves "exists" rather than an error.
std::string CreateEntraPrincipal(pg::Connection& conn, const AppRole& role) {
    pg::Savepoint create(conn, "create_entra_principal");
    try {
        conn.QueryValue("SELECT pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)",
                        {role.name, role.entra_object_id});
        create.Release();
        return "created";
    } catch (const pg::SqlError& e) {
        if (e.sqlstate() == kDuplicateObject) {
            create.Rollback();
            return "exists";
        }
        if (e.sqlstate() == kUndefinedFunction) {
            throw Error(
                ExitCode::Failure,
                fmt::format("role {}: pgaadauth_create_principal_with_oid does not exist on this server, "
                            "so it cannot be created as an Entra principal",
                            role.name),
                "enable Microsoft Entra authentication on the server (provision --entra-admin ...) and "
                "connect as an Entra administrator with a token (--pg-auth entra)");
        }
        throw;
    }
}

std::string GrantSql(const std::string& role_ident, const Grant& g) {
    if (g.what == "ranking_owner (membership)") {
        return "GRANT ranking_owner TO " + role_ident;
    }
    return fmt::format("GRANT {} TO {}", g.what, role_ident);
}

} // namespace

std::vector<std::string> AppRoleNames(bool legacy_roles) {
    std::vector<std::string> names = {"ranking_writer", "api_service"};
    if (legacy_roles) {
        names.push_back("backtest_service");
    }
    return names;
}

std::string ScramVerifier(const pg::Connection& conn, const std::string& role, const std::string& password) {
    std::unique_ptr<char, PqFree> verifier(
        PQencryptPasswordConn(conn.Raw(), password.c_str(), role.c_str(), "scram-sha-256"));
    if (!verifier) {
        // libpq's message names the cause (out of memory, unsupported algorithm); it never holds the
        // password.
        throw Error(ExitCode::Failure,
                    fmt::format("cannot compute the SCRAM verifier for role {}: {}", role,
                                PQerrorMessage(conn.Raw())),
                    "pgsplit needs libpq 10 or later for scram-sha-256");
    }
    return verifier.get();
}

std::vector<RoleOutcome> EnsureAppRoles(pg::Connection& conn, const std::vector<AppRole>& roles,
                                        const Logger& log) {
    std::vector<RoleOutcome> outcomes;
    std::string database = conn.QueryValue("SELECT current_database()").value_or("");
    pg::Transaction tx(conn);
    for (const auto& role : roles) {
        RoleOutcome outcome{role.name, "", role.entra_object_id.empty() ? "password" : "entra", {}, {}};
        std::string ident = pg::QuoteIdent(conn, role.name);
        bool exists = conn.QueryValue("SELECT 1 FROM pg_roles WHERE rolname = $1", {role.name}).has_value();
        if (!role.entra_object_id.empty()) {
            outcome.action = exists ? "exists" : CreateEntraPrincipal(conn, role);
        } else if (!exists) {
            // A concurrent provision may create it between the check and here; then rotate instead.
            pg::Savepoint create(conn, "create_role");
            try {
                conn.Exec(fmt::format("CREATE ROLE {} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT PASSWORD {}",
                                      ident, Verifier(conn, role)));
                create.Release();
                outcome.action = "created";
            } catch (const pg::SqlError& e) {
                if (e.sqlstate() != kDuplicateObject) {
                    throw;
                }
                create.Rollback();
            }
        }
        if (outcome.action.empty()) {
            conn.Exec(fmt::format("ALTER ROLE {} WITH LOGIN PASSWORD {}", ident, Verifier(conn, role)));
            outcome.action = "password rotated";
        }
        conn.Exec(fmt::format("GRANT CONNECT ON DATABASE {} TO {}", pg::QuoteIdent(conn, database), ident));
        outcome.granted.push_back("CONNECT ON DATABASE " + database);
        for (const auto& g : GrantsFor(role.name)) {
            if (conn.QueryValue(g.exists_sql).value_or("f") != "t") {
                outcome.skipped.push_back(g.what);
                continue;
            }
            conn.Exec(GrantSql(ident, g));
            outcome.granted.push_back(g.what);
        }
        log.Info(fmt::format("role {}: {}{}", role.name, outcome.action,
                             role.entra_object_id.empty()
                                 ? ""
                                 : fmt::format(" (Entra principal, object id {})", role.entra_object_id)),
                 {{"step", "app roles"},
                  {"role", role.name},
                  {"auth", outcome.auth},
                  {"granted", outcome.granted.size()}});
        if (!outcome.skipped.empty()) {
            log.Warn(fmt::format("role {}: {} grant(s) skipped because the objects do not exist yet; "
                                 "apply the migrations (--apply-migrations or pgsplit migrate), which "
                                 "grant them to existing roles",
                                 role.name, outcome.skipped.size()));
        }
        outcomes.push_back(std::move(outcome));
    }
    tx.Commit();
    return outcomes;
}

} // namespace pgsplit::provision
