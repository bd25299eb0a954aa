#include "fuzz/entry.h"

#include "config/dsn.h"
#include "core/error.h"
#include "delta/deletion_vector.h"
#include "delta/table.h"
#include "parquet/reader.h"
#include "storage/azure/uri.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <libpq-fe.h>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::fuzz {

void InvariantFailed(std::string_view what) {
    std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

// --- Parquet ---------------------------------------------------------------------------------------

// The fuzzer runs under -rss_limit_mb=512 with ASan's overhead: a reader gets a quarter of that, and a
// file is read for at most this many rows (a footer may honestly claim billions of all-NULL rows; that
// costs time in proportion, which a timeout would report without it being a bug).
constexpr uint64_t kFuzzMemory = uint64_t{96} << 20;
constexpr size_t kFuzzRows = size_t{1} << 21;

void ParquetEntry(const uint8_t* data, size_t size) {
    using parquet::FileReader;
    try {
        auto reader = FileReader::Open(
            parquet::MemorySource("fuzz.parquet", std::string(reinterpret_cast<const char*>(data), size)),
            parquet::ReadLimits{kFuzzMemory});
        if (reader->AllFlat()) {
            std::vector<int> columns;
            for (const auto& c : reader->Columns()) {
                columns.push_back(c.index);
            }
            std::vector<parquet::ColumnBatch> batches;
            size_t rows = 0;
            for (size_t g = 0; g < reader->Info().row_groups.size() && rows < kFuzzRows; ++g) {
                auto cursor = reader->ReadRowGroup(static_cast<int>(g), columns, 1024);
                while (rows < kFuzzRows && cursor->Next(batches)) {
                    rows += batches.empty() ? 1024 : std::max<size_t>(batches[0].size, 1);
                }
            }
        }
        // The record path too, for flat and nested files alike.
        size_t records = 0;
        reader->ReadRecords({}, [&](nlohmann::json&) { return ++records < 100000; });
    } catch (const Error&) {
        // Expected for malformed input.
    }
}

// --- Delta log -------------------------------------------------------------------------------------

namespace {

// A table whose files live in a map: the log replay reads it exactly as it reads a directory.
class MemoryStorage final : public storage::Storage {
public:
    explicit MemoryStorage(std::map<std::string, std::string> files) : files_(std::move(files)) {}

    const std::string& Root() const override { return root_; }

    std::vector<storage::FileEntry> List(const std::string& dir) override {
        std::string prefix = dir.empty() ? "" : dir + "/";
        std::vector<storage::FileEntry> out;
        for (const auto& [path, bytes] : files_) {
            if (path.rfind(prefix, 0) == 0 && path.find('/', prefix.size()) == std::string::npos) {
                out.push_back({path.substr(prefix.size()), bytes.size()});
            }
        }
        return out;
    }

    std::unique_ptr<ByteSource> Open(const std::string& path) override {
        auto it = files_.find(path);
        if (it == files_.end()) {
            throw Error(ExitCode::Source, "no such file: " + Describe(path));
        }
        return parquet::MemorySource(Describe(path), it->second);
    }

    std::optional<std::string> ReadIfExists(const std::string& path) override {
        auto it = files_.find(path);
        if (it == files_.end()) {
            return std::nullopt;
        }
        return it->second;
    }

    std::string Describe(const std::string& path) const override { return root_ + "/" + path; }

private:
    std::string root_ = "memory://fuzz";
    std::map<std::string, std::string> files_;
};

constexpr size_t kMaxCommits = 16;

void SelectEverything(const delta::Snapshot& snap) {
    auto all = snap.SelectFiles(nullptr);
    if (all.size() != snap.Files().size()) {
        InvariantFailed("SelectFiles(nullptr) did not return every active file");
    }
    (void)delta::Snapshot::CountRecords(all);
    size_t fields = 0;
    for (const auto& field : snap.GetSchema().fields) {
        if (++fields > 16) {
            break;
        }
        std::vector<std::optional<std::string>> values = {std::nullopt, "0", "2024-03"};
        if (!snap.Files().empty()) {
            values.push_back(snap.Files().front().PartitionValue(field.name));
        }
        for (const auto& value : values) {
            delta::Predicate predicate{field.name, value};
            try {
                auto some = snap.SelectFiles(&predicate);
                if (some.size() > all.size()) {
                    InvariantFailed("a predicate selected more files than the snapshot has");
                }
                (void)delta::Snapshot::CountRecords(some);
            } catch (const Error&) {
                // A partition value that does not parse as its column's type is a source error.
            }
        }
    }
}

} // namespace

void DeltaLogEntry(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::map<std::string, std::string> files;
    size_t version = 0;
    size_t pos = 0;
    while (version < kMaxCommits) {
        size_t nul = input.find('\0', pos);
        char name[64];
        std::snprintf(name, sizeof name, "_delta_log/%020zu.json", version++);
        files[name] = std::string(input.substr(pos, nul == std::string_view::npos ? nul : nul - pos));
        if (nul == std::string_view::npos) {
            break;
        }
        pos = nul + 1;
    }
    delta::Table table(std::make_unique<MemoryStorage>(std::move(files)));
    try {
        SelectEverything(table.LoadSnapshot());
    } catch (const Error&) {
        // Expected for a damaged or unsupported log.
    }
    if (version > 1) {
        try {
            SelectEverything(table.LoadSnapshot(0));
        } catch (const Error&) {
        }
    }
}

namespace {

void CheckDeletionVector(const delta::DeletionVector& dv) {
    if (dv.Cardinality() > (uint64_t{1} << 20)) {
        return; // a few run containers can describe billions of rows; walking them proves nothing more
    }
    uint64_t n = 0;
    std::optional<uint64_t> last;
    dv.ForEach([&](uint64_t row) {
        if (last && row <= *last) {
            InvariantFailed("deletion vector: ForEach is not strictly ascending");
        }
        if (!dv.Contains(row)) {
            InvariantFailed("deletion vector: a value ForEach yields is not Contains()ed");
        }
        last = row;
        ++n;
        return true;
    });
    if (n != dv.Cardinality() || last != dv.Max()) {
        InvariantFailed("deletion vector: ForEach disagrees with Cardinality() or Max()");
    }
    if (last && *last < UINT64_MAX && dv.Contains(*last + 1)) {
        InvariantFailed("deletion vector: Contains() is true past Max()");
    }
}

} // namespace

void DeletionVectorEntry(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        CheckDeletionVector(delta::DeletionVector::Parse(bytes));
    } catch (const delta::DvFormatError&) {
    }
    if (auto decoded = delta::Z85Decode(bytes)) {
        try {
            CheckDeletionVector(delta::DeletionVector::Parse(*decoded));
        } catch (const delta::DvFormatError&) {
        }
    }
    // As a DV file: the descriptor's size is what the file's size field says, cardinality whatever the
    // bitmap holds, so the checks past the checksum run too.
    if (size >= 9) {
        uint32_t declared =
            (uint32_t{data[1]} << 24) | (uint32_t{data[2]} << 16) | (uint32_t{data[3]} << 8) | data[4];
        std::map<std::string, std::string> files = {
            {"deletion_vector_00000000-0000-0000-0000-000000000000.bin", std::string(bytes)}};
        MemoryStorage storage(std::move(files));
        delta::DvDescriptor d;
        d.storage_type = 'u';
        d.path_or_inline = "00000000000000000000"; // Z85 of 16 zero bytes
        d.offset = 1;
        d.size_in_bytes = declared;
        for (int64_t card : {int64_t{0}, int64_t{1}, int64_t{3}}) {
            d.cardinality = card;
            try {
                CheckDeletionVector(delta::LoadDeletionVector(storage, d, 1 << 20, 1 << 20, "fuzz"));
            } catch (const Error&) {
            }
        }
    }
}

