// The Parquet file reader: footer and schema, column chunks fetched within the memory budget, pages
// decompressed and decoded into batches (RowGroupCursor), and whole records for nested files
// (ReadRecords, with record_reader). Long because the flat and the nested paths share the chunk and
// page handling; the decoders and codecs themselves live in decoder/ and codec/.
#include "core/error.h"
#include "core/interrupt.h"
#include "parquet/codec/codec.h"
#include "parquet/column_reader.h"
#include "parquet/metadata.h"
#include "parquet/reader.h"
#include "parquet/record_reader.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgsplit::parquet {
namespace {

// One ranged read of the tail usually covers the footer of files pgsplit meets.
constexpr uint64_t kTailRead = 64 * 1024;
// A nested row group is assembled in memory; this caps its level entries per column.
constexpr size_t kMaxNestedEntries = size_t{1} << 26;

std::atomic<uint64_t> g_default_memory_bytes{ReadLimits::kDefaultMemoryBytes};

// Heap bytes held by a batch's vectors.
uint64_t BatchBytes(const ColumnBatch& b) {
    return b.defined.capacity() + b.boolean.capacity() + b.i32.capacity() * sizeof(int32_t) +
           b.i64.capacity() * sizeof(int64_t) + b.int96.capacity() * sizeof(Int96) +
           b.f32.capacity() * sizeof(float) + b.f64.capacity() * sizeof(double) +
           b.offsets.capacity() * sizeof(uint32_t) + b.bytes.capacity();
}

[[noreturn]] void Corrupt(const std::string& stage, const std::string& file, const std::string& detail) {
    throw Error(ExitCode::Source, fmt::format("{} in '{}': {}", stage, file, detail));
}

// Moves the compact values of a batch to their rows (dense), walking backwards so it works in place.
template <class T>
void SpreadFixed(std::vector<T>& v, const std::vector<uint8_t>& defined, size_t present, size_t n) {
    v.resize(n);
    size_t j = present;
    for (size_t i = n; i-- > 0;) {
        if (defined[i]) {
            v[i] = v[--j];
        } else {
            v[i] = T{};
        }
    }
}

void Spread(ColumnBatch& b, size_t present, size_t n) {
    if (present == n) {
        return;
    }
    switch (b.column->physical) {
    case Physical::Boolean:
        return SpreadFixed(b.boolean, b.defined, present, n);
    case Physical::Int32:
        return SpreadFixed(b.i32, b.defined, present, n);
    case Physical::Int64:
        return SpreadFixed(b.i64, b.defined, present, n);
    case Physical::Int96:
        return SpreadFixed(b.int96, b.defined, present, n);
    case Physical::Float:
        return SpreadFixed(b.f32, b.defined, present, n);
    case Physical::Double:
        return SpreadFixed(b.f64, b.defined, present, n);
    case Physical::ByteArray:
    case Physical::FixedLenByteArray: {
        // offsets[i+1] of a dense batch is the end of the last value at or before row i.
        if (b.offsets.empty()) {
            b.offsets.push_back(0);
        }
        b.offsets.resize(n + 1);
        size_t j = present;
        for (size_t i = n; i-- > 0;) {
            b.offsets[i + 1] = b.offsets[j];
            if (b.defined[i]) {
                --j;
            }
        }
        b.offsets[0] = 0;
        return;
    }
    }
}

class Cursor final : public RowGroupCursor {
public:
    Cursor(std::shared_ptr<MemoryBudget> budget, std::vector<const Column*> columns,
           std::vector<std::unique_ptr<ColumnChunkReader>> readers, int64_t rows, size_t batch_rows)
        : budget_(std::move(budget)), columns_(std::move(columns)), readers_(std::move(readers)),
          rows_left_(readers_.empty() ? 0 : rows), batch_rows_(std::max<size_t>(batch_rows, 1)) {}

