// pgsplit completion bash: a bash completion script generated from the CLI11 command tree the binary
// itself parses with, so subcommands, flags and choices cannot drift from the parser.
#include "commands/command.h"
#include "core/error.h"
#include "core/log.h"
#include "pgsplit_version.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <unistd.h>

namespace pgsplit {
namespace {

// What the completion function needs to know about one node of the tree (the root or a subcommand).
struct Node {
    std::string path; // "" for the root, "migrate", "migrate status", ...
    std::vector<std::string> subcommands;
    std::vector<std::string> options;       // every name, flags and valued options alike
    std::vector<std::string> value_options; // the names that consume the next word
    std::vector<std::pair<std::string, std::vector<std::string>>> choices; // option -> allowed values
    std::vector<std::string> file_options;                                 // values that are paths
    bool file_positional = false; // a positional that is a file or table location
    bool inherits = false;        // fallthrough: the parent's options are accepted here too
};

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// CLI::IsMember renders its set into the type name as "TEXT:{a,b,c}"; that is the one place CLI11
// exposes the allowed values, and --help shows the same text.
std::vector<std::string> ChoicesOf(const CLI::Option& opt) {
    const std::string& type = opt.get_type_name();
    auto open = type.find(":{");
    auto close = type.rfind('}');
    if (open == std::string::npos || close == std::string::npos || close < open) {
        return {};
    }
    std::vector<std::string> values;
    std::string item;
    for (char c : type.substr(open + 2, close - open - 2)) {
        if (c == ',') {
            values.push_back(item);
            item.clear();
        } else if (c != ' ') {
            item += c;
        }
    }
    if (!item.empty()) {
        values.push_back(item);
    }
    return values;
}

bool IsPathLike(const std::string& word) {
    std::string w = Lower(word);
    return w == "file" || w == "dir" || w == "path" || w == "uri";
}

void Collect(const CLI::App& app, const std::string& path, std::vector<Node>& out) {
    Node node;
    node.path = path;
    node.inherits = !path.empty() && app.get_fallthrough();
    for (const CLI::Option* opt : app.get_options()) {
        if (!opt->nonpositional()) {
            node.file_positional = node.file_positional || IsPathLike(opt->get_name(true, false)) ||
                                   IsPathLike(opt->get_type_name());
            continue;
        }
        if (opt->get_group().empty()) {
            continue; // hidden from --help, hidden here too
        }
        std::vector<std::string> names;
        for (const auto& l : opt->get_lnames()) {
            names.push_back("--" + l);
        }
        for (const auto& s : opt->get_snames()) {
            names.push_back("-" + s);
        }
        bool takes_value = opt->get_type_size() > 0;
        auto choices = ChoicesOf(*opt);
        for (const auto& n : names) {
            node.options.push_back(n);
            if (!takes_value) {
                continue;
            }
            node.value_options.push_back(n);
            if (!choices.empty()) {
                node.choices.emplace_back(n, choices);
            } else if (IsPathLike(opt->get_type_name())) {
                node.file_options.push_back(n);
            }
        }
    }
    auto subs = app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
    for (const CLI::App* sub : subs) {
        node.subcommands.push_back(sub->get_name());
    }
    out.push_back(node);
    for (const CLI::App* sub : subs) {
        Collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
    }
}

std::string Join(const std::vector<std::string>& words) {
    std::string s;
    for (const auto& w : words) {
        s += (s.empty() ? "" : " ") + w;
    }
    return s;
}

// One `case` over node paths per question the completion function asks. Names in the tree are plain
// words ([a-z0-9-]), so they need no quoting inside the double-quoted patterns and lists.
std::string CaseFunction(const std::string& name, const std::vector<Node>& nodes,
                         const std::function<std::string(const Node&)>& body, bool predicate = false) {
    std::string s = fmt::format("{}() {{\n    case \"$1\" in\n", name);
    for (const auto& n : nodes) {
        std::string b = body(n);
        if (!b.empty()) {
            s += fmt::format("    \"{}\") {} ;;\n", n.path, b);
        }
    }
    // A case that matches nothing succeeds; a predicate must say no instead.
    s += predicate ? "    esac\n    return 1\n}\n" : "    esac\n}\n";
    return s;
}

std::string BashScript(const CLI::App& root) {
    std::vector<Node> nodes;
    Collect(root, "", nodes);
    std::string s =
        fmt::format(R"(# bash completion for pgsplit ({}), generated by 'pgsplit completion bash' from the
# command tree the binary parses with. Load it in the current shell:
#   source <(pgsplit completion bash)
# or install it once: pgsplit completion bash > /etc/bash_completion.d/pgsplit

)",
                    PGSPLIT_VERSION);
    s += CaseFunction("_pgsplit_subcommands", nodes, [](const Node& n) {
        return n.subcommands.empty() ? std::string() : fmt::format("echo \"{}\"", Join(n.subcommands));
    });
    s += CaseFunction("_pgsplit_options", nodes, [](const Node& n) {
        return n.options.empty() ? std::string() : fmt::format("echo \"{}\"", Join(n.options));
    });
    s += CaseFunction("_pgsplit_value_options", nodes, [](const Node& n) {
        return n.value_options.empty() ? std::string() : fmt::format("echo \"{}\"", Join(n.value_options));
    });
    s += CaseFunction(
        "_pgsplit_inherits", nodes,
        [](const Node& n) { return n.inherits ? std::string("return 0") : std::string(); }, true);
    s += CaseFunction(
        "_pgsplit_file_positional", nodes,
        [](const Node& n) { return n.file_positional ? std::string("return 0") : std::string(); }, true);
    // Choices and path values per (node, option).
    s += "_pgsplit_choices() {\n    case \"$1|$2\" in\n";
    for (const auto& n : nodes) {
        for (const auto& [opt, values] : n.choices) {
            s += fmt::format("    \"{}|{}\") echo \"{}\" ;;\n", n.path, opt, Join(values));
        }
    }
    s += "    esac\n}\n";
    s += "_pgsplit_file_option() {\n    case \"$1|$2\" in\n";
    for (const auto& n : nodes) {
        for (const auto& opt : n.file_options) {
            s += fmt::format("    \"{}|{}\") return 0 ;;\n", n.path, opt);
        }
    }
    s += "    esac\n    return 1\n}\n";
    s += R"BASH(
# Options of a node and of the ancestors it falls through to (pgsplit's global flags work anywhere).
_pgsplit_scope() {
    local node=$1
    while :; do
        printf '%s\n' "$node"
        _pgsplit_inherits "$node" || break
        [[ $node == *" "* ]] && node=${node% *} || node=""
    done
}

_pgsplit() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    local node="" i word scope
    # Walk the words before the cursor: descend into subcommands, skip option values.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -* ]]; then
            [[ $word == *=* ]] && continue
            while read -r scope; do
                if [[ " $(_pgsplit_value_options "$scope") " == *" $word "* ]]; then
                    ((i++))
                    break
                fi
            done < <(_pgsplit_scope "$node")
            continue
        fi
        if [[ " $(_pgsplit_subcommands "$node") " == *" $word "* ]]; then
            node=${node:+$node }$word
        fi
    done
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    # --opt=value splits into "--opt" "=" "value" when '=' is in COMP_WORDBREAKS.
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    if [[ $prev == -* ]]; then
        while read -r scope; do
            local choices
            choices=$(_pgsplit_choices "$scope" "$prev")
            if [[ -n $choices ]]; then
                COMPREPLY=($(compgen -W "$choices" -- "$cur"))
                return 0
            fi
            if _pgsplit_file_option "$scope" "$prev"; then
                COMPREPLY=($(compgen -f -- "$cur"))
                return 0
            fi
            if [[ " $(_pgsplit_value_options "$scope") " == *" $prev "* ]]; then
                COMPREPLY=()
                return 0
            fi
        done < <(_pgsplit_scope "$node")
    fi
    if [[ $cur == -* ]]; then
        local opts="" o
        while read -r scope; do
            for o in $(_pgsplit_options "$scope"); do
                [[ " $opts " == *" $o "* ]] || opts+=" $o"
            done
        done < <(_pgsplit_scope "$node")
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi
    local subs
    subs=$(_pgsplit_subcommands "$node")
    if [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    elif _pgsplit_file_positional "$node"; then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=()
    fi
    return 0
}

complete -F _pgsplit pgsplit
)BASH";
    return s;
}

