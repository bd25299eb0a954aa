#include "delta/deletion_vector.h"

#include "core/error.h"
#include "delta/values.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <zlib.h>

namespace pgsplit::delta {
namespace {

constexpr uint32_t kMagic = 1681511377;     // RoaringBitmapArray, little-endian
constexpr uint32_t kCookieNoRuns = 12346;   // portable roaring, no run containers
constexpr uint32_t kCookieWithRuns = 12347; // portable roaring, low 16 bits; high 16: containers - 1
constexpr uint32_t kNoOffsetThreshold = 4;  // with runs, fewer containers than this carry no offsets
constexpr uint32_t kArrayMax = 4096;        // a container above this cardinality is a bitmap

constexpr std::string_view kZ85 =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

// Little-endian reads over untrusted bytes.
class Reader {
public:
    explicit Reader(std::string_view bytes) : s_(bytes) {}
    size_t Left() const { return s_.size() - at_; }
    size_t At() const { return at_; }
    void Need(size_t n, const char* what) const {
        if (Left() < n) {
            throw DvFormatError(
                fmt::format("truncated: {} needs {} bytes at byte {}, {} left", what, n, at_, Left()));
        }
    }
    uint16_t U16(const char* what) {
        Need(2, what);
        uint16_t v = static_cast<uint16_t>(Byte(0) | (Byte(1) << 8));
        at_ += 2;
        return v;
    }
    uint32_t U32(const char* what) {
        Need(4, what);
        uint32_t v = Byte(0) | (Byte(1) << 8) | (Byte(2) << 16) | (Byte(3) << 24);
        at_ += 4;
        return v;
    }
    uint64_t U64(const char* what) {
        uint64_t lo = U32(what);
        uint64_t hi = U32(what);
        return lo | (hi << 32);
    }
    void Skip(size_t n, const char* what) {
        Need(n, what);
        at_ += n;
    }
    const uint8_t* Here() const { return reinterpret_cast<const uint8_t*>(s_.data()) + at_; }

private:
    uint32_t Byte(size_t i) const { return static_cast<uint8_t>(s_[at_ + i]); }
    std::string_view s_;
    size_t at_ = 0;
};

uint32_t BigEndian32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

Error BadDv(const std::string& where, const std::string& what) {
    return Error(ExitCode::Source, fmt::format("{}: deletion vector: {}", where, what),
                 "the deletion vector does not match its descriptor in the log; the table is damaged or "
                 "was written by a broken writer, so its rows cannot be read safely");
}

} // namespace

std::optional<std::string> Z85Decode(std::string_view text) {
    if (text.size() % 5 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 5 * 4);
    for (size_t i = 0; i < text.size(); i += 5) {
        uint64_t v = 0;
        for (size_t j = 0; j < 5; ++j) {
            size_t d = kZ85.find(text[i + j]);
            if (d == std::string_view::npos) {
                return std::nullopt;
            }
            v = v * 85 + d;
        }
        if (v > 0xffffffffULL) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(v >> 24));
        out.push_back(static_cast<char>(v >> 16));
        out.push_back(static_cast<char>(v >> 8));
        out.push_back(static_cast<char>(v));
    }
    return out;
}

