#include "config/config.h"
#include "config/dsn.h"
#include "core/duration.h"
#include "core/error.h"
#include "support/process.h"

#include <doctest/doctest.h>

using pgsplit::Config;
using pgsplit::ExitCode;
using pgsplit::GlobalFlags;

TEST_SUITE("config") {
    TEST_CASE("booleans accept 1/0, true/false, yes/no, on/off in any case") {
        for (const char* t : {"1", "true", "TRUE", "Yes", "on", "ON"}) {
            CHECK(pgsplit::ParseBool(t) == true);
        }
        for (const char* f : {"0", "false", "False", "NO", "off"}) {
            CHECK(pgsplit::ParseBool(f) == false);
        }
        CHECK_FALSE(pgsplit::ParseBool("maybe").has_value());
        CHECK_FALSE(pgsplit::ParseBool("").has_value());
    }

    TEST_CASE("a bad boolean env value is a configuration error naming the variable") {
        auto c = Config::FromMap({}, {{"POSTGRES_SIGNALS_WRITE_REQUIRED", "sometimes"}});
        try {
            c.EnvBool("POSTGRES_SIGNALS_WRITE_REQUIRED", true);
            FAIL("expected an error");
        } catch (const pgsplit::Error& e) {
            CHECK(e.code() == ExitCode::Config);
            CHECK(std::string(e.what()).find("POSTGRES_SIGNALS_WRITE_REQUIRED") != std::string::npos);
        }
        CHECK(c.EnvBool("POSTGRES_SIGNALS_VERIFY_COUNTS", false) == false);
    }

    TEST_CASE("the DSN comes from the flag, else the environment, else the config file") {
        pgsplit::test::ScratchDir dir;
        pgsplit::test::WriteText(dir / "pgsplit.yaml", "postgres:\n  dsn: host=from-file\n");
        GlobalFlags flags;
        flags.config_path = dir / "pgsplit.yaml";
        CHECK(Config::FromMap(flags, {}).dsn == "host=from-file");
        CHECK(Config::FromMap(flags, {{"POSTGRES_DSN", "host=from-env"}}).dsn == "host=from-env");
        flags.dsn = "host=from-flag";
        CHECK(Config::FromMap(flags, {{"POSTGRES_DSN", "host=from-env"}}).dsn == "host=from-flag");
    }

    TEST_CASE("a missing or unparsable config file is a configuration error") {
        GlobalFlags flags;
        flags.config_path = "/nonexistent/pgsplit.yaml";
        CHECK_THROWS_AS(Config::FromMap(flags, {}), pgsplit::Error);
        pgsplit::test::ScratchDir dir;
        pgsplit::test::WriteText(dir / "bad.yaml", "postgres: [unclosed\n");
        flags.config_path = dir / "bad.yaml";
        try {
            Config::FromMap(flags, {});
            FAIL("expected an error");
        } catch (const pgsplit::Error& e) {
            CHECK(e.code() == ExitCode::Config);
            CHECK(std::string(e.what()).find("bad.yaml") != std::string::npos);
        }
    }

    TEST_CASE("ACA jobs get JSON logs by default; GitHub Actions is detected") {
        auto c = Config::FromMap({}, {{"CONTAINER_APP_JOB_NAME", "ranking"}, {"GITHUB_ACTIONS", "true"}});
        CHECK(c.log_format == pgsplit::LogFormat::Json);
        CHECK(c.aca_job);
        CHECK(c.github_actions);
        CHECK(Config::FromMap({}, {}).log_format == pgsplit::LogFormat::Text);
    }

    TEST_CASE("RequireDsn explains how to provide one") {
        try {
            Config::FromMap({}, {}).RequireDsn("migrate");
            FAIL("expected an error");
        } catch (const pgsplit::Error& e) {
            CHECK(e.code() == ExitCode::Config);
            CHECK(e.hint().find("POSTGRES_DSN") != std::string::npos);
        }
    }
}

