// pgsplit completion bash|zsh|fish: a shell completion script generated from the CLI11 command tree the
// binary itself parses with, so subcommands, flags and choices cannot drift from the parser.
//
// Long (about 500 lines) because the three shells' scripts are written out here, each as the shell
// expects it; they share the command-tree walk above them.
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
        // Flags (--json, -q, --dry-run, --help) expect no value; only options that do consume a word.
        bool takes_value = opt->get_items_expected_max() > 0;
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

// The helpers both shells share: one `case` per question over the command tree, and the walk over the
// words before the cursor. Written in the subset bash and zsh agree on ([[ ]], (( )), local, `+=`,
// process substitution, no arrays), so the logic exists once.
std::string SharedFunctions(const std::vector<Node>& nodes) {
    std::string s;
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
    s += R"SH(
# Options of a node and of the ancestors it falls through to (pgsplit's global flags work anywhere).
_pgsplit_scope() {
    local node=$1
    while :; do
        printf '%s\n' "$node"
        _pgsplit_inherits "$node" || break
        [[ $node == *" "* ]] && node=${node% *} || node=""
    done
}

# Whether option $2 consumes the next word at node $1: the nearest scope that knows the option decides
# (migrate baseline --version takes a version; the global --version is a flag).
_pgsplit_takes_value() {
    local scope
    while read -r scope; do
        [[ " $(_pgsplit_value_options "$scope") " == *" $2 "* ]] && return 0
        [[ " $(_pgsplit_options "$scope") " == *" $2 "* ]] && return 1
    done < <(_pgsplit_scope "$1")
    return 1
}

# $@: the words after "pgsplit" up to and including the one being completed. Sets _pgsplit_kind
# (words, files or none), _pgsplit_words (the candidates, not yet filtered) and _pgsplit_cur.
_pgsplit_candidates() {
    local node="" prev="" word scope o
    # Walk the words before the cursor: descend into subcommands, skip the values of valued options.
    while (($# > 1)); do
        word=$1
        shift
        [[ $word == "=" ]] && continue
        prev=$word
        if [[ $word == -* ]]; then
            [[ $word == *=* ]] && continue
            if _pgsplit_takes_value "$node" "$word"; then
                # bash splits --opt=value into "--opt" "=" "value" when '=' is in COMP_WORDBREAKS.
                [[ $1 == "=" ]] && (($# > 1)) && shift
                if (($# > 1)); then
                    prev=$1
                    shift
                fi
            fi
            continue
        fi
        if [[ " $(_pgsplit_subcommands "$node") " == *" $word "* ]]; then
            node=${node:+$node }$word
        fi
    done
    _pgsplit_cur=$1
    [[ $_pgsplit_cur == "=" ]] && _pgsplit_cur=""
    _pgsplit_kind=none
    _pgsplit_words=""
    if [[ $prev == -* ]] && _pgsplit_takes_value "$node" "$prev"; then
        while read -r scope; do
            _pgsplit_words=$(_pgsplit_choices "$scope" "$prev")
            if [[ -n $_pgsplit_words ]]; then
                _pgsplit_kind=words
                return 0
            fi
            if _pgsplit_file_option "$scope" "$prev"; then
                _pgsplit_kind=files
                return 0
            fi
        done < <(_pgsplit_scope "$node")
        return 0 # a free value (a month, a DSN): nothing to offer
    fi
    if [[ $_pgsplit_cur == -* ]]; then
        while read -r scope; do
            for o in $(_pgsplit_options "$scope"); do
                [[ " $_pgsplit_words " == *" $o "* ]] || _pgsplit_words+=" $o"
            done
        done < <(_pgsplit_scope "$node")
        _pgsplit_kind=words
        return 0
    fi
    _pgsplit_words=$(_pgsplit_subcommands "$node")
    if [[ -n $_pgsplit_words ]]; then
        _pgsplit_kind=words
    elif _pgsplit_file_positional "$node"; then
        _pgsplit_kind=files
    fi
    return 0
}
)SH";
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
    s += SharedFunctions(nodes);
    s += R"BASH(
_pgsplit() {
    local _pgsplit_kind _pgsplit_words _pgsplit_cur
    _pgsplit_candidates "${COMP_WORDS[@]:1:COMP_CWORD}"
    case $_pgsplit_kind in
    words) COMPREPLY=($(compgen -W "$_pgsplit_words" -- "$_pgsplit_cur")) ;;
    files) COMPREPLY=($(compgen -f -- "$_pgsplit_cur")) ;;
    *) COMPREPLY=() ;;
    esac
    return 0
}

complete -F _pgsplit pgsplit
)BASH";
    return s;
}

std::string ZshScript(const CLI::App& root) {
    std::vector<Node> nodes;
    Collect(root, "", nodes);
    std::string s = fmt::format(R"(#compdef pgsplit
# zsh completion for pgsplit ({}), generated by 'pgsplit completion zsh' from the command tree the
# binary parses with. Load it in the current shell (after compinit):
#   source <(pgsplit completion zsh)
# or install it once as a completion function: pgsplit completion zsh > "${{fpath[1]}}/_pgsplit"

)",
                                PGSPLIT_VERSION);
    s += SharedFunctions(nodes);
    s += R"ZSH(
_pgsplit() {
    local _pgsplit_kind _pgsplit_words _pgsplit_cur
    local -a w
    w=("${(@)words[2,CURRENT]}")
    # --opt=value in one word: complete the value after the '='.
    if [[ ${w[-1]} == --*=* ]]; then
        local opt=${w[-1]%%=*} value=${w[-1]#*=}
        compset -P '*='
        w[-1]=$opt
        w+=("$value")
    fi
    _pgsplit_candidates "${(@)w}"
    case $_pgsplit_kind in
    words) compadd -- ${=_pgsplit_words} ;;
    files) _files ;;
    esac
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    _pgsplit "$@"
elif (($+functions[compdef])); then
    compdef _pgsplit pgsplit
else
    print -u2 "pgsplit completion: compinit is not loaded; run 'autoload -Uz compinit && compinit' first"
fi
)ZSH";
    return s;
}

