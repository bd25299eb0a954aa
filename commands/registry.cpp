#include "commands/command.h"

namespace pgsplit {

Runner SetupCompletion(CLI::App& app); // commands/completion.cpp
Runner SetupManpage(CLI::App& app);    // commands/manpage.cpp

const std::vector<Command>& AllCommands() {
    static const std::vector<Command> commands = {
        {"migrate", "apply the versioned schema (checksummed, locked, one transaction per file)",
         SetupMigrate},
        {"sync-signals", "replace months of the ranking signal tables in PostgreSQL from Delta",
         SetupSyncSignals},
        {"convert-legacy",
         "convert the legacy plain signal tables to the partitioned layout, online and resumable",
         SetupConvertLegacy},
        {"sync", "replace partitions of a table declared in pgsplit.yaml (same mechanism)", SetupSync},
        {"provision", "create the Azure PostgreSQL server, database, firewall rules and app roles (az CLI)",
         SetupProvision},
        {"verify", "Delta vs Postgres count parity and sync freshness (exit 5 on any problem)", SetupVerify},
        {"runs", "inspect the backtest run store (list, show, stats, stale, fail)", SetupRuns},
        {"inspect", "show what is in a Parquet file or a Delta table", SetupInspect},
        {"completion", "print a bash, zsh or fish completion script generated from this command tree",
         SetupCompletion},
        {"manpage", "print the pgsplit(1) manual page in roff (the build installs it)", SetupManpage},
    };
    return commands;
}

} // namespace pgsplit
