#include "storage/azure/blob_storage.h"

#include "config/settings.h"
#include "core/error.h"
#include "core/github_annotations.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace pgsplit::storage::azure {
namespace {

std::string XmlUnescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out.push_back(s[i]);
            continue;
        }
        size_t semi = s.find(';', i);
        if (semi == std::string_view::npos) {
            out.push_back(s[i]);
            continue;
        }
        std::string_view ent = s.substr(i + 1, semi - i - 1);
        if (ent == "amp") {
            out.push_back('&');
        } else if (ent == "lt") {
            out.push_back('<');
        } else if (ent == "gt") {
            out.push_back('>');
        } else if (ent == "quot") {
            out.push_back('"');
        } else if (ent == "apos") {
            out.push_back('\'');
        } else if (!ent.empty() && ent[0] == '#') {
            unsigned long cp = 0;
            try {
                cp = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                         ? std::stoul(std::string(ent.substr(2)), nullptr, 16)
                         : std::stoul(std::string(ent.substr(1)));
            } catch (...) {
                cp = '?';
            }
            // UTF-8 encode the code point.
            if (cp < 0x80) {
                out.push_back(static_cast<char>(cp));
            } else if (cp < 0x800) {
                out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
                out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
            } else if (cp < 0x10000) {
                out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
                out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
                out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
            } else {
                out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
                out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
                out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
                out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
            }
        } else {
            out.append(s.substr(i, semi - i + 1));
        }
        i = semi;
    }
    return out;
}

// The text of the first <tag>...</tag> inside [from, to) of `xml`; nullopt when absent. A
// self-closing <tag /> gives "".
std::optional<std::string> Element(const std::string& xml, const std::string& tag, size_t from, size_t to) {
    std::string open = "<" + tag;
    size_t pos = from;
    while (true) {
        pos = xml.find(open, pos);
        if (pos == std::string::npos || pos >= to) {
            return std::nullopt;
        }
        size_t after = pos + open.size();
        if (after < xml.size() && (xml[after] == '>' || xml[after] == ' ' || xml[after] == '/')) {
            break;
        }
        pos = after;
    }
    size_t gt = xml.find('>', pos);
    if (gt == std::string::npos || gt >= to) {
        return std::nullopt;
    }
    if (xml[gt - 1] == '/') {
        return std::string();
    }
    size_t close = xml.find("</" + tag + ">", gt);
    if (close == std::string::npos || close > to) {
        return std::nullopt;
    }
    return XmlUnescape(std::string_view(xml).substr(gt + 1, close - gt - 1));
}

std::string ErrorCode(const HttpResponse& resp) {
    std::string code = resp.Header("x-ms-error-code");
    if (code.empty()) {
        code = Element(resp.body, "Code", 0, resp.body.size()).value_or("");
    }
    return code;
}

std::string JoinPath(const std::string& a, const std::string& b) {
    if (a.empty()) {
        return b;
    }
    if (b.empty()) {
        return a;
    }
    return a + "/" + b;
}

// Content-Range "bytes 0-99/1234" -> 1234.
std::optional<uint64_t> TotalFromContentRange(const std::string& value) {
    auto slash = value.rfind('/');
    if (slash == std::string::npos || slash + 1 >= value.size() || value[slash + 1] == '*') {
        return std::nullopt;
    }
    try {
        return std::stoull(value.substr(slash + 1));
    } catch (...) {
        return std::nullopt;
    }
}

// A blob read by ranges with a small window cache (see blob_storage.h for the request budget).
class BlobSource final : public ByteSource {
public:
    BlobSource(BlobStorage& storage, std::string blob, std::string shown)
        : storage_(storage), blob_(std::move(blob)), shown_(std::move(shown)) {}

