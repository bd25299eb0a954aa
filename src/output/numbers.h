#pragma once

// Numbers as people read them in tables and progress lines.

#include <cstdint>
#include <string>

namespace pgsplit {

// "1,234,567" (commas every three digits; the sign stays in front).
std::string GroupDigits(int64_t n);

} // namespace pgsplit
