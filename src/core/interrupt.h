#pragma once

namespace pgsplit {

// SIGINT/SIGTERM handling. The handler records the signal and asks every registered PostgreSQL
// connection to cancel its running statement (PQcancel is async-signal-safe), so long work stops
// promptly, rolls back and exits 130/143. This is the one piece of process-global state: a signal
// handler cannot be handed a context.
void InstallInterruptHandlers();

// 0 when no signal arrived, else the signal number.
int InterruptSignal();

// Throws Error(Interrupt/Terminate) when a signal arrived. Call at safe points of long loops.
void CheckInterrupt();

// Exit code for the received signal (130 for SIGINT, 143 for SIGTERM), or 0.
int InterruptExitCode();

// Registers an opaque PGcancel* to be cancelled on a signal; returns a slot id or -1 when full.
int RegisterCancel(void* pg_cancel);
void UnregisterCancel(int slot);

// For tests: forget a recorded signal.
void ResetInterruptForTests();

} // namespace pgsplit
