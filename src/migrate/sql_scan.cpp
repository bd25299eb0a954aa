#include "migrate/sql_scan.h"

#include <cctype>

namespace pgsplit::migrate {
namespace {

constexpr size_t kMaxWords = 16;

bool IsWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

std::string Upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

bool StartsWith(const Statement& s, std::initializer_list<const char*> words) {
    size_t i = 0;
    for (const char* w : words) {
        if (i >= s.words.size() || s.words[i] != w) {
            return false;
        }
        ++i;
    }
    return true;
}

bool Contains(const Statement& s, const char* word) {
    for (const auto& w : s.words) {
        if (w == word) {
            return true;
        }
    }
    return false;
}

} // namespace

std::vector<Statement> SplitStatements(std::string_view sql) {
    std::vector<Statement> out;
    Statement cur;
    int line = 1;
    int atomic_depth = 0; // inside CREATE FUNCTION ... BEGIN ATOMIC ... END
    size_t i = 0;
    const size_t n = sql.size();

    std::string prev_word; // the previous top-level word of the current statement
    auto finish = [&]() {
        if (!cur.empty()) {
            out.push_back(std::move(cur));
        }
        cur = Statement{};
        prev_word.clear();
    };
    auto add_word = [&](std::string word, int at_line) {
        if (cur.words.empty()) {
            cur.line = at_line;
        }
        if (word == "CONCURRENTLY") {
            cur.concurrently = true;
        }
        // SQL-standard function bodies (BEGIN ATOMIC ... END) contain semicolons of their own.
        bool in_create = !cur.words.empty() && cur.words.front() == "CREATE";
        if (in_create && prev_word == "BEGIN" && word == "ATOMIC") {
            ++atomic_depth;
        } else if (atomic_depth > 0 && word == "CASE") {
            ++atomic_depth;
        } else if (atomic_depth > 0 && word == "END") {
            --atomic_depth;
        }
        prev_word = word;
        if (cur.words.size() < kMaxWords) {
            cur.words.push_back(std::move(word));
        }
    };

    while (i < n) {
        char c = sql[i];
        if (c == '\n') {
            ++line;
            ++i;
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n') {
                ++i;
            }
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            int depth = 1;
            i += 2;
            while (i < n && depth > 0) {
                if (sql[i] == '\n') {
                    ++line;
                }
                if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
                    ++depth;
                    i += 2;
                } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
                    --depth;
                    i += 2;
                } else {
                    ++i;
                }
            }
        } else if (c == '\'' || c == '"') {
            // E'...' strings allow backslash escapes; the E was consumed as a word, check it.
            bool backslash =
                c == '\'' && !cur.words.empty() && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
            if (backslash && !cur.words.empty() && (cur.words.back() == "E")) {
                cur.words.pop_back();
            }
            char q = c;
            int start_line = line;
            ++i;
            while (i < n) {
                if (sql[i] == '\n') {
                    ++line;
                }
                if (backslash && sql[i] == '\\' && i + 1 < n) {
                    i += 2;
                    continue;
                }
                if (sql[i] == q) {
                    if (i + 1 < n && sql[i + 1] == q) {
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                ++i;
            }
            if (cur.words.empty()) {
                cur.line = start_line;
                cur.words.push_back(q == '"' ? "\"IDENT\"" : "'LITERAL'");
            }
        } else if (c == '$' && (i == 0 || !IsWordChar(sql[i - 1]))) {
            // Dollar quote: $tag$ ... $tag$ (tag may be empty). A bare $1 parameter is not a quote.
            size_t j = i + 1;
            while (j < n && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) {
                ++j;
            }
            if (j < n && sql[j] == '$' &&
                !(j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
                std::string_view tag = sql.substr(i, j - i + 1);
                size_t close = sql.find(tag, j + 1);
                size_t end = close == std::string_view::npos ? n : close + tag.size();
                for (size_t k = i; k < end; ++k) {
                    if (sql[k] == '\n') {
                        ++line;
                    }
                }
                if (cur.words.empty()) {
                    cur.line = line;
                }
                i = end;
            } else {
                ++i;
            }
        } else if (c == ';') {
            ++i;
            if (atomic_depth == 0) {
                finish();
            }
        } else if (IsWordChar(c)) {
            size_t j = i;
            while (j < n && IsWordChar(sql[j])) {
                ++j;
            }
            add_word(Upper(sql.substr(i, j - i)), line);
            i = j;
        } else {
            ++i;
        }
    }
    finish();
    return out;
}

std::optional<Finding> FindTransactionControl(const std::vector<Statement>& statements) {
    for (const auto& s : statements) {
        const std::string& w = s.words.front();
        if (w == "BEGIN" || w == "COMMIT" || w == "END" || w == "ABORT") {
            return Finding{s.line, w};
        }
        if (w == "ROLLBACK" && !(s.words.size() > 1 && s.words[1] == "TO")) {
            return Finding{s.line, w};
        }
        if (StartsWith(s, {"START", "TRANSACTION"})) {
            return Finding{s.line, "START TRANSACTION"};
        }
        if (StartsWith(s, {"PREPARE", "TRANSACTION"})) {
            return Finding{s.line, "PREPARE TRANSACTION"};
        }
    }
    return std::nullopt;
}

std::optional<Finding> FindNonTransactional(const std::vector<Statement>& statements) {
    for (const auto& s : statements) {
        if (s.concurrently &&
            (StartsWith(s, {"CREATE"}) || StartsWith(s, {"DROP", "INDEX"}) || StartsWith(s, {"REINDEX"}))) {
            bool create_index =
                StartsWith(s, {"CREATE", "INDEX"}) || StartsWith(s, {"CREATE", "UNIQUE", "INDEX"});
            if (create_index) {
                return Finding{s.line, "CREATE INDEX CONCURRENTLY"};
            }
            if (StartsWith(s, {"DROP", "INDEX"})) {
                return Finding{s.line, "DROP INDEX CONCURRENTLY"};
            }
            if (StartsWith(s, {"REINDEX"})) {
                return Finding{s.line, "REINDEX CONCURRENTLY"};
            }
        }
        if (StartsWith(s, {"ALTER", "TABLE"}) && s.concurrently && Contains(s, "DETACH")) {
            return Finding{s.line, "ALTER TABLE ... DETACH PARTITION CONCURRENTLY"};
        }
        if (StartsWith(s, {"VACUUM"})) {
            return Finding{s.line, "VACUUM"};
        }
        if (StartsWith(s, {"REINDEX", "DATABASE"}) || StartsWith(s, {"REINDEX", "SYSTEM"})) {
            return Finding{s.line, "REINDEX " + s.words[1]};
        }
        if (StartsWith(s, {"CREATE", "DATABASE"}) || StartsWith(s, {"DROP", "DATABASE"})) {
            return Finding{s.line, s.words[0] + " DATABASE"};
        }
        if (StartsWith(s, {"CREATE", "TABLESPACE"}) || StartsWith(s, {"DROP", "TABLESPACE"})) {
            return Finding{s.line, s.words[0] + " TABLESPACE"};
        }
        if (StartsWith(s, {"ALTER", "SYSTEM"})) {
            return Finding{s.line, "ALTER SYSTEM"};
        }
        if (StartsWith(s, {"CREATE", "SUBSCRIPTION"}) || StartsWith(s, {"DROP", "SUBSCRIPTION"})) {
            return Finding{s.line, s.words[0] + " SUBSCRIPTION"};
        }
    }
    return std::nullopt;
}

} // namespace pgsplit::migrate
