#include "migrate/history.h"

#include "migrate/embedded.h"
#include "pg/transaction.h"
#include "pgsplit_version.h"

#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

namespace pgsplit::migrate {
namespace {

constexpr const char* kHistoryColumns[] = {"version",      "applied_at", "description", "checksum",
                                           "execution_ms", "applied_by", "tool_version"};

std::optional<std::string> JsonString(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return std::nullopt;
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
}

bool HistoryComplete(pg::Connection& c) {
    auto n = c.QueryValue("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND "
                          "table_name = 'schema_migrations' AND column_name = ANY($1::text[])",
                          {"{version,applied_at,description,checksum,execution_ms,applied_by,tool_version}"});
    return n && std::stoi(*n) == static_cast<int>(std::size(kHistoryColumns));
}

} // namespace

std::optional<long long> VersionNumber(const std::string& v) {
    size_t i = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
        ++i;
    }
    if (i == 0 || i > 18 || (i < v.size() && v[i] != '_' && v[i] != '.')) {
        return std::nullopt;
    }
    return std::stoll(v.substr(0, i));
}

std::vector<HistoryRow> ReadHistory(pg::Connection& c) {
    std::vector<HistoryRow> rows;
    if (!c.QueryValue("SELECT to_regclass('public.schema_migrations')::text")) {
        return rows;
    }
    // to_jsonb copes with a legacy table that lacks pgsplit's columns.
    pg::Result r = c.Exec("SELECT to_jsonb(h)::text FROM public.schema_migrations h");
    for (int i = 0; i < r.Rows(); ++i) {
        auto j = nlohmann::json::parse(r.Get(i, 0));
        HistoryRow h;
        h.version = JsonString(j, "version").value_or("");
        h.applied_at = JsonString(j, "applied_at");
        h.description = JsonString(j, "description");
        h.checksum = JsonString(j, "checksum");
        h.applied_by = JsonString(j, "applied_by");
        h.tool_version = JsonString(j, "tool_version");
        if (auto ms = j.find("execution_ms"); ms != j.end() && ms->is_number_integer()) {
            h.execution_ms = ms->get<int64_t>();
        }
        rows.push_back(std::move(h));
    }
    return rows;
}

void Bootstrap(pg::Connection& c, const std::vector<MigrationFile>& files, const Logger& log) {
    if (!HistoryComplete(c)) {
        std::string sql;
        for (const auto& e : EmbeddedMigrations()) {
            if (e.name.rfind("0001_", 0) == 0) {
                sql = NormalizeSql(e.contents);
            }
        }
        pg::Transaction tx(c);
        c.ExecScript(sql);
        tx.Commit();
        log.Debug("history table public.schema_migrations created or upgraded");
    }
    auto history = ReadHistory(c);
    std::map<long long, const MigrationFile*> by_number;
    for (const auto& f : files) {
        by_number[std::stoll(f.version)] = &f;
    }
    int adopted = 0;
    {
        pg::Transaction tx(c);
        for (const auto& h : history) {
            auto n = VersionNumber(h.version);
            if (!n || h.checksum) {
                continue;
            }
            auto it = by_number.find(*n);
            if (it == by_number.end()) {
                continue;
            }
            const MigrationFile& f = *it->second;
            c.Exec(
                "UPDATE public.schema_migrations SET version = $1, description = coalesce(description, $2), "
                "checksum = $3, applied_by = coalesce(applied_by, 'legacy runner') WHERE version = $4",
                {f.version, f.description, f.checksum, h.version});
            ++adopted;
        }
        tx.Commit();
    }
    if (adopted > 0) {
        log.Info(fmt::format("adopted {} history row(s) written by the legacy migration runner", adopted));
    }
}

void RecordApplied(pg::Connection& c, const MigrationFile& f, int64_t execution_ms) {
    c.Exec("INSERT INTO public.schema_migrations (version, applied_at, description, checksum, execution_ms, "
           "applied_by, tool_version) VALUES ($1, now(), $2, $3, $4, current_user, $5)",
           {f.version, f.description, f.checksum, std::to_string(execution_ms), PGSPLIT_VERSION_FULL});
}

void RecordBaseline(pg::Connection& c, const std::string& version, const std::string& description,
                    const std::optional<std::string>& checksum) {
    c.Exec("INSERT INTO public.schema_migrations (version, applied_at, description, checksum, execution_ms, "
           "applied_by, tool_version) VALUES ($1, now(), $2, $3, 0, current_user || $4, $5)",
           {version, description, checksum, std::string(kBaselineMark), PGSPLIT_VERSION_FULL});
}

void RecordRepair(pg::Connection& c, const std::string& version, const std::string& description,
                  const std::optional<std::string>& checksum) {
    c.Exec("UPDATE public.schema_migrations SET checksum = $1, description = $2 WHERE version = $3",
           {checksum, description, version});
}

} // namespace pgsplit::migrate
