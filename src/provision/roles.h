#pragma once

// The application roles of SPEC §8, created and rotated without the plaintext password ever reaching
// the server: the SCRAM-SHA-256 verifier is computed here (PQencryptPasswordConn) and only the
// verifier appears in the ALTER ROLE / CREATE ROLE text, so a server with log_statement=all logs
// nothing an attacker could log in with.

#include "core/log.h"
#include "pg/connection.h"

#include <string>
#include <vector>

namespace pgsplit::provision {

struct AppRole {
    std::string name;     // ranking_writer, api_service, backtest_service
    std::string password; // plaintext, only ever used client-side; empty for an Entra principal
    // Set (a GUID): the role is a Microsoft Entra principal for this managed identity / service principal,
    // created with pgaadauth_create_principal_with_oid and logging in with a token, never a password.
    std::string entra_object_id;
};

struct RoleOutcome {
    std::string name;
    std::string action;               // "created", "password rotated", "exists" (Entra principal)
    std::string auth = "password";    // "password" or "entra"
    std::vector<std::string> granted; // what was granted, for the report
    std::vector<std::string> skipped; // grants whose objects do not exist yet
};

// The roles pgsplit manages, in the order they are reported.
std::vector<std::string> AppRoleNames(bool legacy_roles);

// SCRAM-SHA-256 verifier of `password` for `role`, computed by libpq on this side of the connection.
std::string ScramVerifier(const pg::Connection& conn, const std::string& role, const std::string& password);

// Creates each role when missing (LOGIN, no CREATEDB/CREATEROLE), sets its password as a verifier, and
// grants CONNECT on the current database plus the schema privileges of SPEC §8. Grants on schemas or
// tables that do not exist yet are skipped and reported (migration 0003/0004 grant them later, since
// the roles then exist). Everything runs in one transaction.
// A role with entra_object_id is instead created, when missing, by Azure's
// `pgaadauth_create_principal_with_oid(name, object_id, 'service', false, false)` (bound parameters);
// an existing one is left as it is (no password is set, none rotated). It gets the same grants.
std::vector<RoleOutcome> EnsureAppRoles(pg::Connection& conn, const std::vector<AppRole>& roles,
                                        const Logger& log);

} // namespace pgsplit::provision
