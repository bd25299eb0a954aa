// ColumnBatch's own operations: emptying a batch for reuse and filtering its rows in place.

#include "parquet/reader.h"

namespace pgsplit::parquet {

void ColumnBatch::Reset(const Column* c) {
    column = c;
    size = 0;
    defined.clear();
    boolean.clear();
    i32.clear();
    i64.clear();
    int96.clear();
    f32.clear();
    f64.clear();
    offsets.clear();
    bytes.clear();
    if (c->physical == Physical::ByteArray || c->physical == Physical::FixedLenByteArray) {
        offsets.push_back(0);
    }
}

void ColumnBatch::KeepRows(const std::vector<uint8_t>& keep, size_t kept) {
    size_t j = 0;
    bool var = !offsets.empty();
    std::vector<uint8_t> kept_bytes;
    std::vector<uint32_t> kept_offsets;
    if (var) {
        kept_offsets.reserve(kept + 1);
    }
    for (size_t i = 0; i < size; ++i) {
        if (!keep[i]) {
            continue;
        }
        defined[j] = defined[i];
        if (!boolean.empty()) {
            boolean[j] = boolean[i];
        }
        if (!i32.empty()) {
            i32[j] = i32[i];
        }
        if (!i64.empty()) {
            i64[j] = i64[i];
        }
        if (!int96.empty()) {
            int96[j] = int96[i];
        }
        if (!f32.empty()) {
            f32[j] = f32[i];
        }
        if (!f64.empty()) {
            f64[j] = f64[i];
        }
        if (var) {
            kept_offsets.push_back(static_cast<uint32_t>(kept_bytes.size()));
            auto s = Bytes(i);
            kept_bytes.insert(kept_bytes.end(), s.begin(), s.end());
        }
        ++j;
    }
    size = kept;
    defined.resize(kept);
    auto shrink = [kept](auto& v) {
        if (!v.empty()) {
            v.resize(kept);
        }
    };
    shrink(boolean);
    shrink(i32);
    shrink(i64);
    shrink(int96);
    shrink(f32);
    shrink(f64);
    if (var) {
        kept_offsets.push_back(static_cast<uint32_t>(kept_bytes.size()));
        offsets = std::move(kept_offsets);
        bytes = std::move(kept_bytes);
    }
}

} // namespace pgsplit::parquet
