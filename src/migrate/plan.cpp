#include "migrate/plan.h"

#include "core/error.h"
#include "migrate/sql_scan.h"
#include "output/time.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace pgsplit::migrate {
namespace {

// A path as a shell word: as is when it is plain, else in single quotes.
std::string ShellWord(const std::string& s) {
    if (!s.empty() &&
        s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") ==
            std::string::npos) {
        return s;
    }
    std::string out = "'";
    for (char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

} // namespace

const char* StateName(State s) {
    switch (s) {
    case State::Applied:
        return "applied";
    case State::Pending:
        return "pending";
    case State::OutOfOrder:
        return "out-of-order";
    case State::ChecksumMismatch:
        return "checksum-mismatch";
    case State::MissingFile:
        return "missing-file";
    case State::Baseline:
        return "baseline";
    case State::AboveTarget:
        return "above-target";
    }
    return "unknown";
}

nlohmann::ordered_json EntryToJson(const Entry& e) {
    auto opt = [](const auto& v) -> nlohmann::ordered_json {
        if (v) {
            return *v;
        }
        return nullptr;
    };
    return {{"version", e.version},
            {"description", e.description},
            {"file", e.name.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.name)},
            {"state", StateName(e.state)},
            {"applied_at", e.applied_at ? nlohmann::ordered_json(JsonTime(*e.applied_at)) : nullptr},
            {"execution_ms", opt(e.execution_ms)},
            {"checksum", opt(e.stored_checksum)},
            {"file_checksum", opt(e.file_checksum)},
            {"applied_by", opt(e.applied_by)},
            {"tool_version", opt(e.tool_version)}};
}

std::optional<std::string> CurrentVersion(const std::vector<Entry>& entries) {
    std::optional<std::string> v;
    for (const auto& e : entries) {
        if (e.state == State::Applied || e.state == State::Baseline || e.state == State::ChecksumMismatch) {
            v = e.version;
        }
    }
    return v;
}

std::vector<Entry> Compute(const std::vector<MigrationFile>& files, const std::vector<HistoryRow>& history,
                           std::optional<long long> target) {
    std::map<long long, const HistoryRow*> by_number;
    std::vector<const HistoryRow*> unnumbered;
    long long max_applied = -1;
    for (const auto& h : history) {
        if (auto n = VersionNumber(h.version)) {
            by_number[*n] = &h;
            max_applied = std::max(max_applied, *n);
        } else {
            unnumbered.push_back(&h);
        }
    }
    std::vector<Entry> out;
    for (const auto& f : files) {
        long long n = std::stoll(f.version);
        Entry e;
        e.version = f.version;
        e.description = f.description;
        e.name = f.name;
        e.file_checksum = f.checksum;
        auto it = by_number.find(n);
        if (it != by_number.end()) {
            const HistoryRow& h = *it->second;
            e.applied_at = h.applied_at;
            e.execution_ms = h.execution_ms;
            e.stored_checksum = h.checksum;
            e.applied_by = h.applied_by;
            e.tool_version = h.tool_version;
            bool baseline = h.applied_by && h.applied_by->ends_with(kBaselineMark);
            if (h.checksum && *h.checksum != f.checksum) {
                e.state = State::ChecksumMismatch;
            } else {
                e.state = baseline ? State::Baseline : State::Applied;
            }
            by_number.erase(it);
        } else if (target && n > *target) {
            e.state = State::AboveTarget;
        } else if (n < max_applied) {
            e.state = State::OutOfOrder;
        } else {
            e.state = State::Pending;
        }
        out.push_back(std::move(e));
    }
    auto missing = [&](const HistoryRow& h) {
        Entry e;
        e.version = h.version;
        e.description = h.description.value_or("");
        e.state = State::MissingFile;
        e.applied_at = h.applied_at;
        e.execution_ms = h.execution_ms;
        e.stored_checksum = h.checksum;
        e.applied_by = h.applied_by;
        e.tool_version = h.tool_version;
        out.push_back(std::move(e));
    };
    for (const auto& [n, h] : by_number) {
        missing(*h);
    }
    for (const auto* h : unnumbered) {
        missing(*h);
    }
    std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
        auto na = VersionNumber(a.version), nb = VersionNumber(b.version);
        if (na && nb) {
            return *na < *nb;
        }
        return na.has_value() && !nb.has_value();
    });
    return out;
}

void CheckRunnable(const std::vector<Entry>& entries, bool allow_out_of_order,
                   const std::optional<std::string>& dir, const Logger& log) {
    std::vector<std::string> mismatches;
    std::vector<std::string> older;
    for (const auto& e : entries) {
        if (e.state == State::ChecksumMismatch) {
            mismatches.push_back(fmt::format("{} (applied {}): stored {}, file now {}", e.name,
                                             e.applied_at.value_or("?"), e.stored_checksum.value_or(""),
                                             e.file_checksum.value_or("")));
        } else if (e.state == State::OutOfOrder && !allow_out_of_order) {
            older.push_back(e.name);
        } else if (e.state == State::MissingFile) {
            log.Warn(fmt::format("version {} is recorded as applied but has no migration file", e.version),
                     {{"version", e.version}});
        }
    }
    if (!mismatches.empty()) {
        std::string msg = "applied migration changed since it was applied, nothing was run: ";
        for (size_t i = 0; i < mismatches.size(); ++i) {
            msg += (i ? "; " : "") + mismatches[i];
        }
        // The repair must read the same files: keep the --dir this run used.
        std::string dir_flag = dir ? " --dir " + ShellWord(*dir) : "";
        throw Error(ExitCode::Verify, msg,
                    fmt::format("restore the file as applied and put the change in a new migration, or, if "
                                "the edit is cosmetic, run 'pgsplit migrate repair{} --yes'",
                                dir_flag));
    }
    if (!older.empty()) {
        std::string names;
        for (const auto& n : older) {
            names += (names.empty() ? "" : ", ") + n;
        }
        throw Error(
            ExitCode::Verify,
            fmt::format("pending migration(s) older than the newest applied version: {}", names),
            "renumber them after the newest applied version, or pass --out-of-order to apply them anyway");
    }
}

// A reason the file cannot be run as written, or nullopt.
std::optional<std::string> Lint(const MigrationFile& f) {
    auto statements = SplitStatements(f.sql);
    if (auto t = FindTransactionControl(statements)) {
        return fmt::format(
            "{} line {}: contains {}; pgsplit runs each file in its own transaction together with "
            "its history row, so remove the file's own transaction control",
            f.name, t->line, t->what);
    }
    auto nt = FindNonTransactional(statements);
    if (f.no_transaction) {
        if (statements.size() != 1) {
            return fmt::format(
                "{}: declares '-- pgsplit:no-transaction' but holds {} statements; such a file must "
                "hold exactly one, so a failure cannot leave half of it applied",
                f.name, statements.size());
        }
        return std::nullopt;
    }
    if (nt) {
        return fmt::format(
            "{} line {}: {} cannot run inside a transaction; move it alone into its own file that "
            "starts with '-- pgsplit:no-transaction'",
            f.name, nt->line, nt->what);
    }
    return std::nullopt;
}

} // namespace pgsplit::migrate