DeletionVector DeletionVector::Parse(std::string_view bytes) {
    Reader r(bytes);
    uint32_t magic = r.U32("the magic number");
    if (magic != kMagic) {
        throw DvFormatError(fmt::format("magic number is {}, not {} (RoaringBitmapArray)", magic, kMagic));
    }
    DeletionVector dv;
    uint64_t buckets = r.U64("the bucket count");
    // Each bucket takes at least 12 bytes (key + cookie + count): a count beyond that is a lie.
    if (buckets > r.Left() / 12) {
        throw DvFormatError(fmt::format("declares {} buckets but only {} bytes follow", buckets, r.Left()));
    }
    std::optional<uint32_t> last_bucket;
    for (uint64_t b = 0; b < buckets; ++b) {
        uint32_t high = r.U32("a bucket key");
        if (high & 0x80000000u) {
            throw DvFormatError(fmt::format("bucket key {} has its most significant bit set", high));
        }
        if (last_bucket && high <= *last_bucket) {
            throw DvFormatError(fmt::format("bucket key {} follows bucket key {}: buckets overlap or are out "
                                            "of order",
                                            high, *last_bucket));
        }
        last_bucket = high;
        const size_t bitmap_start = r.At();
        uint32_t cookie = r.U32("a roaring cookie");
        uint32_t containers = 0;
        bool has_runs = false;
        std::vector<uint8_t> run_flags;
        if ((cookie & 0xffff) == kCookieWithRuns) {
            has_runs = true;
            containers = (cookie >> 16) + 1;
            size_t flag_bytes = (containers + 7) / 8;
            r.Need(flag_bytes, "the run-container flags");
            run_flags.assign(r.Here(), r.Here() + flag_bytes);
            r.Skip(flag_bytes, "the run-container flags");
        } else if (cookie == kCookieNoRuns) {
            containers = r.U32("the container count");
            if (containers > 65536) {
                throw DvFormatError(
                    fmt::format("bucket {} declares {} containers (at most 65536)", high, containers));
            }
        } else {
            throw DvFormatError(fmt::format("bucket {} has roaring cookie {}, neither {} nor {}", high,
                                            cookie & 0xffff, kCookieNoRuns, kCookieWithRuns));
        }
        r.Need(size_t{containers} * 4, "the container headers");
        std::vector<std::pair<uint16_t, uint32_t>> headers; // key, cardinality
        headers.reserve(containers);
        for (uint32_t c = 0; c < containers; ++c) {
            uint16_t key = r.U16("a container key");
            uint32_t card = uint32_t{r.U16("a container cardinality")} + 1;
            if (!headers.empty() && key <= headers.back().first) {
                throw DvFormatError(fmt::format("bucket {}: container key {} follows {}: containers overlap "
                                                "or are out of order",
                                                high, key, headers.back().first));
            }
            headers.emplace_back(key, card);
        }
        std::vector<uint32_t> offsets;
        if (!has_runs || containers >= kNoOffsetThreshold) {
            r.Need(size_t{containers} * 4, "the container offsets");
            for (uint32_t c = 0; c < containers; ++c) {
                offsets.push_back(r.U32("a container offset"));
            }
        }
        for (uint32_t c = 0; c < containers; ++c) {
            if (!offsets.empty() && offsets[c] != r.At() - bitmap_start) {
                throw DvFormatError(fmt::format("bucket {}: container {} is at byte {} of its bitmap, its "
                                                "offset says {}",
                                                high, c, r.At() - bitmap_start, offsets[c]));
            }
            Container out;
            out.key = (uint64_t{high} << 16) | headers[c].first;
            const uint32_t declared = headers[c].second;
            bool is_run = has_runs && (run_flags[c / 8] >> (c % 8)) & 1;
            if (is_run) {
                out.kind = Kind::Run;
                uint16_t runs = r.U16("a run count");
                r.Need(size_t{runs} * 4, "the runs");
                uint32_t next_free = 0; // the first value a following run may start at
                uint32_t card = 0;
                for (uint16_t i = 0; i < runs; ++i) {
                    uint16_t start = r.U16("a run start");
                    uint16_t len = r.U16("a run length");
                    if (start < next_free && i > 0) {
                        throw DvFormatError(fmt::format("bucket {}: container {}: run at {} overlaps the one "
                                                        "before",
                                                        high, c, start));
                    }
                    if (uint32_t{start} + len > 0xffff) {
                        throw DvFormatError(fmt::format("bucket {}: container {}: run {}+{} passes 65535",
                                                        high, c, start, len));
                    }
                    next_free = uint32_t{start} + len + 1;
                    card += uint32_t{len} + 1;
                    out.values.push_back(start);
                    out.values.push_back(len);
                }
                if (card != declared) {
                    throw DvFormatError(
                        fmt::format("bucket {}: container {}: runs hold {} values, the header "
                                    "says {}",
                                    high, c, card, declared));
                }
            } else if (declared <= kArrayMax) {
                out.kind = Kind::Array;
                r.Need(size_t{declared} * 2, "an array container");
                out.values.resize(declared);
                for (uint32_t i = 0; i < declared; ++i) {
                    out.values[i] = r.U16("an array value");
                    if (i > 0 && out.values[i] <= out.values[i - 1]) {
                        throw DvFormatError(fmt::format("bucket {}: container {}: values out of order ({} "
                                                        "after {})",
                                                        high, c, out.values[i], out.values[i - 1]));
                    }
                }
            } else {
                out.kind = Kind::Bitmap;
                r.Need(8192, "a bitmap container");
                out.bits.resize(1024);
                uint32_t card = 0;
                for (size_t w = 0; w < 1024; ++w) {
                    out.bits[w] = r.U64("a bitmap word");
                    card += static_cast<uint32_t>(__builtin_popcountll(out.bits[w]));
                }
                if (card != declared) {
                    throw DvFormatError(fmt::format("bucket {}: container {}: bitmap has {} bits set, the "
                                                    "header says {}",
                                                    high, c, card, declared));
                }
            }
            out.cardinality = declared;
            dv.cardinality_ += declared;
            dv.containers_.push_back(std::move(out));
        }
    }
    if (r.Left() != 0) {
        throw DvFormatError(fmt::format("{} bytes follow the last bucket", r.Left()));
    }
    return dv;
}

