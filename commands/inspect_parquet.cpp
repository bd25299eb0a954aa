// `pgsplit inspect parquet FILE`: schema (physical and logical), row groups and column chunks (codec,
// encodings, sizes, statistics) of one Parquet file; `--rows` prints decoded rows as JSONL or CSV.
// The hidden `--scan` decodes every column and prints counts only (the benchmark's mode).

#include "commands/command.h"
#include "core/error.h"
#include "inspect/parquet_summary.h"
#include "output/rows.h"
#include "parquet/reader.h"
#include "storage/storage.h"

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit {
namespace {

struct InspectParquetOptions {
    std::string file;
    bool rows = false;
    int64_t limit = 0;
    std::string format = "jsonl";
    bool scan = false;
};

int Describe(Context& ctx, const parquet::FileReader& r) {
    ctx.Print(ctx.config.json ? inspect::RenderParquetJson(r).dump(
                                    2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                                    "\n"
                              : inspect::RenderParquetText(r));
    return 0;
}

int PrintRows(Context& ctx, parquet::FileReader& r, const InspectParquetOptions& o) {
    RowFormat format = ParseRowFormat(o.format);
    std::vector<std::string> names;
    for (const auto& f : r.Root().children) {
        names.push_back(f.name);
    }
    RowWriter writer(format, names);
    std::string out = writer.Header();
    int64_t left = o.limit > 0 ? o.limit : INT64_MAX;
    if (r.AllFlat()) {
        std::vector<int> cols;
        for (const auto& f : r.Root().children) {
            cols.push_back(f.column);
        }
        std::vector<parquet::ColumnBatch> batches;
        for (size_t g = 0; g < r.Info().row_groups.size() && left > 0; ++g) {
            auto cursor = r.ReadRowGroup(static_cast<int>(g), cols, 4096);
            while (left > 0 && cursor->Next(batches)) {
                size_t n = batches.empty() ? 0 : std::min<size_t>(batches[0].size, static_cast<size_t>(left));
                writer.AddBatchRows(batches, 0, n, out);
                left -= static_cast<int64_t>(n);
                if (out.size() > (1 << 20)) {
                    ctx.Print(out);
                    out.clear();
                }
            }
        }
    } else {
        r.ReadRecordsOrdered({}, [&](nlohmann::ordered_json& rec) {
            if (left <= 0) {
                return false;
            }
            writer.AddRecord(rec, out);
            --left;
            if (out.size() > (1 << 20)) {
                ctx.Print(out);
                out.clear();
            }
            return left > 0;
        });
    }
    ctx.Print(out);
    return 0;
}

int Scan(Context& ctx, parquet::FileReader& r) {
    auto start = std::chrono::steady_clock::now();
    int64_t rows = 0;
    std::vector<int64_t> non_null(r.Columns().size(), 0);
    if (r.AllFlat()) {
        std::vector<int> cols;
        for (const auto& c : r.Columns()) {
            cols.push_back(c.index);
        }
        std::vector<parquet::ColumnBatch> batches;
        for (size_t g = 0; g < r.Info().row_groups.size(); ++g) {
            auto cursor = r.ReadRowGroup(static_cast<int>(g), cols, 8192);
            while (cursor->Next(batches)) {
                rows += static_cast<int64_t>(batches[0].size);
                for (size_t c = 0; c < batches.size(); ++c) {
                    int64_t n = 0;
                    for (uint8_t d : batches[c].defined) {
                        n += d;
                    }
                    non_null[c] += n;
                }
            }
        }
    } else {
        r.ReadRecords({}, [&](nlohmann::json&) {
            ++rows;
            return true;
        });
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string out = fmt::format("rows {}\nseconds {:.3f}\n", rows, secs);
    if (r.AllFlat()) {
        for (size_t c = 0; c < non_null.size(); ++c) {
            out += fmt::format("column {} non_null {}\n", r.Columns()[c].DottedPath(), non_null[c]);
        }
    }
    ctx.Print(out);
    return 0;
}

// A local path is read as before; a URI (abfss://, an https:// blob URL, file://) goes through the
// storage layer `inspect delta` uses, so both commands read the same places with the same credentials.
// `store` keeps the back-end alive as long as the reader that reads through it.
std::unique_ptr<parquet::FileReader> OpenParquet(const std::string& location, const Config& config,
                                                 std::unique_ptr<storage::Storage>& store) {
    if (location.find("://") == std::string::npos) {
        return parquet::OpenFile(location);
    }
    auto slash = location.find_last_of('/');
    if (slash == std::string::npos || slash + 1 == location.size() ||
        location.compare(slash - 1, 2, "//") == 0) {
        throw Error(ExitCode::Usage, fmt::format("'{}' names no Parquet file", location),
                    "give the file's full URI, e.g. abfss://container@account.dfs.core.windows.net/dir/"
                    "part-0000.parquet");
    }
    store = storage::OpenStorage(location.substr(0, slash), config.Storage());
    return parquet::FileReader::Open(store->Open(location.substr(slash + 1)));
}

} // namespace

Runner SetupInspectParquet(CLI::App& app) {
    auto opts = std::make_shared<InspectParquetOptions>();
    app.add_option("file", opts->file, "Parquet file: a local path, abfss:// URI or https:// blob URL")
        ->required();
    app.add_flag("--rows", opts->rows, "print decoded rows instead of the metadata");
    app.add_option("--limit", opts->limit, "with --rows: at most N rows (default all)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--format", opts->format, "with --rows: jsonl (default) or csv")
        ->check(CLI::IsMember({"jsonl", "csv"}));
    // Benchmark mode: decode everything, print counts and time only.
    app.add_flag("--scan", opts->scan, "")->group("");
    app.footer(
        "Remote files are read like 'inspect delta' reads tables (same credentials: AZURE_STORAGE_*).\n\n"
        "Examples:\n  pgsplit inspect parquet part-0000.parquet --rows --limit 5 --format csv\n"
        "  pgsplit inspect parquet "
        "abfss://gold@acct.dfs.core.windows.net/ranking/signals/part-0000.parquet\n\n"
        "Exit codes: 0 shown; 2 usage; 3 configuration; 4 storage refused the credentials; 7 source data\n"
        "error (missing, unreadable or malformed file).\n");
    return [opts](Context& ctx) {
        std::unique_ptr<storage::Storage> store;
        auto reader = OpenParquet(opts->file, ctx.config, store);
        if (opts->scan) {
            return Scan(ctx, *reader);
        }
        if (opts->rows) {
            return PrintRows(ctx, *reader, *opts);
        }
        return Describe(ctx, *reader);
    };
}

} // namespace pgsplit
