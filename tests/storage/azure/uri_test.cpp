// Table locations on Azure: the accepted forms, the endpoint override, and redaction (issue 6).
#include "core/error.h"
#include "storage/azure/uri.h"

#include <doctest/doctest.h>

namespace az = pgsplit::storage::azure;
using pgsplit::Error;
using pgsplit::ExitCode;

TEST_SUITE("azure") {
    TEST_CASE("abfss:// maps the file system to a container on the account's blob host") {
        auto l = az::ParseBlobUri("abfss://gold@acct1.dfs.core.windows.net/ranking/signals/", std::nullopt);
        CHECK(l.account == "acct1");
        CHECK(l.container == "gold");
        CHECK(l.prefix == "ranking/signals");
        CHECK(l.base_url == "https://acct1.blob.core.windows.net");
        CHECK(l.sas.empty());
        // Sovereign clouds keep their suffix.
        auto cn = az::ParseBlobUri("abfss://fs@acct2.dfs.core.chinacloudapi.cn/t", std::nullopt);
        CHECK(cn.base_url == "https://acct2.blob.core.chinacloudapi.cn");
        // A table at the root of its file system.
        CHECK(az::ParseBlobUri("abfss://fs@acct.dfs.core.windows.net", std::nullopt).prefix.empty());
    }

    TEST_CASE("blob https URLs, dfs https URLs and a SAS in the query") {
        auto b = az::ParseBlobUri("https://acct.blob.core.windows.net/gold/a/b%20c?sv=2021-08-06&sig=SECRET",
                                  std::nullopt);
        CHECK(b.container == "gold");
        CHECK(b.prefix == "a/b c");
        CHECK(b.base_url == "https://acct.blob.core.windows.net");
        CHECK(b.sas == "sv=2021-08-06&sig=SECRET");
        auto d = az::ParseBlobUri("https://acct.dfs.core.windows.net/gold/t", std::nullopt);
        CHECK(d.base_url == "https://acct.blob.core.windows.net");
        CHECK(d.prefix == "t");
    }

    TEST_CASE("path-style emulator URLs and the endpoint override") {
        auto p = az::ParseBlobUri("http://127.0.0.1:10000/devstoreaccount1/fixtures/delta/t", std::nullopt);
        CHECK(p.account == "devstoreaccount1");
        CHECK(p.container == "fixtures");
        CHECK(p.prefix == "delta/t");
        CHECK(p.base_url == "http://127.0.0.1:10000/devstoreaccount1");
        // An override without a path is path style: the account is appended.
        auto o = az::ParseBlobUri("abfss://fixtures@devstoreaccount1.dfs.core.windows.net/delta/t",
                                  std::string("http://127.0.0.1:10000/"));
        CHECK(o.base_url == "http://127.0.0.1:10000/devstoreaccount1");
        CHECK(o.prefix == "delta/t");
        // With a path it is the account's base URL as given.
        auto q = az::ParseBlobUri("https://acct.blob.core.windows.net/c/t",
                                  std::string("https://proxy.internal/acct"));
        CHECK(q.base_url == "https://proxy.internal/acct");
        CHECK_THROWS_AS(az::ParseBlobUri("abfss://c@acct.dfs.core.windows.net/t", std::string("ftp://x")),
                        Error);
    }

    TEST_CASE("malformed locations are usage errors that name the accepted forms") {
        for (const char* bad :
             {"abfss://acct.dfs.core.windows.net/t", "abfss://fs@acct.blob.core.windows.net/t",
              "https://example.com/c/t", "https://acct.blob.core.windows.net",
              "http://127.0.0.1:1/devstoreaccount1", "abfss://fs@ACCT.dfs.core.windows.net/t",
              "https://acct.blob.core.windows.net/c/a/../b", "s3://bucket/t", "http://:10000/acct/c/t",
              "https:///c/t"}) {
            CAPTURE(bad);
            try {
                az::ParseBlobUri(bad, std::nullopt);
                FAIL("accepted");
            } catch (const Error& e) {
                CHECK(e.code() == ExitCode::Usage);
                CHECK(e.hint().find("abfss://FILESYSTEM@ACCOUNT") != std::string::npos);
            }
        }
    }

    TEST_CASE("a SAS signature never reaches a message") {
        CHECK(az::RedactUrl("https://a.blob.core.windows.net/c?sv=1&sig=abc%2Bdef&sp=rl") ==
              "https://a.blob.core.windows.net/c?sv=1&sig=***&sp=rl");
        CHECK(az::RedactUrl("https://a.blob.core.windows.net/c/t") == "https://a.blob.core.windows.net/c/t");
        try {
            az::ParseBlobUri("https://example.com/c/t?sig=TOPSECRET", std::nullopt);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("TOPSECRET") == std::string::npos);
        }
    }

    TEST_CASE("blob names are percent-encoded per segment, slashes kept") {
        CHECK(az::EncodePath("year_month=2024-01/part 0.parquet") == "year_month%3D2024-01/part%200.parquet");
        CHECK(az::EncodeQueryValue("a/b c") == "a%2Fb%20c");
        CHECK(az::DecodePercent("a%2Fb%20c%") == "a/b c%");
    }
}
