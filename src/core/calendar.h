#pragma once

#include <cstdint>

namespace pgsplit {

// Proleptic Gregorian calendar arithmetic on days since 1970-01-01, for every date a Parquet DATE or a
// Delta partition value can hold (negative years included). The era-based algorithm from Howard
// Hinnant's "chrono-compatible low-level date algorithms": 400-year eras of 146,097 days, years
// starting on March 1 so the leap day comes last.
struct CivilDate {
    int64_t year;
    unsigned month; // 1..12
    unsigned day;   // 1..31
};

constexpr CivilDate CivilFromDays(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

static_assert(CivilFromDays(0).year == 1970 && CivilFromDays(0).month == 1 && CivilFromDays(0).day == 1);
static_assert(CivilFromDays(-1).year == 1969 && CivilFromDays(-1).month == 12 && CivilFromDays(-1).day == 31);
static_assert(CivilFromDays(19782).year == 2024 && CivilFromDays(19782).month == 2 &&
              CivilFromDays(19782).day == 29);

} // namespace pgsplit
