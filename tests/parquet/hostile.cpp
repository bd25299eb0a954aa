#include "parquet/hostile.h"

#include "parquet_types.h"

#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <vector>

namespace pgsplit::test::hostile {
namespace {

namespace f = pgsplit::parquet::format;

template <class T>
std::string Serialize(const T& obj) {
    auto buf = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
    apache::thrift::protocol::TCompactProtocolT<apache::thrift::transport::TMemoryBuffer> proto(buf);
    obj.write(&proto);
    return buf->getBufferAsString();
}

std::string Varint(uint64_t v) {
    std::string s;
    while (v >= 0x80) {
        s += static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    s += static_cast<char>(v);
    return s;
}

std::string U32(uint32_t v) {
    return std::string(reinterpret_cast<const char*>(&v), 4);
}

// One RLE run of `count` copies of `value` (bit width <= 8), with the 4-byte length of data page v1
// level sections when `prefixed`.
std::string RleRun(uint64_t count, uint8_t value, bool prefixed) {
    std::string run = Varint(count << 1) + static_cast<char>(value);
    return prefixed ? U32(static_cast<uint32_t>(run.size())) + run : run;
}

std::string DataPage(int32_t num_values, const std::string& body, int32_t uncompressed,
                     f::Encoding::type encoding = f::Encoding::PLAIN) {
    f::PageHeader h;
    h.__set_type(f::PageType::DATA_PAGE);
    h.__set_compressed_page_size(static_cast<int32_t>(body.size()));
    h.__set_uncompressed_page_size(uncompressed);
    f::DataPageHeader d;
    d.__set_num_values(num_values);
    d.__set_encoding(encoding);
    d.__set_definition_level_encoding(f::Encoding::RLE);
    d.__set_repetition_level_encoding(f::Encoding::RLE);
    h.__set_data_page_header(d);
    return Serialize(h) + body;
}

std::string DataPage(int32_t num_values, const std::string& body) {
    return DataPage(num_values, body, static_cast<int32_t>(body.size()));
}

std::string DictionaryPage(int32_t num_values, const std::string& body) {
    f::PageHeader h;
    h.__set_type(f::PageType::DICTIONARY_PAGE);
    h.__set_compressed_page_size(static_cast<int32_t>(body.size()));
    h.__set_uncompressed_page_size(static_cast<int32_t>(body.size()));
    f::DictionaryPageHeader d;
    d.__set_num_values(num_values);
    d.__set_encoding(f::Encoding::PLAIN);
    h.__set_dictionary_page_header(d);
    return Serialize(h) + body;
}

f::SchemaElement Group(const std::string& name, int children, bool optional) {
    f::SchemaElement e;
    e.__set_name(name);
    e.__set_num_children(children);
    if (optional) {
        e.__set_repetition_type(f::FieldRepetitionType::OPTIONAL);
    }
    return e;
}

f::SchemaElement Leaf(const std::string& name, f::Type::type type, f::FieldRepetitionType::type rep) {
    f::SchemaElement e;
    e.__set_name(name);
    e.__set_type(type);
    e.__set_repetition_type(rep);
    return e;
}

struct Chunk {
    std::vector<std::string> path;
    f::Type::type type = f::Type::INT32;
    std::string bytes;     // the pages
    size_t dictionary = 0; // bytes of the leading dictionary page, 0 when none
    int64_t num_values = 0;
    f::CompressionCodec::type codec = f::CompressionCodec::UNCOMPRESSED;
};

// The chunks once after the magic; `row_groups` row groups of `rows` rows all pointing at them.
std::string Assemble(const std::vector<f::SchemaElement>& schema, const std::vector<Chunk>& chunks,
                     int64_t rows, int row_groups) {
    std::string file = "PAR1";
    std::vector<int64_t> offsets;
    for (const auto& c : chunks) {
        offsets.push_back(static_cast<int64_t>(file.size()));
        file += c.bytes;
    }
    f::FileMetaData meta;
    meta.__set_version(1);
    meta.__set_schema(schema);
    meta.__set_num_rows(rows * row_groups);
    f::RowGroup rg;
    std::vector<f::ColumnChunk> columns;
    for (size_t i = 0; i < chunks.size(); ++i) {
        const Chunk& c = chunks[i];
        f::ColumnMetaData md;
        md.__set_type(c.type);
        md.__set_encodings({f::Encoding::PLAIN, f::Encoding::RLE, f::Encoding::RLE_DICTIONARY});
        md.__set_path_in_schema(c.path);
        md.__set_codec(c.codec);
        md.__set_num_values(c.num_values);
        md.__set_total_compressed_size(static_cast<int64_t>(c.bytes.size()));
        md.__set_total_uncompressed_size(static_cast<int64_t>(c.bytes.size()));
        md.__set_data_page_offset(offsets[i] + static_cast<int64_t>(c.dictionary));
        if (c.dictionary > 0) {
            md.__set_dictionary_page_offset(offsets[i]);
        }
        f::ColumnChunk cc;
        cc.__set_file_offset(offsets[i]);
        cc.__set_meta_data(md);
        columns.push_back(cc);
    }
    rg.__set_columns(columns);
    rg.__set_num_rows(rows);
    rg.__set_total_byte_size(static_cast<int64_t>(file.size()));
    meta.__set_row_groups(std::vector<f::RowGroup>(static_cast<size_t>(row_groups), rg));
    std::string footer = Serialize(meta);
    file += footer + U32(static_cast<uint32_t>(footer.size())) + "PAR1";
    return file;
}

} // namespace

std::string NullRunCheckpoint(int64_t rows, int row_groups, int leaves) {
    static const char* kNames[] = {"path", "size", "modificationTime", "dataChange", "stats"};
    std::vector<f::SchemaElement> schema = {Group("schema", 1, false), Group("add", leaves, true)};
    std::vector<Chunk> chunks;
    for (int i = 0; i < leaves; ++i) {
        std::string name = i < 5 ? kNames[i] : "f" + std::to_string(i);
        bool text = i == 0;
        auto leaf = Leaf(name, text ? f::Type::BYTE_ARRAY : f::Type::INT64, f::FieldRepetitionType::OPTIONAL);
        if (text) {
            leaf.__set_converted_type(f::ConvertedType::UTF8);
        }
        schema.push_back(leaf);
        Chunk c;
        c.path = {"add", name};
        c.type = text ? f::Type::BYTE_ARRAY : f::Type::INT64;
        c.num_values = rows;
        // max definition level 2: bit width 2, level 0 = `add` is null.
        c.bytes = DataPage(static_cast<int32_t>(rows), RleRun(static_cast<uint64_t>(rows), 0, true));
        chunks.push_back(c);
    }
    return Assemble(schema, chunks, rows, row_groups);
}

std::string NullRunFlat(int64_t rows, int row_groups) {
    std::vector<f::SchemaElement> schema = {Group("schema", 1, false),
                                            Leaf("x", f::Type::INT32, f::FieldRepetitionType::OPTIONAL)};
    Chunk c;
    c.path = {"x"};
    c.num_values = rows;
    for (int64_t left = rows; left > 0;) {
        int64_t n = std::min<int64_t>(left, int64_t{1} << 30);
        c.bytes += DataPage(static_cast<int32_t>(n), RleRun(static_cast<uint64_t>(n), 0, true));
        left -= n;
    }
    return Assemble(schema, {c}, rows, row_groups);
}

std::string ManyChunksFooter(int row_groups, int chunks) {
    f::FileMetaData meta;
    meta.__set_version(1);
    meta.__set_schema(
        {Group("schema", 1, false), Leaf("x", f::Type::INT32, f::FieldRepetitionType::REQUIRED)});
    meta.__set_num_rows(0);
    std::string footer = Serialize(meta); // fields 1..3, then the stop byte
    footer.pop_back();
    auto list_header = [](int n) {
        // Compact protocol: size and element type (12: struct) in one byte below 15, else 0xF? + varint.
        return n < 15 ? std::string(1, static_cast<char>((n << 4) | 0x0c))
                      : std::string(1, static_cast<char>(0xfc)) + Varint(static_cast<uint64_t>(n));
    };
    footer += '\x19' + list_header(row_groups); // field 4 (row_groups), a list
    std::string empty_chunk("\x26\x08\x00", 3); // field 2 (file_offset) = 4, stop
    std::string group = '\x19' + list_header(chunks);
    group.reserve(group.size() + empty_chunk.size() * static_cast<size_t>(chunks) + 8);
    for (int i = 0; i < chunks; ++i) {
        group += empty_chunk;
    }
    group += std::string("\x16\x00\x16\x00\x00", 5); // total_byte_size 0, num_rows 0, stop
    for (int g = 0; g < row_groups; ++g) {
        footer += group;
    }
    footer += '\x00';
    return "PAR1" + footer + U32(static_cast<uint32_t>(footer.size())) + "PAR1";
}

std::string DictionaryAmplifier(int64_t rows, uint32_t value_bytes) {
    std::vector<f::SchemaElement> schema = {Group("schema", 1, false),
                                            Leaf("s", f::Type::BYTE_ARRAY, f::FieldRepetitionType::OPTIONAL)};
    Chunk c;
    c.path = {"s"};
    c.type = f::Type::BYTE_ARRAY;
    c.num_values = rows;
    std::string dict = DictionaryPage(1, U32(value_bytes) + std::string(value_bytes, 'v'));
    // Every row defined (level 1), every index 0 (bit width 1).
    std::string body =
        RleRun(static_cast<uint64_t>(rows), 1, true) + '\x01' + RleRun(static_cast<uint64_t>(rows), 0, false);
    c.dictionary = dict.size();
    c.bytes = dict + DataPage(static_cast<int32_t>(rows), body, static_cast<int32_t>(body.size()),
                              f::Encoding::RLE_DICTIONARY);
    return Assemble(schema, {c}, rows, 1);
}

std::string PageSizeLie(int codec, const std::string& body, int32_t uncompressed) {
    std::vector<f::SchemaElement> schema = {Group("schema", 1, false),
                                            Leaf("x", f::Type::INT32, f::FieldRepetitionType::REQUIRED)};
    Chunk c;
    c.path = {"x"};
    c.num_values = 3;
    c.codec = static_cast<f::CompressionCodec::type>(codec);
    c.bytes = DataPage(3, body, uncompressed);
    return Assemble(schema, {c}, 3, 1);
}

std::string PageCountLie(int64_t rows, int32_t page_values) {
    std::vector<f::SchemaElement> schema = {Group("schema", 1, false),
                                            Leaf("x", f::Type::INT32, f::FieldRepetitionType::REQUIRED)};
    Chunk c;
    c.path = {"x"};
    c.num_values = rows;
    c.bytes = DataPage(page_values, std::string(static_cast<size_t>(rows) * 4, '\x01'));
    return Assemble(schema, {c}, rows, 1);
}

std::string WideChunks(int columns, uint32_t chunk_bytes) {
    std::vector<f::SchemaElement> schema = {Group("schema", columns, false)};
    std::vector<Chunk> chunks;
    for (int i = 0; i < columns; ++i) {
        std::string name = "c" + std::to_string(i);
        schema.push_back(Leaf(name, f::Type::BYTE_ARRAY, f::FieldRepetitionType::REQUIRED));
        Chunk c;
        c.path = {name};
        c.type = f::Type::BYTE_ARRAY;
        c.num_values = 1;
        c.bytes = DataPage(1, U32(chunk_bytes - 4) + std::string(chunk_bytes - 4, 'w'));
        chunks.push_back(c);
    }
    return Assemble(schema, chunks, 1, 1);
}

} // namespace pgsplit::test::hostile
