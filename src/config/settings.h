#pragma once

// The typed sections Config resolves (config.h). Modules below the commands take the section they
// need, not the whole Config, and no module outside src/config names an environment variable or a
// pgsplit.yaml key to look it up: the names are in one table (EnvVars() in config.cpp, next to the
// known keys of the file).

#include <optional>
#include <string>

namespace pgsplit {

// Where Azure storage is and how to authenticate to it. Each field: environment, else pgsplit.yaml.
struct StorageSettings {
    std::optional<std::string> endpoint;          // AZURE_STORAGE_ENDPOINT, storage.endpoint
    std::optional<std::string> sas_token;         // AZURE_STORAGE_SAS_TOKEN, storage.sas_token
    std::optional<std::string> account_key;       // AZURE_STORAGE_KEY, storage.account_key
    std::optional<std::string> client_id;         // AZURE_CLIENT_ID, storage.client_id
    std::optional<std::string> identity_endpoint; // IDENTITY_ENDPOINT (Container Apps managed identity)
    std::optional<std::string> identity_header;   // IDENTITY_HEADER
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
