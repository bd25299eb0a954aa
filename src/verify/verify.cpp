#include "verify/verify.h"

#include "core/error.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "output/table.h"
#include "output/time.h"
#include "signals/ledger.h"
#include "storage/storage.h"
#include "sync/partition_sync.h"
#include "sync/target.h"
#include "verify/content.h"
#include "verify/replica.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <set>

namespace pgsplit::verify {
namespace {

constexpr const char* kMonthColumn = "year_month";

// One Delta source at its latest version, with its active files grouped by month.
class DeltaSource {
public:
    DeltaSource(std::string label, const std::string& uri, const Config& config)
        : label_(std::move(label)), table_(storage::OpenStorage(uri, config.Storage())),
          snap_(table_.LoadSnapshot()) {
        if (!snap_.IsPartitionColumn(kMonthColumn)) {
            throw Error(ExitCode::Source,
                        fmt::format("Delta table {} is not partitioned by {}", table_.Name(), kMonthColumn),
                        "verify counts months from the partition values; check --signals-table / "
                        "--composite-table");
        }
        for (const auto& file : snap_.Files()) {
            if (auto month = file.PartitionValue(kMonthColumn)) {
                by_month_[*month].push_back(&file);
            }
        }
    }

    int64_t Version() const { return snap_.Version(); }
    bool Has(const std::string& month) const { return by_month_.count(month) > 0; }
    void AddMonthsTo(std::set<std::string>& out) const {
        for (const auto& [month, files] : by_month_) {
            out.insert(month);
        }
    }

    // Rows of `month`: the sum of stats.numRecords, or by reading the files when a file lacks stats.
    int64_t CountRows(const std::string& month) {
        auto it = by_month_.find(month);
        if (it == by_month_.end()) {
            return 0;
        }
        if (auto counted = delta::Snapshot::CountRecords(it->second)) {
            return *counted;
        }
        delta::ScanOptions options;
        options.columns = {kMonthColumn};
        options.predicate = delta::Predicate{kMonthColumn, month};
        delta::Scan scan(snap_, table_.GetStorage(), options);
        delta::ScanBatch batch;
        int64_t rows = 0;
        while (scan.Next(batch)) {
            rows += static_cast<int64_t>(batch.size);
        }
        return rows;
    }

    // Whether `month` changed between `version` and now. Every add carries the commit it came from, so
    // a month whose files all predate `version` is unchanged (a remove-only commit changes the count,
    // which the caller compares anyway). An add from a checkpoint carries the checkpoint's version, so
    // a newer add is confirmed against the old snapshot's file list; when that version can no longer
    // be loaded (log cleaned up), the month is reported as changed.
    bool ChangedSince(const std::string& month, int64_t version) {
        if (version == snap_.Version()) {
            return false;
        }
        if (version > snap_.Version()) {
            return true; // the table was recreated after the sync
        }
        auto it = by_month_.find(month);
        std::vector<const delta::AddFile*> now =
            it == by_month_.end() ? std::vector<const delta::AddFile*>{} : it->second;
        bool newer = std::any_of(now.begin(), now.end(), [&](const auto* f) { return f->version > version; });
        if (!newer) {
            return false;
        }
        const delta::Snapshot* old = Old(version);
        if (!old) {
            return true;
        }
        std::set<std::pair<std::string, std::string>> before, after;
        for (const auto& file : old->Files()) {
            if (file.PartitionValue(kMonthColumn) == month) {
                before.emplace(file.path, file.dv_id);
            }
        }
        for (const auto* file : now) {
            after.emplace(file->path, file->dv_id);
        }
        return before != after;
    }

private:
    const delta::Snapshot* Old(int64_t version) {
        auto it = old_.find(version);
        if (it == old_.end()) {
            std::unique_ptr<delta::Snapshot> loaded;
            try {
                loaded = std::make_unique<delta::Snapshot>(table_.LoadSnapshot(version));
            } catch (const Error&) {
                loaded = nullptr;
            }
            it = old_.emplace(version, std::move(loaded)).first;
        }
        return it->second.get();
    }

