// libFuzzer target for Delta log replay: bytes become the commits of an in-memory table (NUL-separated)
// and go through delta::Table::LoadSnapshot and file selection. Anything but pgsplit::Error is a bug.

#include "fuzz/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    pgsplit::fuzz::DeltaLogEntry(data, size);
    return 0;
}
