#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pgsplit {

enum class LogFormat { Text, Json };
enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

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
    // In GitHub Actions, warnings and errors are also annotations on stdout (at most 10 of each;
    // the rest are counted and reported by FinishAnnotations).
    void EnableGithubAnnotations();
    // Prints how many annotations were left out, if any.
    void FinishAnnotations() const;
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
    LogFormat format_ = LogFormat::Text;
    LogLevel min_ = LogLevel::Info;
    bool color_ = false;
    std::string command_;
    struct AnnotationCounts {
        std::atomic<int> warnings{0};
        std::atomic<int> errors{0};
    };
    std::shared_ptr<AnnotationCounts> annotations_; // shared by copies; null when not in GitHub Actions
};

const char* LogLevelName(LogLevel level);

// Writes all of `data` to a file descriptor, retrying short writes.
void WriteAll(int fd, std::string_view data);

} // namespace pgsplit
