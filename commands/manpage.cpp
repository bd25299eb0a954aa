// pgsplit manpage: the pgsplit(1) manual page in roff, generated from the same CLI11 command tree the
// binary parses with (descriptions, flags, examples, exit codes), so the page cannot drift from
// --help. The build writes it to build/pgsplit.1 and `cmake --install` puts it in share/man/man1.
#include "commands/command.h"
#include "core/log.h"
#include "pgsplit_version.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <unistd.h>

namespace pgsplit {
namespace {

// Text as roff: backslashes and hyphens escaped, a line that would start with a control character
// ('.' or '\'') protected with \&.
std::string Roff(const std::string& text) {
    std::string out;
    bool line_start = true;
    for (char c : text) {
        if (line_start && (c == '.' || c == '\'')) {
            out += "\\&";
        }
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else {
            out += c;
        }
        line_start = c == '\n';
    }
    return out;
}

// A block printed as written (examples, tables of exit codes): no filling, no adjusting.
std::string Verbatim(const std::string& text) {
    std::string body = text;
    while (!body.empty() && body.front() == '\n') {
        body.erase(0, 1);
    }
    while (!body.empty() && body.back() == '\n') {
        body.pop_back();
    }
    return body.empty() ? "" : ".PP\n.nf\n" + Roff(body) + "\n.fi\n";
}

std::string OptionEntries(const CLI::App& app) {
    std::string s;
    for (const CLI::Option* opt : app.get_options()) {
        if (opt->get_group().empty() || opt->get_name() == "--help" || opt->get_name() == "-h,--help") {
            continue;
        }
        std::string names;
        if (!opt->nonpositional()) {
            names = "\\fI" + Roff(opt->get_name(true, false)) + "\\fR";
        } else {
            for (const auto& sn : opt->get_snames()) {
                names += (names.empty() ? "" : ", ") + std::string("\\fB\\-") + Roff(sn) + "\\fR";
            }
            for (const auto& l : opt->get_lnames()) {
                names += (names.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + Roff(l) + "\\fR";
            }
            if (opt->get_items_expected_max() > 0) {
                std::string type = opt->get_type_name();
                auto brace = type.find(":{");
                if (brace != std::string::npos) { // "TEXT:{text,json}" -> "text|json", as --help shows it
                    type = type.substr(brace + 2, type.rfind('}') - brace - 2);
                    std::replace(type.begin(), type.end(), ',', '|');
                }
                names += " \\fI" + Roff(type) + "\\fR";
            }
        }
        s += ".TP\n" + names + "\n" + Roff(opt->get_description()) + "\n";
    }
    return s;
}

std::string Page(const CLI::App& root) {
    std::string s = fmt::format(".TH PGSPLIT 1 \"\" \"pgsplit {}\" \"User Commands\"\n", PGSPLIT_VERSION);
    s += ".SH NAME\npgsplit \\- " +
         Roff(root.get_description().substr(root.get_description().find(' ') + 1)) + "\n";
    s += ".SH SYNOPSIS\n.B pgsplit\n[\\fIGLOBAL FLAGS\\fR] \\fICOMMAND\\fR [\\fISUBCOMMAND\\fR] "
         "[\\fIFLAGS\\fR]\n.br\n.B pgsplit help\n[\\fICOMMAND\\fR...]\n";
    s += ".SH DESCRIPTION\nOne binary for every runbook step of the Postgres serving split: Delta Lake "
         "tables on Azure Data Lake Storage stay canonical, and PostgreSQL serves copies of them and holds "
         "job state. It runs in three modes: at a shell (readable tables, colour on a TTY), in a GitHub "
         "Actions step (annotations, a step summary and step outputs; GITHUB_ACTIONS=true is detected) and "
         "as an Azure Container Apps job (JSON log lines on stdout; CONTAINER_APP_JOB_NAME is detected).\n";
    s += ".SH GLOBAL FLAGS\nAccepted before or after the command.\n" + OptionEntries(root);
    s += ".SH COMMANDS\n";
    std::function<void(const CLI::App&, const std::string&)> visit = [&](const CLI::App& app,
                                                                         const std::string& path) {
        for (const CLI::App* sub :
             app.get_subcommands([](const CLI::App* x) { return !x->get_group().empty(); })) {
            if (sub->get_name() == "help") {
                continue;
            }
            std::string name = path + " " + sub->get_name();
            s += ".SS \"" + Roff(name) + "\"\n";
            std::string desc = sub->get_description();
            s += Roff(desc.empty() ? std::string() : desc) + "\n";
            s += OptionEntries(*sub);
            // The footer's first part is the global flags section (listed once above): skip it.
            std::string footer = sub->get_footer();
            auto globals = footer.find("Global flags");
            if (globals != std::string::npos) {
                auto end = footer.find("\n\n", globals);
                footer = end == std::string::npos ? "" : footer.substr(end + 2);
            }
            if (footer.rfind("Examples and exit codes:", 0) != 0) {
                s += Verbatim(footer);
            }
            visit(*sub, name);
        }
    };
    visit(root, "pgsplit");
    s += ".SH EXIT STATUS\n" + Verbatim(root.get_footer());
    s += ".SH ENVIRONMENT\n.TP\n.B POSTGRES_DSN\nthe PostgreSQL DSN when \\-\\-dsn is not given\n"
         ".TP\n.B PGSPLIT_LOG_FORMAT\ntext or json\n.TP\n.B NO_COLOR\nset: no colour with \\-\\-color auto\n"
         ".TP\n.B COLUMNS\nthe width tables are fitted to (\\-\\-wide: never cut)\n"
         ".TP\n.B GITHUB_ACTIONS\ntrue: GitHub Actions mode\n"
         ".TP\n.B CONTAINER_APP_JOB_NAME\nset: Container Apps mode (JSON logs)\n";
    s += ".SH SEE ALSO\nThe README and the runbooks in the pgsplit repository; \\fBpgsplit help "
         "\\fICOMMAND\\fR.\n";
    return s;
}

} // namespace

Runner SetupManpage(CLI::App& app) {
    app.group(""); // not listed in --help or completion: it is for the build
    CLI::App* self = &app;
    return [self](Context&) {
        const CLI::App* root = self;
        while (root->get_parent() != nullptr) {
            root = root->get_parent();
        }
        WriteAll(STDOUT_FILENO, Page(*root));
        return 0;
    };
}

} // namespace pgsplit
