// The Azure back-end against Azurite (issue 6): the fixture tables uploaded with the development
// account read the same over abfss:// and blob URLs as from local disk, with an account key and with a
// SAS, through the built binary; failures map to SPEC §3 exit codes; and the request budget per file.
#include "config/config.h"
#include "delta/scan.h"
#include "delta/table.h"
#include "migrate/migrator.h"
#include "storage/azure/blob_storage.h"
#include "storage/azure/credentials.h"
#include "tests/storage/azure/azurite.h"
#include "tests/support/oracle.h"
#include "tests/support/paths.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/process.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pgsplit::test {
namespace {

namespace fs = std::filesystem;
namespace az = storage::azure;

std::string Abfss(const std::string& path) {
    return fmt::format("abfss://{}@{}.dfs.core.windows.net/{}", FixtureContainer(), kDevAccount, path);
}

std::string PathStyle(const std::string& path) {
    return fmt::format("{}/{}/{}/{}", AzuriteEndpoint(), kDevAccount, FixtureContainer(), path);
}

std::map<std::string, std::string> KeyEnv() {
    return {{"AZURE_STORAGE_KEY", kDevKey}, {"AZURE_STORAGE_ENDPOINT", AzuriteEndpoint()}};
}

std::string ReadSas(const std::string& permissions) {
    return az::MakeAccountSas(kDevAccount, kDevKey, permissions,
                              std::chrono::system_clock::now() + std::chrono::hours(2));
}

std::map<std::string, std::string> SasEnv(const std::string& permissions = "rl") {
    return {{"AZURE_STORAGE_SAS_TOKEN", ReadSas(permissions)}};
}

// `inspect delta --json` without the location itself, which differs by design.
nlohmann::json Summary(const ProcResult& r) {
    auto j = nlohmann::json::parse(r.out);
    j.erase("table");
    return j;
}

std::string Local(const std::string& rel) {
    return (FixturesDir() / rel).string();
}

void CheckNoSecret(const ProcResult& r, const std::map<std::string, std::string>& env) {
    for (const char* k : {"AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN"}) {
        auto it = env.find(k);
        if (it == env.end()) {
            continue;
        }
        std::string secret = it->first == std::string("AZURE_STORAGE_KEY")
                                 ? it->second
                                 : it->second.substr(it->second.find("sig=") + 4);
        CHECK_MESSAGE(r.All().find(secret) == std::string::npos, "secret printed: ", r.All());
    }
}

} // namespace

