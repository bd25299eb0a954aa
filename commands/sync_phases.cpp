#include "commands/sync_phases.h"

#include "core/interrupt.h"

namespace pgsplit {
namespace {

PhaseEnd EndOf(const sync::PartitionOutcome& oc) {
    if (oc.result) {
        return PhaseEnd::Completed;
    }
    bool interrupted = oc.error && (oc.error->code() == ExitCode::Interrupt ||
                                    oc.error->code() == ExitCode::Terminate || InterruptSignal() != 0);
    return interrupted ? PhaseEnd::Interrupted : PhaseEnd::Failed;
}

} // namespace

std::vector<sync::PartitionOutcome> RunPhased(Context& ctx, const std::vector<std::string>& values,
                                              int parallel, const std::string& title,
                                              const PartitionRun& run) {
    if (parallel > 1 && values.size() > 1) {
        auto outcomes = run(values, parallel);
        for (const auto& oc : outcomes) {
            if (!oc.value.empty()) {
                ctx.log.RecordPhase(oc.value, EndOf(oc));
            }
        }
        return outcomes;
    }
    std::vector<sync::PartitionOutcome> outcomes;
    for (const auto& value : values) {
        if (InterruptSignal() != 0) {
            break; // the rest never started; the runner would skip them too
        }
        LogPhase phase(ctx.log, value, title + " " + value);
        auto one = run({value}, 1);
        if (one.empty() || one.front().value.empty()) {
            // The signal arrived between the check above and the runner's: this value never started.
            phase.End(PhaseEnd::Interrupted);
            break;
        }
        phase.End(EndOf(one.front()));
        outcomes.push_back(std::move(one.front()));
    }
    return outcomes;
}

} // namespace pgsplit
