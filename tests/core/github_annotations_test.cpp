#include "core/github_annotations.h"
#include "output/github.h"
#include "support/process.h"

#include <doctest/doctest.h>

TEST_SUITE("output") {
    TEST_CASE("workflow-command escaping follows GitHub's rules for data and properties") {
        CHECK(pgsplit::GithubEscapeData("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b");
        CHECK(pgsplit::GithubEscapeProperty("a:b,c%\n") == "a%3Ab%2Cc%25%0A");
        CHECK(pgsplit::GithubAnnotation("error", "pgsplit: verify", "month 2024-01\nmissing") ==
              "::error title=pgsplit%3A verify::month 2024-01%0Amissing\n");
    }

    TEST_CASE("step outputs use the delimiter form for multi-line values; summaries append") {
        pgsplit::test::ScratchDir dir;
        std::string out = dir / "output";
        pgsplit::SetStepOutput(out, "applied", "2");
        pgsplit::SetStepOutput(out, "report", "line one\nline two");
        std::string text = pgsplit::test::ReadText(out);
        CHECK(text.rfind("applied=2\nreport<<pgsplit_", 0) == 0);
        CHECK(text.find("\nline one\nline two\npgsplit_") != std::string::npos);
        std::string summary = dir / "summary";
        pgsplit::AppendStepSummary(summary, "# one\n");
        pgsplit::AppendStepSummary(summary, "# two\n");
        CHECK(pgsplit::test::ReadText(summary) == "# one\n# two\n");
        pgsplit::AppendStepSummary(summary, std::string(2 * 1024 * 1024, 'x'));
        CHECK(pgsplit::test::ReadText(summary).find("truncated") != std::string::npos);
        pgsplit::SetStepOutput("", "ignored", "1"); // no file in a plain shell: nothing happens
    }
}
