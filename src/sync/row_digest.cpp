// The row digest of verify --content and of the ledger: the canonical row (COPY fields, NaN made
// canonical), the server's text hash reimplemented (PgHashBytesExtended), the digest's text form,
// the SQL that makes the server compute the same, the thread that digests a sync's COPY stream, and
// the display of field values for reports. Long because these must agree byte for byte with each
// other and with the server; row_digest_test checks each against PostgreSQL.
#include "sync/row_digest.h"

#include "core/calendar.h"
#include "core/error.h"

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <mutex>
#include <thread>

namespace pgsplit::sync {
namespace {

// Days between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
constexpr int64_t kPgEpochDays = 10957;

uint32_t Get32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

uint64_t Get64(const char* p) {
    return (uint64_t{Get32(p)} << 32) | Get32(p + 4);
}

// The canonical NaNs, big-endian.
constexpr char kNan8[8] = {'\x7f', '\xf8', 0, 0, 0, 0, 0, 0};
constexpr char kNan4[4] = {'\x7f', '\xc0', 0, 0};

bool IsNan8(const char* p) {
    uint64_t bits = Get64(p);
    return (bits & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL && (bits & 0x000fffffffffffffULL) != 0;
}

bool IsNan4(const char* p) {
    uint32_t bits = Get32(p);
    return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0;
}

std::string Hex(const char* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
        auto b = static_cast<unsigned char>(p[i]);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

uint32_t Rotl(uint32_t x, int k) {
    return (x << k) | (x >> (32 - k));
}

// Bob Jenkins' lookup3 mixing steps, as PostgreSQL's hash functions use them.
void Mix(uint32_t& a, uint32_t& b, uint32_t& c) {
    a -= c;
    a ^= Rotl(c, 4);
    c += b;
    b -= a;
    b ^= Rotl(a, 6);
    a += c;
    c -= b;
    c ^= Rotl(b, 8);
    b += a;
    a -= c;
    a ^= Rotl(c, 16);
    c += b;
    b -= a;
    b ^= Rotl(a, 19);
    a += c;
    c -= b;
    c ^= Rotl(b, 4);
    b += a;
}

void Final(uint32_t& a, uint32_t& b, uint32_t& c) {
    c ^= b;
    c -= Rotl(b, 14);
    a ^= c;
    a -= Rotl(c, 11);
    b ^= a;
    b -= Rotl(a, 25);
    c ^= b;
    c -= Rotl(b, 16);
    a ^= c;
    a -= Rotl(c, 4);
    b ^= a;
    b -= Rotl(a, 14);
    c ^= b;
    c -= Rotl(b, 24);
}

uint32_t Le32(const unsigned char* k) {
    return uint32_t{k[0]} | (uint32_t{k[1]} << 8) | (uint32_t{k[2]} << 16) | (uint32_t{k[3]} << 24);
}

} // namespace

uint64_t PgHashBytesExtended(const unsigned char* k, size_t size, uint64_t seed) {
    auto len = static_cast<uint32_t>(size);
    uint32_t a = 0x9e3779b9u + len + 3923095u;
    uint32_t b = a, c = a;
    if (seed != 0) {
        a += static_cast<uint32_t>(seed >> 32);
        b += static_cast<uint32_t>(seed);
        Mix(a, b, c);
    }
    while (len >= 12) {
        a += Le32(k);
        b += Le32(k + 4);
        c += Le32(k + 8);
        Mix(a, b, c);
        k += 12;
        len -= 12;
    }
    // The last 0..11 bytes, little-endian; the lowest byte of c stays for the length.
    switch (len) {
    case 11:
        c += uint32_t{k[10]} << 24;
        [[fallthrough]];
    case 10:
        c += uint32_t{k[9]} << 16;
        [[fallthrough]];
    case 9:
        c += uint32_t{k[8]} << 8;
        [[fallthrough]];
    case 8:
        b += uint32_t{k[7]} << 24;
        [[fallthrough]];
    case 7:
        b += uint32_t{k[6]} << 16;
        [[fallthrough]];
    case 6:
        b += uint32_t{k[5]} << 8;
        [[fallthrough]];
    case 5:
        b += k[4];
        [[fallthrough]];
    case 4:
        a += uint32_t{k[3]} << 24;
        [[fallthrough]];
    case 3:
        a += uint32_t{k[2]} << 16;
        [[fallthrough]];
    case 2:
        a += uint32_t{k[1]} << 8;
        [[fallthrough]];
    case 1:
        a += k[0];
        break;
    default:
        break;
    }
    Final(a, b, c);
    return (uint64_t{b} << 32) | c;
}

std::string ContentDigest::Text() const {
    return fmt::format("v1:{}:{:016x}", rows, sum);
}

std::optional<ContentDigest> ContentDigest::Parse(const std::string& text) {
    if (text.size() < 21 || text.compare(0, 3, "v1:") != 0 || text.size() > 64) {
        return std::nullopt;
    }
    size_t colon = text.find(':', 3);
    if (colon == std::string::npos || colon == 3 || text.size() - colon - 1 != 16) {
        return std::nullopt;
    }
    ContentDigest d;
    for (size_t i = 3; i < colon; ++i) {
        if (text[i] < '0' || text[i] > '9' || d.rows > (INT64_MAX - 9) / 10) {
            return std::nullopt;
        }
        d.rows = d.rows * 10 + (text[i] - '0');
    }
    for (size_t i = colon + 1; i < text.size(); ++i) {
        char c = text[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) {
            return std::nullopt;
        }
        d.sum = (d.sum << 4) | static_cast<uint64_t>(v);
    }
    return d;
}

std::optional<ContentDigest> ContentDigest::FromServer(int64_t rows, const std::string& sum) {
    // sum() of bigints is a numeric without a fraction; only its value modulo 2^64 matters, and
    // unsigned arithmetic gives exactly that digit by digit.
    ContentDigest d;
    d.rows = rows;
    if (sum.empty()) { // sum() over no rows is NULL
        return rows == 0 ? std::optional<ContentDigest>(d) : std::nullopt;
    }
    size_t i = 0;
    bool negative = sum[0] == '-';
    if (negative || sum[0] == '+') {
        i = 1;
    }
    if (i == sum.size()) {
        return std::nullopt;
    }
    uint64_t v = 0;
    for (; i < sum.size(); ++i) {
        if (sum[i] < '0' || sum[i] > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<uint64_t>(sum[i] - '0');
    }
    d.sum = negative ? uint64_t{0} - v : v;
    return d;
}

struct RowHasher::Impl {
    std::vector<PgType> types;
    bool has_floats = false;
    std::string scratch; // the row with canonical NaNs
    std::string hex;     // the row's hex form, what is hashed
};

RowHasher::RowHasher(const std::vector<TargetColumn>& columns) : impl_(std::make_unique<Impl>()) {
    for (const auto& c : columns) {
        impl_->types.push_back(c.type);
        impl_->has_floats = impl_->has_floats || c.type == PgType::Float4 || c.type == PgType::Float8;
    }
}

RowHasher::~RowHasher() = default;

uint64_t RowHasher::Hash(const char* fields, size_t size) {
    Impl& m = *impl_;
    if (m.has_floats) {
        // Replace every NaN by the canonical one (the server's side does the same with CASE).
        size_t at = 0;
        bool copied = false;
        for (PgType t : m.types) {
            if (at + 4 > size) {
                break;
            }
            auto len = static_cast<int32_t>(Get32(fields + at));
            at += 4;
            if (len < 0) {
                continue;
            }
            const char* value = fields + at;
            bool nan = (t == PgType::Float8 && len == 8 && IsNan8(value)) ||
                       (t == PgType::Float4 && len == 4 && IsNan4(value));
            if (nan) {
                if (!copied) {
                    m.scratch.assign(fields, size);
                    copied = true;
                }
                std::memcpy(&m.scratch[at], t == PgType::Float8 ? kNan8 : kNan4, static_cast<size_t>(len));
            }
            at += static_cast<size_t>(len);
        }
        if (copied) {
            fields = m.scratch.data();
        }
    }
    static const char* digits = "0123456789abcdef";
    m.hex.resize(size * 2);
    for (size_t i = 0; i < size; ++i) {
        auto b = static_cast<unsigned char>(fields[i]);
        m.hex[2 * i] = digits[b >> 4];
        m.hex[2 * i + 1] = digits[b & 15];
    }
    return PgHashBytesExtended(reinterpret_cast<const unsigned char*>(m.hex.data()), m.hex.size(), 0);
}

struct DigestPipeline::Impl {
    struct Chunk {
        std::string data;
        std::vector<RowSpan> rows;
    };
    explicit Impl(const std::vector<TargetColumn>& columns) : hasher(columns) {}

    RowHasher hasher;
    std::mutex mu;
    std::condition_variable changed;
    std::deque<Chunk> queue;
    bool closing = false;
    bool busy = false;
    ContentDigest digest;
    std::exception_ptr failure;
    std::thread worker;

    void Run() {
        for (;;) {
            Chunk chunk;
            {
                std::unique_lock<std::mutex> lock(mu);
                changed.wait(lock, [&] { return closing || !queue.empty(); });
                if (queue.empty()) {
                    return;
                }
                chunk = std::move(queue.front());
                queue.pop_front();
                busy = true;
            }
            changed.notify_all(); // room in the queue
            ContentDigest part;
            try {
                for (const auto& r : chunk.rows) {
                    part.Add(hasher.Hash(chunk.data.data() + r.offset, r.size));
                }
            } catch (...) {
                std::lock_guard<std::mutex> lock(mu);
                failure = std::current_exception();
            }
            {
                std::lock_guard<std::mutex> lock(mu);
                digest.rows += part.rows;
                digest.sum += part.sum;
                busy = false;
            }
            changed.notify_all();
        }
    }
};

DigestPipeline::DigestPipeline(const std::vector<TargetColumn>& columns)
    : impl_(std::make_unique<Impl>(columns)) {
    impl_->worker = std::thread([this] { impl_->Run(); });
}

DigestPipeline::~DigestPipeline() {
    {
        std::lock_guard<std::mutex> lock(impl_->mu);
        impl_->closing = true;
        impl_->queue.clear();
    }
    impl_->changed.notify_all();
    impl_->worker.join();
}

void DigestPipeline::Submit(const char* data, size_t size, std::vector<RowSpan>& rows) {
    if (rows.empty()) {
        return;
    }
    Impl::Chunk chunk;
    // Only the bytes from the first row on (the COPY header stays out).
    size_t from = rows.front().offset;
    chunk.data.assign(data + from, size - from);
    for (auto& r : rows) {
        r.offset -= from;
    }
    chunk.rows = std::move(rows);
    rows.clear();
    {
        std::unique_lock<std::mutex> lock(impl_->mu);
        impl_->changed.wait(lock, [&] { return impl_->queue.size() < kQueued; });
        impl_->queue.push_back(std::move(chunk));
    }
    impl_->changed.notify_all();
}

ContentDigest DigestPipeline::Finish() {
    std::unique_lock<std::mutex> lock(impl_->mu);
    impl_->changed.wait(lock, [&] { return impl_->queue.empty() && !impl_->busy; });
    if (impl_->failure) {
        std::rethrow_exception(impl_->failure);
    }
    return impl_->digest;
}

bool SplitFields(const char* fields, size_t size, size_t columns, std::vector<std::string>& out) {
    out.clear();
    size_t at = 0;
    for (size_t c = 0; c < columns; ++c) {
        if (at + 4 > size) {
            return false;
        }
        auto len = static_cast<int32_t>(Get32(fields + at));
        size_t n = 4 + (len > 0 ? static_cast<size_t>(len) : 0);
        if (len < -1 || at + n > size) {
            return false;
        }
        out.emplace_back(fields + at, n);
        at += n;
    }
    return at == size;
}

std::string FieldText(PgType type, const std::string& field) {
    if (field.size() < 4 || static_cast<int32_t>(Get32(field.data())) < 0) {
        return "NULL";
    }
    const char* v = field.data() + 4;
    size_t n = field.size() - 4;
    auto fixed = [&](size_t want) { return n == want; };
    switch (type) {
    case PgType::Bool:
        if (fixed(1)) {
            return v[0] ? "true" : "false";
        }
        break;
    case PgType::Int2:
        if (fixed(2)) {
            auto u = static_cast<uint16_t>((static_cast<unsigned char>(v[0]) << 8) |
                                           static_cast<unsigned char>(v[1]));
            return std::to_string(static_cast<int16_t>(u));
        }
        break;
    case PgType::Int4:
    case PgType::Date:
        if (fixed(4)) {
            auto x = static_cast<int32_t>(Get32(v));
            if (type == PgType::Int4) {
                return std::to_string(x);
            }
            CivilDate d = CivilFromDays(int64_t{x} + kPgEpochDays);
            return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
        }
        break;
    case PgType::Int8:
        if (fixed(8)) {
            return std::to_string(static_cast<int64_t>(Get64(v)));
        }
        break;
    case PgType::Float4:
        if (fixed(4)) {
            uint32_t bits = Get32(v);
            float f;
            std::memcpy(&f, &bits, 4);
            return std::isnan(f) ? "NaN" : fmt::format("{}", f);
        }
        break;
    case PgType::Float8:
        if (fixed(8)) {
            uint64_t bits = Get64(v);
            double d;
            std::memcpy(&d, &bits, 8);
            return std::isnan(d) ? "NaN" : fmt::format("{}", d);
        }
        break;
    case PgType::Text: {
        std::string shown;
        for (size_t i = 0; i < n && shown.size() < 80; ++i) {
            auto c = static_cast<unsigned char>(v[i]);
            if (c < 0x20 || c == 0x7f) {
                shown += fmt::format("\\x{:02x}", c);
            } else {
                shown.push_back(static_cast<char>(c));
            }
        }
        return n > 80 ? shown + "..." : shown;
    }
    case PgType::Timestamp:
    case PgType::TimestampTz:
        if (fixed(8)) {
            auto micros = static_cast<int64_t>(Get64(v));
            int64_t days =
                micros >= 0 ? micros / 86400000000LL : -((-micros + 86400000000LL - 1) / 86400000000LL);
            int64_t rest = micros - days * 86400000000LL;
            CivilDate d = CivilFromDays(days + kPgEpochDays);
            return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}{}", d.year, d.month, d.day,
                               rest / 3600000000LL, rest / 60000000LL % 60, rest / 1000000 % 60,
                               rest % 1000000, type == PgType::TimestampTz ? "Z" : "");
        }
        break;
    case PgType::Bytea:
        break;
    }
    return "\\x" + Hex(v, std::min<size_t>(n, 40)) + (n > 40 ? "..." : "");
}

std::string FieldSql(const pg::Connection& conn, const TargetColumn& column) {
    std::string q = pg::QuoteIdent(conn, column.name);
    auto prefixed = [](int len, const std::string& send) {
        return fmt::format("decode('{:08x}', 'hex') || {}", len, send);
    };
    std::string field;
    switch (column.type) {
    case PgType::Bool:
        field = prefixed(1, "boolsend(" + q + ")");
        break;
    case PgType::Int2:
        field = prefixed(2, "int2send(" + q + ")");
        break;
    case PgType::Int4:
        field = prefixed(4, "int4send(" + q + ")");
        break;
    case PgType::Int8:
        field = prefixed(8, "int8send(" + q + ")");
        break;
    case PgType::Float4:
        field =
            prefixed(4, "CASE WHEN " + q +
                            " = 'NaN'::float4 THEN decode('7fc00000', 'hex') ELSE float4send(" + q + ") END");
        break;
    case PgType::Float8:
        field = prefixed(8, "CASE WHEN " + q +
                                " = 'NaN'::float8 THEN decode('7ff8000000000000', 'hex') ELSE float8send(" +
                                q + ") END");
        break;
    case PgType::Text:
        field = "int4send(octet_length(" + q + ")) || textsend(" + q + "::text)";
        break;
    case PgType::Bytea:
        field = "int4send(octet_length(" + q + ")) || " + q;
        break;
    case PgType::Date:
        field = prefixed(4, "date_send(" + q + ")");
        break;
    case PgType::Timestamp:
        field = prefixed(8, "timestamp_send(" + q + ")");
        break;
    case PgType::TimestampTz:
        field = prefixed(8, "timestamptz_send(" + q + ")");
        break;
    }
    // Every send function is strict: a NULL value makes the whole field NULL, which becomes -1.
    return column.not_null ? "(" + field + ")" : "coalesce(" + field + ", decode('ffffffff', 'hex'))";
}

std::string RowHashSql(const pg::Connection& conn, const std::vector<TargetColumn>& columns) {
    std::string row;
    for (const auto& c : columns) {
        row += (row.empty() ? "" : " || ") + FieldSql(conn, c);
    }
    if (row.empty()) {
        row = "''::bytea";
    }
    return "hashtextextended(encode(" + row + ", 'hex'), 0)";
}

} // namespace pgsplit::sync
