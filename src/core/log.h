#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pgsplit {

enum class LogFormat { Text, Json };
enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// How a phase of a command ended (see LogPhase).
enum class PhaseEnd {
    Completed,   // ran to its end (a month committed, a file applied, a step done)
    Failed,      // ended by an error: rolled back
    Interrupted, // ended by SIGINT/SIGTERM: cancelled and rolled back
};

struct PhaseRecord {
    std::string name;
    int depth = 0; // 0 for an outermost phase
    PhaseEnd end = PhaseEnd::Completed;
    std::string caveat; // what "rolled back" does not cover for this phase, told when it is interrupted
};

// Diagnostics. Text format goes to stderr for people ("pgsplit: message  key=value"); JSON format
// writes one object per line to stdout ({"ts","level","msg","command",...fields}) for ACA jobs and
// log collectors. A whole line is built first, then written with one call, so lines from parallel
// workers never interleave.
class Logger {
public:
    Logger() = default;
    Logger(LogFormat format, LogLevel min_level, bool color)
        : format_(format), min_(min_level), color_(color) {}

    void SetCommand(std::string command) { command_ = std::move(command); }
    const std::string& Command() const { return command_; }
    // In GitHub Actions, warnings and errors are also annotations (at most 10 of each; the rest are
    // counted and reported by FinishAnnotations), secrets are masked with AddMask and long phases are
    // folded into groups (LogPhase). These workflow commands go to stdout, the channel GitHub documents,
    // unless stdout carries JSON (--json, JSON logs): then to stderr, which the runner reads for commands
    // too, so that stdout stays parseable.
    void EnableGithubAnnotations(bool stdout_carries_json = false);
    bool Github() const { return github_ != nullptr; }
    // An annotation with its own title ("::error title=T::M"), counted against the same cap of 10 per
    // level as the logger's own. Nothing outside GitHub Actions.
    void Annotate(LogLevel level, std::string_view title, std::string_view message) const;
    // Prints how many annotations were left out, if any.
    void FinishAnnotations() const;
    // "::add-mask::SECRET" once per distinct value, before anything could print it. Nothing outside
    // GitHub Actions, and nothing for an empty value.
    void AddMask(std::string_view secret) const;

    // Phases: what ran and what was in flight, for the report after an interrupt (commands/cli.cpp).
    // Shared by copies of the logger. Thread-safe.
    std::vector<PhaseRecord> Phases() const;
    // Records a phase that was not wrapped in a LogPhase (e.g. months run in parallel).
    void RecordPhase(std::string name, PhaseEnd end) const;
    LogFormat Format() const { return format_; }
    bool Enabled(LogLevel level) const { return level >= min_; }
    bool Color() const { return color_; }

    void Debug(std::string_view msg, const nlohmann::json& fields = nullptr) const {
        Log(LogLevel::Debug, msg, fields);
    }
    void Info(std::string_view msg, const nlohmann::json& fields = nullptr) const {
        Log(LogLevel::Info, msg, fields);
    }
    void Warn(std::string_view msg, const nlohmann::json& fields = nullptr) const {
        Log(LogLevel::Warn, msg, fields);
    }
    void Error(std::string_view msg, const nlohmann::json& fields = nullptr) const {
        Log(LogLevel::Error, msg, fields);
    }
    void Log(LogLevel level, std::string_view msg, const nlohmann::json& fields) const;

    // Renders a line without writing it (used by tests and by Log).
    std::string Render(LogLevel level, std::string_view msg, const nlohmann::json& fields) const;

private:
    friend class LogPhase;
    LogFormat format_ = LogFormat::Text;
    LogLevel min_ = LogLevel::Info;
    bool color_ = false;
    std::string command_;
    struct GithubState {
        int fd = 1; // where workflow commands go
        std::atomic<int> warnings{0};
        std::atomic<int> errors{0};
        std::mutex mu;
        std::set<std::string> masked;
    };
    std::shared_ptr<GithubState> github_; // shared by copies; null when not in GitHub Actions
    struct PhaseState {
        std::mutex mu;
        int depth = 0;
        std::vector<PhaseRecord> ended;
    };
    std::shared_ptr<PhaseState> phases_ = std::make_shared<PhaseState>();
};

// RAII: one long phase of a command (a migration file, a month, a provision step). In GitHub Actions
// with text logs, the outermost phase folds its log lines between "::group::TITLE" and "::endgroup::"
// (GitHub does not nest groups, so inner phases only record). Never emitted outside GitHub Actions or
// with JSON logs. When it ends it is recorded: Completed when it goes out of scope normally,
// Interrupted/Failed when an exception unwinds it (depending on whether a signal arrived), or what
// End() said.
class LogPhase {
public:
    LogPhase(const Logger& log, std::string name, std::string_view title);
    ~LogPhase();
    LogPhase(const LogPhase&) = delete;
    LogPhase& operator=(const LogPhase&) = delete;
    // Overrides how the phase is recorded (for callers that catch the phase's errors themselves).
    void End(PhaseEnd end) { end_ = end; }
    // What an operator must know if this phase is cut short (e.g. a migration outside a transaction).
    void SetCaveat(std::string caveat) { caveat_ = std::move(caveat); }

private:
    const Logger& log_;
    std::string name_;
    int depth_ = 0;
    bool grouped_ = false;
    int uncaught_ = 0;
    std::optional<PhaseEnd> end_;
    std::string caveat_;
};

const char* LogLevelName(LogLevel level);

// Writes all of `data` to a file descriptor, retrying short writes. Raw: for what pgsplit authors as
// a workflow command (masks, annotations, groups) and terminal control sequences.
void WriteAll(int fd, std::string_view data);

// Writes text that may carry untrusted bytes (results, log lines, error messages). When the guard is on
// (GitHub Actions), it passes through NeutralizeWorkflowCommands first, so nothing in it can start a
// workflow command; otherwise it is WriteAll. This is the one place output is guarded.
void WriteText(int fd, std::string_view text);
// Turns the guard on for the rest of the process (set once at start-up in GitHub Actions).
void SetWorkflowCommandGuard(bool on);
bool WorkflowCommandGuard();

} // namespace pgsplit
