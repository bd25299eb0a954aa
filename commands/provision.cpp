// pgsplit provision: the phase-1 provisioning runbook over the az CLI (SPEC §5).
#include "commands/command.h"
#include "core/error.h"

namespace pgsplit {

Runner SetupProvision(CLI::App& app) {
    app.description("Create the Azure PostgreSQL Flexible Server, database, firewall rules and app roles.");
    return [](Context&) -> int { throw Error(ExitCode::Failure, "provision is not implemented yet"); };
}

} // namespace pgsplit