bool DeletionVector::Contains(uint64_t row) const {
    uint64_t key = row >> 16;
    auto it = std::lower_bound(containers_.begin(), containers_.end(), key,
                               [](const Container& c, uint64_t k) { return c.key < k; });
    if (it == containers_.end() || it->key != key) {
        return false;
    }
    uint16_t low = static_cast<uint16_t>(row & 0xffff);
    switch (it->kind) {
    case Kind::Array:
        return std::binary_search(it->values.begin(), it->values.end(), low);
    case Kind::Bitmap:
        return (it->bits[low / 64] >> (low % 64)) & 1;
    case Kind::Run: {
        // The last run starting at or before `low`.
        size_t lo = 0;
        size_t hi = it->values.size() / 2;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (it->values[mid * 2] <= low) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo == 0) {
            return false;
        }
        size_t run = lo - 1;
        return uint32_t{low} <= uint32_t{it->values[run * 2]} + it->values[run * 2 + 1];
    }
    }
    return false;
}

std::optional<uint64_t> DeletionVector::Max() const {
    if (containers_.empty()) {
        return std::nullopt;
    }
    const Container& c = containers_.back();
    uint64_t base = c.key << 16;
    switch (c.kind) {
    case Kind::Array:
        return base | c.values.back();
    case Kind::Run:
        return base | (uint64_t{c.values[c.values.size() - 2]} + c.values.back());
    case Kind::Bitmap:
        for (size_t w = 1024; w-- > 0;) {
            if (c.bits[w] != 0) {
                return base | (w * 64 + 63 - static_cast<uint64_t>(__builtin_clzll(c.bits[w])));
            }
        }
        break;
    }
    return std::nullopt;
}

std::optional<DvDescriptor> ParseDvDescriptor(const nlohmann::json& j, const std::string& where) {
    if (j.is_null()) {
        return std::nullopt;
    }
    auto bad = [&](const std::string& what) {
        return Error(ExitCode::Source, fmt::format("{}: deletionVector {}", where, what),
                     "the Delta log is damaged or was written by a broken writer; the table cannot be read "
                     "safely");
    };
    if (!j.is_object()) {
        throw bad("is not an object");
    }
    auto integer = [&](const char* key) -> std::optional<int64_t> {
        if (!j.contains(key) || j[key].is_null()) {
            return std::nullopt;
        }
        if (j[key].is_number_integer()) {
            return j[key].get<int64_t>();
        }
        throw bad(fmt::format("field {} is not an integer", key));
    };
    DvDescriptor d;
    if (!j.contains("storageType") || !j["storageType"].is_string() ||
        j["storageType"].get<std::string>().size() != 1) {
        throw bad("has no one-letter storageType");
    }
    d.storage_type = j["storageType"].get<std::string>()[0];
    if (d.storage_type != 'u' && d.storage_type != 'p' && d.storage_type != 'i') {
        throw bad(fmt::format("has storageType '{}'; pgsplit knows 'u', 'p' and 'i'", d.storage_type));
    }
    if (!j.contains("pathOrInlineDv") || !j["pathOrInlineDv"].is_string()) {
        throw bad("has no pathOrInlineDv");
    }
    d.path_or_inline = j["pathOrInlineDv"].get<std::string>();
    d.offset = integer("offset");
    auto size = integer("sizeInBytes");
    auto card = integer("cardinality");
    if (!size || *size < 4) {
        throw bad("has no sizeInBytes of at least 4");
    }
    if (!card || *card < 0) {
        throw bad("has no cardinality");
    }
    if (d.offset && *d.offset < 0) {
        throw bad(fmt::format("has a negative offset {}", *d.offset));
    }
    d.size_in_bytes = *size;
    d.cardinality = *card;
    return d;
}

std::string DeletionVectorPath(const DvDescriptor& dv, const std::string& where) {
    if (dv.storage_type == 'p') {
        return UriDecode(dv.path_or_inline, where);
    }
    const std::string& s = dv.path_or_inline;
    if (s.size() < 20) {
        throw BadDv(where, fmt::format("pathOrInlineDv '{}' is shorter than a Z85 UUID (20 characters)", s));
    }
    auto uuid = Z85Decode(std::string_view(s).substr(s.size() - 20));
    if (!uuid) {
        throw BadDv(where, fmt::format("pathOrInlineDv '{}' does not end in a Z85-encoded UUID", s));
    }
    std::string prefix = s.substr(0, s.size() - 20);
    // The prefix is a directory name the writer chose at random: plain characters only, so it can
    // never climb out of the table.
    for (char c : prefix) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            throw BadDv(where, fmt::format("pathOrInlineDv '{}' has a prefix with '{}' in it", s, c));
        }
    }
    std::string hex;
    for (size_t i = 0; i < 16; ++i) {
        hex += fmt::format("{:02x}", static_cast<uint8_t>((*uuid)[i]));
        if (i == 3 || i == 5 || i == 7 || i == 9) {
            hex += '-';
        }
    }
    std::string name = fmt::format("deletion_vector_{}.bin", hex);
    return prefix.empty() ? name : prefix + "/" + name;
}

