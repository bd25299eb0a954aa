#include "core/interrupt.h"

#include "core/error.h"

#include <atomic>
#include <csignal>
#include <libpq-fe.h>

namespace pgsplit {
namespace {

constexpr int kSlots = 64;
std::atomic<int> g_signal{0};
std::atomic<void*> g_cancels[kSlots];

void OnSignal(int sig) {
    int expected = 0;
    g_signal.compare_exchange_strong(expected, sig);
    char errbuf[256];
    for (auto& slot : g_cancels) {
        void* c = slot.load();
        if (c) {
            PQcancel(static_cast<PGcancel*>(c), errbuf, sizeof errbuf);
        }
    }
}

} // namespace

void InstallInterruptHandlers() {
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

int InterruptSignal() {
    return g_signal.load();
}

int InterruptExitCode() {
    int s = g_signal.load();
    if (s == SIGINT) {
        return 130;
    }
    if (s == SIGTERM) {
        return 143;
    }
    return 0;
}

void CheckInterrupt() {
    int s = g_signal.load();
    if (s == SIGINT) {
        throw Error(ExitCode::Interrupt, "interrupted by SIGINT; work was rolled back");
    }
    if (s == SIGTERM) {
        throw Error(ExitCode::Terminate, "terminated by SIGTERM; work was rolled back");
    }
}

int RegisterCancel(void* pg_cancel) {
    for (int i = 0; i < kSlots; ++i) {
        void* expected = nullptr;
        if (g_cancels[i].compare_exchange_strong(expected, pg_cancel)) {
            return i;
        }
    }
    return -1;
}

void UnregisterCancel(int slot) {
    if (slot >= 0 && slot < kSlots) {
        g_cancels[slot].store(nullptr);
    }
}

void ResetInterruptForTests() {
    g_signal.store(0);
}

} // namespace pgsplit
