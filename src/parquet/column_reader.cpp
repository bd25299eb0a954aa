#include "parquet/column_reader.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "parquet/bit_util.h"
#include "parquet/codec/codec.h"
#include "parquet/metadata.h"

#include <algorithm>
#include <fmt/format.h>
#include <zlib.h>

namespace pgsplit::parquet {

struct PageV2Info {
    int32_t num_values = 0;
    int32_t def_len = 0;
    int32_t rep_len = 0;
    bool is_compressed = true;
    int encoding = 0;
};

ColumnChunkReader::ColumnChunkReader(std::string file, const Column& column, const ChunkLocation& where,
                                     std::vector<uint8_t> bytes, MemoryBudget* budget,
                                     BudgetLease bytes_lease)
    : file_(std::move(file)), column_(column), where_(where), bytes_(std::move(bytes)), budget_(budget),
      bytes_lease_(std::move(bytes_lease)), page_lease_(budget), dictionary_lease_(budget),
      levels_lease_(budget) {
    page_offset_ = where_.offset;
}

std::string ColumnChunkReader::Stage(const char* what) const {
    return fmt::format("{} of column '{}' (row group {}, page at offset {})", what, column_.DottedPath(),
                       where_.row_group, page_offset_);
}

void ColumnChunkReader::Fail(const std::string& stage, const std::string& detail) const {
    throw Error(ExitCode::Source,
                fmt::format("{} in '{}' (row group {}, column '{}', page at offset {}): {}", stage, file_,
                            where_.row_group, column_.DottedPath(), page_offset_, detail));
}

void ColumnChunkReader::Levels::Decode(int16_t* out, size_t n) {
    if (!bit_packed) {
        rle.Decode(out, n);
        return;
    }
    if (n > unpacked.size() - pos) {
        throw DecodeError("page holds fewer levels than values");
    }
    std::copy(unpacked.begin() + static_cast<ptrdiff_t>(pos),
              unpacked.begin() + static_cast<ptrdiff_t>(pos + n), out);
    pos += n;
}

size_t ColumnChunkReader::SetupLevels(Levels& levels, int encoding, int16_t max_level, const uint8_t* p,
                                      size_t size, size_t num_values) {
    int width = BitWidth(static_cast<uint64_t>(max_level));
    levels.pos = 0;
    if (encoding == static_cast<int>(Encoding::Rle)) {
        levels.bit_packed = false;
        if (size < 4) {
            throw DecodeError("level section is shorter than its length prefix");
        }
        uint32_t len = LoadLE<uint32_t>(p);
        if (len > size - 4) {
            throw DecodeError(fmt::format("level section length {} runs past the end of the page", len));
        }
        levels.rle = RleBitPackedDecoder(p + 4, len, width);
        return 4 + len;
    }
    if (encoding == static_cast<int>(Encoding::BitPacked)) {
        levels.bit_packed = true;
        if (num_values > size * 8) {
            throw DecodeError("page holds fewer bit-packed levels than values");
        }
        // Both level sections of a page may be bit-packed: the lease covers the larger claim.
        uint64_t need = std::max<uint64_t>(levels_lease_.Bytes(), uint64_t{num_values} * sizeof(int16_t));
        levels_lease_.Resize(need, [&] { return Stage("bit-packed levels"); });
        levels.unpacked.resize(num_values);
        return DecodeBitPackedLevels(p, size, width, levels.unpacked.data(), num_values);
    }
    throw DecodeError(fmt::format("unsupported level encoding {}", EncodingName(encoding)));
}

const uint8_t* ColumnChunkReader::Decompress(const uint8_t* data, size_t size, size_t uncompressed) {
    if (where_.codec == 0) {
        if (size != uncompressed) {
            Fail("corrupt page header",
                 fmt::format("uncompressed page is {} bytes but its header says {}", size, uncompressed));
        }
        return data;
    }
    // The codec's own account of the output, where its format carries one, must agree with the page
    // header before a buffer of that size is allocated.
    if (auto declared = DeclaredSize(static_cast<Codec>(where_.codec), data, size);
        declared && *declared != uncompressed) {
        Fail(fmt::format("{} decompression failed", CodecName(where_.codec)),
             fmt::format("the compressed data holds {} bytes but the page header says {}", *declared,
                         uncompressed));
    }
    if (auto most = MaxExpansion(static_cast<Codec>(where_.codec), size); most && uncompressed > *most) {
        Fail(fmt::format("{} decompression failed", CodecName(where_.codec)),
             fmt::format("{} bytes of compressed data cannot expand to the {} bytes the page header says",
                         size, uncompressed));
    }
    if (uncompressed > page_buf_.capacity()) {
        page_lease_.Resize(0, [] { return std::string(); });
        page_lease_.Resize(uncompressed, [&] { return Stage("decompressed page"); });
    }
    uint8_t* out = page_buf_.Reserve(std::max<size_t>(uncompressed, 1));
    try {
        parquet::Decompress(static_cast<Codec>(where_.codec), data, size, out, uncompressed);
    } catch (const CodecError& e) {
        Fail(fmt::format("{} decompression failed", CodecName(where_.codec)), e.what());
    }
    return out;
}

void ColumnChunkReader::LoadDictionary(const uint8_t* data, size_t size, int32_t num_values, int encoding) {
    if (dictionary_) {
        Fail("corrupt column chunk", "a second dictionary page");
    }
    if (num_values < 0) {
        Fail("corrupt page header", fmt::format("dictionary page claims {} values", num_values));
    }
    if (encoding != static_cast<int>(Encoding::Plain) &&
        encoding != static_cast<int>(Encoding::PlainDictionary)) {
        Fail("unsupported dictionary encoding", EncodingName(encoding));
    }
    // Decoded, a dictionary is its bytes plus per-value slots (an offset, or the fixed-width value; a
    // bit-packed boolean becomes a byte): reserved before decoding, from counts PLAIN checks against
    // the bytes present.
    size_t width = column_.physical == Physical::ByteArray ? sizeof(uint32_t) : FixedWidth(column_);
    // (The bytes are counted twice: their vector may double while it fills.)
    uint64_t need = uint64_t{size} * 2 +
                    static_cast<uint64_t>(num_values) * (std::max<size_t>(width, 1) + 4) + kCopySlack;
    dictionary_lease_.Resize(need, [&] { return Stage("dictionary page"); });
    dictionary_ = std::make_unique<ColumnBatch>();
    dictionary_->column = &column_;
    try {
        auto plain = MakePlainDecoder(column_, data, size);
        plain->Decode(static_cast<size_t>(num_values), *dictionary_);
    } catch (const DecodeError& e) {
        Fail("corrupt dictionary page", e.what());
    }
    dictionary_->size = static_cast<size_t>(num_values);
    dictionary_->bytes.resize(dictionary_->bytes.size() + kCopySlack, 0);
}

void ColumnChunkReader::StartDataPageV1(const uint8_t* data, size_t size, size_t uncompressed,
                                        int32_t num_values, int encoding, int def_encoding,
                                        int rep_encoding) {
    const uint8_t* p = Decompress(data, size, uncompressed);
    size_t left = uncompressed;
    if (num_values < 0) {
        Fail("corrupt page header", fmt::format("data page claims {} values", num_values));
    }
    try {
        if (column_.max_rep > 0) {
            size_t used =
                SetupLevels(rep_, rep_encoding, column_.max_rep, p, left, static_cast<size_t>(num_values));
            p += used;
            left -= used;
        }
        if (column_.max_def > 0) {
            size_t used =
                SetupLevels(def_, def_encoding, column_.max_def, p, left, static_cast<size_t>(num_values));
            p += used;
            left -= used;
        }
        decoder_ = MakeDecoder(encoding, column_, dictionary_.get(), p, left);
        decoder_->SetBudget(budget_, Stage("decoded values"));
    } catch (const DecodeError& e) {
        Fail("corrupt data page", e.what());
    }
    page_left_ = static_cast<size_t>(num_values);
}

void ColumnChunkReader::StartDataPageV2(const uint8_t* data, size_t size, size_t uncompressed,
                                        const PageV2Info& info) {
    if (info.num_values < 0 || info.def_len < 0 || info.rep_len < 0 ||
        static_cast<size_t>(info.def_len) + static_cast<size_t>(info.rep_len) >
            std::min(size, uncompressed)) {
        Fail("corrupt page header",
             fmt::format("data page v2 level lengths {}+{} do not fit a page of {} bytes", info.rep_len,
                         info.def_len, size));
    }
    size_t levels_len = static_cast<size_t>(info.def_len) + static_cast<size_t>(info.rep_len);
    const uint8_t* values = data + levels_len;
    size_t values_size = size - levels_len;
    size_t values_uncompressed = uncompressed - levels_len;
    // Levels are never compressed in v2; the values section may be. An empty values section is not
    // handed to the codec (parquet-testing datapage_v2_empty_datapage.snappy.parquet).
    if (values_uncompressed == 0) {
        values_size = 0;
    } else if (info.is_compressed && where_.codec != 0) {
        values = Decompress(values, values_size, values_uncompressed);
        values_size = values_uncompressed;
    }
    try {
        if (column_.max_rep > 0) {
            rep_.bit_packed = false;
            rep_.rle =
                RleBitPackedDecoder(data, static_cast<size_t>(info.rep_len), BitWidth(column_.max_rep));
        }
        if (column_.max_def > 0) {
            def_.bit_packed = false;
            def_.rle = RleBitPackedDecoder(data + info.rep_len, static_cast<size_t>(info.def_len),
                                           BitWidth(column_.max_def));
        }
        decoder_ = MakeDecoder(info.encoding, column_, dictionary_.get(), values, values_size);
        decoder_->SetBudget(budget_, Stage("decoded values"));
    } catch (const DecodeError& e) {
        Fail("corrupt data page", e.what());
    }
    page_left_ = static_cast<size_t>(info.num_values);
}

void ColumnChunkReader::CheckValueCount(int32_t num_values) const {
    if (num_values < 0) {
        Fail("corrupt page header", fmt::format("data page claims {} values", num_values));
    }
    // Without repetition a row is one level entry, so a page cannot hold more values than the rows of
    // its row group that are left. (A row group claiming no rows is not trusted: old writers of nested
    // data wrote 0.)
    if (column_.max_rep == 0 && where_.rows > 0 && num_values > where_.rows - values_seen_) {
        Fail(
            "corrupt page header",
            fmt::format("data page claims {} values but the row group has {} rows and {} were read before it",
                        num_values, where_.rows, values_seen_));
    }
}

bool ColumnChunkReader::NextPage() {
    for (;;) {
        if (pos_ >= bytes_.size()) {
            return false;
        }
        CheckInterrupt();
        page_offset_ = where_.offset + static_cast<int64_t>(pos_);
        format::PageHeader header;
        size_t header_len = 0;
        try {
            header_len = DecodePageHeader(bytes_.data() + pos_, bytes_.size() - pos_, header);
        } catch (const std::exception& e) {
            Fail("corrupt page header", e.what());
        }
        if (!header.__isset.type || !header.__isset.compressed_page_size ||
            !header.__isset.uncompressed_page_size) {
            Fail("corrupt page header", "type or sizes missing");
        }
        if (header.compressed_page_size < 0 || header.uncompressed_page_size < 0) {
            Fail("corrupt page header",
                 fmt::format("negative page size ({} compressed, {} uncompressed)",
                             header.compressed_page_size, header.uncompressed_page_size));
        }
        size_t comp = static_cast<size_t>(header.compressed_page_size);
        size_t uncomp = static_cast<size_t>(header.uncompressed_page_size);
        size_t start = pos_ + header_len;
        if (comp > bytes_.size() - start) {
            Fail("truncated page",
                 fmt::format("page of {} bytes runs past the end of the column chunk ({} bytes left)", comp,
                             bytes_.size() - start));
        }
        if (uncomp > kMaxPageSize) {
            Fail("unsupported page", fmt::format("page expands to {} bytes, more than the {} MiB limit",
                                                 uncomp, kMaxPageSize >> 20));
        }
        const uint8_t* data = bytes_.data() + start;
        pos_ = start + comp;
        if (header.__isset.crc) {
            uint32_t crc = static_cast<uint32_t>(::crc32(0L, data, static_cast<uInt>(comp)));
            if (crc != static_cast<uint32_t>(header.crc)) {
                Fail("page checksum mismatch",
                     fmt::format("crc32 of the page is {:08x}, its header says {:08x}", crc,
                                 static_cast<uint32_t>(header.crc)));
            }
        }
        switch (header.type) {
        case format::PageType::DICTIONARY_PAGE: {
            if (!header.__isset.dictionary_page_header) {
                Fail("corrupt page header", "dictionary page without its header");
            }
            const auto& h = header.dictionary_page_header;
            const uint8_t* p = Decompress(data, comp, uncomp);
            LoadDictionary(p, uncomp, h.num_values, static_cast<int>(h.encoding));
            continue;
        }
        case format::PageType::DATA_PAGE: {
            if (!header.__isset.data_page_header) {
                Fail("corrupt page header", "data page without its header");
            }
            const auto& h = header.data_page_header;
            CheckValueCount(h.num_values);
            StartDataPageV1(data, comp, uncomp, h.num_values, static_cast<int>(h.encoding),
                            static_cast<int>(h.definition_level_encoding),
                            static_cast<int>(h.repetition_level_encoding));
            break;
        }
        case format::PageType::DATA_PAGE_V2: {
            if (!header.__isset.data_page_header_v2) {
                Fail("corrupt page header", "data page v2 without its header");
            }
            const auto& h = header.data_page_header_v2;
            CheckValueCount(h.num_values);
            PageV2Info info;
            info.num_values = h.num_values;
            info.def_len = h.definition_levels_byte_length;
            info.rep_len = h.repetition_levels_byte_length;
            info.is_compressed = h.is_compressed;
            info.encoding = static_cast<int>(h.encoding);
            StartDataPageV2(data, comp, uncomp, info);
            break;
        }
        default:
            continue; // index pages and unknown page types carry no values
        }
        values_seen_ += static_cast<int64_t>(page_left_);
        if (page_left_ > 0) {
            return true;
        }
    }
}

size_t ColumnChunkReader::ReadFlat(size_t n, uint8_t* defined, ColumnBatch& values) {
    if (column_.max_def != 1 || column_.max_rep != 0) {
        def_scratch_.resize(n);
        size_t got = Read(n, def_scratch_.data(), nullptr, values);
        const int16_t max_def = column_.max_def;
        for (size_t i = 0; i < got; ++i) {
            defined[i] = max_def == 0 || def_scratch_[i] == max_def;
        }
        return got;
    }
    // Optional top-level column: definition levels are 0 or 1, so they are the `defined` flags.
    size_t got = 0;
    while (got < n) {
        if (page_left_ == 0) {
            if (!NextPage()) {
                break;
            }
            continue;
        }
        size_t k = std::min(n - got, page_left_);
        size_t present = 0;
        uint32_t worst = 0;
        try {
            if (def_.bit_packed) {
                def_scratch_.resize(k);
                def_.Decode(def_scratch_.data(), k);
                for (size_t i = 0; i < k; ++i) {
                    defined[got + i] = static_cast<uint8_t>(def_scratch_[i]);
                    present += def_scratch_[i] == 1;
                    worst = std::max<uint32_t>(worst, static_cast<uint16_t>(def_scratch_[i]));
                }
            } else {
                def_.rle.DecodeCounted(defined + got, k, 1, present, worst);
            }
            if (worst > 1) {
                throw DecodeError(fmt::format("definition level {} exceeds the maximum 1", worst));
            }
            decoder_->Decode(present, values);
        } catch (const DecodeError& e) {
            Fail("corrupt data page", e.what());
        }
        values.size += present;
        page_left_ -= k;
        got += k;
    }
    return got;
}

size_t ColumnChunkReader::Read(size_t n, int16_t* def, int16_t* rep, ColumnBatch& values) {
    size_t got = 0;
    if (column_.max_def > 0 && !def) {
        def_scratch_.resize(n);
        def = def_scratch_.data();
    }
    while (got < n) {
        if (page_left_ == 0) {
            if (!NextPage()) {
                break;
            }
            continue;
        }
        size_t k = std::min(n - got, page_left_);
        size_t present = k;
        try {
            if (column_.max_rep > 0) {
                rep_.Decode(rep + got, k);
                for (size_t i = 0; i < k; ++i) {
                    if (rep[got + i] > column_.max_rep || rep[got + i] < 0) {
                        throw DecodeError(fmt::format("repetition level {} exceeds the maximum {}",
                                                      rep[got + i], column_.max_rep));
                    }
                }
            }
            if (column_.max_def > 0) {
                int16_t* d = def + got;
                def_.Decode(d, k);
                const int16_t max_def = column_.max_def;
                size_t count = 0;
                int16_t worst = 0;
                for (size_t i = 0; i < k; ++i) {
                    count += d[i] == max_def;
                    worst = std::max(worst, d[i]);
                }
                if (worst > max_def) {
                    throw DecodeError(
                        fmt::format("definition level {} exceeds the maximum {}", worst, max_def));
                }
                present = count;
            }
            decoder_->Decode(present, values);
        } catch (const DecodeError& e) {
            Fail("corrupt data page", e.what());
        }
        values.size += present;
        page_left_ -= k;
        got += k;
    }
    return got;
}

} // namespace pgsplit::parquet
