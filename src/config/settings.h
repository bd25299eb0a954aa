#pragma once

// The typed sections Config resolves (config.h). Modules below the commands take the section they
// need, not the whole Config, and no module outside src/config names an environment variable or a
// pgsplit.yaml key to look it up: the names are in one table (EnvVars() in config.cpp, next to the
// known keys of the file).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit {

// The Azure credential chain (identity/credential.h): which credential to use and what each one needs.
// Shared by storage and PostgreSQL. Each field: environment, else pgsplit.yaml where a key exists.
struct IdentitySettings {
    std::optional<std::string> credential;           // --azure-credential, PGSPLIT_AZURE_CREDENTIAL
    std::optional<std::string> tenant_id;            // AZURE_TENANT_ID
    std::optional<std::string> client_id;            // AZURE_CLIENT_ID, storage.client_id
    std::optional<std::string> client_secret;        // AZURE_CLIENT_SECRET
    std::optional<std::string> federated_token_file; // AZURE_FEDERATED_TOKEN_FILE
    std::optional<std::string> authority_host;       // AZURE_AUTHORITY_HOST (default the public cloud)
    std::optional<std::string> identity_endpoint;    // IDENTITY_ENDPOINT (Container Apps, App Service)
    std::optional<std::string> identity_header;      // IDENTITY_HEADER
    std::optional<std::string> imds_host;            // AZURE_POD_IDENTITY_AUTHORITY_HOST (IMDS address)
    std::string search_path;                         // PATH, to find az
    std::vector<std::string> child_environment;      // what az runs with (pgsplit's secrets withheld)
    std::chrono::milliseconds cli_timeout{30000};    // PGSPLIT_AZURE_CLI_TIMEOUT
};

// How PostgreSQL connections authenticate: with the DSN's password (libpq as usual), or with a
// Microsoft Entra ID token for `token_scope` as the password of every new connection.
struct PgAuthSettings {
    bool entra = false; // --pg-auth, PGSPLIT_PG_AUTH, postgres.auth: password | entra
    std::string token_scope = "https://ossrdbms-aad.database.windows.net/.default"; // PGSPLIT_PG_TOKEN_SCOPE
};

// Where Azure storage is and how to authenticate to it. Each field: environment, else pgsplit.yaml.
struct StorageSettings {
    std::optional<std::string> endpoint;    // AZURE_STORAGE_ENDPOINT, storage.endpoint
    std::optional<std::string> sas_token;   // AZURE_STORAGE_SAS_TOKEN, storage.sas_token
    std::optional<std::string> account_key; // AZURE_STORAGE_KEY, storage.account_key
    std::optional<std::string> ca_file;     // PGSPLIT_STORAGE_CA_FILE, storage.ca_file (PEM bundle)
    // Without a SAS or key, storage asks the credential chain for a token (scope storage.azure.com).
    IdentitySettings identity;
    // Requests one remote table may have in flight (--io-concurrency): 1 reads file after file, range
    // after range, as pgsplit did before read-ahead existed.
    int io_concurrency = 8;
};

// The Delta locations of the two signal tables (a --signals-table/--composite-table flag wins).
struct SignalsSettings {
    std::optional<std::string> signals_table;   // PGSPLIT_SIGNALS_TABLE, signals.signals_table
    std::optional<std::string> composite_table; // PGSPLIT_COMPOSITE_TABLE, signals.composite_table
};

// One `tables.NAME` entry of pgsplit.yaml (the generic `pgsplit sync NAME`); empty when absent.
struct TableSettings {
    std::optional<std::string> source;
    std::optional<std::string> target;
    std::optional<std::string> partition_column;
};

// What provision reads from the environment: the admin DSN and password, and the app roles'
// passwords (PGSPLIT_<ROLE>_PASSWORD). Empty values count as unset.
struct ProvisionSettings {
    std::optional<std::string> admin_dsn;      // PGSPLIT_ADMIN_DSN
    std::optional<std::string> admin_password; // PGSPLIT_ADMIN_PASSWORD
};

} // namespace pgsplit
