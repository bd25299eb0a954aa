#include "parquet/decoder/decoder.h"
#include "parquet/decoder/delta_binary_packed.h"

#include <limits>

namespace pgsplit::parquet {
namespace {

// DELTA_LENGTH_BYTE_ARRAY: every length first (DELTA_BINARY_PACKED), then the bytes back to back.
// A first reader walks the lengths to find where the bytes begin; a second one yields the lengths.
class DeltaLengthByteArrayDecoder final : public ValueDecoder {
public:
    DeltaLengthByteArrayDecoder(const uint8_t* data, size_t size) : lengths_(data, size) {
        DeltaBinaryPackedReader scan(data, size);
        p_ = scan.SkipToEnd();
        end_ = data + size;
    }

    void Decode(size_t n, ColumnBatch& out) override {
        len_.resize(n);
        lengths_.Next(len_.data(), n);
        EnsureOffsets(out);
        uint32_t* off = AppendSlots(out.offsets, n);
        for (size_t i = 0; i < n; ++i) {
            int64_t len = len_[i];
            if (len < 0 || len > end_ - p_) {
                throw DecodeError("byte array length " + std::to_string(len) +
                                  " runs past the end of the page");
            }
            if (out.bytes.size() + static_cast<size_t>(len) > std::numeric_limits<uint32_t>::max()) {
                throw DecodeError("decoded byte arrays exceed 4 GiB in one batch");
            }
            out.bytes.insert(out.bytes.end(), p_, p_ + len);
            p_ += len;
            off[i] = static_cast<uint32_t>(out.bytes.size());
        }
    }

private:
    DeltaBinaryPackedReader lengths_;
    const uint8_t* p_;
    const uint8_t* end_;
    std::vector<int64_t> len_;
};

} // namespace

std::unique_ptr<ValueDecoder> MakeDeltaLengthByteArrayDecoder(const Column&, const uint8_t* data,
                                                              size_t size) {
    return std::make_unique<DeltaLengthByteArrayDecoder>(data, size);
}

} // namespace pgsplit::parquet
