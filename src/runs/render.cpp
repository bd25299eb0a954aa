#include "runs/render.h"

#include "output/json_util.h"
#include "output/table.h"

#include <fmt/format.h>

namespace pgsplit::runs {
namespace {

using nlohmann::ordered_json;

constexpr const char* kNone = "-";

std::string Duration(const std::optional<int64_t>& ms) {
    return ms ? HumanDuration(static_cast<double>(*ms)) : kNone;
}

std::string OptTextTime(const std::optional<std::string>& iso) {
    return iso ? TextTime(*iso) + " UTC" : kNone;
}

// The queue wait cell: final once started, "so far" while still queued.
std::string QueueWaitCell(const Run& run) {
    if (run.queue_wait_ms) {
        return Duration(run.queue_wait_ms);
    }
    if (run.status == "queued" && run.active_for_ms) {
        return Duration(run.active_for_ms) + " so far";
    }
    return kNone;
}

// The run time cell: final once ended, "so far" while running.
std::string RunTimeCell(const Run& run) {
    if (run.run_time_ms) {
        return Duration(run.run_time_ms);
    }
    if (run.status == "running" && run.active_for_ms) {
        return Duration(run.active_for_ms) + " so far";
    }
    return kNone;
}

TextTable::Tone StatusTone(const std::string& status) {
    if (status == "completed") {
        return TextTable::Tone::Good;
    }
    if (status == "failed") {
        return TextTable::Tone::Bad;
    }
    if (status == "running") {
        return TextTable::Tone::Warn;
    }
    return TextTable::Tone::Dim;
}

// Parsed JSON for the machine-readable output, or null when the stored text is not JSON.
ordered_json ParsedOrNull(const std::string& text) {
    auto doc = ordered_json::parse(text, nullptr, false);
    return doc.is_discarded() ? ordered_json(nullptr) : doc;
}

std::string Indent(const std::string& text, const std::string& pad) {
    std::string out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        out += pad + text.substr(start, end - start) + "\n";
        start = end + 1;
    }
    return out;
}

std::string FilterDescription(const ListFilter& filter) {
    std::vector<std::string> parts;
    if (filter.status) {
        parts.push_back("status " + *filter.status);
    }
    if (filter.since) {
        parts.push_back("submitted in the last " + HumanDuration(static_cast<double>(filter.since->count())));
    }
    if (parts.empty()) {
        return "";
    }
    std::string joined;
    for (const auto& p : parts) {
        joined += (joined.empty() ? "" : ", ") + p;
    }
    return " (" + joined + ")";
}

} // namespace

std::string TextTime(const std::string& iso) {
    std::string t = iso;
    if (t.size() > 10 && t[10] == 'T') {
        t[10] = ' ';
    }
    auto dot = t.find('.');
    if (dot != std::string::npos) {
        t.erase(dot);
    } else if (!t.empty() && t.back() == 'Z') {
        t.pop_back();
    }
    return t;
}

std::string Excerpt(std::string_view text, size_t max_chars) {
    auto newline = text.find_first_of("\r\n");
    bool more_lines = newline != std::string_view::npos &&
                      text.find_first_not_of(" \t\r\n", newline) != std::string_view::npos;
    text = text.substr(0, newline);
    std::string out;
    size_t chars = 0;
    size_t i = 0;
    bool cut = false;
    while (i < text.size()) {
        auto lead = static_cast<unsigned char>(text[i]);
        size_t len = lead < 0x80           ? 1
                     : (lead >> 5) == 0x6  ? 2
                     : (lead >> 4) == 0xE  ? 3
                     : (lead >> 3) == 0x1E ? 4
                                           : 1;
        if (i + len > text.size()) {
            len = text.size() - i;
        }
        if (chars == max_chars) {
            cut = true;
            break;
        }
        if (len == 1 && (lead < 0x20 || lead == 0x7F)) {
            out += ' ';
        } else {
            out.append(text.substr(i, len));
        }
        ++chars;
        i += len;
    }
    if (cut || more_lines) {
        if (cut) {
            // Make room for the marker so the cell keeps its width limit.
            for (int drop = 0; drop < 3 && !out.empty(); ++drop) {
                while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
                    out.pop_back();
                }
                out.pop_back();
            }
        }
        out += "...";
    }
    return out;
}

