#include "runbooks/extract.h"

#include "support/process.h"

#include <regex>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace pgsplit::test::runbooks {
namespace {

std::string Trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) {
        return "";
    }
    size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// Splits at the first unquoted '#' that starts a word.
std::pair<std::string, std::string> SplitComment(const std::string& line) {
    bool single = false, dbl = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (single) {
            single = c != '\'';
        } else if (dbl) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                dbl = false;
            }
        } else if (c == '\\') {
            ++i;
        } else if (c == '\'') {
            single = true;
        } else if (c == '"') {
            dbl = true;
        } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
            return {Trim(line.substr(0, i)), Trim(line.substr(i + 1))};
        }
    }
    return {Trim(line), ""};
}

// Quote-aware split into simple commands (at && || ; |), each split into words (quotes kept).
std::vector<std::vector<std::string>> SimpleCommands(const std::string& text) {
    std::vector<std::vector<std::string>> commands(1);
    std::string word;
    bool single = false, dbl = false;
    auto end_word = [&] {
        if (!word.empty()) {
            commands.back().push_back(word);
            word.clear();
        }
    };
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (single) {
            single = c != '\'';
            word += c;
        } else if (dbl) {
            if (c == '\\' && i + 1 < text.size()) {
                word += c;
                c = text[++i];
            } else if (c == '"') {
                dbl = false;
            }
            word += c;
        } else if (c == '\'' || c == '"') {
            (c == '\'' ? single : dbl) = true;
            word += c;
        } else if (c == ' ' || c == '\t') {
            end_word();
        } else if (c == ';' || c == '|' || c == '&') {
            end_word();
            if (i + 1 < text.size() && (text[i + 1] == '|' || text[i + 1] == '&') && c != ';') {
                ++i;
            }
            commands.emplace_back();
        } else {
            word += c;
        }
    }
    end_word();
    return commands;
}

bool IsAssignment(const std::string& word) {
    static const std::regex re("^[A-Za-z_][A-Za-z0-9_]*=.*");
    return std::regex_match(word, re);
}

// The command word of a simple command, after assignments and `env [-u NAME] [NAME=value]` / `exec`.
std::string CommandWord(const std::vector<std::string>& words) {
    size_t i = 0;
    while (i < words.size()) {
        const std::string& w = words[i];
        if (IsAssignment(w) || w == "exec") {
            ++i;
        } else if (w == "env") {
            ++i;
            while (i < words.size() && (words[i].rfind('-', 0) == 0 || IsAssignment(words[i]))) {
                i += (words[i] == "-u" || words[i] == "--unset") ? 2 : 1;
            }
        } else {
            return w;
        }
    }
    return "";
}

const std::vector<std::string> kShellLanguages = {"", "sh", "bash", "shell", "console"};

void AddShellSteps(const std::string& file, const std::string& script, int first_line, StepKind kind,
                   const std::map<std::string, std::string>& env, std::vector<std::string>& exports,
                   Extraction& out) {
    for (const auto& l : SplitShellLines(script, first_line)) {
        int invocations = PgsplitInvocations(l.text);
        int mentions = PgsplitMentions(l.text);
        if (invocations != mentions) {
            out.problems.push_back(file + ":" + std::to_string(l.line) + ": pgsplit appears " +
                                   std::to_string(mentions) + " time(s) but " + std::to_string(invocations) +
                                   " invocation(s) were understood: " + l.text);
        }
        if (IsExport(l.text)) {
            exports.push_back(l.text);
            continue;
        }
        if (invocations == 0) {
            continue;
        }
        Step s;
        s.file = file;
        s.line = l.line;
        s.kind = kind;
        s.command = l.text;
        s.comment = l.comment;
        s.exports = exports;
        s.env = env;
        s.expected_exit = PromisedExit(l.comment).value_or(0);
        s.invocations = invocations;
        out.steps.push_back(std::move(s));
    }
}

// `env:` of the workflow and of a job applies to every step below it; a step's own `env:` wins.
void WalkWorkflow(const std::string& file, const YAML::Node& node, int line_offset, Extraction& out,
                  std::map<std::string, std::string> env = {}) {
    if (node.IsMap()) {
        if (node["env"] && node["env"].IsMap()) {
            for (const auto& kv : node["env"]) {
                env[kv.first.as<std::string>()] = kv.second.as<std::string>();
            }
        }
        if (node["run"] && node["run"].IsScalar()) {
            const YAML::Node& run = node["run"];
            std::string script = run.as<std::string>();
            // A block scalar (`run: |`) starts on the line after its indicator.
            int line = line_offset + run.Mark().line + 1;
            if (script.find('\n') != std::string::npos && script.find('\n') + 1 < script.size()) {
                ++line;
            }
            std::vector<std::string> exports;
            AddShellSteps(file, script, line, StepKind::GithubStep, env, exports, out);
        }
        for (const auto& kv : node) {
            if (kv.first.as<std::string>() != "env") {
                WalkWorkflow(file, kv.second, line_offset, out, env);
            }
        }
    } else if (node.IsSequence()) {
        for (const auto& item : node) {
            WalkWorkflow(file, item, line_offset, out, env);
        }
    }
}

} // namespace

std::string Step::Text() const {
    if (kind != StepKind::AcaJob) {
        return command;
    }
    std::string s;
    for (const auto& a : argv) {
        s += (s.empty() ? "" : " ") + a;
    }
    return s;
}

