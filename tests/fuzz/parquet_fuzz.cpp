// libFuzzer target for the Parquet reader: any bytes, read as a file, must either decode or fail with
// pgsplit::Error; never crash, hang or allocate without bound. Built with -DPGSPLIT_FUZZ=ON under
// clang (scripts/fuzz.sh); the body lives in entry.cpp so the suite can replay saved inputs.

#include "fuzz/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    pgsplit::fuzz::ParquetEntry(data, size);
    return 0;
}
