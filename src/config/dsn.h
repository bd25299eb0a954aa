#pragma once

#include <string>

namespace pgsplit {

// Returns the DSN with any password replaced by ***, for every message that names a connection.
// Works on URIs (postgresql://user:pw@host/db?password=pw) and key=value strings (password=pw).
std::string RedactDsn(const std::string& dsn);

// Applies pgsplit's connection defaults: for hosts ending in .postgres.database.azure.com with no
// sslmode in the DSN, sslmode=verify-full with the system CA bundle. Returns the DSN libpq should use.
std::string ApplyDsnDefaults(const std::string& dsn);

// The host named by a DSN (first host when several), or empty.
std::string DsnHost(const std::string& dsn);

} // namespace pgsplit
