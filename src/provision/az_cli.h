#pragma once

// Running the Azure CLI. Every call is an argv vector handed to posix_spawn (no shell, so nothing in
// a name or password is ever interpreted), with `--only-show-errors -o json` appended; stdout is
// parsed as JSON and stderr kept for the error message. Anything rendered (the log line, the dry-run
// plan, an error) goes through the SecretMask first.

#include "config/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/process.h"
#include "provision/secrets.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgsplit::provision {

// Child processes run through core/process.h (argv, no shell).
using pgsplit::ProcessOutput;
using pgsplit::RunProcess;

// One az call's outcome. `json` is null when stdout was empty.
struct AzResult {
    int exit_code = 0;
    std::string out;
    std::string err;
    nlohmann::json json;
    bool Ok() const { return exit_code == 0; }
};

// az's ways of saying "that resource does not exist": exit code 3 (ResourceNotFoundError), or the ARM
// error codes when an older az exits 1.
bool IsNotFound(const AzResult& r);
// The region cannot host a flexible server for this subscription (the texts az has been seen to print).
bool IsRegionRestricted(const AzResult& r);
// No (valid) login: the operator or the workflow must run `az login` first.
bool IsNotLoggedIn(const AzResult& r);

// Quotes an argument for display the way a POSIX shell would need it.
std::string ShellQuote(const std::string& arg);

class AzCli {
public:
    // Finds az: `explicit_path` when given (--az), else the first executable `az` on the configured
    // PATH. Throws Error(Config) with an install hint when there is none.
    static std::string Locate(const std::optional<std::string>& explicit_path, const Config& config);

    // `env` is the environment az runs with; pgsplit's own secrets are removed from it.
    AzCli(std::string az_path, const Config& config, const SecretMask& mask, const Logger& log);

    // Pins every later call to a subscription (--subscription), so the operator's default account in
    // ~/.azure is never changed behind their back.
    void SetSubscription(std::string subscription) { subscription_ = std::move(subscription); }
    const std::string& Subscription() const { return subscription_; }

    // The full argv pgsplit would run for `args` (az path first), common flags appended.
    std::vector<std::string> Argv(const std::vector<std::string>& args) const;
    // That argv as one display line with secrets masked (for logs and --dry-run).
    std::string Render(const std::vector<std::string>& args) const;

    // Runs az. Never throws for az's own failures (the caller decides, e.g. on "not found"), except
    // that output that is not JSON on success and a lost login throw Error naming `step`.
    AzResult Try(const std::string& step, const std::vector<std::string>& args) const;
    // Like Try, but any failure becomes an Error naming `step` with az's stderr (masked) and `hint`.
    AzResult Call(const std::string& step, const std::vector<std::string>& args,
                  const std::string& hint) const;
    // The Error for a failed call (exit 1, or 4 when az is not logged in).
    Error Failure(const std::string& step, const std::vector<std::string>& args, const AzResult& r,
                  const std::string& hint) const;

private:
    std::string path_;
    std::vector<std::string> env_;
    const SecretMask& mask_;
    const Logger& log_;
    std::string subscription_;
};

} // namespace pgsplit::provision
