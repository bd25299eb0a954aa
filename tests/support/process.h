#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pgsplit::test {

struct ProcResult {
    int exit_code = -1; // 128+signal when killed by a signal
    std::string out;
    std::string err;
    std::string All() const { return out + err; }
};

// A child process with stdout/stderr captured in temp files. The environment is exactly `env` plus
// PATH/HOME/LANG from the test process, so an outer POSTGRES_DSN never leaks into a test.
class Process {
public:
    Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t Pid() const { return pid_; }
    void Signal(int sig);
    // Waits up to timeout_s (then SIGKILLs and fails the wait with exit_code -2).
    ProcResult Wait(int timeout_s = 120);
    std::string StderrSoFar() const;
    std::string StdoutSoFar() const;

private:
    pid_t pid_ = -1;
    std::string out_path_, err_path_;
    bool waited_ = false;
    bool keep_ = false; // captured output stays for the canary scan
    ProcResult result_;
};

// Runs the built pgsplit binary with `args` and waits for it.
ProcResult RunPgsplit(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {}, int timeout_s = 120);

// A secret the suite did not choose (one pgsplit generated) that a test has learnt: under
// scripts/test.sh it is added to PGSPLIT_TEST_CAPTURE_DIR/generated.secrets, and the canary scan
// looks for it like for the "Canary-" passwords. Nothing otherwise.
void RegisterSecret(const std::string& secret);

std::string ReadText(const std::string& path);
// The lines of `text` without their '\n' (a final newline does not start another line).
std::vector<std::string> Lines(const std::string& text);
void WriteText(const std::string& path, const std::string& data);

// A fresh empty directory under the system temp dir (mkdtemp), removed with everything in it at
// destruction, after giving back any permission a test took away. The one temp-dir helper of the tests.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::string& Path() const { return path_; }
    std::filesystem::path Root() const { return path_; }
    std::string Str() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

} // namespace pgsplit::test