std::string PrettyJson(const std::string& text) {
    auto doc = ordered_json::parse(text, nullptr, false);
    if (doc.is_discarded()) {
        return text;
    }
    return doc.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

ordered_json RunJson(const Run& run, bool with_config) {
    ordered_json j = {
        {"run_id", run.run_id},
        {"status", run.status},
        {"run_name", OptJson(run.run_name)},
        {"submitted_at", run.submitted_at},
        {"started_at", OptJson(run.started_at)},
        {"completed_at", OptJson(run.completed_at)},
        {"queue_wait_ms", OptJson(run.queue_wait_ms)},
        {"run_time_ms", OptJson(run.run_time_ms)},
        {"active_for_ms", OptJson(run.active_for_ms)},
        {"start_date", OptJson(run.start_date)},
        {"end_date", OptJson(run.end_date)},
        {"output_dir", OptJson(run.output_dir)},
        {"adls_container", OptJson(run.adls_container)},
        {"adls_prefix", OptJson(run.adls_prefix)},
        {"error", OptJson(run.error)},
    };
    if (with_config) {
        // The stored text, byte for byte, plus the parsed document (null when it is not JSON).
        j["config_json"] = run.config_json;
        j["effective_config_json"] = run.effective_config_json;
        j["config"] = ParsedOrNull(run.config_json);
        j["effective_config"] = ParsedOrNull(run.effective_config_json);
    }
    return j;
}

std::string ListText(const ListResult& result, const ListFilter& filter, bool color, size_t max_width) {
    if (result.runs.empty()) {
        return fmt::format("no runs in backtest.runs{}\n", FilterDescription(filter));
    }
    TextTable t({"RUN_ID", "STATUS", "RUN_NAME", "SUBMITTED (UTC)", "QUEUE WAIT", "RUN TIME", "ERROR"});
    for (const auto& run : result.runs) {
        t.AddRow({Excerpt(run.run_id, 40), run.status, run.run_name ? Excerpt(*run.run_name, 40) : kNone,
                  TextTime(run.submitted_at), QueueWaitCell(run), RunTimeCell(run),
                  run.error ? Excerpt(*run.error, 60) : ""},
                 {TextTable::Tone::Plain, StatusTone(run.status)});
    }
    std::string out = t.Render(color, max_width);
    if (static_cast<int64_t>(result.runs.size()) < result.matching) {
        out += fmt::format("showing the newest {} of {} runs{}; --limit N shows more, --limit 0 all\n",
                           result.runs.size(), result.matching, FilterDescription(filter));
    }
    return out;
}

ordered_json ListJson(const ListResult& result, const ListFilter& filter) {
    ordered_json j = {
        {"ok", true},
        {"status", OptJson(filter.status)},
        {"since_ms", filter.since ? ordered_json(filter.since->count()) : ordered_json(nullptr)},
        {"limit", OptJson(filter.limit)},
        {"matching", result.matching},
        {"runs", ordered_json::array()}};
    for (const auto& run : result.runs) {
        j["runs"].push_back(RunJson(run, false));
    }
    return j;
}

std::string ShowText(const Run& run) {
    std::string out;
    auto line = [&out](std::string_view label, const std::string& value) {
        out += fmt::format("{:<16}{}\n", label, value);
    };
    auto opt = [](const std::optional<std::string>& v) { return v ? *v : std::string(kNone); };
    line("run_id", run.run_id);
    line("status", run.status);
    line("run_name", opt(run.run_name));
    line("submitted_at", TextTime(run.submitted_at) + " UTC");
    line("started_at", OptTextTime(run.started_at));
    line("completed_at", OptTextTime(run.completed_at));
    line("queue wait", QueueWaitCell(run));
    line("run time", RunTimeCell(run));
    line("start_date", opt(run.start_date));
    line("end_date", opt(run.end_date));
    line("output_dir", opt(run.output_dir));
    line("adls_container", opt(run.adls_container));
    line("adls_prefix", opt(run.adls_prefix));
    if (run.error && run.error->find('\n') != std::string::npos) {
        out += "error\n" + Indent(*run.error, "  ");
    } else {
        line("error", opt(run.error));
    }
    auto config = [&out](std::string_view label, const std::string& text) {
        bool valid = !ordered_json::parse(text, nullptr, false).is_discarded();
        out += fmt::format("{}{}\n", label, valid ? "" : " (not valid JSON; shown as stored)");
        out += Indent(PrettyJson(text), "  ");
    };
    config("config_json", run.config_json);
    config("effective_config_json", run.effective_config_json);
    return out;
}

ordered_json ShowJson(const Run& run) {
    return {{"ok", true}, {"run", RunJson(run, true)}};
}

std::string StatsText(const Stats& stats, const std::string& since_label) {
    std::string out;
    if (stats.since && stats.since_at) {
        out += fmt::format("{} run(s) submitted in the last {} (since {} UTC)\n\n", stats.total, since_label,
                           TextTime(*stats.since_at));
    } else {
        out += fmt::format("{} run(s) in backtest.runs\n\n", stats.total);
    }
    TextTable counts({"STATUS", "RUNS"});
    for (const auto& [status, n] : stats.counts) {
        counts.AddRow({status, std::to_string(n)});
    }
    out += counts.Render(false) + "\n";
    TextTable pct({"DURATION", "SAMPLES", "P50", "P95"});
    pct.AddRow({"run time", std::to_string(stats.run_time.samples), Duration(stats.run_time.p50_ms),
                Duration(stats.run_time.p95_ms)});
    pct.AddRow({"queue wait", std::to_string(stats.queue_wait.samples), Duration(stats.queue_wait.p50_ms),
                Duration(stats.queue_wait.p95_ms)});
    out += pct.Render(false);
    out += "run time: completed_at - started_at of completed and failed runs; queue wait: started_at - "
           "submitted_at of started runs\n";
    return out;
}

ordered_json StatsJson(const Stats& stats, const std::string& since_label) {
    auto pct = [](const Percentiles& p) {
        return ordered_json{
            {"samples", p.samples}, {"p50_ms", OptJson(p.p50_ms)}, {"p95_ms", OptJson(p.p95_ms)}};
    };
    ordered_json counts = ordered_json::object();
    for (const auto& [status, n] : stats.counts) {
        counts[status] = n;
    }
    return {{"ok", true},
            {"since", stats.since ? ordered_json(since_label) : ordered_json(nullptr)},
            {"since_ms", stats.since ? ordered_json(stats.since->count()) : ordered_json(nullptr)},
            {"since_at", OptJson(stats.since_at)},
            {"total", stats.total},
            {"counts", counts},
            {"run_time", pct(stats.run_time)},
            {"queue_wait", pct(stats.queue_wait)}};
}

std::string StaleText(const StaleResult& result, const std::string& window_label, bool color,
                      size_t max_width) {
    if (result.runs.empty()) {
        return fmt::format("no run queued or running longer than {} (as of {} UTC)\n", window_label,
                           TextTime(result.as_of));
    }
    std::string out = fmt::format("{} run(s) queued or running longer than {} (as of {} UTC)\n",
                                  result.runs.size(), window_label, TextTime(result.as_of));
    TextTable t({"RUN_ID", "STATUS", "RUN_NAME", "SINCE (UTC)", "FOR"});
    for (const auto& run : result.runs) {
        const std::string& since =
            run.status == "running" && run.started_at ? *run.started_at : run.submitted_at;
        t.AddRow({Excerpt(run.run_id, 40), run.status, run.run_name ? Excerpt(*run.run_name, 40) : kNone,
                  TextTime(since), Duration(run.active_for_ms)},
                 {TextTable::Tone::Plain, TextTable::Tone::Bad});
    }
    out += t.Render(color, max_width);
    out +=
        "a run that will never finish can be marked failed: pgsplit runs fail RUN_ID --reason TEXT --yes\n";
    return out;
}

ordered_json StaleJson(const StaleResult& result, const std::string& window_label) {
    ordered_json j = {{"ok", result.runs.empty()},
                      {"older_than", window_label},
                      {"older_than_ms", result.older_than.count()},
                      {"as_of", result.as_of},
                      {"stale", ordered_json::array()}};
    for (const auto& run : result.runs) {
        j["stale"].push_back(RunJson(run, false));
    }
    return j;
}

std::vector<std::string> StaleMessages(const StaleResult& result, const std::string& window_label) {
    std::vector<std::string> out;
    for (const auto& run : result.runs) {
        out.push_back(fmt::format("run {} {} for {}, longer than {}", run.run_id, run.status,
                                  Duration(run.active_for_ms), window_label));
    }
    return out;
}

std::string FailPlanText(const Run& run, const std::string& reason) {
    std::string state = run.status == "running" ? fmt::format("running for {}", Duration(run.active_for_ms))
                                                : fmt::format("queued for {}", Duration(run.active_for_ms));
    return fmt::format("would mark run {} failed (it is {}):\n"
                       "  status        {} -> failed\n"
                       "  error         {}\n"
                       "  completed_at  now()\n"
                       "nothing was changed; add --yes to do it\n",
                       run.run_id, state, run.status, Excerpt(reason, 200));
}

ordered_json FailPlanJson(const Run& run, const std::string& reason) {
    return {{"ok", false},
            {"applied", false},
            {"run_id", run.run_id},
            {"would",
             {{"previous_status", run.status},
              {"status", "failed"},
              {"error", reason},
              {"completed_at", "now()"}}},
            {"run", RunJson(run, false)}};
}

std::string FailText(const FailResult& result) {
    return fmt::format(
        "marked run {} failed (was {}) at {} UTC\nerror: {}\n", result.run.run_id, result.previous_status,
        result.run.completed_at ? TextTime(*result.run.completed_at) : "", result.run.error.value_or(""));
}

ordered_json FailJson(const FailResult& result) {
    return {{"ok", true},
            {"applied", true},
            {"previous_status", result.previous_status},
            {"run", RunJson(result.run, false)}};
}

} // namespace pgsplit::runs
