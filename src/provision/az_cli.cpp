#include "provision/az_cli.h"

#include "core/error.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace pgsplit::provision {
namespace {

bool Contains(const std::string& haystack, std::string_view needle) {
    auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    return it != haystack.end();
}

// The first lines of az's stderr, enough to explain a failure without the wall of text some ARM
// errors carry.
std::string Excerpt(const std::string& text, size_t max_lines = 6) {
    std::string out;
    size_t lines = 0, start = 0;
    while (start < text.size() && lines < max_lines) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!line.empty()) {
            out += (out.empty() ? "" : "\n  ") + line;
            ++lines;
        }
        start = end + 1;
    }
    if (out.empty()) {
        return "(no message on stderr)";
    }
    return out;
}

// "az postgres flexible-server create": the command words, for messages.
std::string CommandName(const std::vector<std::string>& args) {
    std::string out = "az";
    for (const auto& a : args) {
        if (a.rfind("-", 0) == 0) {
            break;
        }
        out += " " + a;
    }
    return out;
}

} // namespace

bool IsNotFound(const AzResult& r) {
    if (r.Ok()) {
        return false;
    }
    return r.exit_code == 3 || Contains(r.err, "ResourceNotFound") ||
           Contains(r.err, "ResourceGroupNotFound") || Contains(r.err, "could not be found") ||
           Contains(r.err, "was not found");
}

bool IsRegionRestricted(const AzResult& r) {
    if (r.Ok()) {
        return false;
    }
    return Contains(r.err, "location is restricted for provisioning of flexible servers") ||
           Contains(r.err, "LocationIsOfferRestricted") ||
           Contains(r.err, "Please try using another region") ||
           Contains(r.err, "is restricted from provisioning in location");
}

bool IsNotLoggedIn(const AzResult& r) {
    if (r.Ok()) {
        return false;
    }
    return Contains(r.err, "az login") || Contains(r.err, "AADSTS700082") ||
           Contains(r.err, "refresh token has expired");
}

std::string ShellQuote(const std::string& arg) {
    bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](unsigned char c) {
        return std::isalnum(c) || std::strchr("-_./:=,@%+*", c) != nullptr;
    });
    if (plain) {
        return arg;
    }
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    return out + "'";
}

std::string AzCli::Locate(const std::optional<std::string>& explicit_path, const Config& config) {
    if (explicit_path && !explicit_path->empty()) {
        if (!IsExecutable(*explicit_path)) {
            throw Error(ExitCode::Config, fmt::format("--az {}: not an executable file", *explicit_path),
                        "give the path of the Azure CLI's az program, or leave --az out to search PATH");
        }
        return *explicit_path;
    }
    if (auto found = FindOnPath("az", config.SearchPath())) {
        return *found;
    }
    throw Error(ExitCode::Config, "the Azure CLI (az) was not found on PATH",
                "install it (https://aka.ms/installazurecli) or pass --az /path/to/az");
}

AzCli::AzCli(std::string az_path, const Config& config, const SecretMask& mask, const Logger& log)
    : path_(std::move(az_path)), mask_(mask), log_(log) {
    env_ = config.ChildEnvironment();
}

std::vector<std::string> AzCli::Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {path_};
    argv.insert(argv.end(), args.begin(), args.end());
    // `az ad ...` reads Microsoft Graph, which is tenant-wide: az refuses --subscription there.
    bool graph = !args.empty() && args[0] == "ad";
    if (!subscription_.empty() && !graph) {
        argv.push_back("--subscription");
        argv.push_back(subscription_);
    }
    for (const char* common : {"--only-show-errors", "-o", "json"}) {
        argv.push_back(common);
    }
    return argv;
}

std::string AzCli::Render(const std::vector<std::string>& args) const {
    std::string line;
    auto argv = Argv(args);
    argv[0] = "az";
    for (const auto& a : argv) {
        // The admin password flag is hidden whatever its value, even one not registered as a secret.
        std::string shown = a.rfind("--admin-password=", 0) == 0 ? "--admin-password=***" : mask_.Apply(a);
        if (!line.empty()) {
            line += ' ';
        }
        line += ShellQuote(shown);
    }
    return line;
}

AzResult AzCli::Try(const std::string& step, const std::vector<std::string>& args) const {
    log_.Debug(fmt::format("{}: running {}", step, Render(args)));
    auto started = std::chrono::steady_clock::now();
    ProcessOutput p = RunProcess(path_, Argv(args), env_);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    AzResult r{p.exit_code, std::move(p.out), std::move(p.err), nullptr};
    log_.Debug(fmt::format("{}: {} exited with {}", step, CommandName(args), r.exit_code),
               {{"step", step}, {"ms", ms.count()}});
    if (IsNotLoggedIn(r)) {
        throw Failure(step, args, r, "");
    }
    if (r.Ok()) {
        bool blank = std::all_of(r.out.begin(), r.out.end(), [](unsigned char c) { return std::isspace(c); });
        if (!blank) {
            r.json = nlohmann::json::parse(r.out, nullptr, false);
            if (r.json.is_discarded()) {
                throw Error(ExitCode::Failure,
                            fmt::format("step '{}': {} printed output that is not JSON: {}", step,
                                        CommandName(args), mask_.Apply(Excerpt(r.out, 3))),
                            "check that --az / PATH points at the Azure CLI (az version) and that no az "
                            "extension or config overrides the output format");
            }
        }
    }
    return r;
}

AzResult AzCli::Call(const std::string& step, const std::vector<std::string>& args,
                     const std::string& hint) const {
    AzResult r = Try(step, args);
    if (!r.Ok()) {
        throw Failure(step, args, r, hint);
    }
    return r;
}

Error AzCli::Failure(const std::string& step, const std::vector<std::string>& args, const AzResult& r,
                     const std::string& hint) const {
    std::string message = fmt::format("step '{}': {} failed (exit {}): {}", step, CommandName(args),
                                      r.exit_code, mask_.Apply(Excerpt(r.err)));
    if (IsNotLoggedIn(r)) {
        return Error(ExitCode::Connect, message,
                     "log in first: 'az login' at a shell, azure/login in GitHub Actions, or "
                     "'az login --identity' with a managed identity");
    }
    return Error(ExitCode::Failure, message,
                 hint.empty()
                     ? "run the command shown with --verbose, or fix the cause az reports and re-run "
                       "(pgsplit provision is idempotent)"
                     : hint);
}

} // namespace pgsplit::provision
