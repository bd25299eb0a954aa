#pragma once

// The threads a remote table's read-ahead runs on: at most N tasks at once (so at most N requests in
// flight besides the caller's own), started lazily (a table read with --io-concurrency 1, or never
// read ahead, starts none). Tasks are run in the order they were posted. Destroying the pool drops the
// tasks not yet started (their futures report std::future_errc::broken_promise) and waits for the
// running ones, so a task may use anything that outlives the pool.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pgsplit::storage::azure {

class FetchPool {
public:
    explicit FetchPool(int threads) : max_threads_(threads < 0 ? 0 : static_cast<size_t>(threads)) {}
    ~FetchPool();
    FetchPool(const FetchPool&) = delete;
    FetchPool& operator=(const FetchPool&) = delete;

    size_t Threads() const { return max_threads_; }

    // Runs `fn` on a pool thread; its result (or exception) arrives through the future. With no
    // threads at all it runs here, now.
    template <typename Fn>
    auto Submit(Fn fn) -> std::future<decltype(fn())> {
        using R = decltype(fn());
        auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
        std::future<R> future = task->get_future();
        if (max_threads_ == 0) {
            (*task)();
            return future;
        }
        Post([task] { (*task)(); });
        return future;
    }

private:
    void Post(std::function<void()> task);
    void Loop();

    size_t max_threads_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    size_t idle_ = 0;
    bool stop_ = false;
};

} // namespace pgsplit::storage::azure
