#include "config/config.h"
#include "core/error.h"
#include "storage/storage.h"
#include "support/process.h"
#include "tests/delta/delta_test_util.h"

#include <doctest/doctest.h>
#include <filesystem>

namespace pgsplit::test {

TEST_SUITE("delta") {
    TEST_CASE("local storage lists files with sizes, reads and opens them") {
        ScratchDir t;
        WriteFile(t.Root() / "_delta_log" / "b.json", "bb");
        WriteFile(t.Root() / "_delta_log" / "a.json", "a");
        WriteFile(t.Root() / "_delta_log" / ".tmp" / "c.json", "ccc"); // a directory: not listed
        auto st = storage::OpenLocalStorage(t.Str());
        auto list = st->List("_delta_log");
        REQUIRE(list.size() == 2);
        CHECK(list[0].name == "a.json");
        CHECK(list[0].size == 1);
        CHECK(list[1].name == "b.json");
        CHECK(list[1].size == 2);
        CHECK(st->List("missing").empty());
        CHECK(st->ReadIfExists("_delta_log/b.json").value() == "bb");
        CHECK_FALSE(st->ReadIfExists("_delta_log/zz.json"));
        auto src = st->Open("_delta_log/b.json");
        CHECK(src->Size() == 2);
        CHECK_THROWS_AS(st->Open("nope.parquet"), Error);
    }

    TEST_CASE("file:// URIs and plain paths open the same directory") {
        ScratchDir t;
        WriteFile(t.Root() / "x y" / "f.txt", "hello");
        auto a = storage::OpenLocalStorage((t.Root() / "x y").string());
        auto b = storage::OpenLocalStorage("file://" + (t.Root() / "x%20y").string());
        CHECK(a->ReadIfExists("f.txt").value() == "hello");
        CHECK(b->ReadIfExists("f.txt").value() == "hello");
    }

    TEST_CASE("paths that leave the table are refused by name before anything is read (issue 14, item 5)") {
        ScratchDir t;
        WriteFile(t.Root() / "table" / "part-0.parquet", "inside");
        WriteFile(t.Root() / "secret.txt", "Canary-outside-secret");
        auto st = storage::OpenLocalStorage((t.Root() / "table").string());
        std::string outside = (t.Root() / "secret.txt").string();
        for (const std::string& path :
             {std::string("../secret.txt"), std::string("a/../../secret.txt"), std::string(".."), outside,
              "file://" + outside, (t.Root() / "table" / ".." / "secret.txt").string(),
              std::string("x\n::error::y/../../secret.txt")}) {
            CAPTURE(path);
            try {
                st->ReadIfExists(path);
                FAIL("read outside the table");
            } catch (const Error& e) {
                CHECK(e.code() == ExitCode::Source);
                std::string msg = e.what();
                CHECK(msg.find("outside the table") != std::string::npos);
                CHECK(msg.find("Canary-outside-secret") == std::string::npos);
                CHECK(msg.find('\n') == std::string::npos);
            }
            CHECK_THROWS_AS(st->Open(path), Error);
        }
        // Dot segments that stay inside, and absolute paths under the root, are fine.
        CHECK(st->ReadIfExists("./part-0.parquet").value() == "inside");
        CHECK(st->ReadIfExists((t.Root() / "table" / "part-0.parquet").string()).value() == "inside");
        CHECK(st->ReadIfExists("file://" + (t.Root() / "table" / "part-0.parquet").string()).value() ==
              "inside");
    }

    TEST_CASE("ConfineRelativePath drops '.' and empty segments and refuses '..' and NUL") {
        CHECK(storage::ConfineRelativePath("a/./b//c", "t") == "a/b/c");
        CHECK(storage::ConfineRelativePath("", "t") == "");
        CHECK(storage::ConfineRelativePath("/a", "t") == "a");
        CHECK_THROWS_AS(storage::ConfineRelativePath("a/..", "t"), Error);
        CHECK_THROWS_AS(storage::ConfineRelativePath(std::string("a\0b", 3), "t"), Error);
        CHECK(storage::ConfineRelativePath("..a/b..", "t") == "..a/b..");
    }

    TEST_CASE("OpenStorage is the one switch: local paths and file:// here, unknown schemes refused") {
        Config config = Config::FromMap({}, {});
        ScratchDir t;
        CHECK(storage::OpenStorage(t.Str(), config.Storage())->Root() == t.Str());
        // abfss:// and https:// belong to the Azure back-end (tests/storage/azure).
        try {
            storage::OpenStorage("s3://bucket/t", config.Storage());
            FAIL("s3 accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::Usage);
            CHECK(std::string(e.what()).find("unknown scheme 's3'") != std::string::npos);
        }
        CHECK_THROWS_AS(storage::OpenStorage("", config.Storage()), Error);
    }
}

} // namespace pgsplit::test
