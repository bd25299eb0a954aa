// The Parquet reader's memory limit from the configuration: environment over file over 192 MiB, and a
// value that is not a plausible number of MiB is a configuration error naming the setting.

#include "config/read_limits.h"
#include "core/error.h"
#include "support/process.h"

#include <doctest/doctest.h>

using pgsplit::Config;
using pgsplit::ExitCode;
using pgsplit::GlobalFlags;

TEST_SUITE("config") {
    TEST_CASE("the reader memory limit: default, environment, config file") {
        CHECK(pgsplit::ReadMemoryLimit(Config::FromMap({}, {})) == uint64_t{192} << 20);
        CHECK(pgsplit::ReadMemoryLimit(Config::FromMap({}, {{"PGSPLIT_READ_MEMORY_MB", "1024"}})) ==
              uint64_t{1024} << 20);
        pgsplit::test::ScratchDir dir;
        pgsplit::test::WriteText(dir / "pgsplit.yaml", "read:\n  memory_mb: 512\n");
        GlobalFlags flags;
        flags.config_path = dir / "pgsplit.yaml";
        CHECK(pgsplit::ReadMemoryLimit(Config::FromMap(flags, {})) == uint64_t{512} << 20);
        CHECK(pgsplit::ReadMemoryLimit(Config::FromMap(flags, {{"PGSPLIT_READ_MEMORY_MB", "64"}})) ==
              uint64_t{64} << 20);
    }

    TEST_CASE("a reader memory limit that is not a whole number of MiB in range is a configuration error") {
        for (const char* bad : {"lots", "-5", "1.5", "8", "99999999", "2048MB"}) {
            CAPTURE(bad);
            try {
                pgsplit::ReadMemoryLimit(Config::FromMap({}, {{"PGSPLIT_READ_MEMORY_MB", bad}}));
                FAIL("expected an error");
            } catch (const pgsplit::Error& e) {
                CHECK(e.code() == ExitCode::Config);
                CHECK(std::string(e.what()).find("PGSPLIT_READ_MEMORY_MB") != std::string::npos);
            }
        }
    }
}
