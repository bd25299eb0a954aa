#pragma once

// The memory budget of one FileReader. Every buffer whose size comes from the file (the footer's
// decoded containers, column chunk bytes, decompressed pages, dictionaries, level arrays, decoded
// values that outgrow their input) is reserved here before it is allocated, so a file of a few
// hundred bytes cannot make the reader allocate gigabytes: the reservation that would pass the
// limit fails with Error(Source) naming the file, the stage and the figures.

#include "core/error.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <utility>

namespace pgsplit::parquet {

class MemoryBudget {
public:
    MemoryBudget(std::string file, uint64_t limit) : file_(std::move(file)), limit_(limit) {}
    MemoryBudget(const MemoryBudget&) = delete;
    MemoryBudget& operator=(const MemoryBudget&) = delete;

    uint64_t Limit() const { return limit_; }
    uint64_t Used() const { return used_; }
    uint64_t Peak() const { return peak_; }
    const std::string& File() const { return file_; }

    bool Fits(uint64_t more) const { return more <= limit_ && used_ <= limit_ - more; }

    // Fails unless `more` bytes fit beside what is reserved; `stage` is called only to describe a
    // failure ("dictionary page of column 'x' (row group 0)").
    template <class Stage>
    void Check(uint64_t more, const Stage& stage) const {
        if (!Fits(more)) {
            Exceeded(stage(), more);
        }
    }

    template <class Stage>
    void Reserve(uint64_t more, const Stage& stage) {
        Check(more, stage);
        used_ += more;
        peak_ = std::max(peak_, used_);
    }

    void Release(uint64_t bytes) { used_ -= std::min(bytes, used_); }

    [[noreturn]] void Exceeded(const std::string& stage, uint64_t more) const {
        throw Error(ExitCode::Source,
                    fmt::format("memory limit reached reading '{}' ({}): it needs {} more bytes with {} "
                                "already in use, past the limit of {} MiB",
                                file_, stage, more, used_, limit_ >> 20),
                    "a genuine file this large needs a higher limit: set PGSPLIT_READ_MEMORY_MB (or "
                    "read.memory_mb in pgsplit.yaml); a damaged or hostile file claims sizes it does not "
                    "hold");
    }

private:
    std::string file_;
    uint64_t limit_;
    uint64_t used_ = 0;
    uint64_t peak_ = 0;
};

// Bytes reserved in a budget for one buffer, released on destruction. Resize moves the reservation
// to a new size (growing checks the budget first).
class BudgetLease {
public:
    BudgetLease() = default;
    explicit BudgetLease(MemoryBudget* budget) : budget_(budget) {}
    BudgetLease(const BudgetLease&) = delete;
    BudgetLease& operator=(const BudgetLease&) = delete;
    BudgetLease(BudgetLease&& o) noexcept : budget_(o.budget_), bytes_(std::exchange(o.bytes_, 0)) {}
    BudgetLease& operator=(BudgetLease&& o) noexcept {
        if (this != &o) {
            Reset();
            budget_ = o.budget_;
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }
    ~BudgetLease() { Reset(); }

    template <class Stage>
    void Resize(uint64_t bytes, const Stage& stage) {
        if (!budget_) {
            bytes_ = bytes;
            return;
        }
        if (bytes > bytes_) {
            budget_->Reserve(bytes - bytes_, stage);
        } else {
            budget_->Release(bytes_ - bytes);
        }
        bytes_ = bytes;
    }
    void Reset() {
        if (budget_) {
            budget_->Release(bytes_);
        }
        bytes_ = 0;
    }
    uint64_t Bytes() const { return bytes_; }
    MemoryBudget* Budget() const { return budget_; }

private:
    MemoryBudget* budget_ = nullptr;
    uint64_t bytes_ = 0;
};

} // namespace pgsplit::parquet
