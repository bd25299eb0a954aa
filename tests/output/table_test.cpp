// TextTable, DisplayWidth and HumanDuration (issue 21): columns measured in terminal cells, tables
// fitted to a width, one duration format at every scale.
#include "output/table.h"

#include <doctest/doctest.h>
#include <sstream>

using pgsplit::DisplayWidth;
using pgsplit::FitWidth;
using pgsplit::HumanDuration;
using pgsplit::TextTable;

namespace {

std::vector<std::string> LinesOf(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        out.push_back(l);
    }
    return out;
}

} // namespace

TEST_SUITE("output") {
    TEST_CASE("DisplayWidth counts East Asian wide characters twice and combining marks not at all") {
        CHECK(DisplayWidth("abc") == 3);
        CHECK(DisplayWidth("名前") == 4);
        CHECK(DisplayWidth("ｗｉｄｅ") == 8);           // fullwidth forms
        CHECK(DisplayWidth("e\xcc\x81t\xc3\xa9") == 3); // e + combining acute, t, precomposed é
        CHECK(DisplayWidth("🚀") == 2);
        CHECK(DisplayWidth("\xff") == 1); // a stray byte still takes a cell
    }

    TEST_CASE("FitWidth cuts at a cell boundary and marks the cut") {
        CHECK(FitWidth("short", 10) == "short");
        CHECK(FitWidth("abcdefghij", 5) == "abcd\u2026");
        CHECK(FitWidth("名前名前", 5) == "名前\u2026"); // never half a wide character
        CHECK(DisplayWidth(FitWidth("名前名前", 5)) == 5);
    }

    TEST_CASE("a table with wide characters keeps its columns aligned") {
        TextTable t({"NAME", "STATE"});
        t.AddRow({"名前", "ok"});
        t.AddRow({"name", "ok"});
        auto lines = LinesOf(t.Render(false));
        REQUIRE(lines.size() == 3);
        CHECK(lines[1] == "名前  ok");
        CHECK(lines[2] == "name  ok");
    }

    TEST_CASE("a table too wide for the terminal cuts its longest column, short ones stay whole") {
        TextTable t({"RUN_ID", "STATUS", "ERROR"});
        t.AddRow({"r1", "failed", std::string(150, 'e')});
        t.AddRow({"r2", "completed", ""});
        std::string fitted = t.Render(false, 80);
        for (const auto& l : LinesOf(fitted)) {
            CHECK(DisplayWidth(l) <= 80);
        }
        CHECK(fitted.find("completed") != std::string::npos);
        CHECK(fitted.find("\u2026") != std::string::npos);
        CHECK(t.Render(false).find(std::string(150, 'e')) != std::string::npos); // 0: no limit
    }

    TEST_CASE("HumanDuration: one unit pair per scale, never 60m 0s or 119m 0s") {
        CHECK(HumanDuration(340) == "340 ms");
        CHECK(HumanDuration(1234) == "1.2 s");
        CHECK(HumanDuration(59000) == "59.0 s");
        CHECK(HumanDuration(60000) == "1m 0s");
        CHECK(HumanDuration(115000) == "1m 55s");
        CHECK(HumanDuration(3599000) == "59m 59s");
        CHECK(HumanDuration(3600000) == "1h 0m");
        CHECK(HumanDuration(7140000) == "1h 59m");
        CHECK(HumanDuration(8 * 3600000.0) == "8h 0m");
        CHECK(HumanDuration(7 * 86400000.0) == "7d 0h");
        CHECK(HumanDuration(26 * 3600000.0) == "1d 2h");
    }
}
