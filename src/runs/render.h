#pragma once

// How `pgsplit runs` shows the run store: text for people (times in UTC, durations rounded for
// reading) and JSON for scripts (ISO 8601 UTC timestamps with microseconds, durations in exact
// milliseconds, nulls where the table has NULL). Rendering only: no database access here.

#include "runs/run_store.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace pgsplit::runs {

// --- list ---
// max_width: the terminal columns to fit the table to (0: no limit; see TextTable::Render).
std::string ListText(const ListResult& result, const ListFilter& filter, bool color, size_t max_width = 0);
nlohmann::ordered_json ListJson(const ListResult& result, const ListFilter& filter);

// --- show --- (every column; config_json and effective_config_json pretty-printed)
std::string ShowText(const Run& run);
nlohmann::ordered_json ShowJson(const Run& run);

// --- stats --- (`since_label` is the --since text, empty for all time)
std::string StatsText(const Stats& stats, const std::string& since_label);
nlohmann::ordered_json StatsJson(const Stats& stats, const std::string& since_label);

// --- stale --- (`window_label` is the --older-than text)
std::string StaleText(const StaleResult& result, const std::string& window_label, bool color,
                      size_t max_width = 0);
nlohmann::ordered_json StaleJson(const StaleResult& result, const std::string& window_label);
// One line per stale run ("run q2 queued for 8h 0m, longer than 6h"), for CI annotations.
std::vector<std::string> StaleMessages(const StaleResult& result, const std::string& window_label);

// --- fail ---
// What `fail` would do without --yes (nothing has changed).
std::string FailPlanText(const Run& run, const std::string& reason);
nlohmann::ordered_json FailPlanJson(const Run& run, const std::string& reason);
std::string FailText(const FailResult& result);
nlohmann::ordered_json FailJson(const FailResult& result);

// --- pieces, exposed for tests ---
// A run as JSON: every column and the derived durations; the config columns only when asked.
nlohmann::ordered_json RunJson(const Run& run, bool with_config);
// "2026-11-22T00:12:18.625166Z" -> "2026-11-22 00:12:18" (UTC, whole seconds).
std::string TextTime(const std::string& iso);
// One table cell from free text: the first line only, control characters as spaces, at most
// `max_chars` code points (a cut ends with "..."), never splitting a UTF-8 sequence.
std::string Excerpt(std::string_view text, size_t max_chars);
// Stored JSON text indented by two spaces with its key order kept; text that is not valid JSON is
// returned unchanged (the service stores what it was given).
std::string PrettyJson(const std::string& text);

} // namespace pgsplit::runs
