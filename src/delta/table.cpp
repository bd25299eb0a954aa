#include "delta/table.h"

#include "core/error.h"
#include "delta/log.h"
#include "delta/predicate.h"
#include "delta/values.h"

#include <algorithm>
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
        auto live = f->LiveRecords();
        if (!live || __builtin_add_overflow(total, *live, &total)) {
            return std::nullopt;
        }
    }
    return total;
}

std::optional<int64_t> AddFile::LiveRecords() const {
    if (!num_records || *num_records < 0) {
        return std::nullopt;
    }
    int64_t deleted = dv ? dv->cardinality : 0;
    if (deleted < 0 || deleted > *num_records) {
        return std::nullopt;
    }
    return *num_records - deleted;
}

std::vector<std::string> Snapshot::FeaturesInUse() const {
    std::vector<std::string> out;
    auto add = [&](const std::string& f) {
        if (std::find(out.begin(), out.end(), f) == out.end()) {
            out.push_back(f);
        }
    };
    if (protocol_.reader_features) {
        for (const auto& f : *protocol_.reader_features) {
            add(f);
        }
    }
    if (mapping_ != MappingMode::None) {
        add("columnMapping");
    }
    for (const auto& f : files_) {
        if (f.dv) {
            add("deletionVectors");
            break;
        }
    }
    for (const auto& name : checkpoint_files_) {
        if (name.rfind("_sidecars/", 0) == 0 ||
            ParseLogFileName(name, 0).value_or(LogFile{}).kind == LogFile::Kind::CheckpointV2) {
            add("v2Checkpoint");
            break;
        }
    }
    return out;
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
    s.mapping_ = ColumnMappingMode(s.metadata_, storage_->Root());
    s.files_ = std::move(state.files);
    ToLogicalNames(s.metadata_.schema, s.mapping_, s.files_, storage_->Root());
    s.checkpoint_version_ = state.checkpoint_version;
    s.checkpoint_files_ = std::move(state.checkpoint_files);
    s.commits_read_ = state.commits_read;
    s.notes_ = std::move(state.notes);
    return s;
}

} // namespace pgsplit::delta
