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

// The body of a ranged answer for [offset, offset + length) of a blob of `size` bytes, checked: a
// vanished blob, a failed request and a short answer are errors naming the blob.
std::string CheckedRange(BlobStorage& storage, HttpResponse resp, const std::string& shown, uint64_t size,
                         uint64_t offset, uint64_t length, const std::string& what) {
    if (resp.status == 404) {
        throw Error(ExitCode::Source, fmt::format("'{}' disappeared while it was read", shown),
                    "the table is being vacuumed or rewritten; retry");
    }
    if (resp.status == 200 && resp.body.size() == size) {
        resp.body = resp.body.substr(offset, length);
    } else if (resp.status != 206) {
        storage.Fail(resp, what, shown);
    }
    if (resp.body.size() != length) {
        throw Error(ExitCode::Source,
                    fmt::format("'{}': asked for {} bytes at {}, got {}; the blob changed while it was read",
                                shown, length, offset, resp.body.size()),
                    "retry once the writer has finished");
    }
    return std::move(resp.body);
}

std::string FetchRange(BlobStorage& storage, const std::string& blob, const std::string& shown, uint64_t size,
                       uint64_t offset, uint64_t length) {
    std::string what = fmt::format("a read of bytes {}..{} of {}", offset, offset + length, shown);
    return CheckedRange(storage, storage.GetBlob(blob, offset, length, what), shown, size, offset, length,
                        what);
}

// The tail window of a blob of `size` bytes starts here: the footer and the page index sit at the end.
uint64_t TailStart(uint64_t size, const BlobOptions& opt) {
    return size > opt.tail_window ? size - opt.tail_window : 0;
}

} // namespace

BlobHead FetchHead(BlobStorage& storage, const std::string& blob, const std::string& shown) {
    const auto& opt = storage.Options();
    BlobHead head;
    head.first = storage.GetBlob(blob, 0, opt.first_window, "a read of " + shown);
    if (head.first.status != 206) {
        return head; // empty, missing, whole (200) or failed: BlobSource::Adopt tells which
    }
    auto total = TotalFromContentRange(head.first.Header("content-range"));
    if (total && *total > head.first.body.size()) {
        // The reader's next read is the footer: ask for it now, in the same breath.
        head.tail_offset = TailStart(*total, opt);
        std::string what = fmt::format("a read of bytes {}..{} of {}", head.tail_offset, *total, shown);
        head.tail = storage.GetBlob(blob, head.tail_offset, *total - head.tail_offset, what);
    }
    return head;
}

namespace {

// A blob read by ranges with a small window cache (see blob_storage.h for the request budget). With
// a fetch pool, the window after the current one is fetched while the current one is decoded, and a
// read larger than the read-ahead is fetched in read-ahead-sized parts at once.
class BlobSource final : public ByteSource {
public:
    BlobSource(BlobStorage& storage, std::string blob, std::string shown)
        : storage_(storage), blob_(std::move(blob)), shown_(std::move(shown)) {}