TEST_SUITE("azure") {
    TEST_CASE(
        "inspect delta over abfss:// and blob URLs equals the local path, with an account key and a SAS") {
        struct Access {
            const char* label;
            std::map<std::string, std::string> env;
            std::function<std::string(const std::string&)> uri;
        };
        std::vector<Access> ways = {
            {"abfss + key + endpoint override", KeyEnv(), Abfss},
            {"path-style blob URL + key", {{"AZURE_STORAGE_KEY", kDevKey}}, PathStyle},
            {"abfss + SAS + endpoint override",
             [] {
                 auto e = SasEnv();
                 e["AZURE_STORAGE_ENDPOINT"] = AzuriteEndpoint();
                 return e;
             }(),
             Abfss},
            {"path-style blob URL + SAS", SasEnv(), PathStyle}};
        for (const char* table : {"ranking_signal", "overwrites", "schema_evolution", "unpartitioned"}) {
            std::string rel = std::string("delta/") + table;
            auto local = RunPgsplit({"--json", "inspect", "delta", Local(rel), "--files"});
            REQUIRE_MESSAGE(local.exit_code == 0, local.All());
            auto local_rows = RunPgsplit({"inspect", "delta", Local(rel), "--rows", "--limit", "100000"});
            REQUIRE_MESSAGE(local_rows.exit_code == 0, local_rows.All());
            for (const auto& way : ways) {
                CAPTURE(table);
                CAPTURE(way.label);
                auto remote = RunPgsplit({"--json", "inspect", "delta", way.uri(rel), "--files"}, way.env);
                REQUIRE_MESSAGE(remote.exit_code == 0, remote.All());
                CHECK(Summary(remote) == Summary(local));
                CheckNoSecret(remote, way.env);
                auto rows =
                    RunPgsplit({"inspect", "delta", way.uri(rel), "--rows", "--limit", "100000"}, way.env);
                REQUIRE_MESSAGE(rows.exit_code == 0, rows.All());
                CHECK(rows.out == local_rows.out);
            }
        }
        // A checkpointed log (checkpoint parquet read by ranges) and a pinned version.
        auto local = RunPgsplit({"--json", "inspect", "delta", Local("delta/overwrites"), "--version", "25"});
        auto remote = RunPgsplit({"--json", "inspect", "delta", Abfss("delta/overwrites"), "--version", "25"},
                                 KeyEnv());
        REQUIRE_MESSAGE(remote.exit_code == 0, remote.All());
        CHECK(Summary(remote) == Summary(local));
    }

    TEST_CASE(
        "sync-signals from Azurite leaves Postgres exactly as the local-path sync does; verify agrees") {
        auto migrate = [](const TestDatabase& db) {
            migrate::Options o;
            o.dsn = db.Dsn();
            Logger quiet(LogFormat::Text, LogLevel::Error, false);
            migrate::Migrator(quiet, o).Apply(false);
        };
        auto digest = [](const TestDatabase& db, const std::string& table) {
            return db.Value(
                fmt::format("SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) "
                            "FROM ranking.{} t",
                            table));
        };
        TestDatabase local_db, key_db, sas_db;
        for (auto* db : {&local_db, &key_db, &sas_db}) {
            migrate(*db);
        }
        auto run = [](const TestDatabase& db, const std::string& signals, const std::string& composite,
                      std::map<std::string, std::string> env) {
            env["POSTGRES_DSN"] = db.Dsn();
            env["PGSPLIT_SIGNALS_TABLE"] = signals;
            env["PGSPLIT_COMPOSITE_TABLE"] = composite;
            return RunPgsplit({"sync-signals", "--month", "2024-01", "--month", "2024-02"}, env);
        };
        auto l =
            run(local_db, Local("sync/basic/ranking_signal"), Local("sync/basic/composite_signal_daily"), {});
        REQUIRE_MESSAGE(l.exit_code == 0, l.All());
        auto k = run(key_db, Abfss("sync/basic/ranking_signal"), Abfss("sync/basic/composite_signal_daily"),
                     KeyEnv());
        REQUIRE_MESSAGE(k.exit_code == 0, k.All());
        auto sas_env = SasEnv();
        auto s = run(sas_db, PathStyle("sync/basic/ranking_signal"),
                     PathStyle("sync/basic/composite_signal_daily"), sas_env);
        REQUIRE_MESSAGE(s.exit_code == 0, s.All());
        CheckNoSecret(k, KeyEnv());
        CheckNoSecret(s, sas_env);
        for (const std::string table : {"ranking_signal", "composite_signal_daily"}) {
            CAPTURE(table);
            std::string want = digest(local_db, table);
            CHECK(want.rfind("0:", 0) != 0);
            CHECK(digest(key_db, table) == want);
            CHECK(digest(sas_db, table) == want);
            // Not only alike: each holds what DuckDB reads from the same files (support/oracle.h).
            auto expected = nlohmann::json::parse(
                pgsplit::test::ReadText((FixturesDir() / "sync" / "basic" / "expected.json").string()));
            for (const char* month : {"2024-01", "2024-02"}) {
                CAPTURE(month);
                std::string oracle = pgsplit::test::OracleWant(expected, table, "latest", month);
                CHECK(pgsplit::test::OracleGot(local_db, expected, table, month) == oracle);
                CHECK(pgsplit::test::OracleGot(key_db, expected, table, month) == oracle);
                CHECK(pgsplit::test::OracleGot(sas_db, expected, table, month) == oracle);
            }
        }
        const char* ledger = "SELECT string_agg(year_month || ':' || status || ':' || signals_rows || ':' || "
                             "composite_rows || ':' || signals_delta_version, ',' ORDER BY year_month) "
                             "FROM ranking.signal_sync_state";
        CHECK(key_db.Value(ledger) == local_db.Value(ledger));
        CHECK(sas_db.Value(ledger) == local_db.Value(ledger));

        // verify reads the same Delta counts remotely: every month passes, as it does locally.
        auto verify = [](const TestDatabase& db, const std::string& signals, const std::string& composite,
                         std::map<std::string, std::string> env) {
            env["POSTGRES_DSN"] = db.Dsn();
            env["PGSPLIT_SIGNALS_TABLE"] = signals;
            env["PGSPLIT_COMPOSITE_TABLE"] = composite;
            return RunPgsplit({"verify", "--month", "2024-01", "--month", "2024-02"}, env);
        };
        auto lv = verify(local_db, Local("sync/basic/ranking_signal"),
                         Local("sync/basic/composite_signal_daily"), {});
        CHECK_MESSAGE(lv.exit_code == 0, lv.All());
        auto kv = verify(key_db, Abfss("sync/basic/ranking_signal"),
                         Abfss("sync/basic/composite_signal_daily"), KeyEnv());
        CHECK_MESSAGE(kv.exit_code == 0, kv.All());
        auto sv = verify(sas_db, PathStyle("sync/basic/ranking_signal"),
                         PathStyle("sync/basic/composite_signal_daily"), sas_env);
        CHECK_MESSAGE(sv.exit_code == 0, sv.All());
        CheckNoSecret(sv, sas_env);
    }

    TEST_CASE("inspect parquet reads a file over abfss:// and a blob URL as it reads it from disk") {
        // A data file of the uploaded sync fixture, found on disk (its name is DuckDB's choice).
        std::string rel;
        for (const auto& e :
             fs::recursive_directory_iterator(FixturesDir() / "sync" / "basic" / "ranking_signal")) {
            if (e.is_regular_file() && e.path().extension() == ".parquet") {
                rel = fs::relative(e.path(), FixturesDir()).generic_string();
                break;
            }
        }
        REQUIRE_FALSE(rel.empty());
        auto local = RunPgsplit({"inspect", "parquet", Local(rel), "--rows"});
        REQUIRE_MESSAGE(local.exit_code == 0, local.All());
        auto local_meta = RunPgsplit({"--json", "inspect", "parquet", Local(rel)});
        REQUIRE(local_meta.exit_code == 0);
        for (const auto& access :
             std::vector<std::tuple<std::string, std::string, std::map<std::string, std::string>>>{
                 {"abfss + key", Abfss(rel), KeyEnv()}, {"blob URL + SAS", PathStyle(rel), SasEnv()}}) {
            // Not structured bindings: doctest's macros capture them.
            const std::string& label = std::get<0>(access);
            const std::string& uri = std::get<1>(access);
            const auto& env = std::get<2>(access);
            CAPTURE(label);
            auto rows = RunPgsplit({"inspect", "parquet", uri, "--rows"}, env);
            REQUIRE_MESSAGE(rows.exit_code == 0, rows.All());
            CHECK(rows.out == local.out);
            CheckNoSecret(rows, env);
            auto meta = RunPgsplit({"--json", "inspect", "parquet", uri}, env);
            REQUIRE_MESSAGE(meta.exit_code == 0, meta.All());
            auto a = nlohmann::json::parse(meta.out), b = nlohmann::json::parse(local_meta.out);
            a.erase("file");
            b.erase("file");
            CHECK(a == b);
        }
        auto missing = RunPgsplit({"inspect", "parquet", Abfss("sync/basic/none.parquet")}, KeyEnv());
        CHECK(missing.exit_code == 7);
        CHECK(missing.err.find("none.parquet") != std::string::npos);
    }

    TEST_CASE("a missing table or container exits 7 naming the URI; a bad key or a SAS without l exits 4") {
        auto missing = RunPgsplit({"inspect", "delta", Abfss("delta/no_such_table")}, KeyEnv());
        CHECK(missing.exit_code == 7);
        CHECK(missing.err.find("delta/no_such_table") != std::string::npos);

        std::string no_container =
            fmt::format("abfss://nocontainer{}@{}.dfs.core.windows.net/t", getpid(), kDevAccount);
        auto gone = RunPgsplit({"inspect", "delta", no_container}, KeyEnv());
        CHECK(gone.exit_code == 7);
        CHECK(gone.err.find("ContainerNotFound") != std::string::npos);
        CHECK(gone.err.find(no_container) != std::string::npos);

        // A valid base64 key of the right length that is not the account's.
        auto wrong_env = KeyEnv();
        wrong_env["AZURE_STORAGE_KEY"] = az::Base64Encode(std::string(64, 'k'));
        auto wrong = RunPgsplit({"inspect", "delta", Abfss("delta/ranking_signal")}, wrong_env);
        CHECK(wrong.exit_code == 4);
        CHECK(wrong.err.find("403") != std::string::npos);
        CHECK(wrong.err.find("account key (AZURE_STORAGE_KEY)") != std::string::npos);
        CheckNoSecret(wrong, wrong_env);

        auto read_only = SasEnv("r");
        auto no_list = RunPgsplit({"inspect", "delta", PathStyle("delta/ranking_signal")}, read_only);
        CHECK(no_list.exit_code == 4);
        CHECK(no_list.err.find("SAS token (AZURE_STORAGE_SAS_TOKEN)") != std::string::npos);
        CHECK(no_list.err.find("r (read) and l (list)") != std::string::npos);
        CheckNoSecret(no_list, read_only);

        // Nothing configured: the credential chain had nothing either; exit 4 before any request is sent.
        auto none = RunPgsplit({"inspect", "delta", Abfss("delta/ranking_signal")}, {});
        CHECK(none.exit_code == 4);
        CHECK(none.err.find("no credentials for azure storage: no SAS or account key is set, and no Azure "
                            "credential gave a token for https://storage.azure.com/.default") !=
              std::string::npos);
        CHECK(none.err.find("AZURE_STORAGE_KEY") != std::string::npos);

        auto bad_uri = RunPgsplit({"inspect", "delta", "abfss://nofs.dfs.core.windows.net/t"}, KeyEnv());
        CHECK(bad_uri.exit_code == 2);
    }

    TEST_CASE("a 200-file month is read with at most 2 requests per file") {
        // A table built here from one DuckDB-written fixture file, added 200 times to one month.
        std::string container = FixtureContainer();
        std::string prefix = "month200";
        Uploader up;
        for (const auto& [name, bytes] : CopiesOfOneFile(200)) {
            up.Put(container, prefix + "/" + name, bytes);
        }

        Config config = Config::FromMap({}, KeyEnv());
        auto owned = std::make_unique<az::BlobStorage>(Abfss(prefix), config.Storage());
        az::BlobStorage& blob = *owned;
        delta::Table table(std::move(owned));
        auto snap = table.LoadSnapshot();
        uint64_t log_requests = blob.RequestCount();
        delta::Scan scan(snap, table.GetStorage(),
                         {.columns = {}, .predicate = delta::Predicate{"year_month", "2024-02"}});
        delta::ScanBatch batch;
        int64_t rows = 0;
        while (scan.Next(batch)) {
            rows += static_cast<int64_t>(batch.size);
        }
        uint64_t data_requests = blob.RequestCount() - log_requests;
        MESSAGE("200 files: ", log_requests, " requests for the log, ", data_requests, " for the data");
        CHECK(scan.Counters().files_opened == 200);
        CHECK(rows == 200 * kRowsPerCopy);
        CHECK(data_requests <= 2 * 200);
    }

    TEST_CASE("a file larger than the first window: footer from the tail, column chunks by read-ahead") {
        // Small windows make a 20 KB fixture behave like a large file.
        az::BlobOptions small;
        small.first_window = 4096;
        small.tail_window = 4096;
        small.read_ahead = 8192;
        Config config = Config::FromMap({}, KeyEnv());
        auto owned =
            std::make_unique<az::BlobStorage>(Abfss("sync/basic/ranking_signal"), config.Storage(), small);
        az::BlobStorage& blob = *owned;
        delta::Table table(std::move(owned));
        auto snap = table.LoadSnapshot();
        uint64_t before = blob.RequestCount();
        delta::Scan scan(snap, table.GetStorage(),
                         {.columns = {}, .predicate = delta::Predicate{"year_month", "2024-01"}});
        delta::ScanBatch batch;
        int64_t rows = 0;
        while (scan.Next(batch)) {
            rows += static_cast<int64_t>(batch.size);
        }
        // The same rows as the local read, in a bounded number of ranged requests.
        auto local = storage::OpenLocalStorage(Local("sync/basic/ranking_signal"));
        delta::Table local_table(std::move(local));
        auto local_snap = local_table.LoadSnapshot();
        delta::Scan local_scan(local_snap, local_table.GetStorage(),
                               {.columns = {}, .predicate = delta::Predicate{"year_month", "2024-01"}});
        int64_t local_rows = 0;
        while (local_scan.Next(batch)) {
            local_rows += static_cast<int64_t>(batch.size);
        }
        CHECK(rows == local_rows);
        uint64_t used = blob.RequestCount() - before;
        MESSAGE("the month's files with 4/4/8 KiB windows: ", used, " requests");
        CHECK(used <= 2 * 6);
    }
}

} // namespace pgsplit::test
