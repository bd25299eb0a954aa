// CLI tests of `pgsplit inspect parquet`: the built binary on corpus files, its stdout and exit code.

#include "support/paths.h"
#include "support/process.h"

#include <array>
#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace pgsplit::test {
namespace {

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Through the shared Process (tests/support/process.h), so that under scripts/test.sh the output is
// kept for the secret canary scan like every other child's. `args` is shell words (paths quoted).
RunResult RunPgsplit(const std::string& args) {
    Process p({"/bin/bash", "-c", "exec '" + BinaryPath().string() + "' " + args}, {});
    auto r = p.Wait();
    return {r.exit_code, r.out, r.err};
}

std::string CorpusFile(const std::string& rel) {
    auto p = CorpusDir() / "parquet-testing" / rel;
    if (!std::filesystem::exists(p)) {
        FAIL("the conformance corpus is absent: no " << p.string() << " (set PGSPLIT_CORPUS)");
    }
    return "'" + p.string() + "'";
}

} // namespace

TEST_SUITE("parquet") {
    TEST_CASE("inspect parquet shows schema, row groups and chunks of a corpus file") {
        auto r = RunPgsplit("inspect parquet " + CorpusFile("data/alltypes_plain.parquet"));
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("timestamp_col") != std::string::npos);
        CHECK(r.out.find("INT96") != std::string::npos);
        CHECK(r.out.find("row group 0: 8 rows") != std::string::npos);
        CHECK(r.out.find("PLAIN_DICTIONARY") != std::string::npos);
    }

    TEST_CASE("inspect parquet --json gives the same metadata as JSON") {
        auto r = RunPgsplit("--json inspect parquet " + CorpusFile("data/int32_decimal.parquet"));
        REQUIRE(r.exit_code == 0);
        auto j = nlohmann::json::parse(r.out);
        CHECK(j["num_rows"] == 24);
        CHECK(j["schema"]["children"][0]["logical"] == "DECIMAL(4,2)");
        CHECK(j["row_groups"][0]["chunks"][0]["codec"] == "UNCOMPRESSED");
        CHECK(j["row_groups"][0]["chunks"][0]["statistics"]["min"] == "1.00");
    }

    TEST_CASE("inspect parquet --rows prints JSONL in schema order and honours --limit") {
        auto r =
            RunPgsplit("inspect parquet " + CorpusFile("data/alltypes_plain.parquet") + " --rows --limit 2");
        REQUIRE(r.exit_code == 0);
        CHECK(
            r.out ==
            "{\"id\":4,\"bool_col\":true,\"tinyint_col\":0,\"smallint_col\":0,\"int_col\":0,\"bigint_col\":0,"
            "\"float_col\":0.0,\"double_col\":0.0,\"date_string_col\":\"MDMvMDEvMDk=\",\"string_col\":\"MA=="
            "\","
            "\"timestamp_col\":\"2009-03-01T00:00:00.000000000\"}\n"
            "{\"id\":5,\"bool_col\":false,\"tinyint_col\":1,\"smallint_col\":1,\"int_col\":1,\"bigint_col\":"
            "10,"
            "\"float_col\":1.1,\"double_col\":10.1,\"date_string_col\":\"MDMvMDEvMDk=\",\"string_col\":\"MQ=="
            "\","
            "\"timestamp_col\":\"2009-03-01T00:01:00.000000000\"}\n");
    }

    TEST_CASE("inspect parquet --rows --format csv quotes per RFC 4180 and leaves NULL empty") {
        auto r = RunPgsplit("inspect parquet " + CorpusFile("data/nulls.snappy.parquet") +
                            " --rows --format csv --limit 1");
        REQUIRE(r.exit_code == 0);
        CHECK(r.out == "b_struct\n\"{\"\"b_c_int\"\":null}\"\n");
        auto d = RunPgsplit("inspect parquet " + CorpusFile("data/int32_with_null_pages.parquet") +
                            " --rows --format csv --limit 3");
        CHECK(d.out.rfind("int32_field\n", 0) == 0);
    }

    TEST_CASE("inspect parquet --rows assembles nested records") {
        auto r = RunPgsplit("inspect parquet " + CorpusFile("data/nested_maps.snappy.parquet") +
                            " --rows --limit 1");
        REQUIRE(r.exit_code == 0);
        CHECK(r.out == "{\"a\":{\"a\":{\"1\":true,\"2\":false}},\"b\":1,\"c\":1.0}\n");
    }

    TEST_CASE("inspect parquet on a corrupt file exits 7 naming the file and the stage") {
        auto r = RunPgsplit("inspect parquet " + CorpusFile("bad_data/PARQUET-1481.parquet"));
        CHECK(r.exit_code == 7);
        CHECK(r.err.find("corrupt schema in '") != std::string::npos);
        CHECK(r.err.find("PARQUET-1481.parquet") != std::string::npos);
        CHECK(r.out.empty());
        auto e = RunPgsplit("inspect parquet " + CorpusFile("data/uniform_encryption.parquet.encrypted"));
        CHECK(e.exit_code == 7);
        CHECK(e.err.find("encrypted") != std::string::npos);
        auto m = RunPgsplit("inspect parquet " + CorpusFile("data/README.md"));
        CHECK(m.exit_code == 7);
        CHECK(m.err.find("not a parquet file") != std::string::npos);
    }
}

} // namespace pgsplit::test
