#include "parquet/decoder/decoder.h"
#include "parquet/decoder/delta_binary_packed.h"

#include <limits>

namespace pgsplit::parquet {
namespace {

// DELTA_BYTE_ARRAY (incremental encoding): prefix lengths (DELTA_BINARY_PACKED), then the suffixes as
// DELTA_LENGTH_BYTE_ARRAY. Each value is the first `prefix` bytes of the previous value plus its
// suffix.
class DeltaByteArrayDecoder final : public ValueDecoder {
public:
    DeltaByteArrayDecoder(const Column& column, const uint8_t* data, size_t size)
        : column_(column), prefixes_(data, size) {
        DeltaBinaryPackedReader scan(data, size);
        const uint8_t* suffix_start = scan.SkipToEnd();
        const uint8_t* end = data + size;
        suffix_lengths_ =
            std::make_unique<DeltaBinaryPackedReader>(suffix_start, static_cast<size_t>(end - suffix_start));
        DeltaBinaryPackedReader scan2(suffix_start, static_cast<size_t>(end - suffix_start));
        p_ = scan2.SkipToEnd();
        end_ = end;
    }

    void Decode(size_t n, ColumnBatch& out) override {
        pre_.resize(n);
        suf_.resize(n);
        prefixes_.Next(pre_.data(), n);
        suffix_lengths_->Next(suf_.data(), n);
        EnsureOffsets(out);
        uint32_t* off = AppendSlots(out.offsets, n);
        // A value may repeat all of the previous one for a byte of input: the output is bounded by
        // the longest value times the count, which is checked as it grows.
        uint64_t grown = 0;
        for (size_t i = 0; i < n; ++i) {
            int64_t pre = pre_[i];
            int64_t suf = suf_[i];
            if (pre < 0 || static_cast<uint64_t>(pre) > prev_.size()) {
                throw DecodeError("prefix length " + std::to_string(pre) +
                                  " is longer than the previous value");
            }
            if (suf < 0 || suf > end_ - p_) {
                throw DecodeError("suffix length " + std::to_string(suf) + " runs past the end of the page");
            }
            prev_.resize(static_cast<size_t>(pre));
            prev_.insert(prev_.end(), p_, p_ + suf);
            p_ += suf;
            if (column_.physical == Physical::FixedLenByteArray &&
                prev_.size() != static_cast<size_t>(column_.type_length)) {
                throw DecodeError("DELTA_BYTE_ARRAY value length differs from the fixed length");
            }
            if (out.bytes.size() + prev_.size() > std::numeric_limits<uint32_t>::max()) {
                throw DecodeError("decoded byte arrays exceed 4 GiB in one batch");
            }
            grown += prev_.size();
            if (grown > (uint64_t{1} << 20)) {
                CheckGrowth(grown);
            }
            out.bytes.insert(out.bytes.end(), prev_.begin(), prev_.end());
            off[i] = static_cast<uint32_t>(out.bytes.size());
        }
    }

private:
    const Column& column_;
    DeltaBinaryPackedReader prefixes_;
    std::unique_ptr<DeltaBinaryPackedReader> suffix_lengths_;
    const uint8_t* p_;
    const uint8_t* end_;
    std::vector<uint8_t> prev_;
    std::vector<int64_t> pre_;
    std::vector<int64_t> suf_;
};

} // namespace

std::unique_ptr<ValueDecoder> MakeDeltaByteArrayDecoder(const Column& column, const uint8_t* data,
                                                        size_t size) {
    return std::make_unique<DeltaByteArrayDecoder>(column, data, size);
}

} // namespace pgsplit::parquet
