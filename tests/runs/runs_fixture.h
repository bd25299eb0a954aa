#pragma once

// A seeded backtest.runs shared by the store tests and the CLI tests. Every timestamp is relative to
// one now() (a single transaction), and the durations are chosen so that the percentiles are known:
//
//   run time (completed_at - started_at) of c01..c18 is 1..18 min, of f1/f2 19 and 20 min
//     -> 20 samples, p50 = 10.5 min = 630000 ms, p95 = 19.05 min = 1143000 ms (percentile_cont)
//   queue wait (started_at - submitted_at) of c01..c18 is 10..180 s, f1 190 s, f2 200 s, r2 210 s,
//     r1 9 h (the outlier)
//     -> 22 samples, p50 = 115 s = 115000 ms, p95 = 209.5 s = 209500 ms
//
// submitted (ago)  run      status     notes
//   5 min          q1       queued     run_name NULL
//   2 h            q3       queued     unicode run name
//   7 h 3.5 min    r2       running    started 7 h ago               -> stale at 6h
//   8 h            q2       queued                                    -> stale at 6h
//   10 h           r1       running    started 1 h ago (not stale at 6h: since started_at)
//   25..42 h       c01..c18 completed  c01 has a long config JSON
//   3 d            f1       failed     started, one-line error
//   4 d            f2       failed     started, multi-line traceback
//   10 d           f3       failed     never started (started_at NULL), long error

#include "support/pg_cluster.h"

#include <string>

namespace pgsplit::test {

inline constexpr const char* kUnicodeName = "Momentum — 動量 ✓ évènement 🚀";
inline constexpr int kSeededRuns = 26;

// Applies migrations 0001-0004 to the database.
void ApplySchema(const TestDatabase& db);
// Applies the schema and inserts the runs above.
void SeedRuns(const TestDatabase& db);
// The long config JSON stored in c01 (keys in a deliberate, non-alphabetical order).
const std::string& LongConfigJson();

} // namespace pgsplit::test
