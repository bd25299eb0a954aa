#include "storage/storage.h"

#include "config/config.h"
#include "core/error.h"
#include "storage/azure/blob_storage.h"

#include <fmt/format.h>

namespace pgsplit::storage {

std::unique_ptr<Storage> OpenStorage(const std::string& uri, const Config& config) {
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
        return azure::OpenAzureStorage(uri, config);
    }
    throw Error(
        ExitCode::Usage, fmt::format("table location '{}': unknown scheme '{}'", uri, scheme),
        "use a local path, file://, abfss://FILESYSTEM@ACCOUNT.dfs.core.windows.net/PATH or https://");
}

} // namespace pgsplit::storage
