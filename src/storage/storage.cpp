#include "storage/storage.h"

#include "config/settings.h"
#include "core/error.h"
#include "core/github_annotations.h"
#include "storage/azure/blob_storage.h"

#include <fmt/format.h>

namespace pgsplit::storage {

std::string ConfineRelativePath(const std::string& path, const std::string& shown_root) {
    auto refuse = [&](const char* why) {
        throw Error(ExitCode::Source,
                    fmt::format("table '{}' names a file outside the table: '{}' ({})", shown_root,
                                EscapeControlChars(path), why),
                    "pgsplit reads only files under the table's own folder; the Delta log is damaged or "
                    "was written to point elsewhere");
    };
    if (path.find('\0') != std::string::npos) {
        refuse("a NUL byte");
    }
    std::string out;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t slash = path.find('/', pos);
        if (slash == std::string::npos) {
            slash = path.size();
        }
        std::string_view seg(path.data() + pos, slash - pos);
        if (seg == "..") {
            refuse("a '..' segment");
        }
        if (!seg.empty() && seg != ".") {
            if (!out.empty()) {
                out += '/';
            }
            out += seg;
        }
        pos = slash + 1;
    }
    return out;
}

std::unique_ptr<Storage> OpenStorage(const std::string& uri, const StorageSettings& settings) {
    if (uri.empty()) {
        throw Error(ExitCode::Usage, "empty table location",
                    "give a local path, file://, abfss:// or https:// URI");
    }
    auto scheme_end = uri.find("://");
    if (scheme_end == std::string::npos || uri.rfind("file://", 0) == 0) {
        return OpenLocalStorage(uri);
    }
    std::string scheme = uri.substr(0, scheme_end);
    if (scheme == "abfss" || scheme == "abfs" || scheme == "https" || scheme == "http") {
        // http:// only makes sense for an emulator's path-style URL; the parser says so otherwise.
        return azure::OpenAzureStorage(uri, settings);
    }
    throw Error(
        ExitCode::Usage, fmt::format("table location '{}': unknown scheme '{}'", uri, scheme),
        "use a local path, file://, abfss://FILESYSTEM@ACCOUNT.dfs.core.windows.net/PATH or https://");
}

} // namespace pgsplit::storage
