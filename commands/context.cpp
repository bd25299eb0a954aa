#include "commands/context.h"

#include <csignal>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace pgsplit {

void Context::Print(const std::string& rendered) const {
    if (log.Format() != LogFormat::Json) {
        WriteText(STDOUT_FILENO, rendered);
        return;
    }
    // With JSON logs, stdout carries one JSON object per line and nothing else: a JSON result is
    // compacted onto one line, and text output becomes info lines.
    if (!rendered.empty() && (rendered[0] == '{' || rendered[0] == '[')) {
        auto doc = nlohmann::json::parse(rendered, nullptr, false);
        if (!doc.is_discarded()) {
            if (results_as_log) {
                log.Info("result", {{"result", doc}});
            } else {
                WriteText(STDOUT_FILENO, doc.dump() + "\n");
            }
            return;
        }
    }
    size_t start = 0;
    while (start < rendered.size()) {
        size_t end = rendered.find('\n', start);
        if (end == std::string::npos) {
            end = rendered.size();
        }
        if (end > start) {
            log.Info(rendered.substr(start, end - start));
        }
        start = end + 1;
    }
}

} // namespace pgsplit

namespace pgsplit {
namespace {

// "a, b, c" with at most `max` names, then "and N more" (a backfill can commit hundreds of months).
std::string NameList(const std::vector<std::string>& names, size_t max = 12) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < max; ++i) {
        out += (i ? ", " : "") + names[i];
    }
    if (names.size() > max) {
        out += fmt::format(" and {} more", names.size() - max);
    }
    return out;
}

} // namespace

std::pair<std::string, nlohmann::json> Context::DescribeInterrupt(int signal) const {
    std::string sig = signal == SIGINT ? "SIGINT" : "SIGTERM";
    nlohmann::json fields = {{"signal", sig}, {"exit_code", signal == SIGINT ? 130 : 143}};
    std::vector<std::string> in_flight, completed, inner_rolled_back, caveats;
    for (const auto& p : log.Phases()) {
        if (p.end == PhaseEnd::Interrupted && !p.caveat.empty()) {
            caveats.push_back(p.caveat);
        }
        if (p.depth > 0) {
            if (p.end == PhaseEnd::Interrupted) {
                inner_rolled_back.push_back(p.name);
            }
            continue;
        }
        if (p.end == PhaseEnd::Interrupted) {
            in_flight.push_back(p.name);
        } else if (p.end == PhaseEnd::Completed) {
            completed.push_back(p.name);
        }
    }
    const InterruptPolicy& pol = interrupt;
    std::string units = pol.units.empty() ? pol.unit + "s" : pol.units;
    auto unit_of = [&](size_t n) { return n == 1 ? pol.unit : units; };
    std::string msg = "interrupted by " + sig;
    switch (pol.kind) {
    case InterruptPolicy::Kind::Unknown:
        msg += "; anything in progress was rolled back";
        break;
    case InterruptPolicy::Kind::ReadOnly:
        msg += ": nothing to roll back (read-only)";
        fields["read_only"] = true;
        fields["rolled_back"] = nlohmann::json::array();
        break;
    case InterruptPolicy::Kind::Transactional:
        if (!in_flight.empty()) {
            msg += fmt::format(": {} {} rolled back", unit_of(in_flight.size()), NameList(in_flight));
            if (!pol.kept.empty()) {
                msg += "; " + pol.kept;
            }
        } else if (completed.empty()) {
            msg += fmt::format(" before any {} started; nothing to roll back", pol.unit);
        } else {
            msg += fmt::format(" between {}: nothing was in flight", units);
        }
        if (!completed.empty()) {
            msg += fmt::format("; already committed: {}", NameList(completed));
        }
        fields["rolled_back"] = in_flight;
        fields["committed"] = completed;
        break;
    case InterruptPolicy::Kind::Steps:
        if (!in_flight.empty()) {
            msg += fmt::format(" during {} '{}', which was stopped", pol.unit, in_flight.back());
            if (!inner_rolled_back.empty()) {
                msg += fmt::format(" ({} rolled back)", NameList(inner_rolled_back));
            }
            fields["interrupted_step"] = in_flight.back();
        } else {
            msg += fmt::format(" {} {}", completed.empty() ? "before the first" : "between", units);
            fields["interrupted_step"] = nullptr;
        }
        msg += completed.empty() ? fmt::format("; no {} had completed", pol.unit)
                                 : fmt::format("; completed {} remain: {}", units, NameList(completed));
        if (!pol.rerun.empty()) {
            msg += "; " + pol.rerun;
        }
        fields["completed_steps"] = completed;
        fields["rolled_back"] = inner_rolled_back;
        break;
    }
    for (const auto& c : caveats) {
        msg += "; " + c;
    }
    if (!caveats.empty()) {
        fields["caveats"] = caveats;
    }
    return {msg, fields};
}

} // namespace pgsplit