std::vector<ShellLine> SplitShellLines(const std::string& script, int first_line) {
    std::vector<ShellLine> out;
    auto lines = Lines(script);
    for (size_t i = 0; i < lines.size(); ++i) {
        ShellLine l;
        l.line = first_line + static_cast<int>(i);
        std::string joined = Trim(lines[i]);
        while (!joined.empty() && joined.back() == '\\' && i + 1 < lines.size()) {
            joined.pop_back();
            joined = Trim(joined) + " " + Trim(lines[++i]);
        }
        if (joined.rfind("$ ", 0) == 0) {
            joined = Trim(joined.substr(2));
        }
        auto [text, comment] = SplitComment(joined);
        if (text.empty()) {
            continue;
        }
        l.text = text;
        l.comment = comment;
        out.push_back(l);
    }
    return out;
}

int PgsplitInvocations(const std::string& text) {
    int n = 0;
    for (const auto& words : SimpleCommands(text)) {
        n += CommandWord(words) == "pgsplit" ? 1 : 0;
    }
    return n;
}

int PgsplitMentions(const std::string& text) {
    // `pgsplit` as a word (not part of a path such as build/pgsplit) followed on the same line by a
    // subcommand or a flag.
    static const std::regex re(R"((^|[^\w/.-])pgsplit[ \t]+(-{1,2}[A-Za-z]|[a-z][a-z-]*))");
    return static_cast<int>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

bool IsExport(const std::string& text) {
    auto commands = SimpleCommands(text);
    return commands.size() == 1 && !commands[0].empty() && commands[0][0] == "export";
}

std::optional<int> PromisedExit(const std::string& comment) {
    static const std::regex re(R"(\bexit (\d+)\b)");
    std::smatch m;
    if (std::regex_search(comment, m, re)) {
        return std::stoi(m[1].str());
    }
    return std::nullopt;
}

Extraction FromMarkdown(const std::string& file, const std::string& markdown) {
    Extraction out;
    auto lines = Lines(markdown);
    std::vector<std::string> exports; // the session: every export of the file so far
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string t = Trim(lines[i]);
        if (t.rfind("```", 0) != 0) {
            continue;
        }
        std::string lang = Trim(t.substr(3));
        int first = static_cast<int>(i) + 2; // 1-based line of the block's first content line
        std::string body;
        for (++i; i < lines.size() && Trim(lines[i]).rfind("```", 0) != 0; ++i) {
            body += lines[i] + "\n";
        }
        bool shell = false;
        for (const auto& s : kShellLanguages) {
            shell = shell || lang == s;
        }
        if (shell) {
            AddShellSteps(file, body, first, StepKind::Shell, {}, exports, out);
        } else if (lang == "yaml" || lang == "yml") {
            auto sub = FromGithubWorkflow(file, body, first - 1);
            out.steps.insert(out.steps.end(), sub.steps.begin(), sub.steps.end());
            out.problems.insert(out.problems.end(), sub.problems.begin(), sub.problems.end());
        } else if (PgsplitMentions(body) > 0) {
            out.problems.push_back(file + ":" + std::to_string(first) + ": a ```" + lang +
                                   " block mentions pgsplit; the runbook test only runs sh and yaml blocks");
        }
    }
    return out;
}

Extraction FromGithubWorkflow(const std::string& file, const std::string& yaml, int line_offset) {
    Extraction out;
    try {
        for (const auto& doc : YAML::LoadAll(yaml)) {
            WalkWorkflow(file, doc, line_offset, out);
        }
    } catch (const YAML::Exception& e) {
        out.problems.push_back(file + ":" + std::to_string(line_offset + 1) +
                               ": YAML does not parse: " + e.what());
    }
    return out;
}

Extraction FromAcaJobs(const std::string& file, const std::string& yaml) {
    Extraction out;
    int commands = 0;
    try {
        for (const auto& doc : YAML::LoadAll(yaml)) {
            std::string job = doc["name"] ? doc["name"].as<std::string>() : "";
            const auto& containers = doc["properties"]["template"]["containers"];
            for (const auto& c : containers) {
                if (!c["command"] || !c["command"].IsSequence()) {
                    continue;
                }
                Step s;
                s.file = file;
                s.line = c["command"].Mark().line + 1;
                s.kind = StepKind::AcaJob;
                s.job = job;
                for (const auto& a : c["command"]) {
                    s.argv.push_back(a.as<std::string>());
                }
                if (c["args"]) {
                    for (const auto& a : c["args"]) {
                        s.argv.push_back(a.as<std::string>());
                    }
                }
                for (const auto& e : c["env"]) {
                    std::string name = e["name"].as<std::string>();
                    if (e["secretRef"]) {
                        s.secret_refs[name] = e["secretRef"].as<std::string>();
                    } else {
                        s.env[name] = e["value"] ? e["value"].as<std::string>() : "";
                    }
                }
                if (!s.argv.empty() && s.argv[0] == "pgsplit") {
                    ++commands;
                    out.steps.push_back(std::move(s));
                }
            }
        }
    } catch (const YAML::Exception& e) {
        out.problems.push_back(file + ": YAML does not parse: " + e.what());
    }
    // The cross-check: every command array naming pgsplit, as plain text outside comments.
    static const std::regex re(R"(command:\s*\[\s*"?pgsplit"?\s*[,\]])");
    int mentions = 0;
    for (const auto& line : Lines(yaml)) {
        std::string t = Trim(line);
        if (t.rfind('#', 0) != 0 && std::regex_search(t, re)) {
            ++mentions;
        }
    }
    if (mentions != commands) {
        out.problems.push_back(file + ": " + std::to_string(mentions) +
                               " command arrays start with pgsplit but " + std::to_string(commands) +
                               " were understood as container commands");
    }
    return out;
}

} // namespace pgsplit::test::runbooks
