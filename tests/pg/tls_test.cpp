// TLS against a real server: a throwaway cluster with ssl=on and a certificate for "localhost" signed
// by a CA made here with the openssl CLI. verify-full must connect with that CA, and fail with exit 4
// and a hint naming the cause for the wrong host name, the wrong CA, a missing CA file, and a server
// without TLS (the suite's main cluster). The password never appears in what pgsplit prints.

#include "pg/connection.h"
#include "provision/roles.h"
#include "support/paths.h"
#include "support/pg_cluster.h"
#include "support/process.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace {

using pgsplit::test::ProcResult;
using pgsplit::test::RunPgsplit;
using pgsplit::test::ScratchDir;

constexpr const char* kUser = "pgsplit_tls";

std::string Password() {
    static const std::string pw = fmt::format("TlsCanary-{}-q7Zr", getpid());
    return pw;
}

void Sh(const std::string& script) {
    pgsplit::test::Process p({"/bin/sh", "-c", script}, {});
    auto r = p.Wait(120);
    if (r.exit_code != 0) {
        throw std::runtime_error("'" + script + "' failed: " + r.All());
    }
}

// A CA, a server certificate for localhost signed by it, and an unrelated CA; then a cluster serving
// that certificate. Shared by the cases below and destroyed at exit, also when a case fails.
class TlsCluster {
public:
    TlsCluster() {
        Sh(fmt::format(
            "set -e; cd '{}'\n"
            "key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
            "openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 -subj '/CN=pgsplit test CA'\n"
            "openssl req -x509 $key -keyout other.key -out other.crt -days 2 -subj '/CN=another CA'\n"
            "openssl req $key -keyout server.key -out server.csr -subj '/CN=localhost'\n"
            "printf "
            "'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' "
            ">server.ext\n"
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "-extfile server.ext -out server.crt\n",
            certs_.Path()));
        char tmpl[] = "/tmp/pgsplit-tls-cluster-XXXXXX";
        if (!mkdtemp(tmpl)) {
            throw std::runtime_error("mkdtemp failed for the TLS cluster");
        }
        dir_ = tmpl;
        // A half-started cluster must not outlive a failed setup: the destructor will not run.
        try {
            auto info = pgsplit::test::StartClusterIn(
                dir_, fmt::format("PGSPLIT_CLUSTER_SSL_DIR='{}'", certs_.Path()));
            socket_dir_ = info.socket_dir;
            port_ = info.port;
            auto c = pgsplit::pg::Connection::Open(
                fmt::format("host={} port={} user=postgres dbname=postgres", socket_dir_, port_),
                "pgsplit-test");
            c.Exec(fmt::format(
                "CREATE ROLE {} LOGIN PASSWORD {}", kUser,
                pgsplit::pg::QuoteLiteral(c, pgsplit::provision::ScramVerifier(c, kUser, Password()))));
        } catch (...) {
            Destroy();
            throw;
        }
    }
    ~TlsCluster() { Destroy(); }
    TlsCluster(const TlsCluster&) = delete;
    TlsCluster& operator=(const TlsCluster&) = delete;

    std::string Cert(const char* name) const { return certs_ / name; }

    // A key=value DSN for the TLS cluster over TCP with password login.
    std::string Dsn(const std::string& host, const std::string& tls) const {
        return fmt::format("host={} port={} user={} password={} dbname=postgres {}", host, port_, kUser,
                           Password(), tls);
    }

private:
    void Destroy() {
        if (!dir_.empty()) {
            (void)std::system(fmt::format("'{}' destroy '{}' >/dev/null 2>&1", Script(), dir_).c_str());
            dir_.clear();
        }
    }
    static std::string Script() {
        return (pgsplit::test::SourceDir() / "scripts" / "pg-cluster.sh").string();
    }
    ScratchDir certs_;
    std::string dir_;
    std::string socket_dir_;
    int port_ = 0;
};

TlsCluster& Tls() {
    static TlsCluster cluster;
    return cluster;
}

ProcResult MigrateStatus(const std::string& dsn) {
    return RunPgsplit({"migrate", "status", "--color", "never"}, {{"POSTGRES_DSN", dsn}}, 60);
}

void CheckRefused(const ProcResult& r, const std::string& cause, const std::string& hint) {
    INFO("output: ", r.All());
    CHECK(r.exit_code == 4);
    CHECK(r.err.find(cause) != std::string::npos);
    CHECK(r.err.find(hint) != std::string::npos);
    CHECK(r.All().find(Password()) == std::string::npos);
    CHECK(r.All().find("password=***") != std::string::npos);
}

} // namespace

TEST_SUITE("pg.tls") {
    TEST_CASE("verify-full with the CA that signed the server certificate connects over TLS") {
        auto& tls = Tls();
        std::string dsn = tls.Dsn("localhost", "sslmode=verify-full sslrootcert=" + tls.Cert("ca.crt"));
        auto c = pgsplit::pg::Connection::Open(dsn, "pgsplit-test");
        CHECK(c.QueryValue("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "t");

        auto r = MigrateStatus(dsn);
        INFO("output: ", r.All());
        CHECK(r.exit_code == 0);
        CHECK(r.All().find(Password()) == std::string::npos);
    }

    TEST_CASE("verify-full refuses a host name the certificate does not name, with exit 4 and a hint") {
        auto& tls = Tls();
        // The certificate names localhost only; 127.0.0.1 is the same server under another name.
        auto r = MigrateStatus(tls.Dsn("127.0.0.1", "sslmode=verify-full sslrootcert=" + tls.Cert("ca.crt")));
        CheckRefused(r, "does not match host name \"127.0.0.1\"", "issued for another host name");
    }

    TEST_CASE("verify-full refuses a server certificate signed by another CA, with exit 4 and a hint") {
        auto& tls = Tls();
        std::string other = tls.Cert("other.crt");
        auto r = MigrateStatus(tls.Dsn("localhost", "sslmode=verify-full sslrootcert=" + other));
        CheckRefused(r, "certificate verify failed", "not signed by a CA in sslrootcert " + other);
    }

    TEST_CASE("verify-full with an sslrootcert that does not exist fails with exit 4 and names the file") {
        auto& tls = Tls();
        auto r = MigrateStatus(tls.Dsn("localhost", "sslmode=verify-full sslrootcert=/nonexistent/ca.crt"));
        CheckRefused(r, "root certificate file \"/nonexistent/ca.crt\" does not exist",
                     "sslrootcert /nonexistent/ca.crt cannot be read");
    }

    TEST_CASE("sslmode=require against a server without TLS fails with exit 4 and says so") {
        // The suite's main cluster runs with ssl off.
        pgsplit::test::EnsureRole(kUser, Password());
        auto r = MigrateStatus(pgsplit::test::TcpDsn(kUser, Password(), "postgres") + "?sslmode=require");
        INFO("output: ", r.All());
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("server does not support SSL") != std::string::npos);
        CHECK(r.err.find("does not accept encrypted connections") != std::string::npos);
        CHECK(r.All().find(Password()) == std::string::npos);
        CHECK(r.All().find(":***@") != std::string::npos);
    }
}
