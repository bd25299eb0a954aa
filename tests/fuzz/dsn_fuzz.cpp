// libFuzzer target for connection strings and table locations: RedactDsn, ApplyDsnDefaults, DsnHost
// and the abfss:// / blob URL parser, with their invariants checked (see entry.h).

#include "fuzz/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    pgsplit::fuzz::DsnEntry(data, size);
    return 0;
}
