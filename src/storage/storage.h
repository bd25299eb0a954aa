#pragma once

// Where table bytes live. The Delta reader sees a table only through this interface (a root plus
// relative paths), so it never learns whether it reads a local directory or an ADLS container.
// OpenStorage is the single place that chooses a back-end from a URI.

#include "core/byte_source.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit {
struct StorageSettings;
} // namespace pgsplit

namespace pgsplit::storage {

// One object found by a listing.
struct FileEntry {
    std::string name; // relative to the listed directory, no leading '/'
    uint64_t size = 0;
};

// A file a scan is going to open, with its size as the log records it (0 when unknown).
struct PlannedFile {
    std::string path;
    uint64_t size = 0;
};

class Storage {
public:
    virtual ~Storage() = default;

    // A hint: the files the caller will Open next, in this order. A back-end where each request costs
    // a round trip (storage/azure) starts fetching their first bytes ahead, within its request and
    // memory bounds, and Open then takes what arrived. A new hint replaces the previous one; an empty
    // one drops it. Opening a file the hint did not name still works (without the head start).
    virtual void Prefetch(const std::vector<PlannedFile>& files) { (void)files; }

    // The root as given (URI or path), used in messages.
    virtual const std::string& Root() const = 0;

    // Files (not directories) directly inside `dir` (relative to the root, "" = the root itself),
    // sorted by name. A missing directory lists as empty: callers decide whether that is an error.
    virtual std::vector<FileEntry> List(const std::string& dir) = 0;

    // Opens `path` (relative to the root, or an absolute URI/path the back-end accepts) for ranged
    // reads. Throws Error(Source) naming the path when it does not exist or cannot be read.
    virtual std::unique_ptr<ByteSource> Open(const std::string& path) = 0;

    // Reads a whole small file (a commit, _last_checkpoint). nullopt when it does not exist; other
    // failures throw Error(Source) (Connect for remote back-ends).
    virtual std::optional<std::string> ReadIfExists(const std::string& path) = 0;

    // The full name of `path` for messages ("/data/t/_delta_log/00.json").
    virtual std::string Describe(const std::string& path) const = 0;
};

// A path the table's log or a caller names, made safe to read: "." and empty segments dropped, and
// anything that would leave the table refused with Error(Source) naming the path (a ".." segment, a NUL
// byte). Delta paths are percent-decoded before they get here, so "%2E%2E" arrives as ".." and is
// refused too. Every back-end passes relative paths through this before touching its medium, so the
// check happens once, in this layer, and nothing below it (a filesystem, an HTTP client) gets a path
// it could resolve outside the table. `shown_root` names the table in the message.
std::string ConfineRelativePath(const std::string& path, const std::string& shown_root);

// The back-end for a table URI, chosen here and nowhere else: a local path or file:// URI (local
// directory), abfss:// or an https:// blob URL (storage/azure). Another scheme is Error(Usage).
std::unique_ptr<Storage> OpenStorage(const std::string& uri, const StorageSettings& settings);

// A local directory as storage (also used by tests).
std::unique_ptr<Storage> OpenLocalStorage(const std::string& root);

} // namespace pgsplit::storage
