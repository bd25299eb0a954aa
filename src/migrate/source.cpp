#include "migrate/source.h"

#include "core/error.h"
#include "migrate/embedded.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <openssl/evp.h>
#include <regex>
#include <sstream>

namespace pgsplit::migrate {
namespace {

const std::regex kNamePattern(R"(^(\d{4,})_([A-Za-z0-9_\-]+)\.sql$)");

bool HasNoTransactionDirective(const std::string& sql) {
    static const std::regex directive(R"((^|\n)[ \t]*--[ \t]*pgsplit:no-transaction[ \t]*(\n|$))");
    return std::regex_search(sql, directive);
}

void SortAndCheck(std::vector<MigrationFile>& files, const std::string& where) {
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return std::stoll(a.version) < std::stoll(b.version); });
    for (size_t i = 1; i < files.size(); ++i) {
        if (std::stoll(files[i].version) == std::stoll(files[i - 1].version)) {
            throw Error(ExitCode::Usage,
                        fmt::format("two migrations in {} share version {}: '{}' and '{}'", where,
                                    files[i].version, files[i - 1].name, files[i].name),
                        "give each migration its own number");
        }
    }
}

} // namespace

std::string NormalizeSql(std::string_view raw) {
    if (raw.size() >= 3 && static_cast<unsigned char>(raw[0]) == 0xEF &&
        static_cast<unsigned char>(raw[1]) == 0xBB && static_cast<unsigned char>(raw[2]) == 0xBF) {
        raw.remove_prefix(3);
    }
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\r') {
            out += '\n';
            if (i + 1 < raw.size() && raw[i + 1] == '\n') {
                ++i;
            }
        } else {
            out += raw[i];
        }
    }
    return out;
}

std::string Checksum(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
    std::string out = "sha256:";
    for (unsigned int i = 0; i < len; ++i) {
        out += fmt::format("{:02x}", digest[i]);
    }
    return out;
}

MigrationFile MakeMigration(const std::string& name, std::string_view raw, const std::string& origin) {
    std::smatch m;
    if (!std::regex_match(name, m, kNamePattern)) {
        throw Error(ExitCode::Usage,
                    fmt::format("migration file name '{}' is not NNNN_description.sql", name),
                    "rename it, e.g. 0007_add_signal_view.sql");
    }
    MigrationFile f;
    f.version = m[1];
    f.description = m[2];
    std::replace(f.description.begin(), f.description.end(), '_', ' ');
    f.name = name;
    f.origin = origin;
    f.sql = NormalizeSql(raw);
    f.checksum = Checksum(f.sql);
    f.no_transaction = HasNoTransactionDirective(f.sql);
    return f;
}

std::vector<MigrationFile> LoadEmbedded() {
    std::vector<MigrationFile> files;
    for (const auto& e : EmbeddedMigrations()) {
        files.push_back(MakeMigration(e.name, e.contents, "embedded"));
    }
    SortAndCheck(files, "the embedded set");
    return files;
}

std::vector<MigrationFile> LoadDirectory(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw Error(ExitCode::Usage, fmt::format("--dir '{}' is not a directory", dir),
                    "point --dir at the folder holding NNNN_description.sql files");
    }
    std::vector<MigrationFile> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || entry.path().extension() != ".sql") {
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        if (!in) {
            throw Error(ExitCode::Usage, fmt::format("cannot read migration '{}'", entry.path().string()));
        }
        std::stringstream ss;
        ss << in.rdbuf();
        files.push_back(MakeMigration(name, ss.str(), entry.path().string()));
    }
    SortAndCheck(files, fmt::format("'{}'", dir));
    return files;
}

} // namespace pgsplit::migrate
