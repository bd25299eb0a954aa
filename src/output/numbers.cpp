#include "output/numbers.h"

namespace pgsplit {

std::string GroupDigits(int64_t n) {
    std::string digits = std::to_string(n);
    size_t sign = n < 0 ? 1 : 0;
    std::string out = digits.substr(0, sign);
    for (size_t i = sign; i < digits.size(); ++i) {
        if (i > sign && (digits.size() - i) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(digits[i]);
    }
    return out;
}

} // namespace pgsplit
