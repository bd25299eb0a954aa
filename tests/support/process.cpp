#include "support/process.h"

#include "support/paths.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace pgsplit::test {

std::string ReadText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

void WriteText(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

ScratchDir::ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pgsplit-test-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = buf.data();
}

ScratchDir::~ScratchDir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(path_, ec);
}

void RegisterSecret(const std::string& secret) {
    const char* capture = std::getenv("PGSPLIT_TEST_CAPTURE_DIR");
    if (capture == nullptr || *capture == '\0' || secret.empty()) {
        return;
    }
    std::string line = secret + "\n";
    int fd = open((std::string(capture) + "/generated.secrets").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        throw std::runtime_error("cannot register a secret for the canary scan in " + std::string(capture));
    }
    close(fd);
}

Process::Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    static std::atomic<int> counter{0};
    std::string name = "pgsplit-proc-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
    // Under scripts/test.sh every child's stdout and stderr are kept in PGSPLIT_TEST_CAPTURE_DIR for the
    // secret canary scan at the end of the run (scripts/canary-scan.sh); otherwise they are temp files.
    const char* capture = std::getenv("PGSPLIT_TEST_CAPTURE_DIR");
    keep_ = capture != nullptr && *capture != '\0';
    std::filesystem::path dir =
        keep_ ? std::filesystem::path(capture) : std::filesystem::temp_directory_path();
    std::string base = (dir / name).string();
    out_path_ = base + ".out";
    err_path_ = base + ".err";
    if (keep_) {
        // The command line, for finding who printed a leak. Not scanned: tests pass secrets as input.
        std::string line;
        for (const auto& a : argv) {
            line += (line.empty() ? "" : " ") + a;
        }
        WriteText(base + ".argv", line + "\n");
    }
    std::map<std::string, std::string> full;
    for (const char* keep :
         {"PATH", "HOME", "LANG", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PGSPLIT_TEST_CAPTURE_DIR"}) {
        if (const char* v = std::getenv(keep)) {
            full[keep] = v;
        }
    }
    for (const auto& [k, v] : env) {
        full[k] = v;
    }
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : full) {
        env_strings.push_back(k + "=" + v);
    }
    pid_ = fork();
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        std::vector<char*> args;
        for (const auto& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env_strings) {
            envp.push_back(e.data());
        }
        envp.push_back(nullptr);
        execve(args[0], args.data(), envp.data());
        _exit(127);
    }
}

Process::~Process() {
    if (!waited_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (!keep_) {
        unlink(out_path_.c_str());
        unlink(err_path_.c_str());
    }
}

void Process::Signal(int sig) {
    if (!waited_ && pid_ > 0) {
        kill(pid_, sig);
    }
}

std::string Process::StderrSoFar() const {
    return ReadText(err_path_);
}
std::string Process::StdoutSoFar() const {
    return ReadText(out_path_);
}

ProcResult Process::Wait(int timeout_s) {
    if (waited_) {
        return result_;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    int status = 0;
    while (true) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            waited_ = true;
            result_ = {-2, ReadText(out_path_),
                       ReadText(err_path_) + "\n[test harness: killed after timeout]"};
            return result_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    waited_ = true;
    result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result_.out = ReadText(out_path_);
    result_.err = ReadText(err_path_);
    return result_;
}

ProcResult RunPgsplit(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                      int timeout_s) {
    std::vector<std::string> argv = {BinaryPath().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, env);
    return p.Wait(timeout_s);
}

} // namespace pgsplit::test