// --- DSNs and table locations ----------------------------------------------------------------------

namespace {

// libpq's reading, the same one the code under test relies on.
std::optional<std::map<std::string, std::string>> LibpqView(const std::string& dsn) {
    return ParseDsnOptions(dsn);
}

std::string Get(const std::map<std::string, std::string>& opts, const char* key) {
    auto it = opts.find(key);
    return it == opts.end() ? std::string() : it->second;
}

size_t Count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

std::string Lower(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

bool AzureHostIn(const std::string& hosts) {
    const std::string suffix = ".postgres.database.azure.com";
    size_t pos = 0;
    while (true) {
        size_t comma = hosts.find(',', pos);
        std::string host =
            Lower(hosts.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (host.size() >= suffix.size() &&
            host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
            return true;
        }
        if (comma == std::string::npos) {
            return false;
        }
        pos = comma + 1;
    }
}

void CheckRedaction(const std::string& dsn) {
    std::string redacted = RedactDsn(dsn);
    auto view = LibpqView(dsn);
    if (!view) {
        return;
    }
    for (const char* key : {"password", "sslpassword"}) {
        auto it = view->find(key);
        if (it == view->end()) {
            continue;
        }
        const std::string& secret = it->second;
        // In a DSN without escapes (no %XX, backslash or quote) libpq's value is spelled as written, so a
        // secret found once in the DSN is the password itself and must be gone from the output. With
        // escapes the same text may be a host name (tests/data/fuzz/dsn_fuzz/); the re-parse below still
        // covers those. Short secrets and ones made of the mask could match by coincidence.
        bool literal = dsn.find_first_of("%\\'") == std::string::npos;
        if (literal && secret.size() >= 4 && secret.find('*') == std::string::npos &&
            Count(dsn, secret) == 1 && redacted.find(secret) != std::string::npos) {
            InvariantFailed("RedactDsn left the " + std::string(key) + " in: " + redacted);
        }
    }
    if (auto again = LibpqView(redacted)) {
        for (const char* key : {"password", "sslpassword"}) {
            auto it = again->find(key);
            if (it != again->end() && it->second != "***") {
                InvariantFailed("libpq still reads a " + std::string(key) +
                                " from RedactDsn's output: " + redacted);
            }
        }
    }
}

void CheckDefaults(const std::string& dsn) {
    std::string effective = ApplyDsnDefaults(dsn);
    (void)DsnHost(dsn);
    (void)RedactDsn(effective);
    auto view = LibpqView(dsn);
    bool applies = view && AzureHostIn(Get(*view, "host")) && Get(*view, "sslmode").empty();
    if (!applies) {
        if (effective != dsn) {
            InvariantFailed("ApplyDsnDefaults changed a DSN it has no default for");
        }
        return;
    }
    auto after = LibpqView(effective);
    if (!after) {
        InvariantFailed("ApplyDsnDefaults made a DSN libpq cannot parse");
    }
    auto expect = *view;
    expect["sslmode"] = "verify-full";
    if (Get(expect, "sslrootcert").empty()) {
        expect["sslrootcert"] = "/etc/ssl/certs/ca-certificates.crt";
    }
    if (*after != expect) {
        InvariantFailed("ApplyDsnDefaults changed more than sslmode/sslrootcert: " + RedactDsn(effective));
    }
}

void CheckLocation(const std::string& uri) {
    using storage::azure::BlobLocation;
    (void)storage::azure::IsAzureUri(uri);
    for (const std::optional<std::string>& endpoint :
         {std::optional<std::string>(), std::optional<std::string>("http://127.0.0.1:10000"),
          std::optional<std::string>("https://proxy.example/account")}) {
        try {
            BlobLocation loc = storage::azure::ParseBlobUri(uri, endpoint);
            if (loc.account.empty() || loc.container.empty() || loc.base_url.rfind("http", 0) != 0) {
                InvariantFailed("ParseBlobUri accepted a location without account, container or base URL");
            }
        } catch (const Error&) {
            // Not a location pgsplit accepts: a usage or configuration error, as designed.
        }
    }
    if (storage::azure::DecodePercent(storage::azure::EncodePath(uri)) != uri ||
        storage::azure::DecodePercent(storage::azure::EncodeQueryValue(uri)) != uri) {
        InvariantFailed("percent-encoding does not round-trip");
    }
    std::string redacted = storage::azure::RedactUrl(uri);
    size_t q = uri.find('?');
    for (size_t pos = q; pos != std::string::npos;) {
        size_t amp = uri.find('&', pos + 1);
        std::string param = uri.substr(pos + 1, amp == std::string::npos ? amp : amp - pos - 1);
        pos = amp;
        if (Lower(param.substr(0, 4)) != "sig=") {
            continue;
        }
        std::string value = param.substr(4);
        if (value.size() >= 6 && value.find('*') == std::string::npos && Count(uri, value) == 1 &&
            redacted.find(value) != std::string::npos) {
            InvariantFailed("RedactUrl left a SAS signature in: " + redacted);
        }
    }
}

} // namespace

void DsnEntry(const uint8_t* data, size_t size) {
    std::string input(reinterpret_cast<const char*>(data), size);
    // libpq reads C strings; text after a NUL never reaches it.
    input.resize(std::min(input.find('\0'), input.size()));
    CheckRedaction(input);
    CheckDefaults(input);
    CheckLocation(input);
}

} // namespace pgsplit::fuzz
