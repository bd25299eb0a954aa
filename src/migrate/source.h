#pragma once

#include <string>
#include <vector>

namespace pgsplit::migrate {

// One migration as pgsplit sees it: normalized text, checksum and directives.
struct MigrationFile {
    std::string version;         // "0003" (digits before the first underscore)
    std::string description;     // "ranking signals" (from the file name)
    std::string name;            // "0003_ranking_signals.sql"
    std::string origin;          // "embedded" or the file's path, for messages
    std::string sql;             // normalized text (no BOM, LF line endings)
    std::string checksum;        // "sha256:<hex>" of `sql`
    bool no_transaction = false; // declared "-- pgsplit:no-transaction"
};

// Removes a UTF-8 BOM and turns CRLF and lone CR into LF, so Windows and Linux checkouts agree.
std::string NormalizeSql(std::string_view raw);

// "sha256:<lower-case hex>" of `text`.
std::string Checksum(std::string_view text);

// Builds a MigrationFile from a name and raw bytes. Throws Error(Usage) for a bad file name.
MigrationFile MakeMigration(const std::string& name, std::string_view raw, const std::string& origin);

// The migrations compiled into the binary, sorted by version.
std::vector<MigrationFile> LoadEmbedded();

// Every NNNN_description.sql in `dir`, sorted by version. Other files are ignored; a duplicate
// version or an unreadable directory is an error (Usage for a bad --dir, naming it).
std::vector<MigrationFile> LoadDirectory(const std::string& dir);

} // namespace pgsplit::migrate
