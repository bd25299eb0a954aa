// Log replay on small hand-written JSON logs: reconciliation, versions, fallbacks and refusals.

#include "core/error.h"
#include "delta/log.h"
#include "delta/table.h"
#include "delta/values.h"
#include "support/process.h"
#include "tests/delta/delta_test_util.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace pgsplit::test {
namespace {
namespace fs = std::filesystem;

const std::string kSchema =
    R"({\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},)"
    R"({\"name\":\"year_month\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]})";

std::string Protocol(int r = 1, int w = 2, const std::string& features = "") {
    if (!features.empty()) {
        return fmt::format(
            R"({{"protocol":{{"minReaderVersion":{},"minWriterVersion":{},"readerFeatures":[{}],"writerFeatures":[{}]}}}})",
            r, w, features, features);
    }
    return fmt::format(R"({{"protocol":{{"minReaderVersion":{},"minWriterVersion":{}}}}})", r, w);
}

std::string Metadata(const std::string& config = "{}") {
    return fmt::format(
        R"({{"metaData":{{"id":"t1","format":{{"provider":"parquet","options":{{}}}},"schemaString":"{}","partitionColumns":["year_month"],"configuration":{},"createdTime":1}}}})",
        kSchema, config);
}

std::string Add(const std::string& path, const std::string& month, int64_t records,
                const std::string& extra = "") {
    return fmt::format(
        R"({{"add":{{"path":"{}","partitionValues":{{"year_month":"{}"}},"size":100,"modificationTime":1,"dataChange":true,"stats":"{{\"numRecords\":{},\"minValues\":{{\"id\":1}},\"maxValues\":{{\"id\":9}},\"nullCount\":{{\"id\":0}}}}"{}}}}})",
        path, month, records, extra);
}

std::string Remove(const std::string& path, const std::string& extra = "") {
    return fmt::format(R"({{"remove":{{"path":"{}","deletionTimestamp":2,"dataChange":true{}}}}})", path,
                       extra);
}

void Commit(const fs::path& root, int64_t version, const std::vector<std::string>& actions) {
    std::string text;
    for (const auto& a : actions) {
        text += a + "\n";
    }
    WriteFile(root / "_delta_log" / fmt::format("{:020}.json", version), text);
}

delta::Snapshot Load(const fs::path& root, std::optional<int64_t> version = std::nullopt) {
    delta::Table table(storage::OpenLocalStorage(root.string()));
    return table.LoadSnapshot(version);
}

std::string LoadError(const fs::path& root, std::optional<int64_t> version = std::nullopt) {
    try {
        Load(root, version);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Source);
        return e.what();
    }
    return "<no error>";
}

std::vector<std::string> Paths(const delta::Snapshot& s) {
    std::vector<std::string> out;
    for (const auto& f : s.Files()) {
        out.push_back(f.path);
    }
    return out;
}

} // namespace

