#include "core/log.h"

#include "core/github_annotations.h"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <unistd.h>

namespace pgsplit {

const char* LogLevelName(LogLevel level) {
    switch (level) {
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warn:
        return "warn";
    case LogLevel::Error:
        return "error";
    }
    return "info";
}

void WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; // nowhere left to report a failing stdout/stderr
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

namespace {

std::string NowIso() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::string FieldText(const nlohmann::json& value) {
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        if (s.find_first_of(" \t\"=") == std::string::npos && !s.empty()) {
            return s;
        }
    }
    return value.dump();
}

} // namespace

std::string Logger::Render(LogLevel level, std::string_view msg, const nlohmann::json& fields) const {
    if (format_ == LogFormat::Json) {
        nlohmann::json line = nlohmann::json::object();
        line["ts"] = NowIso();
        line["level"] = LogLevelName(level);
        line["msg"] = std::string(msg);
        if (!command_.empty()) {
            line["command"] = command_;
        }
        if (fields.is_object()) {
            for (auto it = fields.begin(); it != fields.end(); ++it) {
                line[it.key()] = it.value();
            }
        }
        return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    std::string out;
    const char* tag = "";
    const char* on = "";
    const char* off = "";
    switch (level) {
    case LogLevel::Error:
        tag = "error: ";
        on = "\x1b[31m";
        break;
    case LogLevel::Warn:
        tag = "warning: ";
        on = "\x1b[33m";
        break;
    case LogLevel::Debug:
        tag = "debug: ";
        on = "\x1b[2m";
        break;
    case LogLevel::Info:
        break;
    }
    if (color_ && *on) {
        off = "\x1b[0m";
    } else {
        on = "";
    }
    out = fmt::format("pgsplit: {}{}{}{}", on, tag, msg, off);
    // Messages are written to stand alone; structured fields are for machines, and for people only
    // when they asked for detail with --verbose.
    if (fields.is_object() && min_ == LogLevel::Debug) {
        for (auto it = fields.begin(); it != fields.end(); ++it) {
            out += fmt::format("  {}={}", it.key(), FieldText(it.value()));
        }
    }
    out += "\n";
    return out;
}

constexpr int kMaxAnnotations = 10;

void Logger::EnableGithubAnnotations() {
    annotations_ = std::make_shared<AnnotationCounts>();
}

void Logger::FinishAnnotations() const {
    if (!annotations_) {
        return;
    }
    int w = annotations_->warnings.load() - kMaxAnnotations;
    int e = annotations_->errors.load() - kMaxAnnotations;
    if (w > 0 || e > 0) {
        WriteAll(
            STDOUT_FILENO,
            GithubAnnotation("notice", "pgsplit",
                             fmt::format("{} more warning(s) and {} more error(s) are in the log but not "
                                         "annotated (GitHub shows at most 10 of each per step)",
                                         std::max(w, 0), std::max(e, 0))));
    }
}

void Logger::Log(LogLevel level, std::string_view msg, const nlohmann::json& fields) const {
    if (!Enabled(level)) {
        return;
    }
    WriteAll(format_ == LogFormat::Json ? STDOUT_FILENO : STDERR_FILENO, Render(level, msg, fields));
    if (annotations_ && level >= LogLevel::Warn) {
        auto& counter = level == LogLevel::Warn ? annotations_->warnings : annotations_->errors;
        if (counter.fetch_add(1) < kMaxAnnotations) {
            std::string title = command_.empty() ? "pgsplit" : "pgsplit " + command_;
            WriteAll(STDOUT_FILENO,
                     GithubAnnotation(level == LogLevel::Warn ? "warning" : "error", title, msg));
        }
    }
}

} // namespace pgsplit
