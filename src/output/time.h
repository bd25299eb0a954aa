#pragma once

#include <string>

namespace pgsplit {

// The two ways pgsplit shows a point in time, whatever form PostgreSQL or a log handed it over in
// ("2026-11-22T00:12:18.625166+00:00", "2026-11-22 01:12:18+01", "2026-11-22T00:12:18Z"):
//
//   HumanTime: "2026-11-22 00:12:18 UTC"       tables and messages for people (whole seconds, UTC)
//   JsonTime:  "2026-11-22T00:12:18.625166Z"   JSON documents (RFC 3339, UTC, fraction kept)
//
// A time without an offset is taken as UTC. Text that is not a time is returned unchanged.
std::string HumanTime(const std::string& text);
std::string JsonTime(const std::string& text);

} // namespace pgsplit
