#pragma once

#include "config/config.h"
#include "core/log.h"

#include <nlohmann/json.hpp>
#include <string>

namespace pgsplit {

// What a command's work is made of, so that an interrupt can be reported in one last line saying what
// was rolled back and what was kept. Commands set it before their long work starts; the phases
// themselves are recorded by LogPhase (core/log.h).
struct InterruptPolicy {
    enum class Kind {
        Unknown,       // not described: "anything in progress was rolled back"
        ReadOnly,      // nothing to roll back (verify)
        Transactional, // each phase is one transaction: the one in flight is rolled back (months, files)
        Steps,         // each phase is an idempotent step: the one in flight stops, done ones remain
    };
    Kind kind = Kind::Unknown;
    std::string unit = "phase"; // one phase: "month", "migration", "step"
    std::string units;          // plural; unit + "s" when empty
    std::string kept;           // Transactional: what keeps its state ("the table keeps its previous rows")
    std::string rerun;          // Steps: what a re-run does
};

// Everything a command needs, passed explicitly (no globals): resolved configuration, the logger
// for diagnostics (stderr or JSON lines) and how to render results on stdout.
struct Context {
    Config config;
    Logger log;
    InterruptPolicy interrupt;
    // JSON logs without --json: commands build their JSON result (config.json is on) and Print logs it
    // as one info line with the document under "result", instead of a rendered table line by line.
    bool results_as_log = false;

    // Writes rendered output to stdout. Data goes to stdout; diagnostics go through `log`. With JSON
    // logs, output is kept to one JSON object per line (see context.cpp).
    void Print(const std::string& rendered) const;

    // The last line after SIGINT/SIGTERM (`signal`): a message naming what was rolled back or left
    // unchanged, and the same as fields (signal, exit_code, rolled_back, committed, ...), built from
    // `interrupt` and the phases the logger recorded.
    std::pair<std::string, nlohmann::json> DescribeInterrupt(int signal) const;
};

} // namespace pgsplit
