#include "core/byte_source.h"

#include "core/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pgsplit {
namespace {

class LocalFileSource final : public ByteSource {
public:
    LocalFileSource(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
    ~LocalFileSource() override { ::close(fd_); }
    LocalFileSource(const LocalFileSource&) = delete;
    LocalFileSource& operator=(const LocalFileSource&) = delete;

    const std::string& Name() const override { return path_; }
    uint64_t Size() override { return size_; }

    void Read(uint64_t offset, uint64_t length, uint8_t* out) override {
        if (offset > size_ || length > size_ - offset) {
            throw Error(
                ExitCode::Source,
                fmt::format("read past the end of '{}': {} bytes at offset {} but the file has {} bytes",
                            path_, length, offset, size_),
                "the file is truncated or its metadata is corrupt");
        }
        uint64_t done = 0;
        while (done < length) {
            ssize_t n = ::pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                throw Error(ExitCode::Source,
                            fmt::format("cannot read '{}' at offset {}: {}", path_, offset + done,
                                        n == 0 ? "unexpected end of file" : std::strerror(errno)));
            }
            done += static_cast<uint64_t>(n);
        }
    }

private:
    std::string path_;
    int fd_;
    uint64_t size_;
};

} // namespace

std::unique_ptr<ByteSource> OpenLocalFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw Error(ExitCode::Source, fmt::format("cannot open '{}': {}", path, std::strerror(errno)),
                    "check the path and that the file is readable");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(ExitCode::Source, fmt::format("'{}' is not a regular file", path));
    }
    return std::make_unique<LocalFileSource>(path, fd, static_cast<uint64_t>(st.st_size));
}

} // namespace pgsplit
