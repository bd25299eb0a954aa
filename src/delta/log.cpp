// Replaying a Delta log (PROTOCOL.md): _last_checkpoint, classic and multi-part checkpoints read
// through the Parquet reader, commit JSON actions (add, remove, metaData, protocol), reconciliation,
// and every check a hostile log meets (bounds, confinement of paths, counts, versions). Long because
// the action decoders and their checks are one reading of the protocol text, kept in its order.
#include "delta/log.h"

#include "core/error.h"
#include "core/interrupt.h"
#include "delta/deletion_vector.h"
#include "delta/values.h"
#include "parquet/reader.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>

// Log replay per the Delta protocol (PROTOCOL.md, "Action Reconciliation"): start from the newest
// complete checkpoint at or before the wanted version, then apply every commit after it in order.
// The listing of _delta_log/ is the truth; _last_checkpoint is only a hint, because it may be stale,
// empty or corrupt (golden corrupted-last-checkpoint-kernel) and a listing is needed anyway to find
// the commits after it.

namespace pgsplit::delta {
namespace {

constexpr const char* kLogDir = "_delta_log";

// Commits are read line by line. A line whose action replay uses is held whole (and parsed) up to
// this size; a line of another action (commitInfo, txn, cdc, domainMetadata, ...) is passed over as
// it streams by, whatever its length.
constexpr size_t kMaxActionLine = size_t{16} << 20;
// A commit up to this size is read in one request (most are a few KB); a larger one in ranged reads
// of kCommitChunk, so memory stays at one chunk plus one line.
constexpr uint64_t kWholeCommit = uint64_t{4} << 20;
constexpr uint64_t kCommitChunk = uint64_t{1} << 20;

// Whether replay uses an action (everything else in a commit is skipped unread).
bool ReplayUses(std::string_view action) {
    return action == "add" || action == "remove" || action == "metaData" || action == "protocol" ||
           action == "sidecar" || action == "checkpointMetadata";
}

// Splits a commit into lines as its bytes arrive. Each line is one JSON object holding one action
// (PROTOCOL.md, "Delta Log Entries"), so its first key names the action: a line is kept only when
// that key is one replay uses, or when the key cannot be read plainly (escapes, not an object), in
// which case the JSON parser decides.
class CommitLines {
public:
    using OnLine = std::function<void(std::string_view line, int64_t line_no)>;
    using OnTooLong = std::function<void(int64_t line_no)>;

    CommitLines(OnLine on_line, OnTooLong on_too_long)
        : on_line_(std::move(on_line)), on_too_long_(std::move(on_too_long)) {}

    void Feed(const char* p, size_t n) {
        while (n > 0) {
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', n));
            size_t len = nl ? static_cast<size_t>(nl - p) : n;
            Take(p, len);
            if (nl) {
                EndLine();
                len += 1;
            }
            p += len;
            n -= len;
        }
    }

    void Finish() {
        if (mode_ != Mode::Start || !line_.empty()) {
            EndLine();
        }
    }

private:
    enum class Mode { Start, Keep, Skip };
    // Enough to read `{ "checkpointMetadata"` with generous whitespace.
    static constexpr size_t kPrefix = 256;

    void Take(const char* p, size_t n) {
        if (mode_ == Mode::Skip || n == 0) {
            return;
        }
        if (line_.size() + n > kMaxActionLine) {
            on_too_long_(line_no_ + 1);
        }
        line_.append(p, n);
        if (mode_ == Mode::Start) {
            Classify(false);
        }
    }

