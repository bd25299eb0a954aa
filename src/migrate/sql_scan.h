#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgsplit::migrate {

// A top-level SQL statement found by a lexical scan that understands quotes, dollar quotes,
// comments and BEGIN ATOMIC bodies (no parsing beyond that).
struct Statement {
    int line = 1;                   // line of the statement's first word
    std::vector<std::string> words; // its first top-level words, upper-cased (at most 16)
    bool concurrently = false;      // CONCURRENTLY appears as a top-level word
    bool empty() const { return words.empty(); }
};

std::vector<Statement> SplitStatements(std::string_view sql);

struct Finding {
    int line = 0;
    std::string what; // e.g. "COMMIT", "CREATE INDEX CONCURRENTLY"
};

// BEGIN / START TRANSACTION / COMMIT / END / ROLLBACK / ABORT / PREPARE TRANSACTION at top level.
std::optional<Finding> FindTransactionControl(const std::vector<Statement>& statements);

// Statements PostgreSQL refuses inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...).
std::optional<Finding> FindNonTransactional(const std::vector<Statement>& statements);

} // namespace pgsplit::migrate