DeletionVector LoadDeletionVector(storage::Storage& storage, const DvDescriptor& dv, int64_t num_rows,
                                  uint64_t max_bytes, const std::string& where) {
    if (static_cast<uint64_t>(dv.size_in_bytes) > max_bytes) {
        throw Error(ExitCode::Source,
                    fmt::format("{}: deletion vector: sizeInBytes {} is more than the read memory budget ({} "
                                "bytes)",
                                where, dv.size_in_bytes, max_bytes),
                    "raise PGSPLIT_READ_MEMORY_MB if the table really has deletion vectors this large");
    }
    const size_t size = static_cast<size_t>(dv.size_in_bytes);
    std::string bytes;
    std::string dv_where;
    if (dv.storage_type == 'i') {
        dv_where = fmt::format("{} (inline deletion vector)", where);
        auto decoded = Z85Decode(dv.path_or_inline);
        if (!decoded) {
            throw BadDv(dv_where, "the inline bitmap is not valid Z85");
        }
        // Z85 works in 4-byte groups: the writer pads the bitmap up to a multiple of 4.
        if (decoded->size() < size || decoded->size() - size >= 4) {
            throw BadDv(dv_where, fmt::format("the inline bitmap decodes to {} bytes, sizeInBytes says {}",
                                              decoded->size(), size));
        }
        decoded->resize(size);
        bytes = std::move(*decoded);
    } else {
        std::string path = DeletionVectorPath(dv, where);
        dv_where = fmt::format("{} (deletion vector file '{}')", where, path);
        if (!dv.offset) {
            throw BadDv(dv_where, "the descriptor has no offset");
        }
        std::unique_ptr<ByteSource> source;
        try {
            source = storage.Open(path);
        } catch (const Error& e) {
            throw Error(e.code(), fmt::format("{}: {}", dv_where, e.what()), e.hint());
        }
        const uint64_t file_size = source->Size();
        const uint64_t offset = static_cast<uint64_t>(*dv.offset);
        if (file_size < 1) {
            throw BadDv(dv_where, "the file is empty");
        }
        uint8_t version = 0;
        source->Read(0, 1, &version);
        if (version != 1) {
            throw BadDv(dv_where,
                        fmt::format("the file has format version {}; pgsplit reads version 1", version));
        }
        if (offset < 1 || offset > file_size || file_size - offset < 8 + uint64_t{size}) {
            throw BadDv(dv_where,
                        fmt::format("offset {} + 4 + sizeInBytes {} + 4 passes the end of the file ({} "
                                    "bytes)",
                                    offset, size, file_size));
        }
        std::string slice(size + 8, '\0');
        source->Read(offset, slice.size(), reinterpret_cast<uint8_t*>(slice.data()));
        const auto* p = reinterpret_cast<const uint8_t*>(slice.data());
        uint32_t stored_size = BigEndian32(p);
        if (stored_size != size) {
            throw BadDv(dv_where,
                        fmt::format("the file says the bitmap at offset {} is {} bytes, sizeInBytes "
                                    "says {}",
                                    offset, stored_size, size));
        }
        uint32_t want = BigEndian32(p + 4 + size);
        uint32_t got = static_cast<uint32_t>(::crc32(0L, p + 4, static_cast<uInt>(size)));
        if (got != want) {
            throw BadDv(dv_where, fmt::format("checksum mismatch: the bitmap's CRC-32 is {:08x}, the file "
                                              "says {:08x}",
                                              got, want));
        }
        bytes.assign(slice.data() + 4, size);
    }
    DeletionVector out;
    try {
        out = DeletionVector::Parse(bytes);
    } catch (const DvFormatError& e) {
        throw BadDv(dv_where, e.what());
    }
    if (out.Cardinality() != static_cast<uint64_t>(dv.cardinality)) {
        throw BadDv(dv_where, fmt::format("the bitmap deletes {} rows, the descriptor's cardinality says {}",
                                          out.Cardinality(), dv.cardinality));
    }
    if (auto max = out.Max(); max && num_rows >= 0 && *max >= static_cast<uint64_t>(num_rows)) {
        throw BadDv(dv_where,
                    fmt::format("it deletes row {}, but the data file has {} rows", *max, num_rows));
    }
    return out;
}

} // namespace pgsplit::delta
