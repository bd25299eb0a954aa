// pgsplit runs: the phase-3 backtest run store (SPEC §7). Placeholder until the store lands.
#include "commands/command.h"
#include "core/error.h"

namespace pgsplit {

Runner SetupRuns(CLI::App& app) {
    app.description("Inspect the backtest run store in backtest.runs.");
    return [](Context&) -> int {
        throw Error(ExitCode::Failure, "runs is not implemented yet");
    };
}

} // namespace pgsplit
