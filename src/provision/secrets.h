#pragma once

// Secrets handled by `pgsplit provision`: generating passwords and hiding them from everything that
// is rendered (logs, errors, the dry-run plan, az's own output).

#include <string>
#include <string_view>
#include <vector>

namespace pgsplit::provision {

// Replaces every known secret in a text by ***. Each secret is registered in its raw form and in the
// percent-encoded form it takes inside a DSN, so neither spelling can slip through.
class SecretMask {
public:
    void Add(const std::string& secret);
    std::string Apply(std::string_view text) const;
    // The raw secrets, in the order they were added (for ::add-mask::).
    const std::vector<std::string>& Secrets() const { return raw_; }

private:
    std::vector<std::string> raw_;
    std::vector<std::string> forms_; // raw and encoded, longest first
};

// A password from OpenSSL's CSPRNG: 32 random bytes in URL-safe base64 (43 characters). It always holds
// an upper-case letter, a lower-case letter and a digit (Azure's admin password rule asks for three
// character classes) and never starts with '-' (az's argument parser would read it as a flag).
std::string GeneratePassword();

// Checks a password against Azure's rules for the server admin (8-128 characters, three of: upper,
// lower, digit, other). Returns an empty string when it passes, else what is wrong.
std::string AdminPasswordProblem(std::string_view password);

} // namespace pgsplit::provision
