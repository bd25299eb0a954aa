#pragma once

#include "pg/connection.h"

#include <string>

namespace pgsplit::test {

// The throwaway cluster the suite runs against. scripts/test.sh starts one and exports
// PGSPLIT_TEST_PGHOST (socket dir) and PGSPLIT_TEST_PGPORT; without them the first use starts one with
// scripts/pg-cluster.sh and destroys it at exit. Tests never touch a server they did not start.
struct ClusterInfo {
    std::string socket_dir;
    int port = 0;
};
const ClusterInfo& Cluster();

// A cluster of the test's own, for tests that change cluster-wide state (roles and their passwords):
// while it lives, Cluster(), SuperuserDsn(), TcpDsn() and TestDatabase use it instead of the shared
// one. Its server log is copied into PGSPLIT_TEST_CAPTURE_DIR before it is destroyed, so the canary
// scan of scripts/test.sh reads it too. Create it before any TestDatabase of the test.
class OwnCluster {
public:
    OwnCluster();
    ~OwnCluster();
    OwnCluster(const OwnCluster&) = delete;
    OwnCluster& operator=(const OwnCluster&) = delete;
    const std::string& Dir() const { return dir_; }

private:
    std::string dir_;
    ClusterInfo info_;
};

// Runs `scripts/pg-cluster.sh start DIR` (with shell `env_assignments` such as "VAR='x'" in front) and
// returns where the new cluster listens. Throws with the script's output when it does not start. The
// caller destroys it (scripts/pg-cluster.sh destroy DIR).
ClusterInfo StartClusterIn(const std::string& dir, const std::string& env_assignments = "");

// A streaming read replica of an OwnCluster (pg_basebackup -R over the primary's socket, then started
// on a free port: scripts/pg-cluster.sh standby), stopped and removed when it goes out of scope.
class Standby {
public:
    explicit Standby(const OwnCluster& primary);
    ~Standby();
    Standby(const Standby&) = delete;
    Standby& operator=(const Standby&) = delete;
    std::string Dsn(const std::string& database) const; // superuser over its unix socket

private:
    std::string dir_;
    ClusterInfo info_;
};

// Superuser (postgres, trust over the unix socket) DSN for a database.
std::string SuperuserDsn(const std::string& database = "postgres");
// Password login over TCP 127.0.0.1 (scram-sha-256) as `user`.
std::string TcpDsn(const std::string& user, const std::string& password, const std::string& database);

// Creates a login role with a password if missing, and (re)sets the password.
void EnsureRole(const std::string& role, const std::string& password);

// A fresh database per test case, dropped (WITH FORCE) at the end.
class TestDatabase {
public:
    TestDatabase();
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    const std::string& Name() const { return name_; }
    std::string Dsn() const { return SuperuserDsn(name_); }
    pg::Connection Connect() const { return pg::Connection::Open(Dsn(), "pgsplit-test"); }
    // First column of the first row (empty string for NULL / no row).
    std::string Value(const std::string& sql) const;

private:
    std::string name_;
};

} // namespace pgsplit::test