    // The first request: the head window, which also tells the size.
    void Start() {
        const auto& opt = storage_.Options();
        HttpResponse resp = storage_.GetBlob(blob_, 0, opt.first_window, "a read of " + shown_);
        if (resp.status == 416) {
            // Only an empty blob refuses a range starting at 0.
            size_ = 0;
            return;
        }
        if (resp.status == 404) {
            throw Error(ExitCode::Source, fmt::format("'{}' does not exist", shown_),
                        "the Delta log names a file that is gone: was the table vacuumed or rewritten?");
        }
        if (resp.status == 200) {
            size_ = resp.body.size(); // the server ignored the range and sent everything
        } else if (resp.status == 206) {
            auto total = TotalFromContentRange(resp.Header("content-range"));
            if (!total) {
                throw Error(ExitCode::Source,
                            fmt::format("'{}': no size in the Content-Range of the answer", shown_));
            }
            size_ = *total;
        } else {
            storage_.Fail(resp, "a read of " + shown_, shown_);
        }
        head_.offset = 0;
        head_.bytes = std::move(resp.body);
    }

    const std::string& Name() const override { return shown_; }
    uint64_t Size() override { return size_; }

    void Read(uint64_t offset, uint64_t length, uint8_t* out) override {
        if (offset > size_ || length > size_ - offset) {
            throw Error(ExitCode::Source, fmt::format("read of bytes {}..{} past the end of '{}' ({} bytes)",
                                                      offset, offset + length, shown_, size_));
        }
        if (length == 0) {
            return;
        }
        for (const Window* w : {&head_, &tail_, &current_}) {
            if (w->Holds(offset, length)) {
                std::memcpy(out, w->bytes.data() + (offset - w->offset), length);
                return;
            }
        }
        const auto& opt = storage_.Options();
        if (length >= opt.read_ahead) {
            Fetch(offset, length, nullptr, out);
            return;
        }
        // The footer and the page index sit at the end: keep one window there.
        uint64_t tail_start = size_ > opt.tail_window ? size_ - opt.tail_window : 0;
        if (offset >= tail_start) {
            uint64_t start = std::min(offset, tail_start);
            Fetch(start, size_ - start, &tail_, nullptr);
            std::memcpy(out, tail_.bytes.data() + (offset - tail_.offset), length);
            return;
        }
        // Column chunks of a row group are contiguous: reading ahead serves the next columns too.
        uint64_t want = std::min(size_ - offset, std::max(length, opt.read_ahead));
        Fetch(offset, want, &current_, nullptr);
        std::memcpy(out, current_.bytes.data(), length);
    }

private:
    struct Window {
        uint64_t offset = 0;
        std::string bytes;
        bool Holds(uint64_t off, uint64_t len) const {
            return !bytes.empty() && off >= offset && off + len <= offset + bytes.size();
        }
    };

    void Fetch(uint64_t offset, uint64_t length, Window* into, uint8_t* out) {
        std::string what = fmt::format("a read of bytes {}..{} of {}", offset, offset + length, shown_);
        HttpResponse resp = storage_.GetBlob(blob_, offset, length, what);
        if (resp.status == 404) {
            throw Error(ExitCode::Source, fmt::format("'{}' disappeared while it was read", shown_),
                        "the table is being vacuumed or rewritten; retry");
        }
        if (resp.status == 200 && resp.body.size() == size_) {
            resp.body = resp.body.substr(offset, length);
        } else if (resp.status != 206) {
            storage_.Fail(resp, what, shown_);
        }
        if (resp.body.size() != length) {
            throw Error(
                ExitCode::Source,
                fmt::format("'{}': asked for {} bytes at {}, got {}; the blob changed while it was read",
                            shown_, length, offset, resp.body.size()),
                "retry once the writer has finished");
        }
        if (into) {
            into->offset = offset;
            into->bytes = std::move(resp.body);
        } else {
            std::memcpy(out, resp.body.data(), length);
        }
    }

    BlobStorage& storage_;
    std::string blob_;
    std::string shown_;
    uint64_t size_ = 0;
    Window head_, tail_, current_;
};

} // namespace

