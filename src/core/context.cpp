#include "core/context.h"

#include <unistd.h>

namespace pgsplit {

void Context::Print(const std::string& rendered) const {
    WriteAll(STDOUT_FILENO, rendered);
}

} // namespace pgsplit
