#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgsplit {

// Returns the DSN with any password replaced by ***, for every message that names a connection.
// Works on URIs (postgresql://user:pw@host/db?password=pw) and key=value strings (password=pw), the
// way libpq splits them, and also masks sslpassword. Text that is not a DSN passes through, with any
// password=value in it masked.
std::string RedactDsn(const std::string& dsn);

// Applies pgsplit's connection defaults: when a host ends in .postgres.database.azure.com (any case)
// and the DSN sets no sslmode, sslmode=verify-full, with the system CA bundle unless sslrootcert is
// set. Returns the DSN libpq should use; everything else libpq reads from it is unchanged.
std::string ApplyDsnDefaults(const std::string& dsn);

// The host named by a DSN (first host when several), or empty.
std::string DsnHost(const std::string& dsn);

// libpq's own reading of a DSN (PQconninfoParse): every keyword it sets, with its value; nullopt when
// libpq rejects the DSN.
std::optional<std::map<std::string, std::string>> ParseDsnOptions(const std::string& dsn);

// For a URI whose userinfo libpq cannot tell apart (an unencoded '/' or '@' in the password): the
// whole span between "://" and the '@' that RedactDsn hides, and the part after its first ':' (the
// password as written), for ::add-mask::. Empty for a DSN libpq reads unambiguously.
std::vector<std::string> UnclearUserinfoSecrets(const std::string& dsn);

// The password of a DSN (URI or key=value) in each spelling it could be printed in: as libpq decodes it,
// fully percent-encoded, and as written in a URI's userinfo; empty when it has none (config/secrets.cpp).
std::vector<std::string> DsnPasswordForms(const std::string& dsn);

// The value libpq reads for `keyword` (e.g. "sslrootcert"), or empty when unset or unparsable.
std::string DsnOption(const std::string& dsn, const std::string& keyword);

// RFC 3986 percent-encoding: everything but unreserved characters becomes %XX (upper-case hex), as a
// URI's userinfo, path and query hold text.
std::string PercentEncode(std::string_view text);

// `dsn` with one more connection option: `?key=value` / `&key=value` (percent-encoded) on a URI,
// ` key='value'` (quoted and escaped) on a key=value string.
std::string DsnWithOption(const std::string& dsn, const std::string& key, const std::string& value);

// postgresql://user[:password]@fqdn:5432/database, every part percent-encoded, with pgsplit's
// connection defaults (ApplyDsnDefaults: verify-full for Azure hosts), as provision prints DSNs.
std::string AzureServerDsn(const std::string& user, const std::string& password, const std::string& fqdn,
                           const std::string& database);

} // namespace pgsplit
