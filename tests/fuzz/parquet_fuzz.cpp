// libFuzzer target for the Parquet reader: any bytes, read as a file, must either decode or fail with
// pgsplit::Error; never crash, hang or allocate without bound. Built with -DPGSPLIT_FUZZ=ON under
// clang (scripts/fuzz.sh).

#include "core/error.h"
#include "parquet/reader.h"

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using pgsplit::parquet::FileReader;
    try {
        auto reader = FileReader::Open(pgsplit::parquet::MemorySource(
            "fuzz.parquet", std::string(reinterpret_cast<const char*>(data), size)));
        if (reader->AllFlat()) {
            std::vector<int> columns;
            for (const auto& c : reader->Columns()) {
                columns.push_back(c.index);
            }
            std::vector<pgsplit::parquet::ColumnBatch> batches;
            for (size_t g = 0; g < reader->Info().row_groups.size(); ++g) {
                auto cursor = reader->ReadRowGroup(static_cast<int>(g), columns, 1024);
                while (cursor->Next(batches)) {
                }
            }
        }
        // The record path too, for flat and nested files alike.
        size_t records = 0;
        reader->ReadRecords({}, [&](nlohmann::json&) { return ++records < 100000; });
    } catch (const pgsplit::Error&) {
        // Expected for malformed input.
    }
    return 0;
}
