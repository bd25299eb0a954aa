#include "output/numbers.h"

#include <doctest/doctest.h>

TEST_SUITE("output-numbers") {
    TEST_CASE("GroupDigits puts a comma every three digits and keeps the sign in front") {
        using pgsplit::GroupDigits;
        CHECK(GroupDigits(0) == "0");
        CHECK(GroupDigits(999) == "999");
        CHECK(GroupDigits(1000) == "1,000");
        CHECK(GroupDigits(1234567) == "1,234,567");
        CHECK(GroupDigits(-1000) == "-1,000");
        CHECK(GroupDigits(-999) == "-999");
        CHECK(GroupDigits(INT64_MIN) == "-9,223,372,036,854,775,808");
    }
}
