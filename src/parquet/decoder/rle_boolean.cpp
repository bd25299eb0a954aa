#include "parquet/bit_util.h"
#include "parquet/decoder/decoder.h"
#include "parquet/decoder/rle.h"

namespace pgsplit::parquet {
namespace {

// RLE-encoded booleans (data page v2): a 4-byte length, then the hybrid encoding at bit width 1.
class RleBooleanDecoder final : public ValueDecoder {
public:
    RleBooleanDecoder(const uint8_t* data, size_t size) {
        if (size < 4) {
            throw DecodeError("RLE boolean data is shorter than its length prefix");
        }
        uint32_t len = LoadLE<uint32_t>(data);
        if (len > size - 4) {
            throw DecodeError("RLE boolean length prefix runs past the end of the page");
        }
        rle_ = RleBitPackedDecoder(data + 4, len, 1);
    }

    void Decode(size_t n, ColumnBatch& out) override { rle_.Decode(AppendSlots(out.boolean, n), n); }

private:
    RleBitPackedDecoder rle_;
};

} // namespace

std::unique_ptr<ValueDecoder> MakeRleBooleanDecoder(const uint8_t* data, size_t size) {
    return std::make_unique<RleBooleanDecoder>(data, size);
}

} // namespace pgsplit::parquet