    bool Next(std::vector<ColumnBatch>& out) override {
        if (rows_left_ <= 0) {
            out.resize(columns_.size());
            for (size_t c = 0; c < columns_.size(); ++c) {
                out[c].Reset(columns_[c]);
            }
            return false;
        }
        CheckInterrupt();
        out.resize(readers_.size());
        size_t n = static_cast<size_t>(std::min<int64_t>(rows_left_, static_cast<int64_t>(batch_rows_)));
        for (size_t c = 0; c < readers_.size(); ++c) {
            ColumnChunkReader& r = *readers_[c];
            const Column& col = r.column();
            ColumnBatch& b = out[c];
            b.Reset(&col);
            b.defined.resize(n);
            size_t got = r.ReadFlat(n, b.defined.data(), b);
            if (got < n) {
                r.Fail("truncated column chunk",
                       fmt::format("the column chunk ends {} rows before the row group's last row",
                                   rows_left_ - static_cast<int64_t>(got)));
            }
            Spread(b, b.size, n);
            b.size = n;
        }
        rows_left_ -= static_cast<int64_t>(n);
        return true;
    }

private:
    std::shared_ptr<MemoryBudget> budget_; // first: the chunk readers release into it as they go
    std::vector<const Column*> columns_;
    std::vector<std::unique_ptr<ColumnChunkReader>> readers_;
    int64_t rows_left_;
    size_t batch_rows_;
    std::vector<int16_t> def_;
};

class Reader final : public FileReader {
public:
    Reader(std::unique_ptr<ByteSource> source, const ReadLimits& limits)
        : source_(std::move(source)), name_(source_->Name()),
          budget_(std::make_shared<MemoryBudget>(name_, limits.memory_bytes)), footer_lease_(budget_.get()) {
        ReadFooter();
    }

    uint64_t PeakMemory() const override { return budget_->Peak(); }

    const std::string& Name() const override { return name_; }
    const FileInfo& Info() const override { return info_; }
    const std::vector<Column>& Columns() const override { return columns_; }
    const Field& Root() const override { return root_; }

    int FindColumn(std::string_view dotted) const override {
        for (const auto& c : columns_) {
            if (c.DottedPath() == dotted) {
                return c.index;
            }
        }
        return -1;
    }

    std::unique_ptr<RowGroupCursor> ReadRowGroup(int row_group, const std::vector<int>& columns,
                                                 size_t batch_rows) override {
        CheckRowGroup(row_group);
        const int64_t rows = info_.row_groups[static_cast<size_t>(row_group)].num_rows;
        std::vector<std::unique_ptr<ColumnChunkReader>> readers;
        std::vector<const Column*> cols;
        for (int c : columns) {
            if (c < 0 || static_cast<size_t>(c) >= columns_.size()) {
                throw Error(ExitCode::Source, fmt::format("no column {} in '{}'", c, name_));
            }
            if (!columns_[static_cast<size_t>(c)].IsFlat()) {
                throw Error(ExitCode::Source,
                            fmt::format("column '{}' of '{}' is nested: read it with ReadRecords",
                                        columns_[static_cast<size_t>(c)].DottedPath(), name_));
            }
            cols.push_back(&columns_[static_cast<size_t>(c)]);
            // An empty row group may carry placeholder chunk offsets (parquet-testing
            // column_chunk_key_value_metadata.parquet): there is nothing to read.
            if (rows > 0) {
                readers.push_back(OpenChunk(row_group, c));
            }
        }
        return std::make_unique<Cursor>(budget_, std::move(cols), std::move(readers), rows, batch_rows);
    }

    void ReadRecords(const std::vector<std::string>& fields,
                     const std::function<bool(nlohmann::json&)>& on_record) override {
        ReadRecordsT<nlohmann::json>(fields, on_record);
    }

    void ReadRecordsOrdered(const std::vector<std::string>& fields,
                            const std::function<bool(nlohmann::ordered_json&)>& on_record) override {
        ReadRecordsT<nlohmann::ordered_json>(fields, on_record);
    }

private:
    template <class Json>
    void ReadRecordsT(const std::vector<std::string>& names, const std::function<bool(Json&)>& on_record) {
        std::vector<const Field*> fields;
        if (names.empty()) {
            for (const auto& f : root_.children) {
                fields.push_back(&f);
            }
        } else {
            for (const auto& n : names) {
                auto it = std::find_if(root_.children.begin(), root_.children.end(),
                                       [&](const Field& f) { return f.name == n; });
                if (it == root_.children.end()) {
                    throw Error(ExitCode::Source, fmt::format("no top-level field '{}' in '{}'", n, name_));
                }
                fields.push_back(&*it);
            }
        }
        std::vector<int> wanted;
        std::function<void(const Field&)> collect = [&](const Field& f) {
            if (f.IsLeaf()) {
                wanted.push_back(f.column);
            }
            for (const auto& c : f.children) {
                collect(c);
            }
        };
        for (const Field* f : fields) {
            collect(*f);
        }
        for (size_t g = 0; g < info_.row_groups.size(); ++g) {
            CheckInterrupt();
            // Row counts in the footer are not trusted for nested data (parquet-testing
            // repeated_no_annotation.parquet says 0 rows and holds 6), but a group without any values
            // is skipped without reading its chunks.
            const auto& rg = info_.row_groups[g];
            if (rg.num_rows == 0 && std::all_of(rg.chunks.begin(), rg.chunks.end(),
                                                [](const ChunkInfo& c) { return c.num_values == 0; })) {
                continue;
            }
            std::vector<std::unique_ptr<LeafStream>> owned;
            std::vector<LeafStream*> leaves(columns_.size(), nullptr);
            for (int c : wanted) {
                auto s = std::make_unique<LeafStream>();
                LoadLeaf(static_cast<int>(g), c, *s);
                leaves[static_cast<size_t>(c)] = s.get();
                owned.push_back(std::move(s));
            }
            if (!AssembleRecords<Json>(name_, static_cast<int>(g), fields, leaves, on_record)) {
                return;
            }
        }
    }