    // Decides from the start of the line whether it is kept. At the end of the line an undecided
    // (short) line is kept for the parser to judge.
    void Classify(bool at_end) {
        std::string_view s(line_);
        size_t i = s.find_first_not_of(" \t\r");
        if (i == std::string_view::npos) {
            if (at_end || s.size() >= kPrefix) {
                mode_ = Mode::Keep;
            }
            return;
        }
        if (s[i] != '{') {
            mode_ = Mode::Keep;
            return;
        }
        size_t q = s.find_first_not_of(" \t\r", i + 1);
        if (q == std::string_view::npos) {
            mode_ = at_end || s.size() >= kPrefix ? Mode::Keep : Mode::Start;
            return;
        }
        if (s[q] != '"') {
            mode_ = Mode::Keep;
            return;
        }
        size_t close = s.find_first_of("\"\\", q + 1);
        if (close == std::string_view::npos) {
            mode_ = at_end || s.size() >= kPrefix ? Mode::Keep : Mode::Start;
            return;
        }
        if (s[close] == '\\') {
            mode_ = Mode::Keep;
            return;
        }
        if (ReplayUses(s.substr(q + 1, close - q - 1))) {
            mode_ = Mode::Keep;
        } else {
            mode_ = Mode::Skip;
            line_.clear();
            line_.shrink_to_fit();
        }
    }

    void EndLine() {
        ++line_no_;
        if (mode_ == Mode::Start) {
            Classify(true);
        }
        if (mode_ == Mode::Keep) {
            on_line_(line_, line_no_);
        }
        line_.clear();
        if (line_.capacity() > kCommitChunk) {
            line_.shrink_to_fit();
        }
        mode_ = Mode::Start;
    }

    OnLine on_line_;
    OnTooLong on_too_long_;
    Mode mode_ = Mode::Start;
    std::string line_;
    int64_t line_no_ = 0;
};

bool AllDigits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string CommitName(int64_t version) {
    return fmt::format("{:020}.json", version);
}

// Stable identity of a file for reconciliation: (path, deletion vector). Keying on the path alone loses
// files when one commit removes a path with its old DV and re-adds it with a new one.
using FileKey = std::pair<std::string, std::string>;

struct Replay {
    storage::Storage& storage;
    std::string table;
    std::map<FileKey, AddFile> active;
    std::optional<Protocol> protocol;
    std::optional<Metadata> metadata;
    // Inside a checkpoint (and its sidecars) removes are tombstones kept for VACUUM: skipped.
    bool in_checkpoint = false;
    // v2 checkpoints: the sidecar files the checkpoint names, and the version its checkpointMetadata
    // gives.
    std::vector<std::string> sidecars;
    std::optional<int64_t> checkpoint_metadata_version;
    int non_file_actions = 0; // protocol, metaData and checkpointMetadata seen: a sidecar holds none

    std::string Where(const std::string& file, int64_t line = 0) const {
        if (line > 0) {
            return fmt::format("table '{}': {}/{} line {}", table, kLogDir, file, line);
        }
        return fmt::format("table '{}': {}/{}", table, kLogDir, file);
    }

    static Error Bad(const std::string& where, const std::string& what) {
        return Error(
            ExitCode::Source, fmt::format("{}: {}", where, what),
            "the Delta log is damaged or was written by a broken writer; the table cannot be read safely");
    }

