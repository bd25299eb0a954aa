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
