#include "core/process.h"

#include "core/error.h"
#include "core/interrupt.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pgsplit {
namespace {

// Closes a pipe end once, whatever path the function takes out.
struct Fd {
    int fd = -1;
    ~Fd() { Close(); }
    void Close() {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }
};

std::vector<char*> CStrings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v) {
        out.push_back(const_cast<char*>(s.c_str()));
    }
    out.push_back(nullptr);
    return out;
}

} // namespace

bool IsExecutable(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> FindOnPath(const std::string& name, const std::string& search_path) {
    size_t start = 0;
    while (start <= search_path.size()) {
        size_t end = search_path.find(':', start);
        if (end == std::string::npos) {
            end = search_path.size();
        }
        std::string dir = search_path.substr(start, end - start);
        if (!dir.empty()) {
            std::string candidate = dir + "/" + name;
            if (IsExecutable(candidate)) {
                return candidate;
            }
        }
        start = end + 1;
    }
    return std::nullopt;
}

ProcessOutput RunProcess(const std::string& path, const std::vector<std::string>& argv,
                         const std::vector<std::string>& env,
                         std::optional<std::chrono::milliseconds> timeout, size_t max_output) {
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        throw Error(ExitCode::Failure,
                    fmt::format("cannot create a pipe for {}: {}", path, std::strerror(errno)));
    }
    Fd out_r{out_pipe[0]}, out_w{out_pipe[1]};
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        throw Error(ExitCode::Failure,
                    fmt::format("cannot create a pipe for {}: {}", path, std::strerror(errno)));
    }
    Fd err_r{err_pipe[0]}, err_w{err_pipe[1]};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // A prompt must fail rather than wait for a keyboard that CI does not have.
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_w.fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_w.fd, STDERR_FILENO);
    // pgsplit's handlers are reset by exec; restore default dispositions and an empty mask explicitly.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &empty);
    // Its own process group, so an interrupt can stop the child together with anything it started (a
    // grandchild holding the pipes open would otherwise keep pgsplit waiting after the child is gone).
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

    auto args = CStrings(argv);
    auto envp = CStrings(env);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        throw Error(ExitCode::Config, fmt::format("cannot run {}: {}", path, std::strerror(rc)),
                    "check the path given with --az, or install the Azure CLI");
    }
    out_w.Close();
    err_w.Close();

    ProcessOutput result;
    auto started = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> terminated_at;
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_streams = 2;
    while (open_streams > 0) {
        int n = ::poll(fds, 2, 200);
        auto now = std::chrono::steady_clock::now();
        bool overdue = timeout && now - started > *timeout;
        if (overdue && !result.timed_out) {
            result.timed_out = true;
        }
        if (InterruptSignal() != 0 || overdue) {
            if (!terminated_at) {
                // Stop the child too: pgsplit must not exit while an az create keeps running unattended.
                ::kill(-pid, SIGTERM);
                terminated_at = now;
            } else if (now - *terminated_at > std::chrono::seconds(overdue ? 1 : 5)) {
                // SIGTERM ignored: the exit promised within seconds of a signal matters more.
                ::kill(-pid, SIGKILL);
                break;
            }
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
            char buf[8192];
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                size_t room = max_output > sinks[i]->size() ? max_output - sinks[i]->size() : 0;
                sinks[i]->append(buf, std::min(room, static_cast<size_t>(got)));
            } else if (got == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_streams;
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exit_code = 128 + WTERMSIG(status);
    }
    CheckInterrupt();
    return result;
}

} // namespace pgsplit
