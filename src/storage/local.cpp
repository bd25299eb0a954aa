#include "core/error.h"
#include "core/github_annotations.h"
#include "storage/storage.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <system_error>

namespace pgsplit::storage {
namespace {

namespace fs = std::filesystem;

// file:///a/b -> /a/b with %XX decoded; a plain path is returned as is.
std::string LocalPathFromUri(const std::string& uri) {
    if (uri.rfind("file://", 0) != 0) {
        return uri;
    }
    std::string rest = uri.substr(7);
    // file://localhost/path is the same as file:///path.
    if (rest.rfind("localhost/", 0) == 0) {
        rest = rest.substr(9);
    }
    if (rest.empty() || rest[0] != '/') {
        throw Error(ExitCode::Usage, fmt::format("file URI '{}' must name an absolute path", uri),
                    "write file:///absolute/path or a plain path");
    }
    std::string out;
    for (size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '%' && i + 2 < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(rest[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(rest.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(rest[i]);
        }
    }
    return out;
}

class LocalStorage final : public Storage {
public:
    explicit LocalStorage(std::string root) : root_(std::move(root)) {
        dir_ = LocalPathFromUri(root_);
        while (dir_.size() > 1 && dir_.back() == '/') {
            dir_.pop_back();
        }
    }

    const std::string& Root() const override { return root_; }

    std::vector<FileEntry> List(const std::string& dir) override {
        std::vector<FileEntry> out;
        fs::path p = Resolve(dir);
        std::error_code ec;
        if (!fs::is_directory(p, ec)) {
            return out;
        }
        fs::directory_iterator it(p, ec);
        if (ec) {
            throw Error(ExitCode::Source, fmt::format("cannot list '{}': {}", p.string(), ec.message()),
                        "check the path and its permissions");
        }
        for (; it != fs::directory_iterator(); it.increment(ec)) {
            if (ec) {
                throw Error(ExitCode::Source, fmt::format("cannot list '{}': {}", p.string(), ec.message()));
            }
            std::error_code fec;
            if (!it->is_regular_file(fec)) {
                continue;
            }
            uint64_t size = it->file_size(fec);
            out.push_back({it->path().filename().string(), fec ? 0 : size});
        }
        std::sort(out.begin(), out.end(),
                  [](const FileEntry& a, const FileEntry& b) { return a.name < b.name; });
        return out;
    }

    std::unique_ptr<ByteSource> Open(const std::string& path) override {
        return OpenLocalFile(Resolve(path));
    }

    std::optional<std::string> ReadIfExists(const std::string& path) override {
        std::string full = Resolve(path);
        std::error_code ec;
        if (!fs::exists(full, ec)) {
            return std::nullopt;
        }
        std::ifstream in(full, std::ios::binary);
        if (!in) {
            throw Error(ExitCode::Source, fmt::format("cannot read '{}': {}", full, std::strerror(errno)),
                        "check the file's permissions");
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad()) {
            throw Error(ExitCode::Source, fmt::format("cannot read '{}'", full));
        }
        return ss.str();
    }

    std::string Describe(const std::string& path) const override {
        try {
            return Resolve(path);
        } catch (const Error&) {
            return dir_ + "/" + EscapeControlChars(path); // for messages only; never opened
        }
    }

private:
    // Every path the table names resolves inside the table's directory: a relative one is confined
    // (no '..'), an absolute path or file:// URI (which some writers log) must lie under the root.
    std::string Resolve(const std::string& path) const {
        std::string relative = path;
        if (path.rfind("file://", 0) == 0 || (!path.empty() && path[0] == '/')) {
            std::string absolute = path[0] == '/' ? path : LocalPathFromUri(path);
            std::string base = dir_ == "/" ? "/" : dir_ + "/";
            if (absolute.rfind(base, 0) != 0) {
                throw Error(ExitCode::Source,
                            fmt::format("table '{}' names a file outside the table: '{}'", root_,
                                        EscapeControlChars(path)),
                            "pgsplit reads only files under the table's own folder; the Delta log is "
                            "damaged or was written to point elsewhere");
            }
            relative = absolute.substr(base.size());
        }
        std::string confined = ConfineRelativePath(relative, root_);
        return confined.empty() ? dir_ : (dir_ == "/" ? "/" : dir_ + "/") + confined;
    }

    std::string root_;
    std::string dir_;
};

} // namespace

std::unique_ptr<Storage> OpenLocalStorage(const std::string& root) {
    return std::make_unique<LocalStorage>(root);
}

} // namespace pgsplit::storage
