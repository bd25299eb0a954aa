#include "parquet/decoder/decoder.h"

namespace pgsplit::parquet {

const char* EncodingName(int encoding) {
    switch (encoding) {
    case 0:
        return "PLAIN";
    case 1:
        return "GROUP_VAR_INT";
    case 2:
        return "PLAIN_DICTIONARY";
    case 3:
        return "RLE";
    case 4:
        return "BIT_PACKED";
    case 5:
        return "DELTA_BINARY_PACKED";
    case 6:
        return "DELTA_LENGTH_BYTE_ARRAY";
    case 7:
        return "DELTA_BYTE_ARRAY";
    case 8:
        return "RLE_DICTIONARY";
    case 9:
        return "BYTE_STREAM_SPLIT";
    default:
        return "UNKNOWN";
    }
}

size_t FixedWidth(const Column& column) {
    switch (column.physical) {
    case Physical::Int32:
    case Physical::Float:
        return 4;
    case Physical::Int64:
    case Physical::Double:
        return 8;
    case Physical::Int96:
        return 12;
    case Physical::FixedLenByteArray:
        return static_cast<size_t>(column.type_length);
    case Physical::Boolean:
    case Physical::ByteArray:
        return 0;
    }
    return 0;
}

std::unique_ptr<ValueDecoder> MakeDecoder(int encoding, const Column& column, const ColumnBatch* dictionary,
                                          const uint8_t* data, size_t size) {
    const bool is_bytes = column.physical == Physical::ByteArray;
    switch (static_cast<Encoding>(encoding)) {
    case Encoding::Plain:
        return MakePlainDecoder(column, data, size);
    case Encoding::PlainDictionary:
    case Encoding::RleDictionary:
        if (!dictionary) {
            throw DecodeError("dictionary-encoded page without a dictionary page");
        }
        return MakeDictionaryDecoder(column, *dictionary, data, size);
    case Encoding::Rle:
        if (column.physical != Physical::Boolean) {
            throw DecodeError("RLE value encoding is only valid for BOOLEAN columns");
        }
        return MakeRleBooleanDecoder(data, size);
    case Encoding::DeltaBinaryPacked:
        if (column.physical != Physical::Int32 && column.physical != Physical::Int64) {
            throw DecodeError("DELTA_BINARY_PACKED is only valid for INT32 and INT64 columns");
        }
        return MakeDeltaBinaryPackedDecoder(column, data, size);
    case Encoding::DeltaLengthByteArray:
        if (!is_bytes) {
            throw DecodeError("DELTA_LENGTH_BYTE_ARRAY is only valid for BYTE_ARRAY columns");
        }
        return MakeDeltaLengthByteArrayDecoder(column, data, size);
    case Encoding::DeltaByteArray:
        if (!is_bytes && column.physical != Physical::FixedLenByteArray) {
            throw DecodeError(
                "DELTA_BYTE_ARRAY is only valid for BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY columns");
        }
        return MakeDeltaByteArrayDecoder(column, data, size);
    case Encoding::ByteStreamSplit:
        if (is_bytes || column.physical == Physical::Boolean || column.physical == Physical::Int96) {
            throw DecodeError("BYTE_STREAM_SPLIT is not valid for this column type");
        }
        return MakeByteStreamSplitDecoder(column, data, size);
    case Encoding::BitPacked:
        break;
    }
    throw DecodeError(std::string("unsupported value encoding ") + EncodingName(encoding) + " (" +
                      std::to_string(encoding) + ")");
}

} // namespace pgsplit::parquet