// fish cannot run the shared bash/zsh functions, so the same questions over the same tree are asked
// in fish's syntax: one `switch` per question (node paths start with "pgsplit", so no case is the
// empty word), and the same walk over the words before the cursor.
std::string FishPath(const std::string& path) {
    return path.empty() ? "pgsplit" : "pgsplit " + path;
}

std::string FishSwitch(const std::string& name, const std::vector<Node>& nodes,
                       const std::function<std::string(const Node&)>& body, bool predicate = false) {
    std::string s = fmt::format("function {}\n    switch $argv[1]\n", name);
    for (const auto& n : nodes) {
        std::string b = body(n);
        if (!b.empty()) {
            s += fmt::format("        case '{}'\n            {}\n", FishPath(n.path), b);
        }
    }
    s += predicate ? "    end\n    return 1\nend\n" : "    end\nend\n";
    return s;
}

std::string FishScript(const CLI::App& root) {
    std::vector<Node> nodes;
    Collect(root, "", nodes);
    std::string s = fmt::format(
        R"(# fish completion for pgsplit ({}), generated by 'pgsplit completion fish' from the command
# tree the binary parses with. Load it in the current shell:
#   pgsplit completion fish | source
# or install it once: pgsplit completion fish > ~/.config/fish/completions/pgsplit.fish

)",
        PGSPLIT_VERSION);
    auto list = [](const std::vector<std::string>& words) {
        return words.empty() ? std::string() : "printf '%s\\n' " + Join(words);
    };
    s += FishSwitch("__pgsplit_subcommands", nodes, [&](const Node& n) { return list(n.subcommands); });
    s += FishSwitch("__pgsplit_options", nodes, [&](const Node& n) { return list(n.options); });
    s += FishSwitch("__pgsplit_value_options", nodes, [&](const Node& n) { return list(n.value_options); });
    s += FishSwitch(
        "__pgsplit_inherits", nodes, [](const Node& n) { return n.inherits ? std::string("return 0") : ""; },
        true);
    s += FishSwitch(
        "__pgsplit_file_positional", nodes,
        [](const Node& n) { return n.file_positional ? std::string("return 0") : ""; }, true);
    s += "function __pgsplit_choices\n    switch \"$argv[1]|$argv[2]\"\n";
    for (const auto& n : nodes) {
        for (const auto& [opt, values] : n.choices) {
            s += fmt::format("        case '{}|{}'\n            {}\n", FishPath(n.path), opt, list(values));
        }
    }
    s += "    end\nend\n";
    s += "function __pgsplit_file_option\n    switch \"$argv[1]|$argv[2]\"\n";
    for (const auto& n : nodes) {
        for (const auto& opt : n.file_options) {
            s += fmt::format("        case '{}|{}'\n            return 0\n", FishPath(n.path), opt);
        }
    }
    s += "    end\n    return 1\nend\n";
    s += R"FISH(