    void LoadLeaf(int row_group, int column, LeafStream& s) {
        auto reader = OpenChunk(row_group, column);
        const Column& col = columns_[static_cast<size_t>(column)];
        s.column = &col;
        s.lease = BudgetLease(budget_.get());
        s.values.Reset(&col);
        constexpr size_t kStep = 65536;
        // The levels and values of every selected leaf stay in memory until the row group's records
        // are assembled: their growth is reserved step by step, so the leaves of a row group together
        // stay within the reader's budget whatever counts the pages claim.
        auto reserve = [&] {
            uint64_t held = (s.def.capacity() + s.rep.capacity()) * sizeof(int16_t) + BatchBytes(s.values);
            s.lease.Resize(std::max(held, s.lease.Bytes()), [&] {
                return fmt::format("levels and values of column '{}' (row group {}, {} level entries)",
                                   col.DottedPath(), row_group, s.count);
            });
        };
        for (;;) {
            CheckInterrupt();
            // One entry past the cap is read to tell a chunk of exactly the cap from a longer one.
            const size_t step = std::min(kStep, kMaxNestedEntries + 1 - s.count);
            // The level vectors grow by half their size at a time; the new buffer is reserved in full
            // before it is allocated, since the old one is alive while the levels move over.
            auto grow = [&](std::vector<int16_t>& levels) {
                size_t want = s.count + step;
                if (want > levels.capacity()) {
                    size_t cap = std::min(std::max(want, levels.capacity() + levels.capacity() / 2),
                                          kMaxNestedEntries + 1);
                    budget_->Check(cap * sizeof(int16_t), [&] {
                        return fmt::format("levels of column '{}' (row group {}, {} level entries)",
                                           col.DottedPath(), row_group, want);
                    });
                    levels.reserve(cap);
                }
                levels.resize(want);
            };
            if (col.max_def > 0) {
                grow(s.def);
            }
            if (col.max_rep > 0) {
                grow(s.rep);
            }
            size_t got = reader->Read(step, col.max_def > 0 ? s.def.data() + s.count : nullptr,
                                      col.max_rep > 0 ? s.rep.data() + s.count : nullptr, s.values);
            s.count += got;
            if (s.count > kMaxNestedEntries) {
                reader->Fail("unsupported column chunk",
                             "more than 64M level entries in one nested column chunk");
            }
            reserve();
            if (got < step) {
                break;
            }
        }
        s.def.resize(col.max_def > 0 ? s.count : 0);
        s.rep.resize(col.max_rep > 0 ? s.count : 0);
    }

    void CheckRowGroup(int row_group) const {
        if (row_group < 0 || static_cast<size_t>(row_group) >= info_.row_groups.size()) {
            throw Error(ExitCode::Source, fmt::format("no row group {} in '{}' (it has {})", row_group, name_,
                                                      info_.row_groups.size()));
        }
    }

