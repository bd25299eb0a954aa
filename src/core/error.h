#pragma once

#include <stdexcept>
#include <string>

namespace pgsplit {

// Stable process exit codes (SPEC §3). The numeric values are a public contract.
enum class ExitCode : int {
    Ok = 0,
    Failure = 1,     // unexpected failure
    Usage = 2,       // bad flag, bad --month
    Config = 3,      // missing DSN where required, bad env value
    Connect = 4,     // cannot connect / authenticate (Postgres or storage)
    Verify = 5,      // verification failed (counts, staleness, checksum)
    Lock = 6,        // lock not acquired in time
    Source = 7,      // unreadable Delta/Parquet, unsupported feature, invalid rows
    Interrupt = 130, // SIGINT, after rolling back
    Terminate = 143, // SIGTERM, after rolling back
};

// The one error type. main() catches it once and exits with code().
// Messages are lower case, name the thing and the place, and carry no trailing period;
// the hint (optional) tells the operator what to do next and is printed on its own line.
class Error : public std::runtime_error {
public:
    Error(ExitCode code, std::string message, std::string hint = {})
        : std::runtime_error(std::move(message)), code_(code), hint_(std::move(hint)) {}

    ExitCode code() const { return code_; }
    const std::string& hint() const { return hint_; }

private:
    ExitCode code_;
    std::string hint_;
};

inline int ToInt(ExitCode code) {
    return static_cast<int>(code);
}

// Short name for an exit code, used in JSON output ("usage", "config", ...).
const char* ExitCodeName(ExitCode code);

} // namespace pgsplit
