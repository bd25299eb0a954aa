// scripts/canary-scan.sh, the last step of scripts/test.sh: it must find every planted credential
// (password canary, SAS signature, account key, registered generated secret) in captured output,
// allow exactly the documented occurrences (the az create argument, an ::add-mask:: value, a DSN's
// password on --emit-secrets stdout), fail below its floor, and never echo the secret it found.
#include "support/paths.h"
#include "support/process.h"

#include <doctest/doctest.h>
#include <filesystem>

using pgsplit::test::Process;
using pgsplit::test::ProcResult;
using pgsplit::test::ScratchDir;
using pgsplit::test::SourceDir;
using pgsplit::test::WriteText;

namespace {

ProcResult Scan(const std::vector<std::string>& paths) {
    std::vector<std::string> argv = {"/bin/bash", (SourceDir() / "scripts" / "canary-scan.sh").string()};
    argv.insert(argv.end(), paths.begin(), paths.end());
    Process p(argv, {});
    return p.Wait(60);
}

bool Has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

// Built from pieces so this source file is not itself a hit when someone scans the tree.
const std::string kPassword = std::string("Planted-") + "Canary-" + "9e8d7c";
const std::string kKey = std::string("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq") +
                         "/K1SZFPTOtr/KBHBeksoGMGw==";

} // namespace