    std::unique_ptr<ColumnChunkReader> OpenChunk(int row_group, int column) {
        const auto& cc =
            meta_.row_groups[static_cast<size_t>(row_group)].columns[static_cast<size_t>(column)];
        const auto& md = cc.meta_data;
        const Column& col = columns_[static_cast<size_t>(column)];
        auto fail = [&](const std::string& stage, const std::string& detail) {
            throw Error(ExitCode::Source, fmt::format("{} in '{}' (row group {}, column '{}'): {}", stage,
                                                      name_, row_group, col.DottedPath(), detail));
        };
        if (cc.__isset.file_path && !cc.file_path.empty()) {
            fail("unsupported column chunk", fmt::format("data stored in another file ('{}')", cc.file_path));
        }
        if (static_cast<int>(md.type) != static_cast<int>(col.physical)) {
            fail("corrupt column chunk metadata", "physical type differs from the schema");
        }
        int codec = static_cast<int>(md.codec);
        if (!CodecSupported(codec)) {
            fail("unsupported compression codec", fmt::format("{} ({})", CodecName(codec), codec));
        }
        int64_t start = md.data_page_offset;
        if (md.__isset.dictionary_page_offset && md.dictionary_page_offset > 0 &&
            md.dictionary_page_offset < start) {
            start = md.dictionary_page_offset;
        }
        int64_t len = md.total_compressed_size;
        int64_t limit = static_cast<int64_t>(footer_start_);
        if (start < 4 || len <= 0 || start >= limit || len > limit - start) {
            fail("column chunk outside the file",
                 fmt::format("bytes {}..{} are not between the header and the footer (which starts at {})",
                             start, start + len, limit));
        }
        ChunkLocation where;
        where.row_group = row_group;
        where.offset = start;
        where.length = len;
        where.codec = codec;
        where.num_values = md.num_values;
        where.rows = meta_.row_groups[static_cast<size_t>(row_group)].num_rows;
        if (md.num_values < 0) {
            fail("corrupt column chunk metadata", fmt::format("the chunk claims {} values", md.num_values));
        }
        BudgetLease lease(budget_.get());
        lease.Resize(static_cast<uint64_t>(len), [&] {
            return fmt::format("column chunk '{}' (row group {}, {} bytes)", col.DottedPath(), row_group,
                               len);
        });
        std::vector<uint8_t> bytes(static_cast<size_t>(len));
        source_->Read(static_cast<uint64_t>(start), static_cast<uint64_t>(len), bytes.data());
        return std::make_unique<ColumnChunkReader>(name_, col, where, std::move(bytes), budget_.get(),
                                                   std::move(lease));
    }

