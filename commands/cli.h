#pragma once

namespace pgsplit {

// Parses the command line, resolves configuration, runs the chosen command and maps any
// pgsplit::Error to its exit code (printing message and hint once). Returns the process exit code.
int RunCli(int argc, char** argv, char** environ);

} // namespace pgsplit
