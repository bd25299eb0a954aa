#include "core/log.h"

#include "core/github_annotations.h"
#include "core/interrupt.h"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <exception>
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
std::atomic<bool> g_workflow_guard{false};
} // namespace

void SetWorkflowCommandGuard(bool on) {
    g_workflow_guard = on;
}

bool WorkflowCommandGuard() {
    return g_workflow_guard.load();
}

void WriteText(int fd, std::string_view text) {
    if (g_workflow_guard.load()) {
        WriteAll(fd, NeutralizeWorkflowCommands(text));
    } else {
        WriteAll(fd, text);
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
    // Messages quote untrusted text (paths, server errors, values): its control characters are
    // escaped so that it stays on this line.
    out = fmt::format("pgsplit: {}{}{}{}", on, tag, EscapeControlChars(msg), off);
    // Messages are written to stand alone; structured fields are for machines, and for people only
    // when they asked for detail with --verbose.
    if (fields.is_object() && min_ == LogLevel::Debug) {
        for (auto it = fields.begin(); it != fields.end(); ++it) {
            if (it.key() != "hint") {
                out += fmt::format("  {}={}", it.key(), FieldText(it.value()));
            }
        }
    }
    out += "\n";
    // A "hint" field is what to do about it: its own line, as the final error's hint is.
    if (fields.is_object() && fields.contains("hint") && fields["hint"].is_string()) {
        out += fmt::format("hint: {}\n", EscapeControlChars(fields["hint"].get<std::string>()));
    }
    return out;
}

constexpr int kMaxAnnotations = 10;

void Logger::EnableGithubAnnotations(bool stdout_carries_json) {
    github_ = std::make_shared<GithubState>();
    github_->fd = stdout_carries_json ? STDERR_FILENO : STDOUT_FILENO;
}

void Logger::FinishAnnotations() const {
    if (!github_) {
        return;
    }
    int w = github_->warnings.load() - kMaxAnnotations;
    int e = github_->errors.load() - kMaxAnnotations;
    if (w > 0 || e > 0) {
        WriteAll(
            github_->fd,
            GithubAnnotation("notice", "pgsplit",
                             fmt::format("{} more warning(s) and {} more error(s) are in the log but not "
                                         "annotated (GitHub shows at most 10 of each per step)",
                                         std::max(w, 0), std::max(e, 0))));
    }
}

void Logger::AddMask(std::string_view secret) const {
    if (!github_ || secret.empty()) {
        return;
    }
    std::lock_guard<std::mutex> lock(github_->mu);
    if (!github_->masked.insert(std::string(secret)).second) {
        return;
    }
    WriteAll(github_->fd, "::add-mask::" + GithubEscapeData(secret) + "\n");
}

std::vector<PhaseRecord> Logger::Phases() const {
    std::lock_guard<std::mutex> lock(phases_->mu);
    return phases_->ended;
}

void Logger::RecordPhase(std::string name, PhaseEnd end) const {
    std::lock_guard<std::mutex> lock(phases_->mu);
    phases_->ended.push_back({std::move(name), phases_->depth, end, {}});
}

void Logger::Log(LogLevel level, std::string_view msg, const nlohmann::json& fields) const {
    if (!Enabled(level)) {
        return;
    }
    WriteText(format_ == LogFormat::Json ? STDOUT_FILENO : STDERR_FILENO, Render(level, msg, fields));
    if (level >= LogLevel::Warn) {
        Annotate(level, command_.empty() ? "pgsplit" : "pgsplit " + command_, msg);
    }
}

void Logger::Annotate(LogLevel level, std::string_view title, std::string_view message) const {
    if (!github_ || level < LogLevel::Warn) {
        return;
    }
    auto& counter = level == LogLevel::Warn ? github_->warnings : github_->errors;
    if (counter.fetch_add(1) < kMaxAnnotations) {
        WriteAll(github_->fd,
                 GithubAnnotation(level == LogLevel::Warn ? "warning" : "error", title, message));
    }
}

LogPhase::LogPhase(const Logger& log, std::string name, std::string_view title)
    : log_(log), name_(std::move(name)), uncaught_(std::uncaught_exceptions()) {
    {
        std::lock_guard<std::mutex> lock(log_.phases_->mu);
        depth_ = log_.phases_->depth++;
    }
    // Groups fold text for people reading the job log; JSON lines are for machines and stay flat.
    grouped_ = depth_ == 0 && log_.github_ && log_.format_ == LogFormat::Text;
    if (grouped_) {
        WriteAll(log_.github_->fd, "::group::" + GithubEscapeData(title) + "\n");
    }
}

LogPhase::~LogPhase() {
    PhaseEnd end = PhaseEnd::Completed;
    if (end_) {
        end = *end_;
    } else if (std::uncaught_exceptions() > uncaught_) {
        end = InterruptSignal() != 0 ? PhaseEnd::Interrupted : PhaseEnd::Failed;
    }
    {
        std::lock_guard<std::mutex> lock(log_.phases_->mu);
        log_.phases_->depth--;
        log_.phases_->ended.push_back({name_, depth_, end, caveat_});
    }
    if (grouped_) {
        WriteAll(log_.github_->fd, "::endgroup::\n");
    }
}

} // namespace pgsplit
