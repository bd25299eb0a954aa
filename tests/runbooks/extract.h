#pragma once

// Finds the pgsplit commands an operator would run from the runbooks:
//
// - Markdown (runbooks/*.md): every fenced block. Shell blocks (```sh, ```bash, ```console or no
//   language) are read line by line: `\` continuations are joined, indentation and a leading `$ `
//   prompt are dropped, a trailing `# comment` is split off (quote-aware). A line whose simple commands
//   (split at unquoted `&&`, `||`, `;`, `|`) start with `pgsplit` (after `VAR=value` words, `env -u
//   VAR`, `exec`) is a step. `export` lines are kept, in order, and replayed before each later step of
//   the same file: they are the operator's shell session. Any other line (az, psql, scripts/...,
//   `port=$(...)`) is the operator's own tooling: it is not run, and the test provides its effect
//   (the environment, uploaded tables, rows). ```yaml blocks are GitHub Actions steps (below).
// - GitHub Actions YAML (fenced ```yaml and runbooks/examples/deploy.yml): every mapping with a
//   `run:` script is a step; its pgsplit lines are found as in shell blocks and carry the step's
//   `env:` over the job's and the workflow's.
// - Container Apps job YAML (runbooks/examples/aca-jobs.yaml): every container whose `command` array
//   starts with `pgsplit`, with its `env` list (values and secretRefs).
//
// The expected exit code is the first "exit N" in the line's comment, else 0.
//
// As a cross-check the extractor also counts, with a plain pattern, every `pgsplit <word>` in
// command-looking text (outside comments); a line where the pattern and the parser disagree, or a
// fenced block of another language mentioning pgsplit, is reported as a problem, so a command the
// parser does not understand fails the coverage test instead of being skipped silently.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::test::runbooks {

enum class StepKind { Shell, GithubStep, AcaJob };

struct Step {
    std::string file; // relative to the repository root
    int line = 0;     // 1-based line where the command starts
    StepKind kind = StepKind::Shell;
    std::string command;                            // Shell, GithubStep: the logical line, comment removed
    std::string comment;                            // Shell, GithubStep: the trailing comment
    std::vector<std::string> argv;                  // AcaJob: the command array
    std::vector<std::string> exports;               // Shell: `export` lines before this one in the same file
    std::map<std::string, std::string> env;         // GithubStep: `env:`; AcaJob: `value` entries
    std::map<std::string, std::string> secret_refs; // AcaJob: variable -> secret name
    std::string job;                                // AcaJob: the job's name
    int expected_exit = 0;
    int invocations = 1; // pgsplit invocations on the line (`a && b` has two)

    std::string Where() const { return file + ":" + std::to_string(line); }
    std::string Text() const;
};

struct Extraction {
    std::vector<Step> steps;
    std::vector<std::string> problems; // "file:line: what was not understood"
};

// One logical shell line.
struct ShellLine {
    int line = 0;
    std::string text;    // continuations joined, prompt, indentation and comment removed
    std::string comment; // without the '#', trimmed
};

std::vector<ShellLine> SplitShellLines(const std::string& script, int first_line);
// How many simple commands of `text` (no comment) run pgsplit.
int PgsplitInvocations(const std::string& text);
// How many `pgsplit <word>` the plain pattern sees in `text` (no comment).
int PgsplitMentions(const std::string& text);
bool IsExport(const std::string& text);
// The first "exit N" of a comment.
std::optional<int> PromisedExit(const std::string& comment);

Extraction FromMarkdown(const std::string& file, const std::string& markdown);
Extraction FromGithubWorkflow(const std::string& file, const std::string& yaml, int line_offset = 0);
Extraction FromAcaJobs(const std::string& file, const std::string& yaml);

} // namespace pgsplit::test::runbooks
