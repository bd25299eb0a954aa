#pragma once

#include "config/config.h"
#include "core/log.h"

#include <string>

namespace pgsplit {

// Everything a command needs, passed explicitly (no globals): resolved configuration, the logger
// for diagnostics (stderr or JSON lines) and how to render results on stdout.
struct Context {
    Config config;
    Logger log;

    // Writes rendered output to stdout. Data goes to stdout; diagnostics go through `log`. With JSON
    // logs, output is kept to one JSON object per line (see context.cpp).
    void Print(const std::string& rendered) const;
};

} // namespace pgsplit
