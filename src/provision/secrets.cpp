#include "provision/secrets.h"

#include "config/dsn.h"
#include "core/error.h"

#include <algorithm>
#include <cctype>
#include <openssl/rand.h>

namespace pgsplit::provision {
namespace {

constexpr const char* kMasked = "***";

std::string Base64Url(const unsigned char* data, size_t len) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; ++i) {
        acc = (acc << 8) | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) {
        out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
    }
    return out;
}

} // namespace

void SecretMask::Add(const std::string& secret) {
    if (secret.empty() || std::find(raw_.begin(), raw_.end(), secret) != raw_.end()) {
        return;
    }
    raw_.push_back(secret);
    forms_.push_back(secret);
    std::string encoded = PercentEncode(secret);
    if (encoded != secret) {
        forms_.push_back(encoded);
    }
    // Longest first, so a secret that contains another is replaced whole.
    std::sort(forms_.begin(), forms_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string SecretMask::Apply(std::string_view text) const {
    std::string out(text);
    for (const auto& form : forms_) {
        size_t pos = 0;
        while ((pos = out.find(form, pos)) != std::string::npos) {
            out.replace(pos, form.size(), kMasked);
            pos += 3;
        }
    }
    return out;
}

std::string GeneratePassword() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        unsigned char bytes[32];
        if (RAND_bytes(bytes, sizeof bytes) != 1) {
            throw Error(ExitCode::Failure, "could not generate a password: OpenSSL's random generator failed",
                        "set the password in the environment instead (PGSPLIT_*_PASSWORD)");
        }
        std::string pw = Base64Url(bytes, sizeof bytes);
        bool upper = std::any_of(pw.begin(), pw.end(), [](unsigned char c) { return std::isupper(c); });
        bool lower = std::any_of(pw.begin(), pw.end(), [](unsigned char c) { return std::islower(c); });
        bool digit = std::any_of(pw.begin(), pw.end(), [](unsigned char c) { return std::isdigit(c); });
        if (upper && lower && digit && pw[0] != '-') {
            return pw;
        }
    }
    // 100 draws of 43 characters all missing a class is not going to happen with a working RNG.
    throw Error(ExitCode::Failure, "could not generate a password with upper, lower case and digits");
}

std::string AdminPasswordProblem(std::string_view password) {
    if (password.size() < 8 || password.size() > 128) {
        return "it must be 8 to 128 characters long";
    }
    int classes = 0;
    auto has = [&](auto pred) { return std::any_of(password.begin(), password.end(), pred); };
    classes += has([](unsigned char c) { return std::isupper(c) != 0; });
    classes += has([](unsigned char c) { return std::islower(c) != 0; });
    classes += has([](unsigned char c) { return std::isdigit(c) != 0; });
    classes += has([](unsigned char c) { return !std::isalnum(c); });
    if (classes < 3) {
        return "it must contain three of: upper-case letters, lower-case letters, digits, other characters";
    }
    return {};
}

} // namespace pgsplit::provision