    static std::optional<int64_t> OptInt(const nlohmann::json& obj, const char* key) {
        if (!obj.is_object() || !obj.contains(key)) {
            return std::nullopt;
        }
        const auto& v = obj[key];
        if (v.is_number_integer()) {
            return v.get<int64_t>();
        }
        if (v.is_string()) { // some checkpoint readers hand out int64 as strings
            try {
                return std::stoll(v.get<std::string>());
            } catch (...) {
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

    static std::string DvId(const nlohmann::json& dv) {
        if (!dv.is_object()) {
            return {};
        }
        auto str = [&](const char* k) {
            return dv.contains(k) && dv[k].is_string() ? dv[k].get<std::string>() : "";
        };
        std::string offset = dv.contains("offset") && !dv["offset"].is_null() ? dv["offset"].dump() : "";
        return str("storageType") + str("pathOrInlineDv") + "@" + offset;
    }

    static void ApplyStats(AddFile& f, const nlohmann::json& stats) {
        if (!stats.is_object()) {
            return;
        }
        f.num_records = OptInt(stats, "numRecords");
        if (stats.contains("minValues")) {
            f.min_values = stats["minValues"];
        }
        if (stats.contains("maxValues")) {
            f.max_values = stats["maxValues"];
        }
        if (stats.contains("nullCount")) {
            f.null_count = stats["nullCount"];
        }
    }

    void Add(const nlohmann::json& a, const std::string& where, int64_t version) {
        if (!a.is_object() || !a.contains("path") || !a["path"].is_string()) {
            throw Bad(where, "an add action has no path");
        }
        AddFile f;
        f.path = UriDecode(a["path"].get<std::string>(), where);
        f.version = version;
        if (a.contains("deletionVector")) {
            f.dv = ParseDvDescriptor(a["deletionVector"], fmt::format("{}: add '{}'", where, f.path));
            f.dv_id = f.dv ? DvId(a["deletionVector"]) : "";
        }
        if (a.contains("partitionValues") && !a["partitionValues"].is_null()) {
            const auto& pv = a["partitionValues"];
            if (!pv.is_object()) {
                throw Bad(where, fmt::format("add '{}': partitionValues is not an object", f.path));
            }
            for (const auto& [k, v] : pv.items()) {
                if (v.is_null() || (v.is_string() && v.get<std::string>().empty())) {
                    f.partition_values[k] =
                        std::nullopt; // the protocol: an empty string is NULL for every type
                } else if (v.is_string()) {
                    f.partition_values[k] = v.get<std::string>();
                } else {
                    throw Bad(where,
                              fmt::format("add '{}': partition value of '{}' is not a string", f.path, k));
                }
            }
        }
        f.size = OptInt(a, "size").value_or(0);
        f.modification_time = OptInt(a, "modificationTime").value_or(0);
        if (a.contains("stats") && a["stats"].is_string()) {
            auto stats = nlohmann::json::parse(a["stats"].get<std::string>(), nullptr, false);
            // Unparsable stats only cost pruning and counting: treat them as absent, never guess.
            if (!stats.is_discarded()) {
                ApplyStats(f, stats);
            }
        }
        if (!f.num_records && a.contains("stats_parsed")) {
            ApplyStats(f, a["stats_parsed"]);
        }
        FileKey key{f.path, f.dv_id};
        active[key] = std::move(f);
    }

    void Remove(const nlohmann::json& r, const std::string& where) {
        if (!r.is_object() || !r.contains("path") || !r["path"].is_string()) {
            throw Bad(where, "a remove action has no path");
        }
        std::string dv = r.contains("deletionVector") ? DvId(r["deletionVector"]) : "";
        active.erase(FileKey{UriDecode(r["path"].get<std::string>(), where), dv});
    }

    // A sidecar action of a v2 checkpoint: a file of add (and remove) actions in _delta_log/_sidecars/.
    // The protocol keeps sidecars in that one directory, so anything but a plain file name there is
    // refused: a hostile checkpoint cannot point the reader elsewhere.
    void Sidecar(const nlohmann::json& sc, const std::string& where) {
        if (!sc.is_object() || !sc.contains("path") || !sc["path"].is_string()) {
            throw Bad(where, "a sidecar action has no path");
        }
        std::string name = UriDecode(sc["path"].get<std::string>(), where);
        const std::string dir = std::string(kLogDir) + "/_sidecars/";
        if (auto at = name.rfind("/" + dir);
            at != std::string::npos && name.compare(0, storage.Root().size(), storage.Root()) == 0) {
            name = name.substr(at + 1 + dir.size()); // an absolute URI into this table's own _sidecars/
        }
        if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
            name == "." || name == ".." || (!name.ends_with(".parquet") && !name.ends_with(".json"))) {
            throw Bad(where,
                      fmt::format("sidecar path '{}' is not a .parquet or .json file name in {}", name, dir));
        }
        sidecars.push_back(name);
    }

    static std::optional<std::vector<std::string>> OptStrings(const nlohmann::json& obj, const char* key,
                                                              const std::string& where) {
        if (!obj.contains(key) || obj[key].is_null()) {
            return std::nullopt;
        }
        if (!obj[key].is_array()) {
            throw Bad(where, fmt::format("protocol {} is not a list", key));
        }
        std::vector<std::string> out;
        for (const auto& v : obj[key]) {
            if (!v.is_string()) {
                throw Bad(where, fmt::format("protocol {} holds a non-string", key));
            }
            out.push_back(v.get<std::string>());
        }
        return out;
    }

    void SetProtocol(const nlohmann::json& p, const std::string& where) {
        if (!p.is_object()) {
            throw Bad(where, "protocol action is not an object");
        }
        Protocol proto;
        auto r = OptInt(p, "minReaderVersion");
        auto w = OptInt(p, "minWriterVersion");
        if (!r) {
            throw Bad(where, "protocol action has no minReaderVersion");
        }
        proto.min_reader_version = static_cast<int>(*r);
        proto.min_writer_version = static_cast<int>(w.value_or(0));
        proto.reader_features = OptStrings(p, "readerFeatures", where);
        proto.writer_features = OptStrings(p, "writerFeatures", where);
        protocol = std::move(proto);
    }

    void SetMetadata(const nlohmann::json& m, const std::string& where) {
        if (!m.is_object() || !m.contains("schemaString") || !m["schemaString"].is_string()) {
            throw Bad(where, "metaData action has no schemaString");
        }
        Metadata md;
        if (m.contains("id") && m["id"].is_string()) {
            md.id = m["id"].get<std::string>();
        }
        md.schema_string = m["schemaString"].get<std::string>();
        md.schema = ParseSchema(md.schema_string, where);
        if (m.contains("partitionColumns") && m["partitionColumns"].is_array()) {
            for (const auto& c : m["partitionColumns"]) {
                if (!c.is_string()) {
                    throw Bad(where, "metaData partitionColumns holds a non-string");
                }
                md.partition_columns.push_back(c.get<std::string>());
            }
        }
        if (m.contains("configuration") && m["configuration"].is_object()) {
            for (const auto& [k, v] : m["configuration"].items()) {
                md.configuration[k] = v.is_string() ? v.get<std::string>() : v.dump();
            }
        }
        md.created_time = OptInt(m, "createdTime");
        for (const auto& c : md.partition_columns) {
            if (!md.schema.Find(c)) {
                throw Bad(where, fmt::format("partition column '{}' is not in the schema", c));
            }
        }
        metadata = std::move(md);
    }

    // One action object: {"add": {...}} etc. Checkpoint records carry every action column, most null.
    void Apply(const nlohmann::json& action, const std::string& where, int64_t version) {
        if (!action.is_object()) {
            throw Bad(where, "an action is not a JSON object");
        }
        for (const auto& [kind, body] : action.items()) {
            if (body.is_null()) {
                continue;
            }
            if (kind == "add") {
                Add(body, where, version);
            } else if (kind == "remove") {
                if (!in_checkpoint) {
                    Remove(body, where);
                }
            } else if (kind == "metaData") {
                SetMetadata(body, where);
                ++non_file_actions;
            } else if (kind == "protocol") {
                SetProtocol(body, where);
                ++non_file_actions;
            } else if (kind == "sidecar") {
                Sidecar(body, where);
            } else if (kind == "checkpointMetadata") {
                auto v = body.is_object() ? OptInt(body, "version") : std::nullopt;
                if (!v) {
                    throw Bad(where, "checkpointMetadata has no version");
                }
                checkpoint_metadata_version = v;
                ++non_file_actions;
            }
            // commitInfo, txn, cdc, domainMetadata: nothing a reader of table data needs.
        }
    }

    // Reads a file of JSON actions, one per line: a commit, a v2 checkpoint in JSON or a JSON sidecar.
    // `name` is relative to _delta_log/.
    void ReadCommit(const std::string& name, int64_t version, uint64_t listed_size) {
        CommitLines lines(
            [&](std::string_view line, int64_t line_no) {
                if ((line_no & 1023) == 0) {
                    CheckInterrupt();
                }
                if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
                    return;
                }
                auto action = nlohmann::json::parse(line, nullptr, false);
                if (action.is_discarded()) {
                    throw Bad(Where(name, line_no), "not valid JSON");
                }
                Apply(action, Where(name, line_no), version);
            },
            [&](int64_t line_no) {
                throw Error(ExitCode::Source,
                            fmt::format("{}: the line is longer than {} MiB", Where(name, line_no),
                                        kMaxActionLine >> 20),
                            "an action line this long is not something a Delta writer produces; the log is "
                            "damaged or hostile");
            });
        const std::string path = std::string(kLogDir) + "/" + name;
        if (listed_size <= kWholeCommit) {
            auto text = storage.ReadIfExists(path);
            if (!text) {
                throw Error(
                    ExitCode::Source,
                    fmt::format("table '{}': {} {} ({}/{}) {}", table,
                                in_checkpoint ? "checkpoint file of version" : "commit", version, kLogDir,
                                name, in_checkpoint ? "is missing" : "disappeared while reading the log"),
                    in_checkpoint ? "the checkpoint is incomplete (a sidecar was deleted?); restore it "
                                    "or remove the checkpoint so the commits are replayed"
                                  : "the table is being vacuumed or rewritten; retry");
            }
            lines.Feed(text->data(), text->size());
            lines.Finish();
            return;
        }
        auto source = storage.Open(path);
        const uint64_t size = source->Size();
        std::vector<char> chunk(static_cast<size_t>(std::min(size, kCommitChunk)));
        for (uint64_t at = 0; at < size;) {
            CheckInterrupt();
            uint64_t n = std::min<uint64_t>(kCommitChunk, size - at);
            source->Read(at, n, reinterpret_cast<uint8_t*>(chunk.data()));
            lines.Feed(chunk.data(), static_cast<size_t>(n));
            at += n;
        }
        lines.Finish();
    }

    // Reads a checkpoint in Parquet (classic, multi-part part, v2, or a v2 sidecar), `name` relative to
    // _delta_log/.
    void ReadCheckpoint(const std::string& name, int64_t version) {
        std::string where = Where(name);
        auto reader = parquet::FileReader::Open(storage.Open(std::string(kLogDir) + "/" + name));
        std::vector<std::string> fields;
        for (const auto& f : reader->Root().children) {
            if (f.name == "add" || f.name == "remove" || f.name == "metaData" || f.name == "protocol" ||
                f.name == "sidecar" || f.name == "checkpointMetadata") {
                fields.push_back(f.name);
            }
        }
        if (fields.empty()) {
            throw Bad(where, "checkpoint has none of the add, remove, metaData or protocol columns");
        }
        size_t records = 0;
        reader->ReadRecords(fields, [&](nlohmann::json& record) {
            if ((++records & 1023) == 0) {
                CheckInterrupt();
            }
            Apply(record, where, version);
            return true;
        });
    }
};

// _last_checkpoint: the version, and for a v2 checkpoint the file name (`v2Checkpoint.path`).
bool LastCheckpointHint(storage::Storage& storage, std::vector<std::string>& notes, int64_t& hint_version,
                        std::string& hint_v2_path) {
    std::optional<std::string> text;
    text = storage.ReadIfExists(std::string(kLogDir) + "/_last_checkpoint");
    if (!text) {
        return false;
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("version") || !j["version"].is_number_integer()) {
        notes.push_back("_last_checkpoint is empty or corrupt; found the checkpoint by listing");
        return false;
    }
    hint_version = j["version"].get<int64_t>();
    if (j.contains("v2Checkpoint") && j["v2Checkpoint"].is_object() && j["v2Checkpoint"].contains("path") &&
        j["v2Checkpoint"]["path"].is_string()) {
        hint_v2_path = j["v2Checkpoint"]["path"].get<std::string>();
    }
    return true;
}

} // namespace

std::optional<LogFile> ParseLogFileName(const std::string& name, uint64_t size) {
    if (name.size() < 21 || !AllDigits(std::string_view(name).substr(0, 20)) || name[20] != '.') {
        return std::nullopt;
    }
    LogFile f;
    f.name = name;
    f.size = size;
    try {
        f.version = std::stoll(name.substr(0, 20));
    } catch (...) {
        return std::nullopt;
    }
    std::string_view rest = std::string_view(name).substr(21);
    if (rest == "json") {
        f.kind = LogFile::Kind::Commit;
        return f;
    }
    if (rest.rfind("checkpoint.", 0) != 0) {
        return std::nullopt; // .crc, compacted logs, ...
    }
    rest.remove_prefix(11);
    if (rest == "parquet") {
        f.kind = LogFile::Kind::Checkpoint;
        return f;
    }
    // NNNNNNNNNN.NNNNNNNNNN.parquet: part of a multi-part checkpoint.
    if (rest.size() == 29 && AllDigits(rest.substr(0, 10)) && rest[10] == '.' &&
        AllDigits(rest.substr(11, 10)) && rest.substr(21) == ".parquet") {
        f.kind = LogFile::Kind::CheckpointPart;
        f.part = std::stoi(std::string(rest.substr(0, 10)));
        f.parts = std::stoi(std::string(rest.substr(11, 10)));
        if (f.part < 1 || f.parts < 1 || f.part > f.parts) {
            return std::nullopt;
        }
        return f;
    }
    if (rest.size() > 8 && (rest.ends_with(".parquet") || rest.ends_with(".json"))) {
        f.kind = LogFile::Kind::CheckpointV2; // UUID-named (v2 checkpoint)
        return f;
    }
    return std::nullopt;
}

LogState ReplayLog(storage::Storage& storage, std::optional<int64_t> wanted) {
    const std::string table = storage.Root();
    LogState state;
    std::map<int64_t, LogFile> commits;
    std::map<int64_t, std::vector<LogFile>> checkpoints;    // classic and multi-part
    std::map<int64_t, std::vector<LogFile>> v2_checkpoints; // UUID-named
    for (const auto& entry : storage.List(kLogDir)) {
        auto f = ParseLogFileName(entry.name, entry.size);
        if (!f) {
            continue;
        }
        switch (f->kind) {
        case LogFile::Kind::Commit:
            commits[f->version] = *f;
            break;
        case LogFile::Kind::Checkpoint:
        case LogFile::Kind::CheckpointPart:
            checkpoints[f->version].push_back(*f);
            break;
        case LogFile::Kind::CheckpointV2:
            v2_checkpoints[f->version].push_back(*f);
            break;
        }
    }
    if (commits.empty() && checkpoints.empty() && v2_checkpoints.empty()) {
        throw Error(ExitCode::Source,
                    fmt::format("'{}' is not a Delta table: no commits in {}/", table, kLogDir),
                    "pass the table root (the directory that holds _delta_log/)");
    }
    int64_t latest = -1;
    if (!commits.empty()) {
        latest = commits.rbegin()->first;
    }
    if (!checkpoints.empty()) {
        latest = std::max(latest, checkpoints.rbegin()->first);
    }
    if (!v2_checkpoints.empty()) {
        latest = std::max(latest, v2_checkpoints.rbegin()->first);
    }
    int64_t target = wanted.value_or(latest);
    if (target < 0 || target > latest) {
        throw Error(
            ExitCode::Source,
            fmt::format("table '{}': version {} does not exist (latest is {})", table, target, latest),
            "pick a version between the oldest retained one and the latest");
    }

    int64_t hint_version = -1;
    std::string hint_v2_path;
    bool has_hint = LastCheckpointHint(storage, state.notes, hint_version, hint_v2_path);

    // The newest complete checkpoint at or before the target. A multi-part set counts only when every
    // part of one set is present; an incomplete set is skipped (a writer may have died mid-way).
    std::vector<LogFile> chosen;
    std::set<int64_t> versions;
    for (const auto& [v, files] : checkpoints) {
        versions.insert(v);
    }
    for (const auto& [v, files] : v2_checkpoints) {
        versions.insert(v);
    }
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
        const int64_t v = *it;
        if (v > target) {
            continue;
        }
        const auto& files = checkpoints[v];
        auto single = std::find_if(files.begin(), files.end(),
                                   [](const LogFile& f) { return f.kind == LogFile::Kind::Checkpoint; });
        if (single != files.end()) {
            chosen = {*single};
            break;
        }
        // A v2 checkpoint (UUID-named, JSON or Parquet): one file, plus the sidecars it names. When a
        // version has several (two writers raced), they hold the same state: take the one
        // _last_checkpoint names, else the first by name.
        if (auto v2 = v2_checkpoints.find(v); v2 != v2_checkpoints.end()) {
            const LogFile* pick = &v2->second.front();
            for (const auto& f : v2->second) {
                if (f.name == hint_v2_path) {
                    pick = &f;
                }
            }
            chosen = {*pick};
            break;
        }
        std::map<int, std::map<int, LogFile>> sets; // parts -> part -> file
        for (const auto& f : files) {
            sets[f.parts][f.part] = f;
        }
        for (const auto& [parts, members] : sets) {
            if (static_cast<int>(members.size()) == parts) {
                for (const auto& [part, f] : members) {
                    chosen.push_back(f);
                }
                break;
            }
        }
        if (!chosen.empty()) {
            break;
        }
        state.notes.push_back(fmt::format("checkpoint {} is incomplete (a part is missing); ignored", v));
    }
    if (has_hint && hint_version <= target && (chosen.empty() || chosen.front().version != hint_version) &&
        hint_version <= latest) {
        state.notes.push_back(fmt::format(
            "_last_checkpoint names version {}, which has no complete checkpoint; used the listing",
            hint_version));
    }