    void ReadFooter() {
        const uint64_t size = source_->Size();
        if (size < 12) {
            Corrupt("not a parquet file", name_,
                    fmt::format("{} bytes is too small for a parquet header and footer", size));
        }
        const uint64_t tail_len = std::min(size, kTailRead);
        std::vector<uint8_t> tail(tail_len);
        source_->Read(size - tail_len, tail_len, tail.data());
        const uint8_t* magic = tail.data() + tail_len - 4;
        if (std::memcmp(magic, "PARE", 4) == 0) {
            throw Error(
                ExitCode::Source,
                fmt::format("unsupported parquet file '{}': it is encrypted (parquet modular encryption, "
                            "encrypted footer)",
                            name_),
                "pgsplit does not read encrypted parquet files");
        }
        if (std::memcmp(magic, "PAR1", 4) != 0) {
            // The file's bytes are not quoted: a path that pointed elsewhere must not leak content.
            Corrupt("not a parquet file", name_, "the file does not end with the magic 'PAR1'");
        }
        uint8_t head[4];
        if (size <= tail_len) {
            std::memcpy(head, tail.data(), 4);
        } else {
            source_->Read(0, 4, head);
        }
        if (std::memcmp(head, "PAR1", 4) != 0) {
            Corrupt("not a parquet file", name_, "the file does not start with the magic 'PAR1'");
        }
        uint32_t footer_len;
        std::memcpy(&footer_len, tail.data() + tail_len - 8, 4);
        if (footer_len == 0 || static_cast<uint64_t>(footer_len) > size - 12) {
            Corrupt("corrupt footer", name_,
                    fmt::format("footer length {} does not fit in a file of {} bytes", footer_len, size));
        }
        footer_start_ = size - 8 - footer_len;
        std::vector<uint8_t> footer;
        BudgetLease footer_bytes(budget_.get());
        const uint8_t* fp;
        if (static_cast<uint64_t>(footer_len) + 8 <= tail_len) {
            fp = tail.data() + (tail_len - 8 - footer_len);
        } else {
            footer_bytes.Resize(footer_len, [&] { return fmt::format("footer of {} bytes", footer_len); });
            footer.resize(footer_len);
            source_->Read(footer_start_, footer_len, footer.data());
            fp = footer.data();
        }
        // Strings of the decoded footer (names, statistics, key-value metadata) and their copies in
        // Info() are bounded by the footer's bytes; its containers are charged as they are read.
        footer_lease_.Resize(uint64_t{footer_len} * 2,
                             [&] { return fmt::format("footer metadata of {} bytes", footer_len); });
        try {
            DecodeFileMetaData(fp, footer_len, meta_, footer_lease_);
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {
            Corrupt("corrupt footer", name_, fmt::format("cannot decode the file metadata: {}", e.what()));
        }
        if (meta_.__isset.encryption_algorithm) {
            throw Error(
                ExitCode::Source,
                fmt::format("unsupported parquet file '{}': it is encrypted (parquet modular encryption, "
                            "plaintext footer)",
                            name_),
                "pgsplit does not read encrypted parquet files");
        }
        try {
            BuildSchema(meta_.schema, columns_, root_);
        } catch (const std::exception& e) {
            Corrupt("corrupt schema", name_, e.what());
        }
        for (const auto& rg : meta_.row_groups) {
            for (const auto& cc : rg.columns) {
                if (cc.__isset.crypto_metadata || cc.__isset.encrypted_column_metadata) {
                    throw Error(ExitCode::Source,
                                fmt::format("unsupported parquet file '{}': it is encrypted (parquet modular "
                                            "encryption, encrypted columns)",
                                            name_),
                                "pgsplit does not read encrypted parquet files");
                }
            }
            if (rg.num_rows < 0) {
                Corrupt("corrupt footer", name_, fmt::format("a row group has {} rows", rg.num_rows));
            }
        }
        if (meta_.num_rows < 0) {
            Corrupt("corrupt footer", name_, fmt::format("the file claims {} rows", meta_.num_rows));
        }
        try {
            info_ = BuildFileInfo(meta_, columns_);
        } catch (const std::exception& e) {
            Corrupt("corrupt column chunk metadata", name_, e.what());
        }
    }

    std::unique_ptr<ByteSource> source_;
    std::string name_;
    std::shared_ptr<MemoryBudget> budget_;
    BudgetLease footer_lease_; // the decoded footer (meta_, info_, columns_, root_)
    uint64_t footer_start_ = 0;
    format::FileMetaData meta_;
    FileInfo info_;
    std::vector<Column> columns_;
    Field root_;
};

class MemoryByteSource final : public ByteSource {
public:
    MemoryByteSource(std::string name, std::string bytes)
        : name_(std::move(name)), bytes_(std::move(bytes)) {}
    const std::string& Name() const override { return name_; }
    uint64_t Size() override { return bytes_.size(); }
    void Read(uint64_t offset, uint64_t length, uint8_t* out) override {
        if (offset > bytes_.size() || length > bytes_.size() - offset) {
            throw Error(ExitCode::Source,
                        fmt::format("read of {} bytes at offset {} is past the end of '{}' ({} bytes)",
                                    length, offset, name_, bytes_.size()));
        }
        if (length > 0) {
            std::memcpy(out, bytes_.data() + offset, length);
        }
    }

private:
    std::string name_;
    std::string bytes_;
};

} // namespace

std::unique_ptr<FileReader> FileReader::Open(std::unique_ptr<ByteSource> source) {
    return Open(std::move(source), DefaultReadLimits());
}

std::unique_ptr<FileReader> FileReader::Open(std::unique_ptr<ByteSource> source, const ReadLimits& limits) {
    return std::make_unique<Reader>(std::move(source), limits);
}

void SetDefaultReadLimits(const ReadLimits& limits) {
    g_default_memory_bytes.store(limits.memory_bytes, std::memory_order_relaxed);
}

ReadLimits DefaultReadLimits() {
    ReadLimits l;
    l.memory_bytes = g_default_memory_bytes.load(std::memory_order_relaxed);
    return l;
}

bool FileReader::AllFlat() const {
    const auto& cols = Columns();
    return std::all_of(cols.begin(), cols.end(), [](const Column& c) { return c.IsFlat(); });
}

std::unique_ptr<FileReader> OpenFile(const std::string& path) {
    return FileReader::Open(OpenLocalFile(path));
}

std::unique_ptr<ByteSource> MemorySource(std::string name, std::string bytes) {
    return std::make_unique<MemoryByteSource>(std::move(name), std::move(bytes));
}

} // namespace pgsplit::parquet
