#include "sync/render.h"

#include "output/numbers.h"
#include "output/table.h"

#include <fmt/format.h>

namespace pgsplit::sync {
namespace {

// The one table a `sync NAME` run replicates, when the value succeeded.
const TableResult* Synced(const PartitionOutcome& oc) {
    return oc.result && !oc.result->tables.empty() ? &oc.result->tables.front() : nullptr;
}

} // namespace

std::string RenderPartitionsText(const std::vector<PartitionOutcome>& outcomes, bool color,
                                 size_t max_width) {
    TextTable t({"PARTITION", "ROWS", "SKIPPED", "STRATEGY", "DURATION", "RESULT"});
    for (const auto& oc : outcomes) {
        if (const TableResult* r = Synced(oc)) {
            t.AddRow({oc.value, GroupDigits(r->rows), GroupDigits(r->skipped), StrategyName(r->strategy),
                      HumanDuration(oc.result->seconds * 1000), "ok"});
        } else if (!oc.skipped.empty()) {
            t.AddRow({oc.value, "", "", "", "", "skipped: " + oc.skipped});
        } else {
            t.AddRow({oc.value, "", "", "", "", fmt::format("failed (exit {})", ToInt(oc.error->code()))});
        }
    }
    return t.Render(color, max_width);
}

nlohmann::ordered_json RenderPartitionsJson(const std::string& table,
                                            const std::vector<PartitionOutcome>& outcomes) {
    nlohmann::ordered_json out = {
        {"ok", true}, {"table", table}, {"partitions", nlohmann::ordered_json::array()}};
    for (const auto& oc : outcomes) {
        if (const TableResult* r = Synced(oc)) {
            out["partitions"].push_back(nlohmann::ordered_json{{"partition", oc.value},
                                                               {"ok", true},
                                                               {"rows", r->rows},
                                                               {"skipped_rows", r->skipped},
                                                               {"delta_version", r->delta_version},
                                                               {"strategy", StrategyName(r->strategy)}});
        } else if (!oc.skipped.empty()) {
            out["partitions"].push_back(
                nlohmann::ordered_json{{"partition", oc.value}, {"ok", true}, {"skipped", oc.skipped}});
        } else {
            out["ok"] = false;
            out["partitions"].push_back(
                nlohmann::ordered_json{{"partition", oc.value}, {"ok", false}, {"error", oc.error->what()}});
        }
    }
    return out;
}

} // namespace pgsplit::sync
