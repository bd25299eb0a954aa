#include "output/time.h"

#include <cctype>
#include <ctime>
#include <fmt/format.h>
#include <optional>

namespace pgsplit {
namespace {

struct Parsed {
    std::tm utc{};
    std::string fraction; // digits after the decimal point, possibly empty
};

bool Digits(const std::string& s, size_t at, size_t n) {
    if (at + n > s.size()) {
        return false;
    }
    for (size_t i = at; i < at + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    return true;
}

int Num(const std::string& s, size_t at, size_t n) {
    return std::stoi(s.substr(at, n));
}

// YYYY-MM-DD(T| )HH:MM:SS[.f+][Z|(+|-)HH[[:]MM]], shifted to UTC.
std::optional<Parsed> Parse(const std::string& s) {
    if (!Digits(s, 0, 4) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' ||
        !Digits(s, 8, 2) || (s[10] != 'T' && s[10] != ' ') || !Digits(s, 11, 2) || s[13] != ':' ||
        !Digits(s, 14, 2) || s[16] != ':' || !Digits(s, 17, 2)) {
        return std::nullopt;
    }
    Parsed p;
    std::tm t{};
    t.tm_year = Num(s, 0, 4) - 1900;
    t.tm_mon = Num(s, 5, 2) - 1;
    t.tm_mday = Num(s, 8, 2);
    t.tm_hour = Num(s, 11, 2);
    t.tm_min = Num(s, 14, 2);
    t.tm_sec = Num(s, 17, 2);
    size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            p.fraction += s[i++];
        }
    }
    long offset = 0;
    if (i < s.size() && s[i] == 'Z') {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        ++i;
        if (!Digits(s, i, 2)) {
            return std::nullopt;
        }
        long hh = Num(s, i, 2), mm = 0;
        i += 2;
        if (i < s.size() && s[i] == ':') {
            ++i;
        }
        if (Digits(s, i, 2)) {
            mm = Num(s, i, 2);
            i += 2;
        }
        offset = sign * (hh * 3600 + mm * 60);
    }
    if (i != s.size()) {
        return std::nullopt;
    }
    time_t secs = timegm(&t) - offset;
    if (gmtime_r(&secs, &p.utc) == nullptr) {
        return std::nullopt;
    }
    return p;
}

std::string DateTime(const std::tm& t, char sep) {
    return fmt::format("{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, sep,
                       t.tm_hour, t.tm_min, t.tm_sec);
}

} // namespace

std::string HumanTime(const std::string& text) {
    auto p = Parse(text);
    return p ? DateTime(p->utc, ' ') + " UTC" : text;
}

std::string JsonTime(const std::string& text) {
    auto p = Parse(text);
    if (!p) {
        return text;
    }
    return DateTime(p->utc, 'T') + (p->fraction.empty() ? "" : "." + p->fraction) + "Z";
}

} // namespace pgsplit