struct CompletionOpts {
    std::string shell;
};

} // namespace

Runner SetupCompletion(CLI::App& app) {
    auto o = std::make_shared<CompletionOpts>();
    app.description("Print a shell completion script for pgsplit, generated from the same command tree the\n"
                    "binary parses with (subcommands, their subcommands, flags, and the allowed values of\n"
                    "--log-format and --color), so it always matches the installed binary.");
    app.footer("Supported shells: bash.\n\n"
               "Examples:\n"
               "  source <(pgsplit completion bash)                          this shell only\n"
               "  pgsplit completion bash > /etc/bash_completion.d/pgsplit   every new shell\n"
               "  echo 'source <(pgsplit completion bash)' >> ~/.bashrc      every new shell, no root\n\n"
               "Exit codes: 0 the script was printed; 2 usage (no shell, or one that is not supported).\n");
    app.add_option("shell", o->shell, "the shell to print a completion script for: bash")
        ->required()
        ->type_name("SHELL");
    CLI::App* self = &app;
    return [o, self](Context&) {
        if (o->shell != "bash") {
            throw Error(ExitCode::Usage,
                        fmt::format("pgsplit completion supports bash only, not '{}'", o->shell),
                        "run 'pgsplit completion bash'");
        }
        const CLI::App* root = self;
        while (root->get_parent() != nullptr) {
            root = root->get_parent();
        }
        // Straight to stdout, whatever the log format: this is a script, not a result to wrap in JSON.
        WriteAll(STDOUT_FILENO, BashScript(*root));
        return 0;
    };
}

} // namespace pgsplit
