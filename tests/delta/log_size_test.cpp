// Commit sizes (issue 14, item 7): commits are streamed line by line; a line of an action replay uses
// is held up to a cap (a longer one is exit 7 naming the file and line), and lines of other actions
// are passed over however long they are. Large commits are read in ranged chunks, so lines that
// straddle chunk boundaries must come out whole and numbered right.

#include "core/error.h"
#include "delta/table.h"
#include "support/process.h"
#include "tests/delta/delta_test_util.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace pgsplit::test {
namespace {

const std::string kHeader =
    R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
    "\n"
    R"({"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{},"createdTime":1}})"
    "\n";

std::string AddLine(const std::string& path, const std::string& padding = "") {
    return fmt::format(R"({{"add":{{"path":"{}","size":1,"modificationTime":1,"dataChange":true{}}}}})", path,
                       padding.empty() ? "" : R"(,"tags":{"pad":")" + padding + "\"}") +
           "\n";
}

delta::Snapshot Load(const ScratchDir& dir, const std::string& commit) {
    WriteFile(dir.Root() / "_delta_log" / "00000000000000000000.json", commit);
    delta::Table table(storage::OpenLocalStorage(dir.Str()));
    return table.LoadSnapshot();
}

std::string LoadError(const ScratchDir& dir, const std::string& commit) {
    try {
        Load(dir, commit);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Source);
        return e.what();
    }
    FAIL_CHECK("no error was raised");
    return {};
}

} // namespace

TEST_SUITE("delta") {
    TEST_CASE("a kept action line longer than 16 MiB is refused naming the file and the line") {
        ScratchDir dir;
        std::string msg = LoadError(dir, kHeader + AddLine("a") + AddLine("b", std::string(17u << 20, 'x')));
        CHECK(msg.find("_delta_log/00000000000000000000.json line 4") != std::string::npos);
        CHECK(msg.find("longer than 16 MiB") != std::string::npos);
    }

    TEST_CASE("commitInfo and other unused actions are passed over whatever their length or content") {
        ScratchDir dir;
        std::string huge =
            R"({"commitInfo":{"operation":"WRITE","blob":")" + std::string(40u << 20, 'c') + "\"}}\n";
        // Not parsed, so not judged: pgsplit does not use them (PROTOCOL.md: one action per line).
        std::string broken = R"({"txn":{"appId": this is not JSON)"
                             "\n";
        std::string domain = R"(  { "domainMetadata" :{"domain":"d","configuration":"{}","removed":false}})"
                             "\n";
        auto snap = Load(dir, kHeader + huge + AddLine("a") + broken + domain + AddLine("b"));
        REQUIRE(snap.Files().size() == 2);
        CHECK(snap.Files()[0].path == "a");
        CHECK(snap.Files()[1].path == "b");
    }

    TEST_CASE("a kept line that is not valid JSON is still refused with its line number") {
        ScratchDir dir;
        std::string msg = LoadError(dir, kHeader + AddLine("a") + "{\"add\": nope}\n");
        CHECK(msg.find("00000000000000000000.json line 4") != std::string::npos);
        CHECK(msg.find("not valid JSON") != std::string::npos);
        // An action key with an escape cannot be read plainly, so the parser judges the line.
        std::string msg2 = LoadError(dir, kHeader + "{\"a\\u0064d\": [}\n");
        CHECK(msg2.find("line 3") != std::string::npos);
    }

    TEST_CASE("a commit read in chunks keeps lines across chunk boundaries whole and numbered") {
        ScratchDir dir;
        // About 9 MB of adds with odd lengths, so boundaries of the 1 MiB reads fall mid-line; a bad
        // line at the end must carry the right number.
        std::string commit = kHeader;
        int n = 0;
        while (commit.size() < (9u << 20)) {
            commit +=
                AddLine(fmt::format("part-{:06}.parquet", n), std::string(static_cast<size_t>(n % 997), 'p'));
            ++n;
        }
        auto snap = Load(dir, commit);
        CHECK(snap.Files().size() == static_cast<size_t>(n));
        CHECK(snap.Files().back().path == fmt::format("part-{:06}.parquet", n - 1));
        std::string msg = LoadError(dir, commit + "{\"remove\": [\n");
        CHECK(msg.find(fmt::format("line {}", n + 3)) != std::string::npos);
    }

    TEST_CASE("a last line without a newline and blank lines are read as before") {
        ScratchDir dir;
        std::string commit = kHeader + "\n   \n" + AddLine("a");
        commit.pop_back(); // no final newline
        auto snap = Load(dir, commit);
        REQUIRE(snap.Files().size() == 1);
        CHECK(snap.Files()[0].path == "a");
    }
}

} // namespace pgsplit::test
