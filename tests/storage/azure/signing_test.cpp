// SharedKey and account SAS signing, checked against signatures computed independently with the
// openssl command line (issue 6), and the List Blobs parser.
#include "core/error.h"
#include "storage/azure/blob_storage.h"
#include "storage/azure/credentials.h"
#include "tests/storage/azure/azurite.h"
#include "tests/support/process.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace az = pgsplit::storage::azure;

namespace {

// base64(HMAC-SHA256(base64decode(key), message)) by the openssl CLI, not by pgsplit's code.
std::string OpensslSignature(const std::string& key_base64, const std::string& message) {
    pgsplit::test::ScratchDir dir;
    pgsplit::test::WriteText(dir / "msg", message);
    pgsplit::test::WriteText(dir / "key.b64", key_base64 + "\n");
    pgsplit::test::WriteText(
        dir / "sign.sh",
        "set -e\n"
        "hex=$(base64 -d key.b64 | od -An -v -tx1 | tr -d ' \\n')\n"
        "openssl dgst -sha256 -mac HMAC -macopt hexkey:$hex -binary msg | base64 -w0 > sig\n");
    REQUIRE(std::system(("cd '" + dir.Path() + "' && bash sign.sh").c_str()) == 0);
    std::string sig = pgsplit::test::ReadText(dir / "sig");
    REQUIRE(!sig.empty());
    return sig;
}

} // namespace

TEST_SUITE("azure") {
    TEST_CASE("SharedKey string-to-sign: standard headers, sorted x-ms headers, resource and sorted query") {
        az::HttpRequest r;
        r.method = "GET";
        r.url =
            "http://127.0.0.1:10000/devstoreaccount1/fixtures?restype=container&comp=list&prefix=delta%2Ft%2F"
            "&delimiter=%2F&Include=metadata";
        r.headers = {{"x-ms-version", "2021-08-06"},
                     {"x-ms-date", "Sun, 22 Nov 2026 01:02:03 GMT"},
                     {"x-ms-range", "bytes=0-99"},
                     {"X-Ms-Client-Request-Id", "  a   b "}};
        std::string want = "GET\n\n\n\n\n\n\n\n\n\n\n\n"
                           "x-ms-client-request-id:a b\n"
                           "x-ms-date:Sun, 22 Nov 2026 01:02:03 GMT\n"
                           "x-ms-range:bytes=0-99\n"
                           "x-ms-version:2021-08-06\n"
                           // the emulator's account appears twice: once for the account, once in the path
                           "/devstoreaccount1/devstoreaccount1/fixtures\n"
                           "comp:list\n"
                           "delimiter:/\n"
                           "include:metadata\n"
                           "prefix:delta/t/\n"
                           "restype:container";
        CHECK(az::SharedKeyStringToSign(r, "devstoreaccount1") == want);

        // A PUT signs its length and type; a zero length is signed as empty.
        az::HttpRequest put;
        put.method = "PUT";
        put.url = "https://acct.blob.core.windows.net/c/year_month%3D2024-01/f.parquet";
        put.body = "hello";
        put.headers = {{"Content-Type", "application/octet-stream"}, {"x-ms-blob-type", "BlockBlob"}};
        CHECK(az::SharedKeyStringToSign(put, "acct") ==
              "PUT\n\n\n5\n\napplication/octet-stream\n\n\n\n\n\n\nx-ms-blob-type:BlockBlob\n"
              "/acct/c/year_month%3D2024-01/f.parquet");
        put.body.clear();
        put.headers.emplace_back("Content-Length", "0");
        CHECK(az::SharedKeyStringToSign(put, "acct").rfind("PUT\n\n\n\n", 0) == 0);
    }

    TEST_CASE("SharedKey signature equals the openssl CLI's HMAC-SHA256 under the decoded key") {
        az::HttpRequest r;
        r.url = "https://acct.blob.core.windows.net/c/t/_delta_log/00000000000000000000.json";
        r.headers = {{"x-ms-version", "2021-08-06"}, {"x-ms-date", "Sun, 22 Nov 2026 01:02:03 GMT"}};
        az::SharedKeyCredential cred(pgsplit::test::kDevKey);
        cred.Authorize(r, "acct");
        REQUIRE(r.headers.back().first == "Authorization");
        std::string expected = OpensslSignature(pgsplit::test::kDevKey, az::SharedKeyStringToSign(r, "acct"));
        CHECK(r.headers.back().second == "SharedKey acct:" + expected);
        // And the HMAC primitive alone, with the short key of RFC 4231 test case 2.
        std::string mac = az::HmacSha256("Jefe", "what do ya want for nothing?");
        CHECK(az::Base64Encode(mac) == OpensslSignature("SmVmZQ==", "what do ya want for nothing?"));
    }

    TEST_CASE("an account key that is not base64 is a configuration error that does not echo it") {
        try {
            az::SharedKeyCredential bad("not*base64!");
            FAIL("accepted");
        } catch (const pgsplit::Error& e) {
            CHECK(e.code() == pgsplit::ExitCode::Config);
            CHECK(std::string(e.what()).find("not*base64") == std::string::npos);
        }
    }

    TEST_CASE("account SAS: fields in the 2020-12-06 order, signature equal to openssl's") {
        auto expiry = std::chrono::system_clock::time_point(std::chrono::seconds(1893456000)); // 2030-01-01
        std::string sas = az::MakeAccountSas("devstoreaccount1", pgsplit::test::kDevKey, "rl", expiry);
        CHECK(sas.find(
                  "sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp&sig=") == 0);
        std::string to_sign =
            "devstoreaccount1\nrl\nb\nsco\n\n2030-01-01T00:00:00Z\n\nhttps,http\n2021-08-06\n\n";
        std::string sig = az::DecodePercent(sas.substr(sas.find("&sig=") + 5));
        CHECK(sig == OpensslSignature(pgsplit::test::kDevKey, to_sign));
    }

    TEST_CASE("List Blobs pages: names unescaped, sizes, folders skipped, NextMarker") {
        std::string xml =
            R"(<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="x" ContainerName="c">)"
            R"(<Prefix>t/</Prefix><Delimiter>/</Delimiter><Blobs>)"
            R"(<Blob><Name>t/a&amp;b.json</Name><Properties><Content-Length>12</Content-Length></Properties></Blob>)"
            R"(<BlobPrefix><Name>t/year_month=2024-01/</Name></BlobPrefix>)"
            R"(<Blob><Name>t/dir</Name><Properties><Content-Length>0</Content-Length></Properties>)"
            R"(<Metadata><hdi_isfolder>true</hdi_isfolder></Metadata></Blob>)"
            R"(<Blob><Name>t/&#233;.json</Name><Properties><Content-Length>3</Content-Length></Properties></Blob>)"
            R"(</Blobs><NextMarker>2!abc</NextMarker></EnumerationResults>)";
        auto page = az::ParseListBlobs(xml);
        REQUIRE(page.blobs.size() == 2);
        CHECK(page.blobs[0].name == "t/a&b.json");
        CHECK(page.blobs[0].size == 12);
        CHECK(page.blobs[1].name == "t/\xC3\xA9.json");
        CHECK(page.next_marker == "2!abc");
        CHECK(az::ParseListBlobs("<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>")
                  .next_marker.empty());
    }
}