ListPage ParseListBlobs(const std::string& xml) {
    ListPage page;
    size_t pos = 0;
    while (true) {
        size_t start = xml.find("<Blob>", pos);
        if (start == std::string::npos) {
            break;
        }
        size_t end = xml.find("</Blob>", start);
        if (end == std::string::npos) {
            throw Error(ExitCode::Connect, "azure storage sent a truncated blob listing",
                        "retry; if it persists, check any proxy between pgsplit and the account");
        }
        auto name = Element(xml, "Name", start, end);
        auto length = Element(xml, "Content-Length", start, end);
        // Hierarchical-namespace accounts list a directory as an empty blob marked hdi_isfolder.
        auto folder = Element(xml, "hdi_isfolder", start, end);
        if (name && !(folder && *folder == "true")) {
            uint64_t size = 0;
            try {
                size = length ? std::stoull(*length) : 0;
            } catch (...) {
                size = 0;
            }
            page.blobs.push_back({*name, size});
        }
        pos = end + 7;
    }
    page.next_marker = Element(xml, "NextMarker", 0, xml.size()).value_or("");
    return page;
}

BlobStorage::BlobStorage(const std::string& uri, const StorageSettings& settings, BlobOptions options)
    : options_(options) {
    loc_ = ParseBlobUri(uri, settings.endpoint);
    shown_root_ = RedactUrl(uri);
    http_ = std::make_shared<HttpClient>(options_.retry);
    credential_ = ResolveCredential(settings, loc_.sas, http_, shown_root_);
}

std::string BlobStorage::ContainerUrl() const {
    return loc_.base_url + "/" + EncodePath(loc_.container);
}

std::string BlobStorage::BlobName(const std::string& path) const {
    if (path.find("://") != std::string::npos) {
        // An absolute URI in the log (tables written by some engines): it must stay in this container.
        BlobLocation other;
        try {
            other = ParseBlobUri(path, std::nullopt);
        } catch (const Error& e) {
            // The location came from the table's log, not from the operator: a source error.
            throw Error(
                ExitCode::Source,
                fmt::format("table '{}' names a file pgsplit cannot locate: {}", shown_root_, e.what()),
                "the Delta log is damaged or names a file outside the table");
        }
        if (other.account != loc_.account || other.container != loc_.container) {
            throw Error(ExitCode::Source,
                        fmt::format("table '{}' names a file in another account or container: '{}'",
                                    shown_root_, EscapeControlChars(RedactUrl(path))),
                        "pgsplit reads a table's files from its own container only");
        }
        // Same container: it must still lie under the table's folder.
        std::string base = loc_.prefix.empty() ? "" : loc_.prefix + "/";
        if (other.prefix.rfind(base, 0) != 0) {
            throw Error(ExitCode::Source,
                        fmt::format("table '{}' names a file outside the table: '{}'", shown_root_,
                                    EscapeControlChars(RedactUrl(path))),
                        "pgsplit reads only files under the table's own folder");
        }
        return JoinPath(loc_.prefix, ConfineRelativePath(other.prefix.substr(base.size()), shown_root_));
    }
    // Confined here, before the URL is built; the HTTP client is also told not to collapse dot
    // segments (CURLOPT_PATH_AS_IS), so what was checked is what is requested.
    return JoinPath(loc_.prefix, ConfineRelativePath(path, shown_root_));
}

std::string BlobStorage::Describe(const std::string& path) const {
    if (path.find("://") != std::string::npos) {
        return RedactUrl(path);
    }
    std::string base = shown_root_.substr(0, shown_root_.find('?'));
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return path.empty() ? base : base + "/" + path;
}

HttpResponse BlobStorage::Send(const std::string& url, uint64_t offset, uint64_t length,
                               const std::string& what) {
    return http_->Send(
        [&] {
            HttpRequest r;
            r.url = url;
            r.headers.emplace_back("x-ms-version", kApiVersion);
            r.headers.emplace_back("x-ms-date", HttpDate(std::chrono::system_clock::now()));
            if (length > 0) {
                r.headers.emplace_back("x-ms-range", fmt::format("bytes={}-{}", offset, offset + length - 1));
            }
            credential_->Authorize(r, loc_.account);
            return r;
        },
        what);
}

