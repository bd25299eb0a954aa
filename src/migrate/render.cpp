#include "migrate/render.h"

#include "output/table.h"
#include "output/time.h"

#include <fmt/format.h>

namespace pgsplit::migrate {
namespace {

// The table's APPLIED AT: "2026-11-22 00:12:18 UTC", as every table shows times.
std::string TimeCell(const std::optional<std::string>& iso) {
    return iso ? HumanTime(*iso) : "";
}

std::string DurationCell(const Entry& e) {
    return e.execution_ms ? HumanDuration(static_cast<double>(*e.execution_ms)) : "";
}

TextTable::Tone StateTone(State s) {
    switch (s) {
    case State::Applied:
    case State::Baseline:
        return TextTable::Tone::Good;
    case State::Pending:
    case State::AboveTarget:
        return TextTable::Tone::Warn;
    default:
        return TextTable::Tone::Bad;
    }
}

nlohmann::ordered_json VersionJson(const std::optional<std::string>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json EntriesJson(const std::vector<Entry>& entries) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& e : entries) {
        list.push_back(EntryToJson(e));
    }
    return list;
}

} // namespace

std::string RenderStatusText(const std::vector<Entry>& entries, bool color, size_t max_width) {
    TextTable t({"VERSION", "DESCRIPTION", "STATE", "APPLIED AT", "DURATION"});
    for (const auto& e : entries) {
        t.AddRow({e.version, e.description, StateName(e.state), TimeCell(e.applied_at), DurationCell(e)},
                 {TextTable::Tone::Plain, TextTable::Tone::Plain, StateTone(e.state)});
    }
    return t.Render(color, max_width);
}

nlohmann::ordered_json RenderStatusJson(const std::vector<Entry>& entries) {
    return {{"ok", true},
            {"current_version", VersionJson(CurrentVersion(entries))},
            {"migrations", EntriesJson(entries)}};
}

std::string RenderApplyText(const ApplyResult& result) {
    std::string text;
    if (result.dry_run) {
        if (result.pending.empty()) {
            text = "nothing to apply: the database is up to date\n";
        } else {
            text = fmt::format("would apply {} migration(s) (dry run, nothing changed):\n",
                               result.pending.size());
            for (const auto& e : result.pending) {
                text += fmt::format("  {}  {}\n", e.version, e.name);
            }
        }
    } else if (result.applied.empty()) {
        text = "nothing to apply: the database is up to date\n";
    } else {
        int64_t total = 0;
        for (const auto& e : result.applied) {
            total += e.execution_ms.value_or(0);
        }
        text = fmt::format("applied {} migration(s) in {}; now at version {}\n", result.applied.size(),
                           HumanDuration(static_cast<double>(total)), result.applied.back().version);
    }
    if (!result.dry_run && !result.pending.empty()) {
        text += fmt::format("{} migration(s) beyond --target left pending\n", result.pending.size());
    }
    return text;
}

nlohmann::ordered_json RenderApplyJson(const ApplyResult& result, const std::optional<std::string>& before,
                                       const std::optional<std::string>& after) {
    return {{"ok", true},
            {"dry_run", result.dry_run},
            {"version_before", VersionJson(before)},
            {"version_after", VersionJson(after)},
            {"applied", EntriesJson(result.applied)},
            {"pending", EntriesJson(result.pending)}};
}

std::string RenderApplyMarkdown(const ApplyResult& result) {
    std::string md = result.dry_run ? "### pgsplit migrate (plan)\n\n" : "### pgsplit migrate\n\n";
    const auto& rows = result.dry_run ? result.pending : result.applied;
    if (rows.empty()) {
        return md + "Nothing to apply: the database is up to date.\n\n";
    }
    md += "| version | file | duration |\n|---|---|---|\n";
    for (const auto& e : rows) {
        md += fmt::format("| {} | `{}` | {} |\n", e.version, e.name,
                          result.dry_run ? "pending" : DurationCell(e));
    }
    return md + "\n";
}

ValidateSummary SummariseValidate(const std::vector<Entry>& status, size_t files, bool ignore_pending) {
    ValidateSummary s;
    s.files = files;
    s.pending_checked = !ignore_pending;
    for (const auto& e : status) {
        if (e.state == State::Applied || e.state == State::Baseline || e.state == State::ChecksumMismatch) {
            ++s.applied;
        } else if (e.state == State::Pending || e.state == State::OutOfOrder) {
            ++s.pending;
        }
    }
    return s;
}

std::string RenderValidateText(const std::vector<Problem>& problems, const ValidateSummary& s) {
    if (problems.empty()) {
        std::string text =
            fmt::format("valid: {} migration file(s); {} applied, checksums match", s.files, s.applied);
        if (s.pending > 0) {
            text += fmt::format("; {} pending, not counted as a problem (--ignore-pending)", s.pending);
        }
        return text + "\n";
    }
    std::string text = fmt::format("invalid: {} problem(s)\n", problems.size());
    for (const auto& p : problems) {
        text += "  - " + p.message + "\n";
    }
    return text;
}

nlohmann::ordered_json RenderValidateJson(const std::vector<Problem>& problems, const ValidateSummary& s) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& p : problems) {
        list.push_back({{"code", p.code}, {"version", p.version}, {"message", p.message}});
    }
    return {{"ok", problems.empty()},
            {"files", s.files},
            {"applied", s.applied},
            {"pending", s.pending},
            {"pending_checked", s.pending_checked},
            {"problems", list}};
}

std::string RenderBaselineText(const std::vector<Entry>& recorded, const std::string& version) {
    std::string text = fmt::format("recorded {} migration(s) as applied without running them (baseline {})\n",
                                   recorded.size(), version);
    for (const auto& e : recorded) {
        text += fmt::format("  {}  {}\n", e.version, e.name);
    }
    return text;
}

nlohmann::ordered_json RenderBaselineJson(const std::vector<Entry>& recorded) {
    return {{"ok", true}, {"baselined", EntriesJson(recorded)}};
}

std::string RenderRepairText(const std::vector<Entry>& changed, bool applied) {
    std::string text;
    if (changed.empty()) {
        text = "nothing to repair: every stored checksum matches its file\n";
    }
    for (const auto& e : changed) {
        text += fmt::format("{} {}: checksum {} -> {}\n", applied ? "repaired" : "would repair", e.name,
                            e.stored_checksum.value_or("(none)"), e.file_checksum.value_or(""));
    }
    return text;
}

nlohmann::ordered_json RenderRepairJson(const std::vector<Entry>& changed, bool applied) {
    return {{"ok", applied || changed.empty()}, {"applied", applied}, {"changes", EntriesJson(changed)}};
}

} // namespace pgsplit::migrate
