// Unit tests of the DSN builders, each checked by libpq's own reading of what they build
// (ParseDsnOptions is PQconninfoParse), not by the text pgsplit expects.
#include "config/dsn.h"

#include <doctest/doctest.h>

using pgsplit::ParseDsnOptions;

TEST_SUITE("dsn") {
    TEST_CASE("an option added to a URI or a key=value DSN reads back through libpq, quotes and all") {
        const std::string value = "p@ss w'rd\\/?&=";
        for (std::string dsn :
             {"postgresql://app@db.example/app", "postgresql://app@db.example/app?sslmode=require",
              "host=db.example user=app dbname=app"}) {
            CAPTURE(dsn);
            auto opts = ParseDsnOptions(pgsplit::DsnWithOption(dsn, "password", value));
            REQUIRE(opts.has_value());
            CHECK(opts->at("password") == value);
            CHECK(opts->at("user") == "app");
            CHECK(opts->at("host") == "db.example");
        }
    }

    TEST_CASE("the server DSN provision prints encodes every part and verifies Azure hosts") {
        std::string dsn = pgsplit::AzureServerDsn("ranking_app", "a:b@c/d%e",
                                                  "srv.postgres.database.azure.com", "ranking db");
        auto opts = ParseDsnOptions(dsn);
        REQUIRE(opts.has_value());
        CHECK(opts->at("user") == "ranking_app");
        CHECK(opts->at("password") == "a:b@c/d%e");
        CHECK(opts->at("dbname") == "ranking db");
        CHECK(opts->at("port") == "5432");
        CHECK(opts->at("sslmode") == "verify-full");
        auto no_password = ParseDsnOptions(pgsplit::AzureServerDsn("u", "", "h.example", "d"));
        REQUIRE(no_password.has_value());
        CHECK(no_password->count("password") == 0);
        CHECK(pgsplit::PercentEncode("a-Z_0.~ é") == "a-Z_0.~%20%C3%A9");
    }
}
