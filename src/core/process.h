#pragma once

// Child processes (the Azure CLI, for provision and for the az CLI credential). Every call is an argv
// vector handed to posix_spawn: no shell, so nothing in a name, a scope or a password is interpreted.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit {

// What a child process did.
struct ProcessOutput {
    int exit_code = -1; // 128 + signal when it was killed
    std::string out;
    std::string err;
    bool timed_out = false; // stopped because it ran past the deadline (exit_code is then 128 + SIGKILL)
};

// Runs `path` with `argv` (argv[0] included) and exactly `env`, stdin from /dev/null, capturing both
// streams (each kept to `max_output` bytes; the rest is read and dropped). The child runs in its own
// process group: on SIGINT/SIGTERM to pgsplit the group gets SIGTERM (SIGKILL 5 s later if it is still
// holding the pipes), the child is reaped, and Error(Interrupt or Terminate) is thrown. With a
// `timeout`, a child still running after it gets the same treatment and comes back with `timed_out`.
// A program that cannot be started throws Error(Config).
ProcessOutput RunProcess(const std::string& path, const std::vector<std::string>& argv,
                         const std::vector<std::string>& env,
                         std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                         size_t max_output = 64 << 20);

// A regular file this process may execute.
bool IsExecutable(const std::string& path);

// The first executable `name` in the directories of `search_path` (PATH syntax), or nullopt.
std::optional<std::string> FindOnPath(const std::string& name, const std::string& search_path);

} // namespace pgsplit
