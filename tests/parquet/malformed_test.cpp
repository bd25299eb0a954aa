// Malformed input, made in memory: hand-built files (metadata written with the same Thrift structs
// the reader uses) that each break one rule, and real files truncated or with bytes flipped. Every
// case must end in pgsplit::Error with exit 7 naming the file and the stage, never a crash.

#include "core/error.h"
#include "oracle.h"
#include "parquet/reader.h"
#include "parquet_types.h"
#include "support/paths.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <zlib.h>

namespace pgsplit::test::pq {
namespace {

namespace fmt_ = pgsplit::parquet::format;

template <class T>
std::string Serialize(const T& obj) {
    auto buf = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
    apache::thrift::protocol::TCompactProtocolT<apache::thrift::transport::TMemoryBuffer> proto(buf);
    obj.write(&proto);
    return buf->getBufferAsString();
}

std::string Int32s(std::initializer_list<int32_t> v) {
    std::string s;
    for (int32_t x : v) {
        s.append(reinterpret_cast<const char*>(&x), 4);
    }
    return s;
}

struct Page {
    fmt_::PageHeader header;
    std::string body;
};

Page DataPage(int32_t num_values, std::string body, fmt_::Encoding::type enc = fmt_::Encoding::PLAIN) {
    Page p;
    p.header.__set_type(fmt_::PageType::DATA_PAGE);
    p.header.__set_compressed_page_size(static_cast<int32_t>(body.size()));
    p.header.__set_uncompressed_page_size(static_cast<int32_t>(body.size()));
    fmt_::DataPageHeader dh;
    dh.__set_num_values(num_values);
    dh.__set_encoding(enc);
    dh.__set_definition_level_encoding(fmt_::Encoding::RLE);
    dh.__set_repetition_level_encoding(fmt_::Encoding::RLE);
    p.header.__set_data_page_header(dh);
    p.body = std::move(body);
    return p;
}

Page DictPage(int32_t num_values, std::string body) {
    Page p;
    p.header.__set_type(fmt_::PageType::DICTIONARY_PAGE);
    p.header.__set_compressed_page_size(static_cast<int32_t>(body.size()));
    p.header.__set_uncompressed_page_size(static_cast<int32_t>(body.size()));
    fmt_::DictionaryPageHeader dh;
    dh.__set_num_values(num_values);
    dh.__set_encoding(fmt_::Encoding::PLAIN);
    p.header.__set_dictionary_page_header(dh);
    p.body = std::move(body);
    return p;
}

struct FileOptions {
    int64_t rows = 3;
    fmt_::CompressionCodec::type codec = fmt_::CompressionCodec::UNCOMPRESSED;
    std::optional<int64_t> data_page_offset; // default: right after the magic (or the dictionary)
};

FileOptions Rows(int64_t rows) {
    FileOptions o;
    o.rows = rows;
    return o;
}

FileOptions Codec(fmt_::CompressionCodec::type codec) {
    FileOptions o;
    o.codec = codec;
    return o;
}

FileOptions DataPageAt(int64_t offset) {
    FileOptions o;
    o.data_page_offset = offset;
    return o;
}

// One required INT32 column "x", one row group, the given pages in order.
std::string BuildFile(const std::vector<Page>& pages, const FileOptions& o = {}) {
    std::string file = "PAR1";
    int64_t first_data = -1;
    for (const auto& p : pages) {
        if (p.header.type != fmt_::PageType::DICTIONARY_PAGE && first_data < 0) {
            first_data = static_cast<int64_t>(file.size());
        }
        file += Serialize(p.header) + p.body;
    }
    int64_t chunk_len = static_cast<int64_t>(file.size()) - 4;
    fmt_::FileMetaData meta;
    meta.__set_version(1);
    fmt_::SchemaElement root;
    root.__set_name("schema");
    root.__set_num_children(1);
    fmt_::SchemaElement leaf;
    leaf.__set_name("x");
    leaf.__set_type(fmt_::Type::INT32);
    leaf.__set_repetition_type(fmt_::FieldRepetitionType::REQUIRED);
    meta.__set_schema({root, leaf});
    meta.__set_num_rows(o.rows);
    fmt_::ColumnMetaData md;
    md.__set_type(fmt_::Type::INT32);
    md.__set_encodings({fmt_::Encoding::PLAIN});
    md.__set_path_in_schema({"x"});
    md.__set_codec(o.codec);
    md.__set_num_values(o.rows);
    md.__set_total_compressed_size(chunk_len);
    md.__set_total_uncompressed_size(chunk_len);
    md.__set_data_page_offset(o.data_page_offset.value_or(first_data < 0 ? 4 : first_data));
    if (!pages.empty() && pages[0].header.type == fmt_::PageType::DICTIONARY_PAGE) {
        md.__set_dictionary_page_offset(4);
    }
    fmt_::ColumnChunk cc;
    cc.__set_file_offset(4);
    cc.__set_meta_data(md);
    fmt_::RowGroup rg;
    rg.__set_columns({cc});
    rg.__set_num_rows(o.rows);
    rg.__set_total_byte_size(chunk_len);
    meta.__set_row_groups({rg});
    std::string footer = Serialize(meta);
    uint32_t len = static_cast<uint32_t>(footer.size());
    file += footer;
    file.append(reinterpret_cast<const char*>(&len), 4);
    file += "PAR1";
    return file;
}

std::vector<int32_t> ReadInts(const std::string& bytes) {
    auto r = parquet::FileReader::Open(parquet::MemorySource("crafted.parquet", bytes));
    std::vector<int32_t> out;
    auto cursor = r->ReadRowGroup(0, {0});
    std::vector<parquet::ColumnBatch> b;
    while (cursor->Next(b)) {
        out.insert(out.end(), b[0].i32.begin(), b[0].i32.end());
    }
    return out;
}

// Runs `fn` and returns the pgsplit::Error it throws; fails the test when it throws nothing.
template <class Fn>
std::string SourceError(Fn fn) {
    try {
        fn();
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Source);
        return e.what();
    }
    FAIL_CHECK("no error was raised");
    return {};
}

std::string ReadCorpusFile(const std::string& rel) {
    std::filesystem::path p = test::CorpusDir() / "parquet-testing" / rel;
    if (!std::filesystem::exists(p)) {
        FAIL("the conformance corpus is absent: no " << p.string() << " (set PGSPLIT_CORPUS)");
    }
    return ReadFileText(p.string());
}

// Decodes everything; returns normally or throws pgsplit::Error.
void DecodeAll(const std::string& bytes) {
    auto r = parquet::FileReader::Open(parquet::MemorySource("mutant.parquet", bytes));
    DecodeAllAsJson(*r);
}

} // namespace

