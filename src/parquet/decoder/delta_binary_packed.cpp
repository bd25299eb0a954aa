#include "parquet/decoder/delta_binary_packed.h"

#include "parquet/bit_util.h"
#include "parquet/decoder/decoder.h"
#include "parquet/decoder/rle.h"

#include <algorithm>

namespace pgsplit::parquet {

DeltaBinaryPackedReader::DeltaBinaryPackedReader(const uint8_t* data, size_t size)
    : p_(data), end_(data + size) {
    block_size_ = ReadUleb(p_, end_);
    miniblocks_ = ReadUleb(p_, end_);
    total_ = ReadUleb(p_, end_);
    last_ = static_cast<uint64_t>(ReadZigzag(p_, end_));
    if (block_size_ == 0 || block_size_ % 128 != 0 || block_size_ > (1u << 20)) {
        throw DecodeError("delta block size " + std::to_string(block_size_) +
                          " is not a positive multiple of 128");
    }
    if (miniblocks_ == 0 || miniblocks_ > block_size_ || block_size_ % miniblocks_ != 0 ||
        (block_size_ / miniblocks_) % 32 != 0) {
        throw DecodeError("delta miniblock count " + std::to_string(miniblocks_) +
                          " does not divide the block");
    }
    if (total_ > (uint64_t{1} << 40)) {
        throw DecodeError("delta value count " + std::to_string(total_) + " is implausible");
    }
    per_mini_ = block_size_ / miniblocks_;
    remaining_ = total_;
    widths_.resize(miniblocks_);
}

void DeltaBinaryPackedReader::ReadBlockHeader() {
    min_delta_ = static_cast<uint64_t>(ReadZigzag(p_, end_));
    if (static_cast<uint64_t>(end_ - p_) < miniblocks_) {
        throw DecodeError("delta block bit widths run past the end of the data");
    }
    std::copy(p_, p_ + miniblocks_, widths_.begin());
    p_ += miniblocks_;
    mini_index_ = 0;
    in_block_ = true;
}

void DeltaBinaryPackedReader::StartMiniblock() {
    if (!in_block_ || mini_index_ == miniblocks_) {
        ReadBlockHeader();
    }
    int width = widths_[mini_index_++];
    if (width > 64) {
        throw DecodeError("delta miniblock bit width " + std::to_string(width) + " is larger than 64");
    }
    size_t bytes = static_cast<size_t>(per_mini_ * static_cast<uint64_t>(width) / 8);
    size_t avail = static_cast<size_t>(end_ - p_);
    // The final miniblock is padded to full size by the spec, but some writers stop after the last
    // value; accept that as long as every value still needed is present.
    size_t needed = std::min<uint64_t>(remaining_, per_mini_);
    size_t needed_bytes = static_cast<size_t>((needed * static_cast<uint64_t>(width) + 7) / 8);
    if (needed_bytes > avail) {
        throw DecodeError("delta miniblock runs past the end of the data");
    }
    deltas_.resize(needed);
    UnpackBits64(p_, std::min(bytes, avail), width, deltas_.data(), needed);
    p_ += std::min(bytes, avail);
    delta_pos_ = 0;
    delta_len_ = needed;
}

void DeltaBinaryPackedReader::Next(int64_t* out, size_t n) {
    if (n > remaining_) {
        throw DecodeError("delta stream holds " + std::to_string(remaining_) + " more values, " +
                          std::to_string(n) + " requested");
    }
    size_t i = 0;
    if (n > 0 && first_pending_) {
        out[i++] = static_cast<int64_t>(last_);
        first_pending_ = false;
        --remaining_;
    }
    while (i < n) {
        if (delta_pos_ == delta_len_) {
            StartMiniblock();
        }
        size_t k = std::min(n - i, delta_len_ - delta_pos_);
        uint64_t v = last_;
        const uint64_t* d = deltas_.data() + delta_pos_;
        for (size_t j = 0; j < k; ++j) {
            v += min_delta_ + d[j];
            out[i + j] = static_cast<int64_t>(v);
        }
        last_ = v;
        i += k;
        delta_pos_ += k;
        remaining_ -= k;
    }
}

const uint8_t* DeltaBinaryPackedReader::SkipToEnd() {
    if (remaining_ > 0 && first_pending_) {
        first_pending_ = false;
        --remaining_;
    }
    remaining_ -= std::min<uint64_t>(remaining_, delta_len_ - delta_pos_);
    delta_pos_ = delta_len_;
    while (remaining_ > 0) {
        if (!in_block_ || mini_index_ == miniblocks_) {
            ReadBlockHeader();
        }
        int width = widths_[mini_index_++];
        if (width > 64) {
            throw DecodeError("delta miniblock bit width " + std::to_string(width) + " is larger than 64");
        }
        size_t bytes = static_cast<size_t>(per_mini_ * static_cast<uint64_t>(width) / 8);
        uint64_t k = std::min<uint64_t>(remaining_, per_mini_);
        size_t needed_bytes = static_cast<size_t>((k * static_cast<uint64_t>(width) + 7) / 8);
        size_t avail = static_cast<size_t>(end_ - p_);
        if (needed_bytes > avail) {
            throw DecodeError("delta miniblock runs past the end of the data");
        }
        p_ += std::min(bytes, avail);
        remaining_ -= k;
    }
    return p_;
}

namespace {

class DeltaBinaryPackedDecoder final : public ValueDecoder {
public:
    DeltaBinaryPackedDecoder(const Column& column, const uint8_t* data, size_t size)
        : column_(column), reader_(data, size) {}

    void Decode(size_t n, ColumnBatch& out) override {
        if (column_.physical == Physical::Int64) {
            reader_.Next(AppendSlots(out.i64, n), n);
            return;
        }
        tmp_.resize(n);
        reader_.Next(tmp_.data(), n);
        int32_t* dst = AppendSlots(out.i32, n);
        for (size_t i = 0; i < n; ++i) {
            dst[i] = static_cast<int32_t>(static_cast<uint32_t>(tmp_[i]));
        }
    }

private:
    const Column& column_;
    DeltaBinaryPackedReader reader_;
    std::vector<int64_t> tmp_;
};

} // namespace

std::unique_ptr<ValueDecoder> MakeDeltaBinaryPackedDecoder(const Column& column, const uint8_t* data,
                                                           size_t size) {
    return std::make_unique<DeltaBinaryPackedDecoder>(column, data, size);
}

} // namespace pgsplit::parquet