TEST_SUITE("dsn") {
    TEST_CASE("passwords are redacted in URIs and key=value DSNs") {
        using pgsplit::RedactDsn;
        CHECK(RedactDsn("postgresql://ranking_writer:s3cr%40t@host.example/db?sslmode=require") ==
              "postgresql://ranking_writer:***@host.example/db?sslmode=require");
        CHECK(RedactDsn("postgres://u@h/db?password=abc&sslmode=require") ==
              "postgres://u@h/db?password=***&sslmode=require");
        CHECK(RedactDsn("host=h user=u password=abc dbname=d") == "host=h user=u password=*** dbname=d");
        CHECK(RedactDsn("host=h password='a b\\' c' dbname=d") == "host=h password=*** dbname=d");
        CHECK(RedactDsn("host=h PASSWORD = abc") == "host=h PASSWORD = ***");
        CHECK(RedactDsn("postgresql://u@h/db") == "postgresql://u@h/db");
    }

    TEST_CASE("Azure hosts default to verify-full with the system CA bundle when the DSN sets no sslmode") {
        using pgsplit::ApplyDsnDefaults;
        auto uri = ApplyDsnDefaults("postgresql://u:p@srv.postgres.database.azure.com:5432/db");
        CHECK(uri.find("sslmode=verify-full") != std::string::npos);
        CHECK(uri.find("sslrootcert=/etc/ssl/certs/ca-certificates.crt") != std::string::npos);
        CHECK(uri.find("?sslmode") != std::string::npos);
        auto kv = ApplyDsnDefaults("host=srv.postgres.database.azure.com user=u dbname=db");
        CHECK(kv.find(" sslmode=verify-full") != std::string::npos);
        auto explicit_mode = "postgresql://u:p@srv.postgres.database.azure.com/db?sslmode=require";
        CHECK(ApplyDsnDefaults(explicit_mode) == explicit_mode);
        CHECK(ApplyDsnDefaults("host=localhost dbname=db") == "host=localhost dbname=db");
        CHECK(pgsplit::DsnHost("postgresql://u@a.example,b.example/db") == "a.example");
    }

    TEST_CASE("the Azure default keeps a URI's query parameters and adds to them") {
        using pgsplit::ApplyDsnDefaults;
        CHECK(ApplyDsnDefaults("postgresql://u:p@srv.postgres.database.azure.com/db?application_name=job&"
                               "connect_timeout=5") ==
              "postgresql://u:p@srv.postgres.database.azure.com/db?application_name=job&connect_timeout=5"
              "&sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt");
        // An sslrootcert the operator chose is kept; only sslmode is added.
        CHECK(ApplyDsnDefaults("postgresql://u@srv.postgres.database.azure.com/db?sslrootcert=/ca.pem") ==
              "postgresql://u@srv.postgres.database.azure.com/db?sslrootcert=/ca.pem&sslmode=verify-full");
        CHECK(ApplyDsnDefaults("host=srv.postgres.database.azure.com dbname=db sslrootcert=/ca.pem") ==
              "host=srv.postgres.database.azure.com dbname=db sslrootcert=/ca.pem sslmode=verify-full");
        // An explicit sslmode wins in both forms, whatever its value.
        for (const char* dsn : {"postgresql://u@srv.postgres.database.azure.com/db?sslmode=disable",
                                "host=srv.postgres.database.azure.com sslmode=verify-ca dbname=db",
                                "postgresql://u@srv.postgres.database.azure.com/db?ssl=true"}) {
            CHECK(ApplyDsnDefaults(dsn) == dsn);
        }
        // Host names are case-insensitive, and any host of a multi-host DSN counts.
        CHECK(
            ApplyDsnDefaults("host=SRV.Postgres.Database.Azure.com dbname=db").find("sslmode=verify-full") !=
            std::string::npos);
        CHECK(ApplyDsnDefaults("postgresql://u@replica.example,srv.postgres.database.azure.com/db")
                  .find("?sslmode=verify-full") != std::string::npos);
        CHECK(ApplyDsnDefaults("postgresql://u@srv.postgres.database.azure.example/db") ==
              "postgresql://u@srv.postgres.database.azure.example/db");
    }

    TEST_CASE("the Azure default lands where libpq reads it: not in a password, not in a swallowed space") {
        using pgsplit::ApplyDsnDefaults;
        using pgsplit::DsnOption;
        // A '?' inside the password is not the start of the query string.
        auto uri = ApplyDsnDefaults("postgresql://u:p?w@srv.postgres.database.azure.com/db");
        CHECK(DsnOption(uri, "sslmode") == "verify-full");
        CHECK(DsnOption(uri, "dbname") == "db");
        CHECK(DsnOption(uri, "password") == "p?w");
        // A URI ending in '?' gets no empty parameter, which libpq would reject.
        CHECK(DsnOption(ApplyDsnDefaults("postgresql://u@srv.postgres.database.azure.com/db?"), "sslmode") ==
              "verify-full");
        // A trailing backslash would escape the separating space and hide sslmode inside dbname.
        auto kv = ApplyDsnDefaults("host=srv.postgres.database.azure.com dbname=db\\");
        CHECK(DsnOption(kv, "sslmode") == "verify-full");
        CHECK(DsnOption(kv, "dbname") == "db");
    }

    TEST_CASE("redaction hides every password libpq would read, however the DSN spells it") {
        using pgsplit::RedactDsn;
        // libpq ends the userinfo at the first '@' or '/', so '?' and '#' belong to the password.
        CHECK(RedactDsn("postgresql://u:pa?ss#1@h/db") == "postgresql://u:***@h/db");
        // Query parameter names are percent-decoded by libpq.
        CHECK(RedactDsn("postgresql://u@h/db?pass%77ord=hunter2&sslmode=require") ==
              "postgresql://u@h/db?pass%77ord=***&sslmode=require");
        // Both places at once, and the client key passphrase.
        CHECK(RedactDsn("postgresql://u:first@h/db?password=second&sslpassword=third") ==
              "postgresql://u:***@h/db?password=***&sslpassword=***");
        CHECK(RedactDsn("host=h sslpassword=keypass password=a\\ b dbname=d") ==
              "host=h sslpassword=*** password=*** dbname=d");
        CHECK(RedactDsn("postgresql://u:@h/db") == "postgresql://u:@h/db");
        // Not a DSN (a libpq error message): copied, with any password=value still masked.
        CHECK(RedactDsn("connection to server at \"h\" (10.0.0.1), port 5432 failed: timeout") ==
              "connection to server at \"h\" (10.0.0.1), port 5432 failed: timeout");
        CHECK(RedactDsn("bad option near password=abc") == "bad option near password=***");
    }

    TEST_CASE("a URI libpq cannot read shows nothing between :// and the last @ (issue 14, item 6)") {
        using pgsplit::RedactDsn;
        // An unencoded '/' in the password: libpq rejects the URI.
        CHECK(RedactDsn("postgresql://user:Pa/ss@host/db") == "postgresql://***@host/db");
        CHECK(RedactDsn("postgres://user:a/b/c@h:5432/db?password=x") ==
              "postgres://***@h:5432/db?password=***");
        // An unencoded '@': libpq ends the user info at the first one and reads "ss@host" as the host.
        CHECK(RedactDsn("postgresql://user:p@ss@host/db") == "postgresql://***@host/db");
        CHECK(RedactDsn("postgresql://user:p@s@s@host/db?sslmode=require") ==
              "postgresql://***@host/db?sslmode=require");
        // A '@' after the host (in the query) is not user info: the usual form.
        CHECK(RedactDsn("postgresql://u:pw@h/db?application_name=a@b") ==
              "postgresql://u:***@h/db?application_name=a@b");
        CHECK(pgsplit::UnclearUserinfoSecrets("postgresql://user:Pa/ss@host/db") ==
              std::vector<std::string>{"user:Pa/ss", "Pa/ss"});
        CHECK(pgsplit::UnclearUserinfoSecrets("postgresql://user:p@ss@host/db") ==
              std::vector<std::string>{"user:p@ss", "p@ss"});
        CHECK(pgsplit::UnclearUserinfoSecrets("postgresql://u:pw@h/db").empty());
    }
}

TEST_SUITE("core") {
    TEST_CASE("durations parse with units and a bare number is seconds") {
        using pgsplit::ParseDuration;
        CHECK(ParseDuration("2")->count() == 2000);
        CHECK(ParseDuration("500ms")->count() == 500);
        CHECK(ParseDuration("5m")->count() == 300000);
        CHECK(ParseDuration("36h")->count() == 36LL * 3600 * 1000);
        CHECK(ParseDuration("7d")->count() == 7LL * 86400 * 1000);
        CHECK(ParseDuration("1.5s")->count() == 1500);
        CHECK_FALSE(ParseDuration("soon").has_value());
        CHECK_FALSE(ParseDuration("-1s").has_value());
        CHECK_FALSE(ParseDuration("5 weeks").has_value());
    }
}