TEST_SUITE("delta") {
    TEST_CASE("log file names are classified per the protocol") {
        using K = delta::LogFile::Kind;
        CHECK(delta::ParseLogFileName("00000000000000000007.json", 1)->kind == K::Commit);
        CHECK(delta::ParseLogFileName("00000000000000000007.json", 1)->version == 7);
        CHECK(delta::ParseLogFileName("00000000000000000010.checkpoint.parquet", 1)->kind == K::Checkpoint);
        auto part =
            delta::ParseLogFileName("00000000000000000001.checkpoint.0000000002.0000000003.parquet", 1);
        REQUIRE(part);
        CHECK(part->kind == K::CheckpointPart);
        CHECK(part->part == 2);
        CHECK(part->parts == 3);
        CHECK(delta::ParseLogFileName(
                  "00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet", 1)
                  ->kind == K::CheckpointV2);
        CHECK_FALSE(delta::ParseLogFileName("00000000000000000002.crc", 1));
        CHECK_FALSE(delta::ParseLogFileName("_last_checkpoint", 1));
        CHECK_FALSE(delta::ParseLogFileName("00000000000000000001.00000000000000000009.compacted.json", 1));
        CHECK_FALSE(delta::ParseLogFileName("7.json", 1));
    }

    TEST_CASE("values: timestamps, decimals, dates and URI paths") {
        CHECK(delta::ParseTimestampMicros("1970-01-01 00:00:01").value() == 1000000);
        CHECK(delta::ParseTimestampMicros("1970-01-01 00:00:00.5").value() == 500000);
        CHECK(delta::ParseTimestampMicros("1970-01-02T08:45:00.000000Z").value() ==
              (86400LL + 8 * 3600 + 45 * 60) * 1000000);
        CHECK_FALSE(delta::ParseTimestampMicros("1970-01-01 00:00:00+02:00"));
        CHECK_FALSE(delta::ParseTimestampMicros("1970-13-01 00:00:00"));
        CHECK(delta::FormatTimestampMicros(-1, true) == "1969-12-31T23:59:59.999999Z");
        CHECK(delta::NormalizeDecimal("12", 38, 18).value() == "12.000000000000000000");
        CHECK(delta::NormalizeDecimal("-1.50", 5, 3).value() == "-1.500");
        CHECK_FALSE(delta::NormalizeDecimal("1.2345", 5, 3));
        CHECK_FALSE(delta::NormalizeDecimal("123", 3, 1));
        CHECK(delta::ParseDate("2024-02-29").has_value());
        CHECK_FALSE(delta::ParseDate("2023-02-29"));
        CHECK(delta::UriDecode("a%20b%2Fc", "t") == "a b/c");
        CHECK_THROWS_AS(delta::UriDecode("a%2", "t"), Error);
        delta::DataType f{delta::TypeKind::Float, 0, 0, "float", {}, {}, {}};
        CHECK(delta::PartitionValueToJson(f, std::string("1.1"), "t").dump() == "1.1");
        delta::DataType b{delta::TypeKind::Binary, 0, 0, "binary", {}, {}, {}};
        CHECK(delta::PartitionValueToJson(b, std::string("hi"), "t") == "aGk=");
        CHECK(delta::PartitionValueToJson(b, std::nullopt, "t").is_null());
    }

    TEST_CASE("add and remove reconcile; a predicate overwrite replaces one month") {
        ScratchDir t;
        Commit(t.Root(), 0,
               {Protocol(), Metadata(), Add("year_month=2024-01/a.parquet", "2024-01", 10),
                Add("year_month=2024-02/b.parquet", "2024-02", 20)});
        Commit(t.Root(), 1,
               {Remove("year_month=2024-01/a.parquet"), Add("year_month=2024-01/c.parquet", "2024-01", 5)});
        Commit(t.Root(), 2,
               {R"({"commitInfo":{"operation":"WRITE"}})",
                Add("year_month=2024-03/d%20e.parquet", "2024-03", 7)});
        // A temporary commit a writer never finished must be ignored (rs-simple_table has one).
        WriteFile(t.Root() / "_delta_log" / ".tmp" / "00000000000000000003.json", "garbage");
        WriteFile(t.Root() / "_delta_log" / "00000000000000000001.crc", "{}");

        auto snap = Load(t.Root());
        CHECK(snap.Version() == 2);
        CHECK(Paths(snap) == std::vector<std::string>{"year_month=2024-01/c.parquet",
                                                      "year_month=2024-02/b.parquet",
                                                      "year_month=2024-03/d e.parquet"});
        delta::Predicate jan{"year_month", "2024-01"};
        auto files = snap.SelectFiles(&jan);
        REQUIRE(files.size() == 1);
        CHECK(files[0]->path == "year_month=2024-01/c.parquet");
        CHECK(delta::Snapshot::CountRecords(files).value() == 5);
        CHECK(delta::Snapshot::CountRecords(snap.SelectFiles(nullptr)).value() == 32);

        auto v0 = Load(t.Root(), 0);
        CHECK(Paths(v0) ==
              std::vector<std::string>{"year_month=2024-01/a.parquet", "year_month=2024-02/b.parquet"});
        CHECK(LoadError(t.Root(), 9).find("version 9 does not exist") != std::string::npos);
    }

    TEST_CASE("a remove of an encoded path cancels the add of the same decoded path") {
        ScratchDir t;
        Commit(t.Root(), 0, {Protocol(), Metadata(), Add("year_month=2024-01/x%3Ay.parquet", "2024-01", 1)});
        Commit(t.Root(), 1, {Remove("year_month=2024-01/x:y.parquet")});
        CHECK(Load(t.Root()).Files().empty());
    }

    TEST_CASE("reconciliation keys on (path, deletion vector)") {
        // golden-dv-partitioned-with-checkpoint: one commit removes a path with its old DV and re-adds
        // it with a new one. Keyed on the path alone the file would vanish.
        ScratchDir t;
        std::string dv1 =
            R"(,"deletionVector":{"storageType":"u","pathOrInlineDv":"ab","offset":1,"sizeInBytes":10,"cardinality":1})";
        std::string dv2 =
            R"(,"deletionVector":{"storageType":"u","pathOrInlineDv":"cd","offset":1,"sizeInBytes":10,"cardinality":2})";
        Commit(t.Root(), 0, {Protocol(), Metadata(), Add("p.parquet", "2024-01", 3, dv1)});
        Commit(t.Root(), 1, {Add("p.parquet", "2024-01", 3, dv2), Remove("p.parquet", dv1)});
        storage::Storage* raw = nullptr;
        auto st = storage::OpenLocalStorage(t.Str());
        raw = st.get();
        auto state = delta::ReplayLog(*raw, std::nullopt);
        REQUIRE(state.files.size() == 1);
        CHECK(state.files[0].dv_id.find("cd") != std::string::npos);
        REQUIRE(state.files[0].dv);
        CHECK(state.files[0].dv->cardinality == 2);
        CHECK(Load(t.Root()).Files().size() == 1);
    }

    TEST_CASE("partition values: empty string and null are NULL, typed comparison") {
        ScratchDir t;
        std::string add_null =
            R"({"add":{"path":"n.parquet","partitionValues":{"year_month":null},"size":1,"modificationTime":1,"dataChange":true}})";
        std::string add_empty =
            R"({"add":{"path":"e.parquet","partitionValues":{"year_month":""},"size":1,"modificationTime":1,"dataChange":true}})";
        Commit(t.Root(), 0, {Protocol(), Metadata(), add_null, add_empty, Add("m.parquet", "2024-05", 2)});
        auto snap = Load(t.Root());
        delta::Predicate null_month{"year_month", std::nullopt};
        CHECK(snap.SelectFiles(&null_month).size() == 2);
        CHECK_FALSE(delta::Snapshot::CountRecords(snap.SelectFiles(&null_month))); // no stats: unknown
        delta::Predicate may{"year_month", "2024-05"};
        CHECK(snap.SelectFiles(&may).size() == 1);
        delta::Predicate id{"id", "42"};
        // m.parquet's stats say id is 1..9; the two files without stats cannot be excluded.
        CHECK(snap.SelectFiles(&id).size() == 2);
        delta::Predicate id5{"id", "5"};
        CHECK(snap.SelectFiles(&id5).size() == 3);
    }

    TEST_CASE("a missing commit in the range is an error, not a shorter history") {
        ScratchDir t;
        Commit(t.Root(), 0, {Protocol(), Metadata(), Add("a.parquet", "2024-01", 1)});
        Commit(t.Root(), 2, {Add("b.parquet", "2024-01", 1)});
        std::string err = LoadError(t.Root());
        CHECK(err.find("commit 1 ") != std::string::npos);
        CHECK(err.find("00000000000000000001.json") != std::string::npos);
        CHECK(Load(t.Root(), 0).Files().size() == 1); // versions before the gap stay readable
    }

    TEST_CASE("garbage JSON in a commit names the file and line") {
        ScratchDir t;
        Commit(t.Root(), 0, {Protocol(), Metadata(), Add("a.parquet", "2024-01", 1)});
        Commit(t.Root(), 1, {Add("b.parquet", "2024-01", 1), "{\"add\": {\"path\": \"c.parq"});
        std::string err = LoadError(t.Root());
        CHECK(err.find("00000000000000000001.json line 2") != std::string::npos);
        CHECK(err.find("not valid JSON") != std::string::npos);
    }

    TEST_CASE("missing protocol or metaData is an error") {
        ScratchDir a, b;
        Commit(a.Root(), 0, {Metadata(), Add("a.parquet", "2024-01", 1)});
        CHECK(LoadError(a.Root()).find("no protocol action") != std::string::npos);
        Commit(b.Root(), 0, {Protocol(), Add("a.parquet", "2024-01", 1)});
        CHECK(LoadError(b.Root()).find("no metaData action") != std::string::npos);
    }

    TEST_CASE("not a Delta table") {
        ScratchDir t;
        CHECK(LoadError(t.Root()).find("is not a Delta table") != std::string::npos);
    }

    TEST_CASE("corrupt or stale _last_checkpoint falls back to listing") {
        ScratchDir t;
        Commit(t.Root(), 0, {Protocol(), Metadata(), Add("a.parquet", "2024-01", 1)});
        Commit(t.Root(), 1, {Add("b.parquet", "2024-02", 1)});
        for (const char* text : {"", "{not json", R"({"version":1,"size":3})", R"({"version":99})"}) {
            CAPTURE(text);
            WriteFile(t.Root() / "_delta_log" / "_last_checkpoint", text);
            auto snap = Load(t.Root());
            CHECK(snap.Version() == 1);
            CHECK(snap.Files().size() == 2);
            CHECK_FALSE(snap.CheckpointVersion());
        }
    }

    TEST_CASE("an incomplete multi-part checkpoint is ignored") {
        ScratchDir t;
        Commit(t.Root(), 0, {Protocol(), Metadata(), Add("a.parquet", "2024-01", 1)});
        Commit(t.Root(), 1, {Add("b.parquet", "2024-02", 1)});
        // Part 1 of 2 only: replay must not touch it (it would fail to parse) and must use the commits.
        WriteFile(t.Root() / "_delta_log" / "00000000000000000001.checkpoint.0000000001.0000000002.parquet",
                  "junk");
        auto snap = Load(t.Root());
        CHECK(snap.Files().size() == 2);
        CHECK_FALSE(snap.CheckpointVersion());
        bool noted = false;
        for (const auto& n : snap.Notes()) {
            noted = noted || n.find("incomplete") != std::string::npos;
        }
        CHECK(noted);
    }

    TEST_CASE("protocol: reader versions and features are checked") {
        struct Case {
            std::string protocol;
            std::string config;
            std::string error; // empty: readable
        };
        std::vector<Case> cases = {
            {Protocol(1, 2), "{}", ""},
            {Protocol(2, 5), "{}", ""},
            {Protocol(2, 5), R"({"delta.columnMapping.mode":"none"})", ""},
            // Name mode needs a physical name on every column; this schema has none.
            {Protocol(2, 5), R"({"delta.columnMapping.mode":"name"})", "delta.columnMapping.physicalName"},
            {Protocol(2, 5), R"({"delta.columnMapping.mode":"shuffle"})", "column mapping mode 'shuffle'"},
            {Protocol(3, 7, "\"timestampNtz\""), "{}", ""},
            {Protocol(3, 7, "\"deletionVectors\""), "{}", ""},
            {Protocol(3, 7, "\"columnMapping\""), "{}", ""},
            {Protocol(3, 7, "\"v2Checkpoint\""), "{}", ""},
            {Protocol(3, 7, "\"typeWidening\""), "{}", ""},
            {Protocol(3, 7, "\"typeWidening-preview\""), "{}", ""},
            {Protocol(3, 7, "\"vacuumProtocolCheck\""), "{}", ""},
            {Protocol(3, 7, "\"variantType\""), "{}", "variantType"},
            {Protocol(3, 7, "\"someFutureThing\""), "{}", "someFutureThing"},
            {Protocol(3, 7), "{}", "no readerFeatures"},
            {Protocol(4, 7), "{}", "reader version 4"},
            {Protocol(0, 7), "{}", "reader version 0"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.protocol);
            CAPTURE(c.config);
            ScratchDir t;
            Commit(t.Root(), 0, {c.protocol, Metadata(c.config), Add("a.parquet", "2024-01", 1)});
            if (c.error.empty()) {
                CHECK(Load(t.Root()).Files().size() == 1);
            } else {
                std::string err = LoadError(t.Root());
                CHECK_MESSAGE(err.find(c.error) != std::string::npos, err);
            }
        }
    }

    TEST_CASE("the newest protocol and metaData win") {
        ScratchDir t;
        Commit(t.Root(), 0, {Protocol(1, 2), Metadata(), Add("a.parquet", "2024-01", 1)});
        Commit(t.Root(), 1, {Protocol(3, 7, "\"variantType\"")});
        CHECK(Load(t.Root(), 0).Files().size() == 1);
        CHECK(LoadError(t.Root()).find("variant type") != std::string::npos);
    }
}

} // namespace pgsplit::test
