#include "storage/azure/fetch_pool.h"

namespace pgsplit::storage::azure {

FetchPool::~FetchPool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
        queue_.clear(); // their packaged tasks die unrun: the futures say broken_promise
    }
    cv_.notify_all();
    for (auto& t : threads_) {
        t.join();
    }
}

void FetchPool::Post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
    // A new thread only when none is waiting for work and the bound allows one.
    if (idle_ < queue_.size() && threads_.size() < max_threads_) {
        threads_.emplace_back([this] { Loop(); });
    }
    cv_.notify_one();
}

void FetchPool::Loop() {
    while (true) {
        std::function<void()> task;
        {
            std::unique_lock<std::mutex> lock(mu_);
            ++idle_;
            cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            --idle_;
            if (stop_) {
                return;
            }
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task();
    }
}

} // namespace pgsplit::storage::azure
