#pragma once

// Value decoders, one per Parquet encoding. A decoder reads the values section of one data page and
// appends decoded values to a ColumnBatch (the vector matching the column's physical type; byte
// arrays append to `bytes` and push end offsets). Decoders know nothing of files or pages: on bad
// input they throw DecodeError, and the column reader adds the file, row group, column and page.

#include "parquet/memory_budget.h"
#include "parquet/reader.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace pgsplit::parquet {

class DecodeError : public std::runtime_error {
public:
    explicit DecodeError(const std::string& what) : std::runtime_error(what) {}
};

enum class Encoding {
    Plain = 0,
    PlainDictionary = 2,
    Rle = 3,
    BitPacked = 4,
    DeltaBinaryPacked = 5,
    DeltaLengthByteArray = 6,
    DeltaByteArray = 7,
    RleDictionary = 8,
    ByteStreamSplit = 9,
};

const char* EncodingName(int encoding);

// Bytes of zero padding kept after a dictionary's values so short values can be copied in one move.
constexpr size_t kCopySlack = 16;

class ValueDecoder {
public:
    virtual ~ValueDecoder() = default;
    // Appends exactly `n` values to `out`; throws DecodeError when the page holds fewer.
    virtual void Decode(size_t n, ColumnBatch& out) = 0;

    // Decoders whose output can outgrow their input (dictionary gathers, DELTA_BYTE_ARRAY prefixes)
    // check that growth against `budget` before allocating it; `stage` names the page for a failure.
    void SetBudget(const MemoryBudget* budget, std::string stage) {
        budget_ = budget;
        stage_ = std::move(stage);
    }

protected:
    void CheckGrowth(uint64_t bytes) const {
        if (budget_) {
            budget_->Check(bytes, [&] { return stage_; });
        }
    }

private:
    const MemoryBudget* budget_ = nullptr;
    std::string stage_;
};

// Helpers for appending to a batch without per-value allocation.
template <class T>
inline T* AppendSlots(std::vector<T>& v, size_t n) {
    size_t old = v.size();
    v.resize(old + n);
    return v.data() + old;
}

// Makes sure a byte-array batch has its leading 0 offset.
inline void EnsureOffsets(ColumnBatch& out) {
    if (out.offsets.empty()) {
        out.offsets.push_back(0);
    }
}

// Byte size of one value of a fixed-width physical type (0 for BYTE_ARRAY and BOOLEAN).
size_t FixedWidth(const Column& column);

// Factories. `data` must stay valid while the decoder is used.
std::unique_ptr<ValueDecoder> MakePlainDecoder(const Column& column, const uint8_t* data, size_t size);
std::unique_ptr<ValueDecoder> MakeRleBooleanDecoder(const uint8_t* data, size_t size);
std::unique_ptr<ValueDecoder> MakeDictionaryDecoder(const Column& column, const ColumnBatch& dictionary,
                                                    const uint8_t* data, size_t size);
std::unique_ptr<ValueDecoder> MakeDeltaBinaryPackedDecoder(const Column& column, const uint8_t* data,
                                                           size_t size);
std::unique_ptr<ValueDecoder> MakeDeltaLengthByteArrayDecoder(const Column& column, const uint8_t* data,
                                                              size_t size);
std::unique_ptr<ValueDecoder> MakeDeltaByteArrayDecoder(const Column& column, const uint8_t* data,
                                                        size_t size);
std::unique_ptr<ValueDecoder> MakeByteStreamSplitDecoder(const Column& column, const uint8_t* data,
                                                         size_t size);

// Picks the decoder for a data page's encoding. Throws DecodeError for an encoding that does not
// apply to the column's type, or a dictionary encoding without a dictionary page.
std::unique_ptr<ValueDecoder> MakeDecoder(int encoding, const Column& column, const ColumnBatch* dictionary,
                                          const uint8_t* data, size_t size);

} // namespace pgsplit::parquet
