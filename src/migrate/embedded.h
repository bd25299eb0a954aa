#pragma once

#include <string>
#include <vector>

namespace pgsplit {

// One migration file compiled into the binary (see cmake/embed_migrations.cmake).
struct EmbeddedFile {
    std::string name;     // file name, e.g. "0001_schema_migrations.sql"
    std::string contents; // raw bytes as in the repository
};

const std::vector<EmbeddedFile>& EmbeddedMigrations();

} // namespace pgsplit