    // The first answers (FetchHead, here or ahead of time): the size, the head and the tail.
    void Adopt(BlobHead head) {
        HttpResponse& resp = head.first;
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
        if (head.tail && head.tail_offset < size_) {
            std::string what = fmt::format("a read of bytes {}..{} of {}", head.tail_offset, size_, shown_);
            tail_.bytes = CheckedRange(storage_, std::move(*head.tail), shown_, size_, head.tail_offset,
                                       size_ - head.tail_offset, what);
            tail_.offset = head.tail_offset;
        }
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
        // A read that starts in a held window and runs past its end (a column chunk across the end
        // of the head): the held part is copied, only the rest is fetched.
        for (const Window* w : {&head_, &current_}) {
            if (!w->bytes.empty() && offset >= w->offset && offset < w->offset + w->bytes.size()) {
                uint64_t held = w->offset + w->bytes.size() - offset;
                std::memcpy(out, w->bytes.data() + (offset - w->offset), held);
                offset += held;
                length -= held;
                out += held;
                break;
            }
        }
        const auto& opt = storage_.Options();
        if (next_.valid() && offset >= next_offset_ && offset + length <= next_offset_ + next_length_) {
            // Read ahead of time: it becomes the current window, and the one after it is asked for.
            current_.offset = next_offset_;
            current_.bytes = next_.get();
            ReadAhead(current_.offset + current_.bytes.size());
            std::memcpy(out, current_.bytes.data() + (offset - current_.offset), length);
            return;
        }
        if (length >= opt.read_ahead) {
            ReadInParts(offset, length, out);
            ReadAhead(offset + length);
            return;
        }
        uint64_t tail_start = TailStart(size_, opt);
        if (offset >= tail_start) {
            uint64_t start = std::min(offset, tail_start);
            tail_.bytes = FetchRange(storage_, blob_, shown_, size_, start, size_ - start);
            tail_.offset = start;
            std::memcpy(out, tail_.bytes.data() + (offset - tail_.offset), length);
            return;
        }
        // Column chunks of a row group are contiguous: reading ahead serves the next columns too.
        uint64_t want = std::min(size_ - offset, std::max(length, opt.read_ahead));
        current_.bytes = FetchRange(storage_, blob_, shown_, size_, offset, want);
        current_.offset = offset;
        ReadAhead(offset + want);
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

    // Asks for the window starting at `from` on the pool (not past the tail window when that is held).
    // A window asked for earlier that was not used is dropped; its answer is discarded on arrival.
    void ReadAhead(uint64_t from) {
        FetchPool& pool = storage_.Pool();
        if (pool.Threads() == 0) {
            return;
        }
        uint64_t limit = tail_.bytes.empty() ? size_ : tail_.offset;
        if (from >= limit) {
            next_ = {};
            return;
        }
        if (next_.valid() && next_offset_ == from) {
            return;
        }
        next_offset_ = from;
        next_length_ = std::min(storage_.Options().read_ahead, limit - from);
        next_ =
            pool.Submit([&storage = storage_, blob = blob_, shown = shown_, size = size_, from,
                         len = next_length_] { return FetchRange(storage, blob, shown, size, from, len); });
    }

    // A read larger than the read-ahead, in parts fetched at once (the caller's thread takes the
    // first). Every part is waited for before returning or throwing: they write into `out`.
    void ReadInParts(uint64_t offset, uint64_t length, uint8_t* out) {
        const uint64_t part = storage_.Options().read_ahead;
        std::vector<std::future<void>> rest;
        for (uint64_t at = part; at < length; at += part) {
            uint64_t len = std::min(part, length - at);
            rest.push_back(storage_.Pool().Submit([&storage = storage_, blob = blob_, shown = shown_,
                                                   size = size_, from = offset + at, len, into = out + at] {
                std::string bytes = FetchRange(storage, blob, shown, size, from, len);
                std::memcpy(into, bytes.data(), len);
            }));
        }
        std::exception_ptr failed;
        try {
            std::string first = FetchRange(storage_, blob_, shown_, size_, offset, std::min(part, length));
            std::memcpy(out, first.data(), first.size());
        } catch (...) {
            failed = std::current_exception();
        }
        for (auto& f : rest) {
            try {
                f.get();
            } catch (...) {
                if (!failed) {
                    failed = std::current_exception();
                }
            }
        }
        if (failed) {
            std::rethrow_exception(failed);
        }
    }

    BlobStorage& storage_;
    std::string blob_;
    std::string shown_;
    uint64_t size_ = 0;
    Window head_, tail_, current_;
    std::future<std::string> next_; // the window after current_, being fetched
    uint64_t next_offset_ = 0, next_length_ = 0;
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
    http_ = std::make_shared<HttpClient>(options_.retry, settings.ca_file.value_or(""));
    credential_ = ResolveCredential(settings, loc_.sas);
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

FetchPool& BlobStorage::Pool() {
    if (!pool_) {
        pool_ = std::make_unique<FetchPool>(std::max(0, options_.io_concurrency - 1));
    }
    return *pool_;
}

uint64_t BlobStorage::HeadCost(uint64_t size) const {
    if (size == 0) {
        return options_.first_window + options_.tail_window;
    }
    return std::min(size, options_.first_window) + (size > options_.first_window ? options_.tail_window : 0);
}

void BlobStorage::Prefetch(const std::vector<PlannedFile>& files) {
    ahead_.clear(); // answers still on their way are discarded when they arrive
    ahead_bytes_ = 0;
    ahead_started_ = 0;
    if (Pool().Threads() == 0) {
        return;
    }
    for (const auto& f : files) {
        ahead_.push_back({f.path, HeadCost(f.size), {}});
    }
    StartAhead();
}

void BlobStorage::StartAhead() {
    const size_t max_files = 2 * Pool().Threads();
    for (auto& a : ahead_) {
        if (ahead_started_ >= max_files) {
            return;
        }
        if (a.head.valid()) {
            continue;
        }
        if (ahead_started_ > 0 && ahead_bytes_ + a.cost > options_.prefetch_bytes) {
            return;
        }
        std::string blob;
        try {
            blob = BlobName(a.path);
        } catch (const Error&) {
            return; // Open names the problem when the scan gets there
        }
        a.head =
            Pool().Submit([this, blob, shown = Describe(a.path)] { return FetchHead(*this, blob, shown); });
        ahead_bytes_ += a.cost;
        ++ahead_started_;
    }
}

std::unique_ptr<ByteSource> BlobStorage::Open(const std::string& path) {
    std::string blob = BlobName(path);
    auto source = std::make_unique<BlobSource>(*this, blob, Describe(path));
    std::future<BlobHead> ahead;
    auto hit = std::find_if(ahead_.begin(), ahead_.end(), [&](const Ahead& a) { return a.path == path; });
    if (hit != ahead_.end()) {
        // Files the hint named before this one were not opened: their answers are not needed.
        for (auto it = ahead_.begin(); it != std::next(hit); ++it) {
            if (it->head.valid()) {
                ahead_bytes_ -= it->cost;
                --ahead_started_;
            }
        }
        ahead = std::move(hit->head);
        ahead_.erase(ahead_.begin(), std::next(hit));
        StartAhead();
    }
    source->Adopt(ahead.valid() ? ahead.get() : FetchHead(*this, blob, Describe(path)));
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
    BlobOptions options;
    options.io_concurrency = std::max(1, settings.io_concurrency);
    return std::make_unique<BlobStorage>(uri, settings, options);
}

} // namespace pgsplit::storage::azure