# Options of a node and of the ancestors it falls through to (pgsplit's global flags work anywhere).
function __pgsplit_scope
    set -l node $argv[1]
    while true
        echo $node
        __pgsplit_inherits $node; or break
        set node (string replace -r ' [^ ]+$' '' -- $node)
    end
end

# Whether option $argv[2] consumes the next word at node $argv[1]: the nearest scope that knows the
# option decides (migrate baseline --version takes a version; the global --version is a flag).
function __pgsplit_takes_value
    for scope in (__pgsplit_scope $argv[1])
        contains -- $argv[2] (__pgsplit_value_options $scope); and return 0
        contains -- $argv[2] (__pgsplit_options $scope); and return 1
    end
    return 1
end

# The candidates for the word under the cursor, walking the words before it as bash and zsh do.
function __pgsplit_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -e words[1]
    set -l node pgsplit
    set -l prev ''
    set -l i 1
    while test $i -le (count $words)
        set -l word $words[$i]
        set i (math $i + 1)
        set prev $word
        if string match -q -- '-*' $word
            string match -q -- '*=*' $word; and continue
            if __pgsplit_takes_value $node $word; and test $i -le (count $words)
                set prev $words[$i]
                set i (math $i + 1)
            end
            continue
        end
        if contains -- $word (__pgsplit_subcommands $node)
            set node "$node $word"
        end
    end
    # --opt=value in one word: the value after the '=', offered with its option.
    set -l prefix ''
    if string match -q -r -- '^--[^=]+=' $cur
        set prev (string replace -r -- '=.*$' '' $cur)
        set prefix "$prev="
        set cur (string replace -r -- '^[^=]*=' '' $cur)
    end
    if string match -q -- '-*' $prev; and __pgsplit_takes_value $node $prev
        for scope in (__pgsplit_scope $node)
            set -l values (__pgsplit_choices $scope $prev)
            if test (count $values) -gt 0
                printf '%s\n' $prefix$values
                return 0
            end
            if __pgsplit_file_option $scope $prev
                __fish_complete_path $cur
                return 0
            end
        end
        return 0 # a free value (a month, a DSN): nothing to offer
    end
    if string match -q -- '-*' $cur
        set -l seen
        for scope in (__pgsplit_scope $node)
            for o in (__pgsplit_options $scope)
                contains -- $o $seen; or set -a seen $o
            end
        end
        printf '%s\n' $seen
        return 0
    end
    set -l subs (__pgsplit_subcommands $node)
    if test (count $subs) -gt 0
        printf '%s\n' $subs
    else if __pgsplit_file_positional $node
        __fish_complete_path $cur
    end
end

complete -c pgsplit -e
complete -c pgsplit -f -a '(__pgsplit_complete)'
)FISH";
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
    app.footer("Supported shells: bash, zsh, fish.\n\n"
               "Examples:\n"
               "  source <(pgsplit completion bash)                          this shell only\n"
               "  pgsplit completion bash > /etc/bash_completion.d/pgsplit   every new shell\n"
               "  echo 'source <(pgsplit completion bash)' >> ~/.bashrc      every new shell, no root\n"
               "  pgsplit completion zsh > \"${fpath[1]}/_pgsplit\"           zsh, every new shell\n"
               "  pgsplit completion fish > ~/.config/fish/completions/pgsplit.fish\n"
               "                                                             fish, every new shell\n\n"
               "Exit codes: 0 the script was printed; 2 usage (no shell, or one that is not supported).\n");
    app.add_option("shell", o->shell, "the shell to print a completion script for: bash, zsh or fish")
        ->required()
        ->type_name("SHELL");
    CLI::App* self = &app;
    return [o, self](Context&) {
        if (o->shell != "bash" && o->shell != "zsh" && o->shell != "fish") {
            throw Error(
                ExitCode::Usage,
                fmt::format("pgsplit completion supports bash, zsh and fish, not '{}'", o->shell),
                "run 'pgsplit completion bash', 'pgsplit completion zsh' or 'pgsplit completion fish'");
        }
        const CLI::App* root = self;
        while (root->get_parent() != nullptr) {
            root = root->get_parent();
        }
        // Straight to stdout, whatever the log format: this is a script, not a result to wrap in JSON.
        WriteAll(STDOUT_FILENO, o->shell == "zsh"    ? ZshScript(*root)
                                : o->shell == "fish" ? FishScript(*root)
                                                     : BashScript(*root));
        return 0;
    };
}

} // namespace pgsplit
