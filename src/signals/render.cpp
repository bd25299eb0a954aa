#include "signals/render.h"

#include "output/numbers.h"
#include "output/table.h"
#include "signals/tables.h"

#include <fmt/format.h>

namespace pgsplit::signals {

std::vector<SyncRow> SyncRows(const std::vector<sync::PartitionOutcome>& outcomes) {
    std::vector<SyncRow> rows;
    for (const auto& oc : outcomes) {
        SyncRow r;
        r.month = oc.value;
        r.ok = oc.result.has_value() || !oc.skipped.empty();
        r.skipped_reason = oc.skipped;
        if (oc.result) {
            const auto* s = oc.result->Find(kSignalsLabel);
            const auto* c = oc.result->Find(kCompositeLabel);
            r.signals_rows = s ? s->rows : 0;
            r.composite_rows = c ? c->rows : 0;
            r.skipped = (s ? s->skipped : 0) + (c ? c->skipped : 0);
            r.signals_version = s ? s->delta_version : -1;
            r.composite_version = c ? c->delta_version : -1;
            r.strategy = s ? sync::StrategyName(s->strategy) : "";
            r.seconds = oc.result->seconds;
        }
        if (oc.error) {
            r.error = oc.error->what();
            r.exit_code = ToInt(oc.error->code());
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

std::string RenderSyncText(const std::vector<SyncRow>& rows, bool color, size_t max_width) {
    using Tone = TextTable::Tone;
    TextTable t({"MONTH", "SIGNALS", "COMPOSITE", "SKIPPED", "STRATEGY", "DURATION", "RESULT"});
    for (const auto& r : rows) {
        std::vector<Tone> tones(6, Tone::Plain);
        tones.push_back(r.ok ? Tone::Good : Tone::Bad);
        if (!r.skipped_reason.empty()) {
            t.AddRow({r.month, "", "", "", "", "", "skipped: " + r.skipped_reason}, tones);
        } else if (r.ok) {
            t.AddRow({r.month, GroupDigits(r.signals_rows), GroupDigits(r.composite_rows),
                      GroupDigits(r.skipped), r.strategy, HumanDuration(r.seconds * 1000), "ok"},
                     tones);
        } else {
            t.AddRow({r.month, "", "", "", "", "", fmt::format("failed (exit {})", r.exit_code)}, tones);
        }
    }
    return t.Render(color, max_width);
}

nlohmann::ordered_json RenderSyncJson(const std::vector<SyncRow>& rows) {
    nlohmann::ordered_json out = {{"ok", true}, {"months", nlohmann::ordered_json::array()}};
    for (const auto& r : rows) {
        nlohmann::ordered_json j = {{"month", r.month}, {"ok", r.ok}};
        if (!r.skipped_reason.empty()) {
            j["skipped"] = r.skipped_reason;
        } else if (r.ok) {
            j["signals_rows"] = r.signals_rows;
            j["composite_rows"] = r.composite_rows;
            j["skipped_rows"] = r.skipped;
            j["signals_delta_version"] = r.signals_version;
            j["composite_delta_version"] = r.composite_version;
            j["strategy"] = r.strategy;
            j["duration_ms"] = static_cast<int64_t>(r.seconds * 1000);
        } else {
            j["error"] = r.error;
            j["exit_code"] = r.exit_code;
            out["ok"] = false;
        }
        out["months"].push_back(std::move(j));
    }
    return out;
}

std::string RenderSyncMarkdown(const std::vector<SyncRow>& rows) {
    std::string md =
        fmt::format("### pgsplit sync-signals\n\n| month | {} | {} | skipped | strategy | duration | "
                    "result |\n|---|---:|---:|---:|---|---:|---|\n",
                    kSignalsLabel, kCompositeLabel);
    for (const auto& r : rows) {
        if (!r.skipped_reason.empty()) {
            md += fmt::format("| {} | | | | | | skipped: {} |\n", r.month, r.skipped_reason);
        } else if (r.ok) {
            md += fmt::format("| {} | {} | {} | {} | {} | {} | ok |\n", r.month, r.signals_rows,
                              r.composite_rows, r.skipped, r.strategy, HumanDuration(r.seconds * 1000));
        } else {
            md += fmt::format("| {} | | | | | | failed (exit {}) |\n", r.month, r.exit_code);
        }
    }
    return md + "\n";
}

} // namespace pgsplit::signals
