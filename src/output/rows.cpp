#include "output/rows.h"

#include "core/error.h"

#include <charconv>

namespace pgsplit {
namespace {

void AppendCsvField(std::string& out, std::string_view s) {
    // Quote when the field could be misread: separators, quotes, line breaks, or an empty string
    // (an empty unquoted field means NULL).
    bool quote = s.empty() || s.find_first_of(",\"\r\n") != std::string_view::npos;
    if (!quote) {
        out.append(s);
        return;
    }
    out.push_back('"');
    for (char c : s) {
        if (c == '"') {
            out.push_back('"');
        }
        out.push_back(c);
    }
    out.push_back('"');
}

void AppendInteger(std::string& out, int64_t v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void AppendUnsigned(std::string& out, uint64_t v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

} // namespace

RowFormat ParseRowFormat(const std::string& name) {
    if (name == "jsonl") {
        return RowFormat::Jsonl;
    }
    if (name == "csv") {
        return RowFormat::Csv;
    }
    throw Error(ExitCode::Usage, "unknown row format '" + name + "'", "use --format jsonl or --format csv");
}

RowWriter::RowWriter(RowFormat format, std::vector<std::string> names)
    : format_(format), names_(std::move(names)) {}

std::string RowWriter::Header() const {
    if (format_ != RowFormat::Csv) {
        return {};
    }
    std::string out;
    for (size_t i = 0; i < names_.size(); ++i) {
        if (i) {
            out.push_back(',');
        }
        AppendCsvField(out, names_[i]);
    }
    out.push_back('\n');
    return out;
}

void RowWriter::BeginRow(std::string& out) {
    if (format_ == RowFormat::Jsonl) {
        out.push_back('{');
    }
}

void RowWriter::EndRow(std::string& out) {
    if (format_ == RowFormat::Jsonl) {
        out.push_back('}');
    }
    out.push_back('\n');
}

void RowWriter::AddCell(size_t column, const parquet::Cell& cell, std::string& out) {
    if (format_ == RowFormat::Jsonl) {
        if (column) {
            out.push_back(',');
        }
        parquet::AppendJsonString(out, names_[column]);
        out.push_back(':');
    } else if (column) {
        out.push_back(',');
    }
    bool csv = format_ == RowFormat::Csv;
    switch (cell.kind) {
    case parquet::CellKind::Null:
        if (!csv) {
            out += "null";
        }
        return;
    case parquet::CellKind::Boolean:
        out += cell.boolean ? "true" : "false";
        return;
    case parquet::CellKind::Integer:
        AppendInteger(out, cell.integer);
        return;
    case parquet::CellKind::Unsigned:
        AppendUnsigned(out, cell.unsigned_integer);
        return;
    case parquet::CellKind::Real:
        out += cell.text;
        return;
    case parquet::CellKind::String:
        if (csv) {
            AppendCsvField(out, cell.text);
        } else {
            parquet::AppendJsonString(out, cell.text);
        }
        return;
    }
}

void RowWriter::AddBatchRows(const std::vector<parquet::ColumnBatch>& batches, size_t begin, size_t end,
                             std::string& out) {
    for (size_t row = begin; row < end; ++row) {
        BeginRow(out);
        for (size_t c = 0; c < batches.size() && c < names_.size(); ++c) {
            const parquet::ColumnBatch& b = batches[c];
            if (b.IsNull(row)) {
                cell_.kind = parquet::CellKind::Null;
            } else {
                parquet::RenderCell(*b.column, b, row, cell_);
            }
            AddCell(c, cell_, out);
        }
        EndRow(out);
    }
}

void RowWriter::AddCells(const std::vector<parquet::Cell>& cells, std::string& out) {
    BeginRow(out);
    for (size_t c = 0; c < cells.size() && c < names_.size(); ++c) {
        AddCell(c, cells[c], out);
    }
    EndRow(out);
}

void RowWriter::AddRecord(const nlohmann::ordered_json& record, std::string& out) {
    const auto handler = nlohmann::ordered_json::error_handler_t::replace;
    if (format_ == RowFormat::Jsonl) {
        out += record.dump(-1, ' ', false, handler);
        out.push_back('\n');
        return;
    }
    for (size_t c = 0; c < names_.size(); ++c) {
        if (c) {
            out.push_back(',');
        }
        auto it = record.find(names_[c]);
        if (it == record.end() || it->is_null()) {
            continue;
        }
        if (it->is_string()) {
            AppendCsvField(out, it->get_ref<const std::string&>());
        } else if (it->is_structured()) {
            AppendCsvField(out, it->dump(-1, ' ', false, handler));
        } else {
            out += it->dump(-1, ' ', false, handler);
        }
    }
    out.push_back('\n');
}

} // namespace pgsplit
