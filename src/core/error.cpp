#include "core/error.h"

namespace pgsplit {

const char* ExitCodeName(ExitCode code) {
    switch (code) {
    case ExitCode::Ok:
        return "ok";
    case ExitCode::Failure:
        return "failure";
    case ExitCode::Usage:
        return "usage";
    case ExitCode::Config:
        return "config";
    case ExitCode::Connect:
        return "connect";
    case ExitCode::Verify:
        return "verify";
    case ExitCode::Lock:
        return "lock";
    case ExitCode::Source:
        return "source";
    case ExitCode::Interrupt:
        return "interrupted";
    case ExitCode::Terminate:
        return "terminated";
    }
    return "unknown";
}

} // namespace pgsplit
