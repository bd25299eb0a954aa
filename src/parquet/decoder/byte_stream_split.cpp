#include "parquet/decoder/decoder.h"

#include <cstring>

namespace pgsplit::parquet {
namespace {

// BYTE_STREAM_SPLIT: byte k of every value is stored in stream k; the streams are laid out one after
// another, each as long as the page has values.
class ByteStreamSplitDecoder final : public ValueDecoder {
public:
    ByteStreamSplitDecoder(const Column& column, const uint8_t* data, size_t size)
        : column_(column), data_(data), width_(FixedWidth(column)) {
        if (width_ == 0 || size % width_ != 0) {
            throw DecodeError("BYTE_STREAM_SPLIT data size " + std::to_string(size) +
                              " is not a multiple of the value width");
        }
        count_ = size / width_;
    }

    void Decode(size_t n, ColumnBatch& out) override {
        if (n > count_ - pos_) {
            throw DecodeError("page holds fewer BYTE_STREAM_SPLIT values than the " + std::to_string(n) +
                              " requested");
        }
        uint8_t* dst = nullptr;
        switch (column_.physical) {
        case Physical::Int32:
            dst = reinterpret_cast<uint8_t*>(AppendSlots(out.i32, n));
            break;
        case Physical::Int64:
            dst = reinterpret_cast<uint8_t*>(AppendSlots(out.i64, n));
            break;
        case Physical::Float:
            dst = reinterpret_cast<uint8_t*>(AppendSlots(out.f32, n));
            break;
        case Physical::Double:
            dst = reinterpret_cast<uint8_t*>(AppendSlots(out.f64, n));
            break;
        case Physical::FixedLenByteArray: {
            EnsureOffsets(out);
            size_t base = out.bytes.size();
            out.bytes.resize(base + n * width_);
            dst = out.bytes.data() + base;
            uint32_t* off = AppendSlots(out.offsets, n);
            for (size_t i = 0; i < n; ++i) {
                off[i] = static_cast<uint32_t>(base + (i + 1) * width_);
            }
            break;
        }
        default:
            throw DecodeError("BYTE_STREAM_SPLIT is not valid for this column type");
        }
        for (size_t k = 0; k < width_; ++k) {
            const uint8_t* stream = data_ + k * count_ + pos_;
            for (size_t i = 0; i < n; ++i) {
                dst[i * width_ + k] = stream[i];
            }
        }
        pos_ += n;
    }

private:
    const Column& column_;
    const uint8_t* data_;
    size_t width_;
    size_t count_ = 0;
    size_t pos_ = 0;
};

} // namespace

std::unique_ptr<ValueDecoder> MakeByteStreamSplitDecoder(const Column& column, const uint8_t* data,
                                                         size_t size) {
    return std::make_unique<ByteStreamSplitDecoder>(column, data, size);
}

} // namespace pgsplit::parquet
