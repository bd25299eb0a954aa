#include "support/pg_cluster.h"

#include "provision/roles.h"
#include "support/paths.h"
#include "support/process.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <stdexcept>
#include <unistd.h>

namespace pgsplit::test {
namespace {

// Owns a cluster this process started, destroying it at exit.
struct OwnedCluster {
    std::string dir;
    ~OwnedCluster() {
        if (!dir.empty()) {
            std::string cmd =
                (SourceDir() / "scripts" / "pg-cluster.sh").string() + " destroy " + dir + " >/dev/null 2>&1";
            (void)std::system(cmd.c_str());
        }
    }
};

ClusterInfo StartCluster() {
    ClusterInfo info;
    const char* host = std::getenv("PGSPLIT_TEST_PGHOST");
    const char* port = std::getenv("PGSPLIT_TEST_PGPORT");
    if (host && *host && port && *port) {
        info.socket_dir = host;
        info.port = std::atoi(port);
        return info;
    }
    static OwnedCluster owned;
    char tmpl[] = "/tmp/pgsplit-cluster-XXXXXX";
    if (!mkdtemp(tmpl)) {
        throw std::runtime_error("mkdtemp failed for the test cluster");
    }
    owned.dir = tmpl;
    return StartClusterIn(owned.dir);
}

} // namespace

namespace {

// Runs scripts/pg-cluster.sh with `args` (already quoted) and reads the "HOST PORT" it prints.
ClusterInfo RunClusterScript(const std::string& env_assignments, const std::string& args,
                             const std::string& dir) {
    std::string cmd = env_assignments + (env_assignments.empty() ? "" : " ") + "'" +
                      (SourceDir() / "scripts" / "pg-cluster.sh").string() + "' " + args;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    std::array<char, 512> buf{};
    std::string out;
    while (pipe && fgets(buf.data(), buf.size(), pipe.get())) {
        out += buf.data();
    }
    auto space = out.find(' ');
    if (space == std::string::npos) {
        throw std::runtime_error("could not start a throwaway PostgreSQL cluster in " + dir + ": " + out);
    }
    ClusterInfo info;
    info.socket_dir = out.substr(0, space);
    info.port = std::atoi(out.substr(space + 1).c_str());
    return info;
}

std::string MakeClusterDir(const char* kind) {
    std::string tmpl = std::string("/tmp/pgsplit-") + kind + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
        throw std::runtime_error(std::string("mkdtemp failed for a test cluster: ") + kind);
    }
    return tmpl;
}

} // namespace

ClusterInfo StartClusterIn(const std::string& dir, const std::string& env_assignments) {
    return RunClusterScript(env_assignments, "start '" + dir + "'", dir);
}

Standby::Standby(const OwnCluster& primary) : dir_(MakeClusterDir("standby")) {
    info_ = RunClusterScript("", "standby '" + primary.Dir() + "' '" + dir_ + "'", dir_);
}

Standby::~Standby() {
    std::string cmd = "'" + (SourceDir() / "scripts" / "pg-cluster.sh").string() + "' destroy '" + dir_ +
                      "' >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
}

std::string Standby::Dsn(const std::string& database) const {
    return fmt::format("host={} port={} user=postgres dbname={}", info_.socket_dir, info_.port, database);
}

namespace {
const ClusterInfo* g_own_cluster = nullptr;
} // namespace

const ClusterInfo& Cluster() {
    if (g_own_cluster) {
        return *g_own_cluster;
    }
    static ClusterInfo info = StartCluster();
    return info;
}

OwnCluster::OwnCluster() {
    if (g_own_cluster) {
        throw std::runtime_error("OwnCluster: one own cluster at a time");
    }
    char tmpl[] = "/tmp/pgsplit-own-cluster-XXXXXX";
    if (!mkdtemp(tmpl)) {
        throw std::runtime_error("mkdtemp failed for an own test cluster");
    }
    dir_ = tmpl;
    info_ = StartClusterIn(dir_);
    g_own_cluster = &info_;
}

OwnCluster::~OwnCluster() {
    g_own_cluster = nullptr;
    // The canary scan reads every server log the suite produced: keep this one's before it goes.
    if (const char* capture = std::getenv("PGSPLIT_TEST_CAPTURE_DIR"); capture && *capture) {
        std::error_code ec;
        std::filesystem::copy_file(std::filesystem::path(dir_) / "server.log",
                                   std::filesystem::path(capture) /
                                       (std::filesystem::path(dir_).filename().string() + "-server.log"),
                                   std::filesystem::copy_options::overwrite_existing, ec);
    }
    std::string cmd = "'" + (SourceDir() / "scripts" / "pg-cluster.sh").string() + "' destroy '" + dir_ +
                      "' >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
}

std::string SuperuserDsn(const std::string& database) {
    const auto& c = Cluster();
    return fmt::format("host={} port={} user=postgres dbname={}", c.socket_dir, c.port, database);
}

std::string TcpDsn(const std::string& user, const std::string& password, const std::string& database) {
    return fmt::format("postgresql://{}:{}@127.0.0.1:{}/{}", user, password, Cluster().port, database);
}

void EnsureRole(const std::string& role, const std::string& password) {
    auto c = pg::Connection::Open(SuperuserDsn(), "pgsplit-test");
    std::string ident = pg::QuoteIdent(c, role);
    c.Exec(fmt::format("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {}) THEN "
                       "CREATE ROLE {} LOGIN; END IF; END $$",
                       pg::QuoteLiteral(c, role), ident));
    // The verifier is computed here, as pgsplit provision does, so the plain password never reaches the
    // server log (log_statement=all): the canary scan at the end of scripts/test.sh checks that log too.
    c.Exec(fmt::format("ALTER ROLE {} LOGIN PASSWORD {}", ident,
                       pg::QuoteLiteral(c, provision::ScramVerifier(c, role, password))));
}

TestDatabase::TestDatabase() {
    static int counter = 0;
    name_ = fmt::format("pgsplit_t{}_{}", getpid(), ++counter);
    auto c = pg::Connection::Open(SuperuserDsn(), "pgsplit-test");
    c.Exec("CREATE DATABASE " + name_);
}

TestDatabase::~TestDatabase() {
    try {
        auto c = pg::Connection::Open(SuperuserDsn(), "pgsplit-test");
        c.Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
}

std::string TestDatabase::Value(const std::string& sql) const {
    auto c = Connect();
    return c.QueryValue(sql).value_or("");
}

} // namespace pgsplit::test
