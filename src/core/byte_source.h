#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace pgsplit {

// A random-access source of bytes: a local file now, a remote blob later.
// The Parquet reader sees files only through this interface, so it never learns where bytes come from.
class ByteSource {
public:
    virtual ~ByteSource() = default;

    // Path or URI, used in error messages.
    virtual const std::string& Name() const = 0;

    // Total size in bytes.
    virtual uint64_t Size() = 0;

    // Reads exactly `length` bytes at `offset` into `out`. Throws pgsplit::Error when the range is not
    // inside the source (ExitCode::Source) or the read fails (Source for local files, Connect for remote).
    virtual void Read(uint64_t offset, uint64_t length, uint8_t* out) = 0;
};

// Opens a local file for ranged reads. Throws Error(Source) naming the path when it cannot be opened.
std::unique_ptr<ByteSource> OpenLocalFile(const std::string& path);

} // namespace pgsplit