TEST_SUITE("canary-scan") {
    TEST_CASE("a clean run passes and reports how many files and bytes were scanned") {
        ScratchDir d;
        std::string out = "pgsplit: migrated 4 files\n";
        std::string err = "postgresql://writer:***@host/db and ?sv=2022&sig=***\n";
        WriteText(d / "1.out", out);
        WriteText(d / "1.err", err);
        auto r = Scan({d.Path()});
        CHECK(r.exit_code == 0);
        CHECK(Has(r.out, "2 files, " + std::to_string(out.size() + err.size()) + " bytes scanned"));
        CHECK(Has(r.out, "0 leak(s)"));
    }

    TEST_CASE("each kind of credential is found, named by file and line, and masked in the report") {
        ScratchDir d;
        WriteText(d / "pw.err", "line one\nconnecting to postgresql://u:" + kPassword + "@h/db\n");
        WriteText(d / "sas.out",
                  "GET https://a.blob.core.windows.net/c?sv=2022-11-02&sig=Ab12Cd34Ef56Gh78Ij90%2B\n");
        WriteText(d / "key.log", "AccountKey=" + kKey + "\n");
        // An access token without the canary marker: a JWT (az's or Azurite's shape) is found as such.
        const std::string jwt = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJlLWp3dA";
        WriteText(d / "token.out", "Authorization: Bearer " + jwt + "\n");
        auto r = Scan({d.Path()});
        CHECK(r.exit_code == 1);
        CHECK(Has(r.out, "4 leak(s)"));
        CHECK(Has(r.out, "token.out:1:"));
        CHECK_FALSE(Has(r.out + r.err, "c2lnbmF0dXJlLWp3dA"));
        CHECK(Has(r.out, "pw.err:2:"));
        CHECK(Has(r.out, "sas.out:1:"));
        CHECK(Has(r.out, "key.log:1:"));
        CHECK_FALSE(Has(r.out + r.err, kPassword));
        CHECK_FALSE(Has(r.out + r.err, "Ab12Cd34Ef56Gh78Ij90"));
        CHECK_FALSE(Has(r.out + r.err, kKey.substr(0, 20)));
    }

    TEST_CASE("only the admin password argument of az flexible-server create is allowed") {
        ScratchDir d;
        WriteText(d / "az-argv.jsonl",
                  "[\"group\",\"show\",\"--name\",\"rg\"]\n"
                  "[\"postgres\",\"flexible-server\",\"create\",\"--name\",\"pg\",\"--admin-password=" +
                      kPassword + "\"]\n");
        auto ok = Scan({d.Path()});
        CHECK(ok.exit_code == 0);
        CHECK(Has(ok.out, "1 allowed"));

        WriteText(d / "az-argv.jsonl",
                  "[\"postgres\",\"flexible-server\",\"update\",\"--admin-password=" + kPassword +
                      "\"]\n[\"postgres\",\"flexible-server\",\"create\",\"--tags\",\"" + kPassword +
                      "\"]\n");
        auto bad = Scan({d.Path()});
        CHECK(bad.exit_code == 1);
        CHECK(Has(bad.out, "2 leak(s)"));
    }

    TEST_CASE("a GitHub ::add-mask:: line is allowed, the same secret anywhere else is not") {
        ScratchDir d;
        WriteText(d / "gh.out", "::add-mask::" + kPassword + "\n::error title=pgsplit::cannot connect\n");
        auto ok = Scan({d.Path()});
        CHECK(ok.exit_code == 0);
        CHECK(Has(ok.out, "1 ::add-mask:: line(s)"));
        WriteText(d / "gh.out",
                  "::add-mask::" + kPassword + "\n::error title=pgsplit::bad " + kPassword + "\n");
        auto bad = Scan({d.Path()});
        CHECK(bad.exit_code == 1);
        CHECK(Has(bad.out, "gh.out:2:"));
        // The mask line's value only: anything after it on the line is still scanned.
        WriteText(d / "gh.out", "::add-mask::" + kPassword + " " + kPassword + "\n");
        auto after = Scan({d.Path()});
        CHECK(after.exit_code == 1);
        CHECK(Has(after.out, "gh.out:1:"));
    }

    TEST_CASE("the stdout of a command run with --emit-secrets may hold the secret, its stderr may not") {
        ScratchDir d;
        WriteText(d / "9.argv", "pgsplit provision --json --emit-secrets\n");
        WriteText(d / "9.out", "{\"dsns\": {\"pgsplitadmin\": \"postgresql://a:" + kPassword + "@h/db\"}}\n");
        WriteText(d / "9.err", "");
        auto ok = Scan({d.Path()});
        CHECK(ok.exit_code == 0);
        CHECK(Has(ok.out, "1 DSN password(s) in --emit-secrets output"));
        // Only the DSN's password field: the same secret elsewhere on that stdout is a leak.
        WriteText(d / "9.out", "{\"dsns\": {\"a\": \"postgresql://a:" + kPassword + "@h/db\"}, \"note\": \"" +
                                   kPassword + "\"}\n");
        CHECK(Scan({d.Path()}).exit_code == 1);
        WriteText(d / "9.out", "{\"dsns\": {\"pgsplitadmin\": \"postgresql://a:" + kPassword + "@h/db\"}}\n");
        WriteText(d / "9.err", "pgsplit: connecting as " + kPassword + "\n");
        CHECK(Scan({d.Path()}).exit_code == 1);
        WriteText(d / "9.err", "");
        WriteText(d / "9.argv", "pgsplit provision --json\n");
        CHECK(Scan({d.Path()}).exit_code == 1);
    }

    TEST_CASE("command lines (.argv) are inputs and are not scanned") {
        ScratchDir d;
        WriteText(d / "7.argv", "pgsplit --dsn postgresql://u:" + kPassword + "@h/db migrate\n");
        auto r = Scan({"--min-files", "0", "--min-bytes", "0", d.Path()});
        CHECK(r.exit_code == 0);
        CHECK(Has(r.out, "0 files"));
    }

    TEST_CASE("a scan below its floor fails: nothing scanned proves nothing") {
        ScratchDir d;
        auto none = Scan({d.Path()}); // the default floor: one file
        CHECK(none.exit_code == 1);
        CHECK(Has(none.out, "below the floor"));
        WriteText(d / "1.out", "clean\n");
        CHECK(Scan({d.Path()}).exit_code == 0);
        auto small = Scan({"--min-files", "2", d.Path()});
        CHECK(small.exit_code == 1);
        CHECK(Has(small.out, "below the floor"));
    }

    TEST_CASE("a registered secret (one line of a *.secrets file) is found like a canary; the registry is "
              "not scanned") {
        ScratchDir d;
        const std::string generated = "Gen3rated" + std::string("Pw-") + "x7Q9zK2m";
        WriteText(d / "test.secrets", generated + "\n");
        WriteText(d / "1.out", "nothing here\n");
        auto ok = Scan({d.Path()});
        CHECK(ok.exit_code == 0);
        CHECK(Has(ok.out, "1 registered secret(s)"));
        CHECK(Has(ok.out, "1 files"));
        WriteText(d / "2.err", "the password is " + generated + "\n");
        auto bad = Scan({d.Path()});
        CHECK(bad.exit_code == 1);
        CHECK(Has(bad.out, "2.err:1:"));
        CHECK_FALSE(Has(bad.out, generated));
        WriteText(d / "test.secrets", "not a token\n");
        CHECK(Scan({d.Path()}).exit_code == 2);
    }

    TEST_CASE("a path that does not exist is a usage error, not a clean scan") {
        auto r = Scan({"/nonexistent/pgsplit-captures"});
        CHECK(r.exit_code == 2);
        CHECK(Has(r.err, "does not exist"));
    }
}
