// libFuzzer target for the deletion vector decoder (RoaringBitmapArray, Z85 and the DV file format).
// Anything but DvFormatError or pgsplit::Error, or a broken invariant, is a bug.

#include "fuzz/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    pgsplit::fuzz::DeletionVectorEntry(data, size);
    return 0;
}
