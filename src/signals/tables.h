#pragma once

// The phase-2 signal tables: the labels pgsplit uses for them (log lines, JSON, ledger columns) and
// their PostgreSQL names (migration 0003). Constants of pgsplit's, safe to write into SQL.

namespace pgsplit::signals {

inline constexpr const char* kSignalsLabel = "ranking_signal";
inline constexpr const char* kCompositeLabel = "composite_signal_daily";
inline constexpr const char* kSignalsTarget = "ranking.ranking_signal";
inline constexpr const char* kCompositeTarget = "ranking.composite_signal_daily";
inline constexpr const char* kLedgerTable = "ranking.signal_sync_state";

} // namespace pgsplit::signals