    int64_t start = 0;
    if (!chosen.empty()) {
        state.checkpoint_version = chosen.front().version;
        for (const auto& f : chosen) {
            state.checkpoint_files.push_back(f.name);
        }
        start = *state.checkpoint_version + 1;
    }
    for (int64_t v = start; v <= target; ++v) {
        if (commits.count(v)) {
            continue;
        }
        std::string why = v == 0 && chosen.empty() && !commits.empty()
                              ? fmt::format("there is no checkpoint and the log starts at commit {}",
                                            commits.begin()->first)
                              : "versions must be contiguous";
        throw Error(ExitCode::Source,
                    fmt::format("table '{}': commit {} ({}/{}) is missing: {}", table, v, kLogDir,
                                CommitName(v), why),
                    "the log is damaged or was cleaned up past its last checkpoint; restore the commit file");
    }

    Replay replay{storage, table, {}, {}, {}, false, {}, {}};
    replay.in_checkpoint = true;
    for (const auto& f : chosen) {
        CheckInterrupt();
        if (f.name.ends_with(".json")) {
            replay.ReadCommit(f.name, f.version, f.size);
        } else {
            replay.ReadCheckpoint(f.name, f.version);
        }
    }
    if (!chosen.empty()) {
        const int64_t cv = chosen.front().version;
        if (replay.checkpoint_metadata_version && *replay.checkpoint_metadata_version != cv) {
            throw Replay::Bad(replay.Where(chosen.front().name),
                              fmt::format("checkpointMetadata says version {}, the file name says {}",
                                          *replay.checkpoint_metadata_version, cv));
        }
        // Sidecars hold add and remove actions only; they are read after the checkpoint itself, which
        // holds protocol and metadata.
        std::vector<std::string> sidecars = std::move(replay.sidecars);
        replay.sidecars.clear();
        for (const auto& sc : sidecars) {
            CheckInterrupt();
            const std::string name = "_sidecars/" + sc;
            state.checkpoint_files.push_back(name);
            const int before = replay.non_file_actions;
            if (sc.ends_with(".json")) {
                replay.ReadCommit(name, cv, 0);
            } else {
                replay.ReadCheckpoint(name, cv);
            }
            if (!replay.sidecars.empty() || replay.non_file_actions != before) {
                throw Replay::Bad(replay.Where(name), "a sidecar holds an action other than add or remove");
            }
        }
    }
    replay.in_checkpoint = false;
    for (int64_t v = start; v <= target; ++v) {
        CheckInterrupt();
        replay.ReadCommit(commits[v].name, v, commits[v].size);
        ++state.commits_read;
    }
    if (!replay.protocol) {
        throw Error(
            ExitCode::Source,
            fmt::format("table '{}' at version {}: the log has no protocol action", table, target),
            "every Delta table must declare its protocol in commit 0 or a checkpoint; the log is damaged");
    }
    if (!replay.metadata) {
        throw Error(
            ExitCode::Source,
            fmt::format("table '{}' at version {}: the log has no metaData action", table, target),
            "every Delta table must declare its schema in commit 0 or a checkpoint; the log is damaged");
    }
    state.version = target;
    state.protocol = std::move(replay.protocol);
    state.metadata = std::move(replay.metadata);
    state.files.reserve(replay.active.size());
    for (auto& [key, f] : replay.active) {
        state.files.push_back(std::move(f));
    }
    return state;
}

} // namespace pgsplit::delta