HttpResponse BlobStorage::GetBlob(const std::string& blob, uint64_t offset, uint64_t length,
                                  const std::string& what) {
    return Send(ContainerUrl() + "/" + EncodePath(blob), offset, length, what);
}

void BlobStorage::Fail(const HttpResponse& resp, const std::string& what, const std::string& shown) {
    std::string code = ErrorCode(resp);
    std::string code_part = code.empty() ? "" : " (" + code + ")";
    if (resp.status == 401 || resp.status == 403) {
        throw Error(ExitCode::Connect,
                    fmt::format("azure storage refused {}: HTTP {}{}", what, resp.status, code_part),
                    fmt::format("credential used: {}; {}", credential_->Describe(), credential_->Advice()));
    }
    if (resp.status == 404) {
        throw Error(ExitCode::Source, fmt::format("'{}' not found{}", shown, code_part),
                    code == "ContainerNotFound" ? "check the container (file system) name in the URI"
                                                : "check the table path");
    }
    if (RetryableStatus(resp.status)) {
        throw Error(ExitCode::Connect,
                    fmt::format("azure storage kept failing {}: HTTP {}{} after {} attempts", what,
                                resp.status, code_part, resp.attempts),
                    "the service is throttling or unavailable; retry later");
    }
    throw Error(ExitCode::Source,
                fmt::format("azure storage rejected {}: HTTP {}{}", what, resp.status, code_part));
}

std::vector<FileEntry> BlobStorage::List(const std::string& dir) {
    std::string d = dir;
    while (!d.empty() && d.back() == '/') {
        d.pop_back();
    }
    std::string prefix = JoinPath(loc_.prefix, ConfineRelativePath(d, shown_root_));
    if (!prefix.empty()) {
        prefix += "/";
    }
    std::vector<FileEntry> out;
    std::string marker;
    std::string shown = Describe(d);
    do {
        std::string url =
            ContainerUrl() +
            "?restype=container&comp=list&include=metadata&delimiter=%2F&prefix=" + EncodeQueryValue(prefix);
        if (!marker.empty()) {
            url += "&marker=" + EncodeQueryValue(marker);
        }
        HttpResponse resp = Send(url, 0, 0, "the listing of " + shown);
        if (resp.status != 200) {
            Fail(resp, "the listing of " + shown, shown);
        }
        ListPage page = ParseListBlobs(resp.body);
        for (auto& b : page.blobs) {
            if (b.name.size() <= prefix.size() || b.name.compare(0, prefix.size(), prefix) != 0) {
                continue;
            }
            std::string rel = b.name.substr(prefix.size());
            if (rel.find('/') != std::string::npos) {
                continue;
            }
            out.push_back({rel, b.size});
        }
        marker = page.next_marker;
    } while (!marker.empty());
    std::sort(out.begin(), out.end(), [](const FileEntry& a, const FileEntry& b) { return a.name < b.name; });
    return out;
}

std::unique_ptr<ByteSource> BlobStorage::Open(const std::string& path) {
    auto source = std::make_unique<BlobSource>(*this, BlobName(path), Describe(path));
    source->Start();
    return source;
}

std::optional<std::string> BlobStorage::ReadIfExists(const std::string& path) {
    std::string shown = Describe(path);
    HttpResponse resp = GetBlob(BlobName(path), 0, 0, "a read of " + shown);
    if (resp.status == 404) {
        return std::nullopt;
    }
    if (resp.status != 200) {
        Fail(resp, "a read of " + shown, shown);
    }
    return std::move(resp.body);
}

std::unique_ptr<Storage> OpenAzureStorage(const std::string& uri, const StorageSettings& settings) {
    return std::make_unique<BlobStorage>(uri, settings);
}

} // namespace pgsplit::storage::azure
