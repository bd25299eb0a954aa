#include "commands/command.h"

namespace pgsplit {

Runner SetupInspect(CLI::App& app) {
    app.require_subcommand(1);
    auto* parquet = app.add_subcommand("parquet", "schema, row groups, chunks and rows of a Parquet file");
    auto* delta =
        app.add_subcommand("delta", "version, protocol, schema, partitions and rows of a Delta table");
    Runner run_parquet = SetupInspectParquet(*parquet);
    Runner run_delta = SetupInspectDelta(*delta);
    return [parquet, run_parquet, run_delta](Context& ctx) {
        return parquet->parsed() ? run_parquet(ctx) : run_delta(ctx);
    };
}

} // namespace pgsplit
