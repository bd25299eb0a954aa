#include "parquet/bit_util.h"
#include "parquet/decoder/decoder.h"

#include <cstring>
#include <limits>

namespace pgsplit::parquet {
namespace {

// Appends raw little-endian fixed-width values: PLAIN is the in-memory layout, so this is a memcpy.
template <class T>
void CopyFixed(std::vector<T>& dst, const uint8_t* src, size_t n) {
    if (n == 0) {
        return; // data() may be null, and memcpy must not see it even for zero bytes
    }
    std::memcpy(AppendSlots(dst, n), src, n * sizeof(T));
}

class PlainDecoder final : public ValueDecoder {
public:
    PlainDecoder(const Column& column, const uint8_t* data, size_t size)
        : column_(column), p_(data), end_(data + size) {}

    void Decode(size_t n, ColumnBatch& out) override {
        size_t avail = static_cast<size_t>(end_ - p_);
        switch (column_.physical) {
        case Physical::Boolean: {
            if ((bit_ + n + 7) / 8 > avail) {
                throw DecodeError(Short(n));
            }
            uint8_t* dst = AppendSlots(out.boolean, n);
            for (size_t i = 0; i < n; ++i, ++bit_) {
                dst[i] = (p_[bit_ >> 3] >> (bit_ & 7)) & 1;
            }
            return;
        }
        case Physical::Int32:
            return Fixed(out.i32, n, avail);
        case Physical::Int64:
            return Fixed(out.i64, n, avail);
        case Physical::Float:
            return Fixed(out.f32, n, avail);
        case Physical::Double:
            return Fixed(out.f64, n, avail);
        case Physical::Int96: {
            if (n > avail / 12) {
                throw DecodeError(Short(n));
            }
            Int96* dst = AppendSlots(out.int96, n);
            for (size_t i = 0; i < n; ++i, p_ += 12) {
                dst[i].nanos_of_day = LoadLE<uint64_t>(p_);
                dst[i].julian_day = LoadLE<uint32_t>(p_ + 8);
            }
            return;
        }
        case Physical::FixedLenByteArray: {
            size_t w = static_cast<size_t>(column_.type_length);
            if (w == 0 || n > avail / w) {
                throw DecodeError(Short(n));
            }
            EnsureOffsets(out);
            CheckBatchBytes(out, n * w);
            size_t base = out.bytes.size();
            out.bytes.insert(out.bytes.end(), p_, p_ + n * w);
            uint32_t* off = AppendSlots(out.offsets, n);
            for (size_t i = 0; i < n; ++i) {
                off[i] = static_cast<uint32_t>(base + (i + 1) * w);
            }
            p_ += n * w;
            return;
        }
        case Physical::ByteArray: {
            // Each value needs at least its 4-byte length: reject before reserving slots.
            if (n > avail / 4) {
                throw DecodeError(Short(n));
            }
            EnsureOffsets(out);
            uint32_t* off = AppendSlots(out.offsets, n);
            for (size_t i = 0; i < n; ++i) {
                if (end_ - p_ < 4) {
                    throw DecodeError(Short(n));
                }
                uint32_t len = LoadLE<uint32_t>(p_);
                p_ += 4;
                if (len > static_cast<size_t>(end_ - p_)) {
                    throw DecodeError("byte array length " + std::to_string(len) +
                                      " runs past the end of the page");
                }
                CheckBatchBytes(out, len);
                out.bytes.insert(out.bytes.end(), p_, p_ + len);
                p_ += len;
                off[i] = static_cast<uint32_t>(out.bytes.size());
            }
            return;
        }
        }
    }

    static void CheckBatchBytes(const ColumnBatch& out, size_t more) {
        if (out.bytes.size() + more > std::numeric_limits<uint32_t>::max()) {
            throw DecodeError("decoded byte arrays exceed 4 GiB in one batch");
        }
    }

private:
    template <class T>
    void Fixed(std::vector<T>& dst, size_t n, size_t avail) {
        if (n > avail / sizeof(T)) {
            throw DecodeError(Short(n));
        }
        CopyFixed(dst, p_, n);
        p_ += n * sizeof(T);
    }

    std::string Short(size_t n) const {
        return "page holds fewer PLAIN values than the " + std::to_string(n) + " requested";
    }

    const Column& column_;
    const uint8_t* p_;
    const uint8_t* end_;
    size_t bit_ = 0; // booleans are bit-packed
};

} // namespace

std::unique_ptr<ValueDecoder> MakePlainDecoder(const Column& column, const uint8_t* data, size_t size) {
    return std::make_unique<PlainDecoder>(column, data, size);
}

} // namespace pgsplit::parquet
