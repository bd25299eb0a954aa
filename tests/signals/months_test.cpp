#include "core/error.h"
#include "signals/months.h"

#include <doctest/doctest.h>

using pgsplit::signals::ParseMonth;
using pgsplit::signals::ResolveMonths;

TEST_SUITE("signals-months") {
    TEST_CASE("ParseMonth takes YYYY-MM with a month 01-12 and nothing else") {
        CHECK(ParseMonth("2024-05") == std::pair{2024, 5});
        CHECK_FALSE(ParseMonth("2024-13"));
        CHECK_FALSE(ParseMonth("2024-00"));
        CHECK_FALSE(ParseMonth("2024-5"));
        CHECK_FALSE(ParseMonth("2024-05-01"));
        CHECK_FALSE(ParseMonth("'; DROP TABLE x;--"));
    }

    TEST_CASE("ResolveMonths: --month and --from/--to together, sorted and without duplicates") {
        CHECK(ResolveMonths({"2024-03", "2024-01"}, "2023-12", "2024-01") ==
              std::vector<std::string>{"2023-12", "2024-01", "2024-03"});
        CHECK_THROWS_AS(ResolveMonths({}, "2024-02", "2024-01"), pgsplit::Error);
        CHECK_THROWS_AS(ResolveMonths({}, "2024-02", ""), pgsplit::Error);
        CHECK_THROWS_AS(ResolveMonths({}, "", ""), pgsplit::Error);
        CHECK_THROWS_AS(ResolveMonths({}, "1900-01", "2024-01"), pgsplit::Error); // over 1200 months
    }
}
