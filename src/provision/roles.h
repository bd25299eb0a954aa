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
    std::string password; // plaintext, only ever used client-side
};

struct RoleOutcome {
    std::string name;
    std::string action;               // "created" or "password rotated"
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
std::vector<RoleOutcome> EnsureAppRoles(pg::Connection& conn, const std::vector<AppRole>& roles,
                                        const Logger& log);

} // namespace pgsplit::provision
