#pragma once

// Where an Azure table lives and which URL its blobs are fetched from.
//
// Accepted table locations:
//   abfss://FILESYSTEM@ACCOUNT.dfs.core.windows.net/PATH     (also abfs://)
//   https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH     (also ACCOUNT.dfs..., read through the blob API)
//   http(s)://HOST:PORT/ACCOUNT/CONTAINER/PATH               (path style, as Azurite serves)
// An endpoint override (AZURE_STORAGE_ENDPOINT / storage.endpoint) sends every request to another base
// URL while the account and container still come from the table location: an override without a path
// is treated as path style (".../ACCOUNT" is appended), one with a path is the account's base URL as is.

#include <optional>
#include <string>
#include <string_view>

namespace pgsplit::storage::azure {

struct BlobLocation {
    std::string account;
    std::string container;
    std::string prefix;   // the table's folder inside the container, no leading or trailing '/'
    std::string base_url; // scheme://host[:port][/account], no trailing '/'
    std::string sas;      // a SAS given in the URI's query string (without '?'), empty when none
};

// Parses a table location. Throws Error(Usage) naming the URI and the accepted forms when it is not
// one of them.
BlobLocation ParseBlobUri(const std::string& uri, const std::optional<std::string>& endpoint_override);

// True for the schemes this back-end serves (abfs, abfss, http, https).
bool IsAzureUri(const std::string& uri);

// Percent-encodes a blob name for a URL path: unreserved characters and '/' stay as they are.
std::string EncodePath(std::string_view name);

// Percent-encodes a query parameter value (everything but unreserved characters).
std::string EncodeQueryValue(std::string_view value);

// Decodes %XX escapes (and nothing else: '+' is a literal plus in a path).
std::string DecodePercent(std::string_view text);

// The URL with every credential-looking query value (sig, and the whole SAS) replaced by "***", for
// messages and logs.
std::string RedactUrl(const std::string& url);

} // namespace pgsplit::storage::azure
