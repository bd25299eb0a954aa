// HumanTime and JsonTime (issue 21): one rendering of a point in time for people and one for JSON,
// whatever offset or separator the value arrived with.
#include "output/time.h"

#include <doctest/doctest.h>

using pgsplit::HumanTime;
using pgsplit::JsonTime;

TEST_SUITE("output") {
    TEST_CASE("HumanTime: whole seconds in UTC with the zone named, from any offset PostgreSQL uses") {
        CHECK(HumanTime("2026-11-22T00:12:18.625166+00:00") == "2026-11-22 00:12:18 UTC");
        CHECK(HumanTime("2026-11-22 01:12:18+01") == "2026-11-22 00:12:18 UTC");
        CHECK(HumanTime("2026-11-21 19:42:18-04:30") == "2026-11-22 00:12:18 UTC");
        CHECK(HumanTime("2026-11-22T00:12:18Z") == "2026-11-22 00:12:18 UTC");
        CHECK(HumanTime("2026-12-31 23:30:00-01") == "2027-01-01 00:30:00 UTC"); // across a year
        CHECK(HumanTime("2026-11-22 00:12:18") == "2026-11-22 00:12:18 UTC");    // no offset: UTC
        CHECK(HumanTime("not a time") == "not a time");
        CHECK(HumanTime("2026-11-22T00:12:18+0x") == "2026-11-22T00:12:18+0x");
    }

    TEST_CASE("JsonTime: RFC 3339 in UTC, the fraction kept") {
        CHECK(JsonTime("2026-11-22T00:12:18.625166+00:00") == "2026-11-22T00:12:18.625166Z");
        CHECK(JsonTime("2026-11-22 01:12:18+01") == "2026-11-22T00:12:18Z");
        CHECK(JsonTime("2026-11-22T00:12:18Z") == "2026-11-22T00:12:18Z");
        CHECK(JsonTime("") == "");
    }
}
