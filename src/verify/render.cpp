#include "verify/render.h"

#include "output/github.h"
#include "output/json_util.h"
#include "output/numbers.h"
#include "output/table.h"
#include "output/time.h"

#include <algorithm>
#include <fmt/format.h>

namespace pgsplit::verify {
namespace {

using nlohmann::ordered_json;

constexpr const char* kNone = "-";

// "600 / 200": ranking_signal / composite_signal_daily.
std::string DeltaCell(const MonthReport& m) {
    if (!m.signals.delta_rows || !m.composite.delta_rows) {
        return kNone;
    }
    return GroupDigits(*m.signals.delta_rows) + " / " + GroupDigits(*m.composite.delta_rows);
}

std::string PostgresCell(const MonthReport& m) {
    return GroupDigits(m.signals.postgres_rows) + " / " + GroupDigits(m.composite.postgres_rows);
}

std::string Verdict(const MonthReport& m) {
    if (m.Ok()) {
        return "ok";
    }
    return m.problems.size() == 1 ? "FAIL (1 problem)" : fmt::format("FAIL ({} problems)", m.problems.size());
}

std::string FreshnessLine(const Freshness& f) {
    if (f.problem) {
        return "freshness: FAIL: " + *f.problem;
    }
    int64_t age = f.age_seconds.value_or(0);
    std::string ago = age < 1 ? "just now" : HumanDuration(static_cast<double>(age) * 1000) + " ago";
    return fmt::format("freshness: ok: the newest successful sync ({}, {}) is within --max-age {}",
                       f.newest_success ? HumanTime(*f.newest_success) : kNone, ago, f.max_age_text);
}

std::string Summary(const Report& r) {
    size_t replicas_failed = static_cast<size_t>(
        std::count_if(r.replicas.begin(), r.replicas.end(), [](const auto& x) { return !x.Ok(); }));
    std::string replicas =
        r.replicas.empty() ? ""
                           : fmt::format(", {} of {} replica(s) failed", replicas_failed, r.replicas.size());
    if (r.Ok()) {
        return fmt::format("verify: ok: {} month(s) checked{}{}{}", r.months.size(),
                           r.content ? " by content" : "",
                           r.freshness_only ? " (freshness only, Delta not read)" : "",
                           r.replicas.empty() ? "" : fmt::format(", {} replica(s)", r.replicas.size()));
    }
    if (r.FailedMonths() == 0 && !r.freshness.Ok()) {
        // Only freshness failed: "0 of 0 month(s) failed" would read as if something were counted.
        return r.months.empty()
                   ? "verify: FAIL: freshness failed (no months checked)" + replicas
                   : fmt::format("verify: FAIL: freshness failed; {} month(s) checked, none failed{}",
                                 r.months.size(), replicas);
    }
    if (r.FailedMonths() == 0) {
        return fmt::format("verify: FAIL: {} month(s) checked, none failed, freshness ok{}", r.months.size(),
                           replicas);
    }
    return fmt::format("verify: FAIL: {} of {} month(s) failed, freshness {}{}", r.FailedMonths(),
                       r.months.size(), r.freshness.Ok() ? "ok" : "failed", replicas);
}

std::string ReplicaLine(const ReplicaReport& r) {
    std::string lag = !r.in_recovery   ? "not a standby"
                      : r.lag_seconds  ? "lag " + HumanDuration(*r.lag_seconds * 1000)
                      : r.behind_bytes ? "lag unknown"
                                       : "lag not measured";
    if (r.replay_paused) {
        lag += ", replay paused";
    }
    if (r.receiver) {
        lag += ", WAL receiver " + *r.receiver;
    }
    return fmt::format("replica {}: {} ({})", r.name, r.Ok() ? "ok" : "FAIL", lag);
}

ordered_json ContentJson(const ContentCheck& c) {
    ordered_json j;
    j["delta_digest"] = c.delta ? ordered_json(c.delta->Text()) : ordered_json();
    j["postgres_digest"] = c.postgres ? ordered_json(c.postgres->Text()) : ordered_json();
    j["invalid_rows"] = c.invalid_rows;
    j["differing_rows"] = c.differing_rows;
    ordered_json rows = ordered_json::array();
    for (const auto& r : c.rows) {
        ordered_json jr;
        jr["key"] = r.key;
        jr["kind"] = KindName(r.kind);
        ordered_json cols = ordered_json::array();
        for (const auto& col : r.columns) {
            cols.push_back({{"column", col.column}, {"delta", col.delta}, {"postgres", col.postgres}});
        }
        jr["columns"] = cols;
        rows.push_back(jr);
    }
    j["rows"] = rows;
    return j;
}

// A Markdown table cell: pipes escaped, line breaks flattened.
std::string MdCell(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|') {
            out += "\\|";
        } else if (c == '\n' || c == '\r') {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace

std::string RenderText(const Report& report, bool color, size_t max_width) {
    using Tone = TextTable::Tone;
    TextTable t({"MONTH", "DELTA ROWS", "POSTGRES ROWS", "STATE", "SYNCED AT", "VERDICT"});
    for (const auto& m : report.months) {
        Tone state = m.State() == "success" ? Tone::Plain : Tone::Bad;
        t.AddRow({m.month, DeltaCell(m), PostgresCell(m), m.State(),
                  m.synced_at ? HumanTime(*m.synced_at) : kNone, Verdict(m)},
                 {Tone::Plain, Tone::Plain, Tone::Plain, state, Tone::Dim, m.Ok() ? Tone::Good : Tone::Bad});
    }
    std::string out;
    if (report.months.empty()) {
        out += "no month to verify\n";
    } else {
        out += t.Render(color, max_width);
        out += report.freshness_only ? "(rows: ranking_signal / composite_signal_daily; Delta not read)\n"
                                     : "(rows: ranking_signal / composite_signal_daily)\n";
    }
    auto paint = [&](const std::string& s, const char* code) {
        return color ? std::string(code) + s + "\x1b[0m" : s;
    };
    bool header = false;
    for (const auto& m : report.months) {
        for (const auto& p : m.problems) {
            if (!header) {
                out += "\nproblems:\n";
                header = true;
            }
            out += "  " + m.month + ": " + paint(p, "\x1b[31m") + "\n";
        }
    }
    for (const auto& r : report.replicas) {
        out += "\n";
        out += r.Ok() ? ReplicaLine(r) : paint(ReplicaLine(r), "\x1b[31m");
        out += "\n";
        for (const auto& p : r.problems) {
            out += "  " + paint(p, "\x1b[31m") + "\n";
        }
        for (const auto& n : r.notes) {
            out += "  note: " + n + "\n";
        }
    }
    out += "\n";
    out += report.freshness.Ok() ? FreshnessLine(report.freshness) + "\n"
                                 : paint(FreshnessLine(report.freshness), "\x1b[31m") + "\n";
    out +=
        report.Ok() ? paint(Summary(report), "\x1b[32m") + "\n" : paint(Summary(report), "\x1b[31m") + "\n";
    return out;
}

ordered_json RenderJson(const Report& report) {
    ordered_json doc;
    doc["ok"] = report.Ok();
    doc["freshness_only"] = report.freshness_only;
    doc["delta_versions"] = {{"ranking_signal", OptJson(report.signals_version)},
                             {"composite_signal_daily", OptJson(report.composite_version)}};
    doc["months_checked"] = report.months.size();
    doc["months_failed"] = report.FailedMonths();
    ordered_json months = ordered_json::array();
    for (const auto& m : report.months) {
        ordered_json jm;
        jm["month"] = m.month;
        jm["ok"] = m.Ok();
        jm["state"] = m.State();
        jm["synced_at"] = OptJson(m.synced_at);
        jm["error"] = OptJson(m.error);
        jm["last_error_at"] = OptJson(m.last_error_at);
        if (!report.freshness_only) {
            jm["in_delta"] = m.in_delta;
        }
        jm["in_postgres"] = m.in_postgres;
        ordered_json tables = ordered_json::object();
        for (const TableCounts* tc : {&m.signals, &m.composite}) {
            ordered_json jt;
            jt["delta_rows"] = OptJson(tc->delta_rows);
            jt["postgres_rows"] = tc->postgres_rows;
            jt["synced_rows"] = OptJson(tc->ledger_rows);
            jt["synced_version"] = OptJson(tc->synced_version);
            jt["current_version"] = OptJson(tc->current_version);
            if (report.content) {
                jt["synced_digest"] = OptJson(tc->ledger_digest);
                jt["content"] = tc->content ? ContentJson(*tc->content) : ordered_json();
            }
            tables[tc->name] = jt;
        }
        jm["tables"] = tables;
        jm["problems"] = m.problems;
        jm["notes"] = m.notes;
        months.push_back(jm);
    }
    doc["months"] = months;
    const Freshness& f = report.freshness;
    doc["freshness"] = {{"ok", f.Ok()},
                        {"newest_success", OptJson(f.newest_success)},
                        {"age_seconds", OptJson(f.age_seconds)},
                        {"max_age", f.max_age_text},
                        {"max_age_seconds", f.max_age_seconds},
                        {"problem", OptJson(f.problem)}};
    ordered_json replicas = ordered_json::array();
    for (const auto& r : report.replicas) {
        replicas.push_back({{"name", r.name},
                            {"ok", r.Ok()},
                            {"in_recovery", r.in_recovery},
                            {"replay_paused", r.replay_paused},
                            {"behind_bytes", OptJson(r.behind_bytes)},
                            {"lag_seconds", OptJson(r.lag_seconds)},
                            {"wal_receiver", OptJson(r.receiver)},
                            {"differing_months", r.differing_months},
                            {"problems", r.problems},
                            {"notes", r.notes}});
    }
    doc["content"] = report.content;
    doc["replicas"] = replicas;
    doc["problems"] = report.AllProblems();
    return doc;
}

std::string RenderMarkdown(const Report& report) {
    std::string out = fmt::format("### pgsplit verify: {}\n\n", report.Ok() ? "ok" : "FAILED");
    if (!report.months.empty()) {
        out += "| month | Delta rows | Postgres rows | state | synced at | verdict |\n"
               "|---|---:|---:|---|---|---|\n";
        for (const auto& m : report.months) {
            std::string verdict = m.Ok() ? "ok" : "**FAIL**: " + m.problems.front();
            for (size_t i = 1; i < m.problems.size(); ++i) {
                verdict += "<br>" + m.problems[i];
            }
            out +=
                fmt::format("| {} | {} | {} | {} | {} | {} |\n", MdCell(m.month), DeltaCell(m),
                            PostgresCell(m), MdCell(m.State()), m.synced_at.value_or(kNone), MdCell(verdict));
        }
        out += "\nRows are ranking_signal / composite_signal_daily.\n";
    } else {
        out += "No month to verify.\n";
    }
    out += "\n" + MdCell(FreshnessLine(report.freshness)) + "\n\n";
    for (const auto& r : report.replicas) {
        out += "- " + MdCell(ReplicaLine(r)) + "\n";
        for (const auto& p : r.problems) {
            out += "  - **FAIL**: " + MdCell(p) + "\n";
        }
        for (const auto& n : r.notes) {
            out += "  - " + MdCell(n) + "\n";
        }
    }
    out += (report.replicas.empty() ? "" : "\n") + Summary(report) + "\n\n";
    return out;
}

std::vector<Annotation> Annotations(const Report& report) {
    std::vector<Annotation> out;
    for (const auto& m : report.months) {
        if (m.Ok()) {
            continue;
        }
        std::string message;
        for (const auto& p : m.problems) {
            message += (message.empty() ? "" : "; ") + p;
        }
        out.push_back({"pgsplit verify " + m.month, message});
    }
    if (report.freshness.problem) {
        out.push_back({"pgsplit verify freshness", *report.freshness.problem});
    }
    for (const auto& r : report.replicas) {
        std::string message;
        for (const auto& p : r.problems) {
            message += (message.empty() ? "" : "; ") + p;
        }
        if (!message.empty()) {
            out.push_back({"pgsplit verify replica " + r.name, message});
        }
    }
    return out;
}

} // namespace pgsplit::verify
