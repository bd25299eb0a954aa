#include "delta/table.h"

#include "core/error.h"
#include "delta/log.h"
#include "delta/predicate.h"
#include "delta/values.h"

#include <charconv>
#include <fmt/format.h>

namespace pgsplit::delta {

bool Snapshot::IsPartitionColumn(const std::string& column) const {
    for (const auto& c : metadata_.partition_columns) {
        if (c == column) {
            return true;
        }
    }
    return false;
}

std::vector<const AddFile*> Snapshot::SelectFiles(const Predicate* predicate) const {
    std::vector<const AddFile*> out;
    if (!predicate) {
        for (const auto& f : files_) {
            out.push_back(&f);
        }
        return out;
    }
    BoundPredicate bound(*predicate, *this);
    for (const auto& f : files_) {
        if (bound.MayMatchFile(f)) {
            out.push_back(&f);
        }
    }
    return out;
}

std::optional<int64_t> Snapshot::CountRecords(const std::vector<const AddFile*>& files) {
    int64_t total = 0;
    for (const auto* f : files) {
        // A negative count, or counts whose sum overflows, come from a damaged log: the stats cannot be
        // trusted, so the caller counts by reading (tests/data/fuzz/delta_log_fuzz: the sum overflowed).
        if (!f->num_records || *f->num_records < 0 ||
            __builtin_add_overflow(total, *f->num_records, &total)) {
            return std::nullopt;
        }
    }
    return total;
}

Table::Table(std::unique_ptr<storage::Storage> storage) : storage_(std::move(storage)) {}

Snapshot Table::LoadSnapshot(std::optional<int64_t> version) {
    LogState state = ReplayLog(*storage_, version);
    CheckReadable(*state.protocol, *state.metadata, state.files, storage_->Root());
    Snapshot s;
    s.table_ = storage_->Root();
    s.version_ = state.version;
    s.protocol_ = std::move(*state.protocol);
    s.metadata_ = std::move(*state.metadata);
    s.files_ = std::move(state.files);
    s.checkpoint_version_ = state.checkpoint_version;
    s.checkpoint_files_ = std::move(state.checkpoint_files);
    s.commits_read_ = state.commits_read;
    s.notes_ = std::move(state.notes);
    return s;
}

} // namespace pgsplit::delta
