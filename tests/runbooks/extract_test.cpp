// The runbook extractor (runbooks/extract.h): what counts as a pgsplit command in a runbook, and that
// what it cannot understand is reported rather than skipped.
#include "runbooks/extract.h"

#include <doctest/doctest.h>

namespace pgsplit::test::runbooks {

TEST_SUITE("runbooks") {
    TEST_CASE(
        "runbook extractor joins continuations, drops prompts and indentation, splits trailing comments") {
        auto lines = SplitShellLines("  $ pgsplit provision --resource-group rg \\\n"
                                     "      --server-name 'a # b' --dry-run   # exit 0: the plan\n"
                                     "# a comment line\n"
                                     "\n"
                                     "pgsplit runs list#not-a-comment\n",
                                     10);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].line == 10);
        CHECK(lines[0].text == "pgsplit provision --resource-group rg --server-name 'a # b' --dry-run");
        CHECK(lines[0].comment == "exit 0: the plan");
        CHECK(lines[1].line == 14);
        CHECK(lines[1].text == "pgsplit runs list#not-a-comment");
        CHECK(lines[1].comment.empty());
    }

    TEST_CASE("runbook extractor counts pgsplit invocations after assignments, env -u and between && ||") {
        CHECK(PgsplitInvocations("pgsplit migrate") == 1);
        CHECK(PgsplitInvocations("BACKTEST_RUN_STORE_MODE=adls pgsplit runs list") == 1);
        CHECK(PgsplitInvocations("env -u BACKTEST_RUN_STORE_MODE pgsplit runs list") == 1);
        CHECK(PgsplitInvocations("pgsplit migrate --lock-wait 5m && pgsplit migrate validate") == 2);
        CHECK(PgsplitInvocations("pgsplit verify --json | jq . || echo failed") == 1);
        CHECK(PgsplitInvocations("psql \"$POSTGRES_DSN\" -c 'SELECT 1'") == 0);
        CHECK(PgsplitInvocations("sudo install build/pgsplit /usr/local/bin/pgsplit") == 0);
        CHECK(PgsplitInvocations("echo 'pgsplit migrate'") == 0);
        // The plain pattern sees the quoted one, so the disagreement is reported.
        CHECK(PgsplitMentions("echo 'pgsplit migrate'") == 1);
        CHECK(PgsplitMentions("cmake --build build --target pgsplit") == 0);
        CHECK(IsExport("export A=1 B='x y'"));
        CHECK_FALSE(IsExport("pgsplit migrate"));
    }

    TEST_CASE("runbook extractor reads the promised exit code from the comment, else none") {
        CHECK(PromisedExit("exit 3: not in PostgreSQL") == 3);
        CHECK(PromisedExit("preview, changes nothing, exit 2") == 2);
        CHECK(PromisedExit("exit 5 when stale, exit 0 otherwise") == 5);
        CHECK_FALSE(PromisedExit("4 months at a time").has_value());
    }

    TEST_CASE("runbook extractor replays a file's exports before later steps and reads yaml blocks as "
              "GitHub steps") {
        std::string md = "# T\n"
                         "```sh\n"
                         "export POSTGRES_DSN='x'\n"
                         "pgsplit migrate            # exit 0\n"
                         "az group list\n"
                         "```\n"
                         "text `pgsplit inline` is not a step\n"
                         "```yaml\n"
                         "- name: gate\n"
                         "  env:\n"
                         "    POSTGRES_DSN: ${{ secrets.DSN }}\n"
                         "  run: pgsplit verify --freshness-only\n"
                         "```\n";
        auto ex = FromMarkdown("t.md", md);
        CHECK(ex.problems.empty());
        REQUIRE(ex.steps.size() == 2);
        CHECK(ex.steps[0].command == "pgsplit migrate");
        CHECK(ex.steps[0].line == 4);
        CHECK(ex.steps[0].exports == std::vector<std::string>{"export POSTGRES_DSN='x'"});
        CHECK(ex.steps[1].kind == StepKind::GithubStep);
        CHECK(ex.steps[1].command == "pgsplit verify --freshness-only");
        CHECK(ex.steps[1].env.at("POSTGRES_DSN") == "${{ secrets.DSN }}");
        CHECK(ex.steps[1].line == 12);
    }

    TEST_CASE("runbook extractor gives a workflow step the workflow's and the job's env, its own winning") {
        std::string yml = "env:\n"
                          "  A: workflow\n"
                          "  B: workflow\n"
                          "jobs:\n"
                          "  db:\n"
                          "    env:\n"
                          "      B: job\n"
                          "      C: job\n"
                          "    steps:\n"
                          "      - env:\n"
                          "          C: step\n"
                          "        run: pgsplit migrate\n"
                          "      - run: pgsplit verify\n";
        auto ex = FromGithubWorkflow("w.yml", yml);
        CHECK(ex.problems.empty());
        REQUIRE(ex.steps.size() == 2);
        CHECK(ex.steps[0].env ==
              std::map<std::string, std::string>{{"A", "workflow"}, {"B", "job"}, {"C", "step"}});
        CHECK(ex.steps[1].env ==
              std::map<std::string, std::string>{{"A", "workflow"}, {"B", "job"}, {"C", "job"}});
    }

    TEST_CASE(
        "runbook extractor reports pgsplit lines it does not understand and blocks of other languages") {
        auto quoted = FromMarkdown("t.md", "```sh\nbash -c 'pgsplit migrate'\n```\n");
        CHECK(quoted.steps.empty());
        CHECK(quoted.problems.size() == 1);
        auto other = FromMarkdown("t.md", "```powershell\npgsplit migrate\n```\n");
        CHECK(other.problems.size() == 1);
        auto aca = FromAcaJobs("j.yaml", "name: j\nproperties:\n  template:\n    containers:\n"
                                         "      - name: c\n        command: [\"pgsplit\", \"verify\"]\n"
                                         "        env:\n          - name: A\n            value: \"1\"\n"
                                         "          - name: B\n            secretRef: s\n");
        CHECK(aca.problems.empty());
        REQUIRE(aca.steps.size() == 1);
        CHECK(aca.steps[0].argv == std::vector<std::string>{"pgsplit", "verify"});
        CHECK(aca.steps[0].env.at("A") == "1");
        CHECK(aca.steps[0].secret_refs.at("B") == "s");
    }
}

} // namespace pgsplit::test::runbooks
