#pragma once

#include "commands/context.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace pgsplit {

// What a command's setup returns: the function to run once the command line is parsed.
using Runner = std::function<int(Context&)>;

// One entry of the command table. `setup` adds the command's flags (and sub-subcommands) to its
// CLI11 App and returns the Runner; options live in a struct owned by the Runner's closure.
struct Command {
    const char* name;
    const char* summary;
    std::function<Runner(CLI::App& app)> setup;
};

// The table of every command, in --help order (commands/registry.cpp).
const std::vector<Command>& AllCommands();

// Setup functions, one per commands/<name>.cpp.
Runner SetupMigrate(CLI::App& app);
Runner SetupInspect(CLI::App& app); // adds "parquet" and "delta" subcommands
Runner SetupProvision(CLI::App& app);
Runner SetupSyncSignals(CLI::App& app);
Runner SetupSync(CLI::App& app);
Runner SetupRuns(CLI::App& app);
Runner SetupVerify(CLI::App& app);
Runner SetupConvertLegacy(CLI::App& app);

// Used by SetupInspect; defined in commands/inspect_parquet.cpp and commands/inspect_delta.cpp.
Runner SetupInspectParquet(CLI::App& app);
Runner SetupInspectDelta(CLI::App& app);

} // namespace pgsplit