TEST_SUITE("parquet") {
    TEST_CASE("a hand-built file decodes (the builder is sound)") {
        CHECK(ReadInts(BuildFile({DataPage(3, Int32s({1, 2, 3}))})) == std::vector<int32_t>{1, 2, 3});
        std::string dict = Int32s({10, 20});
        std::string idx = {1, 6, 1}; // bit width 1, RLE run of 3 x index 1
        CHECK(ReadInts(BuildFile({DictPage(2, dict), DataPage(3, idx, fmt_::Encoding::RLE_DICTIONARY)})) ==
              std::vector<int32_t>{20, 20, 20});
    }

    TEST_CASE("a page claiming more values than it holds is refused naming file, column and page") {
        auto msg = SourceError([] { ReadInts(BuildFile({DataPage(5, Int32s({1, 2, 3}))}, Rows(5))); });
        CHECK(msg.find("crafted.parquet") != std::string::npos);
        CHECK(msg.find("row group 0, column 'x', page at offset 4") != std::string::npos);
        CHECK(msg.find("fewer PLAIN values") != std::string::npos);
    }

    TEST_CASE("a dictionary index out of range is refused") {
        std::string idx = {3, 6, 5}; // bit width 3, RLE run of 3 x index 5
        auto msg = SourceError([&] {
            ReadInts(
                BuildFile({DictPage(2, Int32s({10, 20})), DataPage(3, idx, fmt_::Encoding::RLE_DICTIONARY)}));
        });
        CHECK(msg.find("dictionary index 5 is out of range") != std::string::npos);
    }

    TEST_CASE("a dictionary index bit width above 32 is refused") {
        std::string idx = {40, 6, 0, 0, 0, 0, 0};
        auto msg = SourceError([&] {
            ReadInts(
                BuildFile({DictPage(2, Int32s({10, 20})), DataPage(3, idx, fmt_::Encoding::RLE_DICTIONARY)}));
        });
        CHECK(msg.find("bit width 40 is larger than 32") != std::string::npos);
    }

    TEST_CASE("a column chunk pointing outside the file is refused") {
        auto msg = SourceError([] {
            ReadInts(BuildFile({DataPage(3, Int32s({1, 2, 3}))}, DataPageAt(1 << 20)));
        });
        CHECK(msg.find("column chunk outside the file") != std::string::npos);
    }

    TEST_CASE("negative and huge page sizes are refused before allocating") {
        Page neg = DataPage(3, Int32s({1, 2, 3}));
        neg.header.__set_compressed_page_size(-5);
        CHECK(SourceError([&] { ReadInts(BuildFile({neg})); }).find("negative page size") !=
              std::string::npos);
        Page huge = DataPage(3, Int32s({1, 2, 3}));
        huge.header.__set_uncompressed_page_size(2000000000);
        FileOptions snappy = Codec(fmt_::CompressionCodec::SNAPPY);
        CHECK(SourceError([&] { ReadInts(BuildFile({huge}, snappy)); }).find("MiB limit") !=
              std::string::npos);
        Page past = DataPage(3, Int32s({1, 2, 3}));
        past.header.__set_compressed_page_size(1000);
        CHECK(SourceError([&] { ReadInts(BuildFile({past})); }).find("truncated page") != std::string::npos);
    }

    TEST_CASE("corrupt compressed data is refused for every codec") {
        for (auto codec :
             {fmt_::CompressionCodec::SNAPPY, fmt_::CompressionCodec::GZIP, fmt_::CompressionCodec::ZSTD,
              fmt_::CompressionCodec::LZ4_RAW, fmt_::CompressionCodec::LZ4, fmt_::CompressionCodec::BROTLI}) {
            CAPTURE(static_cast<int>(codec));
            Page p = DataPage(3, "\xff\xfe\xfd\xfc garbage that is not compressed");
            p.header.__set_uncompressed_page_size(12);
            auto msg = SourceError([&] { ReadInts(BuildFile({p}, Codec(codec))); });
            CHECK(msg.find("decompression failed") != std::string::npos);
        }
    }

    TEST_CASE("a page crc mismatch is refused and a matching crc is accepted") {
        Page p = DataPage(3, Int32s({1, 2, 3}));
        uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(p.body.data()), 12));
        p.header.__set_crc(static_cast<int32_t>(crc));
        CHECK(ReadInts(BuildFile({p})) == std::vector<int32_t>{1, 2, 3});
        p.header.__set_crc(static_cast<int32_t>(crc ^ 1));
        CHECK(SourceError([&] { ReadInts(BuildFile({p})); }).find("page checksum mismatch") !=
              std::string::npos);
    }

    TEST_CASE("bad magic, bad footer length and thrift garbage are refused at open") {
        std::string good = BuildFile({DataPage(3, Int32s({1, 2, 3}))});
        auto open = [](const std::string& b) {
            parquet::FileReader::Open(parquet::MemorySource("f.parquet", b));
        };
        std::string bad_end = good;
        bad_end.replace(bad_end.size() - 4, 4, "SeKr");
        std::string end_error = SourceError([&] { open(bad_end); });
        CHECK(end_error.find("does not end with the magic 'PAR1'") != std::string::npos);
        // The file's own bytes are never quoted (a path that escaped the table must not leak content).
        CHECK(end_error.find("SeKr") == std::string::npos);
        std::string bad_start = good;
        bad_start.replace(0, 4, "SeKr");
        std::string start_error = SourceError([&] { open(bad_start); });
        CHECK(start_error.find("does not start with the magic 'PAR1'") != std::string::npos);
        CHECK(start_error.find("SeKr") == std::string::npos);
        std::string long_footer = good;
        uint32_t huge = 0x7fffffff;
        std::memcpy(long_footer.data() + long_footer.size() - 8, &huge, 4);
        CHECK(SourceError([&] { open(long_footer); }).find("corrupt footer") != std::string::npos);
        std::string garbage = good;
        uint32_t flen;
        std::memcpy(&flen, good.data() + good.size() - 8, 4);
        for (size_t i = good.size() - 8 - flen; i < good.size() - 8; ++i) {
            garbage[i] = '\xff';
        }
        CHECK(SourceError([&] { open(garbage); }).find("corrupt footer") != std::string::npos);
        CHECK(SourceError([&] { open("PAR1"); }).find("not a parquet file") != std::string::npos);
        CHECK(SourceError([&] {
                  open("hello, this is a text file and not parquet at all\n");
              }).find("not a parquet file") != std::string::npos);
    }

    TEST_CASE("a real file truncated anywhere fails cleanly") {
        std::string bytes = ReadCorpusFile("data/alltypes_plain.snappy.parquet");
        for (size_t len = 0; len < bytes.size(); len += 7) {
            CAPTURE(len);
            SourceError([&] { DecodeAll(bytes.substr(0, len)); });
        }
    }

    TEST_CASE("real files with any single byte changed decode or fail cleanly, never crash") {
        for (const char* rel :
             {"data/alltypes_dictionary.parquet", "data/datapage_v2.snappy.parquet",
              "data/delta_encoding_optional_column.parquet", "data/nested_lists.snappy.parquet"}) {
            std::string bytes = ReadCorpusFile(rel);
            size_t errors = 0;
            for (size_t i = 0; i < bytes.size(); ++i) {
                std::string m = bytes;
                m[i] = static_cast<char>(m[i] ^ 0x5a);
                try {
                    DecodeAll(m);
                } catch (const Error& e) {
                    REQUIRE_MESSAGE(e.code() == ExitCode::Source, rel << " byte " << i << ": " << e.what());
                    ++errors;
                }
            }
            MESSAGE(std::string(rel) << ": " << errors << " of " << bytes.size()
                                     << " single-byte mutations refused");
        }
    }
}

} // namespace pgsplit::test::pq