    std::string label_;
    delta::Table table_;
    delta::Snapshot snap_;
    std::map<std::string, std::vector<const delta::AddFile*>> by_month_;
    std::map<int64_t, std::unique_ptr<delta::Snapshot>> old_;
};

Freshness CheckFreshness(pg::Connection& conn, const Options& options) {
    Freshness f;
    f.max_age_seconds = std::chrono::duration_cast<std::chrono::seconds>(options.max_age).count();
    f.max_age_text = options.max_age_text;
    signals::NewestSuccess newest = signals::ReadNewestSuccess(conn);
    f.newest_success = newest.synced_at;
    f.age_seconds = newest.age_seconds;
    if (!f.newest_success || !f.age_seconds) {
        f.problem = "no successful sync of a month with rows is recorded in ranking.signal_sync_state";
    } else if (*f.age_seconds * 1000 > options.max_age.count()) {
        f.problem =
            fmt::format("the newest successful sync ({}, {} ago) is older than --max-age {}",
                        HumanTime(*f.newest_success),
                        HumanDuration(static_cast<double>(*f.age_seconds) * 1000), options.max_age_text);
    }
    return f;
}

void CheckLedger(MonthReport& m, bool compare_delta) {
    if (!m.ledger_present) {
        m.problems.push_back("never synced: no row in ranking.signal_sync_state");
        return;
    }
    if (m.status != "success") {
        if (m.status == "failed") {
            // The attempt failed and rolled back: the rows are those of the last success, if any.
            std::string at = m.last_error_at ? " at " + HumanTime(*m.last_error_at) : "";
            std::string error = m.error.value_or("no error recorded");
            if (m.synced_at) {
                m.problems.push_back(
                    fmt::format("last attempt failed{} ({}); the data is from the successful "
                                "sync at {}",
                                at, error, HumanTime(*m.synced_at)));
            } else {
                m.problems.push_back(
                    fmt::format("the last sync failed{}: {}; no successful sync is recorded", at, error));
            }
        } else {
            m.problems.push_back(
                fmt::format("the last sync is in state '{}', not success", m.status.value_or("")));
        }
    }
    for (TableCounts* t : {&m.signals, &m.composite}) {
        if (!t->ledger_rows) {
            if (m.status == "success") {
                m.problems.push_back(fmt::format("{}: the sync recorded no row count", t->name));
            }
            continue;
        }
        bool delta_differs = compare_delta && t->delta_rows && *t->delta_rows != t->postgres_rows;
        if (delta_differs) {
            continue; // already reported, with the recorded count
        }
        if (*t->ledger_rows != t->postgres_rows) {
            m.problems.push_back(fmt::format("{}: the sync recorded {} rows, Postgres has {}", t->name,
                                             *t->ledger_rows, t->postgres_rows));
        }
    }
}

// The digests of --content for one table: Delta against Postgres, then the recorded one.
void CheckContent(MonthReport& m, TableCounts& t) {
    const ContentCheck& c = *t.content;
    if (c.invalid_rows > 0) {
        m.notes.push_back(fmt::format("{}: {} Delta row(s) the table cannot hold were not compared (a sync "
                                      "drops them with --skip-invalid)",
                                      t.name, c.invalid_rows));
    }
    if (c.delta && c.postgres && *c.delta != *c.postgres) {
        std::string rows;
        for (const auto& r : c.rows) {
            rows += (rows.empty() ? ": " : "; ") + Describe(r);
        }
        if (c.differing_rows > static_cast<int64_t>(c.rows.size())) {
            rows += fmt::format("; and {} more", c.differing_rows - static_cast<int64_t>(c.rows.size()));
        }
        m.problems.push_back(
            c.differing_rows > 0
                ? fmt::format("{}: content differs from Delta in {} row(s){}", t.name, c.differing_rows, rows)
                : fmt::format("{}: content differs from Delta (digest {} in Delta, {} in "
                              "Postgres; a key appears twice?)",
                              t.name, c.delta->Text(), c.postgres->Text()));
    }
}

// --content with --postgres-only: the server's digest against the one the sync recorded.
void CheckRecordedDigest(MonthReport& m, TableCounts& t) {
    if (m.status != "success" && m.status != "failed") {
        return;
    }
    if (!t.ledger_digest) {
        m.notes.push_back(fmt::format("{}: the sync recorded no content digest (synced before migration "
                                      "0005?); only Delta can be compared",
                                      t.name));
        return;
    }
    auto recorded = sync::ContentDigest::Parse(*t.ledger_digest);
    if (!recorded) {
        m.problems.push_back(
            fmt::format("{}: the recorded content digest is not one pgsplit writes", t.name));
        return;
    }
    if (*recorded != *t.content->postgres) {
        m.problems.push_back(fmt::format(
            "{}: Postgres changed since its sync: {} row(s) now, digest {} (the sync wrote {} row(s), {})",
            t.name, t.content->postgres->rows, t.content->postgres->Text(), recorded->rows,
            recorded->Text()));
    }
}

} // namespace

std::string MonthReport::State() const {
    return ledger_present ? status.value_or("unknown") : "missing";
}

bool Report::Ok() const {
    return freshness.Ok() && FailedMonths() == 0 &&
           std::all_of(replicas.begin(), replicas.end(), [](const auto& r) { return r.Ok(); });
}

size_t Report::FailedMonths() const {
    return static_cast<size_t>(
        std::count_if(months.begin(), months.end(), [](const auto& m) { return !m.Ok(); }));
}

std::vector<std::string> Report::AllProblems() const {
    std::vector<std::string> out;
    for (const auto& m : months) {
        for (const auto& p : m.problems) {
            out.push_back(m.month + ": " + p);
        }
    }
    if (freshness.problem) {
        out.push_back("freshness: " + *freshness.problem);
    }
    for (const auto& r : replicas) {
        for (const auto& p : r.problems) {
            out.push_back("replica " + r.name + ": " + p);
        }
    }
    return out;
}

Report Run(const Config& config, pg::Connection& conn, const Options& options, const Logger& log) {
    Report report;
    report.freshness_only = options.freshness_only;
    report.content = options.content;

    // Delta first: an unreachable lake fails before any query.
    std::unique_ptr<DeltaSource> signals, composite;
    std::set<std::string> delta_months;
    if (!options.freshness_only) {
        signals = std::make_unique<DeltaSource>(signals::kSignalsLabel, options.signals_uri, config);
        composite = std::make_unique<DeltaSource>(signals::kCompositeLabel, options.composite_uri, config);
        signals->AddMonthsTo(delta_months);
        composite->AddMonthsTo(delta_months);
        report.signals_version = signals->Version();
        report.composite_version = composite->Version();
    }

    // Which months, and whether Postgres is asked about those only (explicit or --last) or about all
    // (the default, so that months Delta no longer has show up).
    std::optional<std::vector<std::string>> filter;
    if (!options.months.empty()) {
        filter = options.months;
    } else if (options.last > 0 && !options.freshness_only) {
        std::vector<std::string> all(delta_months.begin(), delta_months.end());
        size_t keep = std::min(all.size(), static_cast<size_t>(options.last));
        filter = std::vector<std::string>(all.end() - static_cast<std::ptrdiff_t>(keep), all.end());
    }
    // --content reads the targets as a sync does, and the Delta tables at the versions counted above.
    std::optional<sync::Target> signals_target, composite_target;
    const std::vector<sync::TableJob> jobs = {
        {signals::kSignalsLabel, options.signals_uri, signals::kSignalsTarget, kMonthColumn},
        {signals::kCompositeLabel, options.composite_uri, signals::kCompositeTarget, kMonthColumn}};
    std::optional<sync::Source> signals_source, composite_source;
    if (options.content) {
        signals_target = sync::ReadTarget(conn, signals::kSignalsTarget);
        composite_target = sync::ReadTarget(conn, signals::kCompositeTarget);
        if (!options.freshness_only) {
            signals_source.emplace(jobs[0], config.Storage(), signals->Version());
            composite_source.emplace(jobs[1], config.Storage(), composite->Version());
        }
    }

    auto pg_signals = signals::CountMonthRows(conn, signals::kSignalsTarget, filter);
    auto pg_composite = signals::CountMonthRows(conn, signals::kCompositeTarget, filter);
    auto ledger = signals::ReadLedger(conn, filter);

    std::set<std::string> months;
    if (filter) {
        months.insert(filter->begin(), filter->end());
    } else {
        months = delta_months;
        for (const auto* counts : {&pg_signals, &pg_composite}) {
            for (const auto& [month, rows] : *counts) {
                months.insert(month);
            }
        }
        if (options.freshness_only) {
            for (const auto& [month, row] : ledger) {
                months.insert(month);
            }
        }
    }
    if (options.freshness_only && options.last > 0 && options.months.empty() &&
        months.size() > static_cast<size_t>(options.last)) {
        months.erase(months.begin(),
                     std::next(months.begin(), static_cast<std::ptrdiff_t>(months.size()) - options.last));
    }

    for (const auto& month : months) {
        MonthReport m;
        m.month = month;
        m.signals.name = signals::kSignalsLabel;
        m.composite.name = signals::kCompositeLabel;
        m.signals.postgres_rows = pg_signals.count(month) ? pg_signals[month] : 0;
        m.composite.postgres_rows = pg_composite.count(month) ? pg_composite[month] : 0;
        m.in_postgres = m.signals.postgres_rows > 0 || m.composite.postgres_rows > 0;
        if (auto it = ledger.find(month); it != ledger.end()) {
            const signals::LedgerRow& row = it->second;
            m.ledger_present = true;
            m.status = row.status;
            m.synced_at = row.synced_at;
            m.error = row.error;
            m.last_error_at = row.last_error_at;
            m.signals.ledger_rows = row.signals_rows;
            m.composite.ledger_rows = row.composite_rows;
            m.signals.synced_version = row.signals_version;
            m.composite.synced_version = row.composite_version;
            m.signals.ledger_digest = row.signals_digest;
            m.composite.ledger_digest = row.composite_digest;
        }

        if (options.freshness_only) {
            CheckLedger(m, false);
            if (options.content && m.ledger_present) {
                for (auto [t, target] :
                     {std::pair{&m.signals, &*signals_target}, std::pair{&m.composite, &*composite_target}}) {
                    t->content.emplace();
                    t->content->postgres = ServerDigest(conn, *target, kMonthColumn, month);
                    CheckRecordedDigest(m, *t);
                }
            }
            report.months.push_back(std::move(m));
            continue;
        }

        m.in_delta = delta_months.count(month) > 0;
        if (!m.in_delta) {
            if (m.in_postgres) {
                m.problems.push_back(fmt::format("present in Postgres ({} + {} rows) but no longer in Delta",
                                                 m.signals.postgres_rows, m.composite.postgres_rows));
            } else {
                m.problems.push_back("not present in Delta (nor in Postgres)");
            }
            report.months.push_back(std::move(m));
            continue;
        }

        for (auto [t, source] :
             {std::pair{&m.signals, signals.get()}, std::pair{&m.composite, composite.get()}}) {
            t->delta_rows = source->CountRows(month);
            t->current_version = source->Version();
            if (*t->delta_rows != t->postgres_rows) {
                std::string recorded =
                    t->ledger_rows ? fmt::format(" (the sync recorded {})", *t->ledger_rows) : "";
                m.problems.push_back(fmt::format("{}: Delta has {} rows, Postgres has {}{}", t->name,
                                                 *t->delta_rows, t->postgres_rows, recorded));
            }
        }
        CheckLedger(m, true);
        if (options.content) {
            for (auto [t, source, target] :
                 {std::tuple{&m.signals, &*signals_source, &*signals_target},
                  std::tuple{&m.composite, &*composite_source, &*composite_target}}) {
                t->content = CompareContent(log, conn, *source, *target, month, options.show);
                CheckContent(m, *t);
            }
        }
        if (m.ledger_present) {
            for (auto [t, source] :
                 {std::pair{&m.signals, signals.get()}, std::pair{&m.composite, composite.get()}}) {
                if (!t->synced_version) {
                    m.notes.push_back(fmt::format("{}: the sync recorded no Delta version", t->name));
                    continue;
                }
                if (source->ChangedSince(month, *t->synced_version)) {
                    m.problems.push_back(
                        fmt::format("{}: Delta changed since the last sync (synced v{}, now v{})", t->name,
                                    *t->synced_version, source->Version()));
                }
            }
        }
        report.months.push_back(std::move(m));
    }

    report.freshness = CheckFreshness(conn, options);
    for (const auto& dsn : options.replica_dsns) {
        report.replicas.push_back(CheckReplica(dsn, conn, report, options,
                                               signals_target ? &*signals_target : nullptr,
                                               composite_target ? &*composite_target : nullptr));
    }
    return report;
}

} // namespace pgsplit::verify
