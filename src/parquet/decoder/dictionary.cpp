#include "parquet/decoder/decoder.h"
#include "parquet/decoder/rle.h"

#include <algorithm>
#include <cstring>

namespace pgsplit::parquet {
namespace {

// RLE_DICTIONARY / PLAIN_DICTIONARY data pages: one byte of bit width, then hybrid-encoded indices
// into the dictionary page's values. Indices are decoded in bulk, range-checked once per call, then
// gathered.
class DictionaryDecoder final : public ValueDecoder {
public:
    DictionaryDecoder(const Column& column, const ColumnBatch& dict, const uint8_t* data, size_t size)
        : column_(column), dict_(dict) {
        if (size < 1) {
            throw DecodeError("dictionary-encoded page has no bit width byte");
        }
        int width = data[0];
        if (width > 32) {
            throw DecodeError("dictionary index bit width " + std::to_string(width) + " is larger than 32");
        }
        rle_ = RleBitPackedDecoder(data + 1, size - 1, width);
    }

    void Decode(size_t n, ColumnBatch& out) override {
        idx_.resize(n);
        size_t unused = 0;
        uint32_t max = 0;
        rle_.DecodeCounted(idx_.data(), n, 0, unused, max);
        if (n > 0) {
            if (max >= dict_.size) {
                throw DecodeError("dictionary index " + std::to_string(max) +
                                  " is out of range (dictionary has " + std::to_string(dict_.size) +
                                  " values)");
            }
        }
        const uint32_t* idx = idx_.data();
        switch (column_.physical) {
        case Physical::Boolean:
            return Gather(out.boolean, dict_.boolean, idx, n);
        case Physical::Int32:
            return Gather(out.i32, dict_.i32, idx, n);
        case Physical::Int64:
            return Gather(out.i64, dict_.i64, idx, n);
        case Physical::Int96:
            return Gather(out.int96, dict_.int96, idx, n);
        case Physical::Float:
            return Gather(out.f32, dict_.f32, idx, n);
        case Physical::Double:
            return Gather(out.f64, dict_.f64, idx, n);
        case Physical::ByteArray:
        case Physical::FixedLenByteArray: {
            EnsureOffsets(out);
            size_t total = 0;
            for (size_t i = 0; i < n; ++i) {
                total += dict_.offsets[idx[i] + 1] - dict_.offsets[idx[i]];
            }
            if (out.bytes.size() + total > UINT32_MAX) {
                throw DecodeError("decoded byte arrays exceed 4 GiB in one batch");
            }
            CheckGrowth(total);
            size_t pos = out.bytes.size();
            // 16 bytes of slack let short values be copied with one fixed-size move; the dictionary
            // keeps the same slack after its last value (see ColumnChunkReader::LoadDictionary).
            out.bytes.resize(pos + total + kCopySlack);
            uint8_t* dst = out.bytes.data();
            uint32_t* off = AppendSlots(out.offsets, n);
            const uint8_t* src = dict_.bytes.data();
            const uint32_t* doff = dict_.offsets.data();
            const bool padded = dict_.bytes.size() >= static_cast<size_t>(doff[dict_.size]) + kCopySlack;
            for (size_t i = 0; i < n; ++i) {
                uint32_t b = doff[idx[i]];
                uint32_t len = doff[idx[i] + 1] - b;
                if (padded && len <= kCopySlack) {
                    std::memcpy(dst + pos, src + b, kCopySlack);
                } else {
                    std::memcpy(dst + pos, src + b, len);
                }
                pos += len;
                off[i] = static_cast<uint32_t>(pos);
            }
            out.bytes.resize(pos);
            return;
        }
        }
    }

private:
    template <class T>
    static void Gather(std::vector<T>& dst, const std::vector<T>& src, const uint32_t* idx, size_t n) {
        T* d = AppendSlots(dst, n);
        const T* s = src.data();
        for (size_t i = 0; i < n; ++i) {
            d[i] = s[idx[i]];
        }
    }

    const Column& column_;
    const ColumnBatch& dict_;
    RleBitPackedDecoder rle_;
    std::vector<uint32_t> idx_;
};

} // namespace

std::unique_ptr<ValueDecoder> MakeDictionaryDecoder(const Column& column, const ColumnBatch& dictionary,
                                                    const uint8_t* data, size_t size) {
    return std::make_unique<DictionaryDecoder>(column, dictionary, data, size);
}

} // namespace pgsplit::parquet
