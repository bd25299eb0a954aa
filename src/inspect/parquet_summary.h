#pragma once

// `pgsplit inspect parquet FILE` without --rows: a file's metadata (format version, writer, key/value
// metadata), its schema with physical and logical types, and per row group every column chunk (codec,
// encodings, sizes, statistics rendered in the column's logical type), as text or one JSON document.

#include "parquet/reader.h"

#include <nlohmann/json.hpp>
#include <string>

namespace pgsplit::inspect {

std::string RenderParquetText(const parquet::FileReader& r);
nlohmann::ordered_json RenderParquetJson(const parquet::FileReader& r);

} // namespace pgsplit::inspect
