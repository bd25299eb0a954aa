// Hostile lake input against the built binary (issue 14, items 3, 4 and 7): each class of file that
// claims more than its bytes hold ends in exit 7 within the memory limit (peak RSS measured by
// /usr/bin/time), and SIGTERM in each long reading phase (log replay, checkpoint decode, data decode)
// ends the process with 143 within 5 s. The files are written here (tests/parquet/hostile.cpp).

#include "parquet/hostile.h"
#include "support/paths.h"
#include "support/process.h"

#include <chrono>
#include <csignal>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

using pgsplit::test::BinaryPath;
using pgsplit::test::Process;
using pgsplit::test::ProcResult;
using pgsplit::test::ScratchDir;
using pgsplit::test::WriteText;
namespace hostile = pgsplit::test::hostile;

namespace {

constexpr const char* kZeroVersion = "00000000000000000000";

struct Measured {
    ProcResult r;
    long peak_kib = -1;
};

// Runs pgsplit under /usr/bin/time and returns its exit and peak resident set.
Measured RunMeasured(const ScratchDir& dir, const std::vector<std::string>& args) {
    std::string rss = dir / "rss.txt";
    std::vector<std::string> argv = {"/usr/bin/time", "-f", "%M", "-o", rss, BinaryPath().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, {});
    Measured m;
    m.r = p.Wait(120);
    std::ifstream in(rss);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
            m.peak_kib = std::stol(line);
        }
    }
    MESSAGE(args[0], " ", args[1], " ", std::filesystem::path(args.back()).filename().string(), ": exit ",
            m.r.exit_code, ", peak RSS ", m.peak_kib / 1024, " MiB");
    return m;
}

// CPU seconds the process has used so far (user + system), from /proc.
double CpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    if (close == std::string::npos) {
        return 0;
    }
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    double ticks = 0;
    // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14 || i == 15) {
            ticks += std::stod(field);
        }
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Starts pgsplit, waits until it has burnt `cpu` seconds in the phase under test (it does nothing
// else first: the files are local), sends SIGTERM and returns how long the exit took.
double TermWhileBusy(const std::vector<std::string>& args, double cpu, ProcResult& r) {
    std::vector<std::string> argv = {BinaryPath().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, {});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (CpuSeconds(p.Pid()) < cpu) {
        if (std::chrono::steady_clock::now() > deadline || ::kill(p.Pid(), 0) != 0) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE_MESSAGE(CpuSeconds(p.Pid()) >= cpu, "the command ended before it was busy: ", p.StderrSoFar());
    auto t0 = std::chrono::steady_clock::now();
    p.Signal(SIGTERM);
    r = p.Wait(120);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(args[0], " ", args[1], ": exit ", r.exit_code, " ", secs, " s after SIGTERM");
    return secs;
}

void WriteBinary(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    WriteText(path, bytes);
}

std::string DeltaHeader() {
    return R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
           "\n"
           R"({"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{},"createdTime":1}})"
           "\n";
}

constexpr long kLimitKiB = 256 * 1024;
// Under AddressSanitizer peak RSS includes shadow memory and the quarantine of freed blocks, so the
// bounds are held in the release suite; the sanitizer run still checks exit codes and messages.
// GCC says so with __SANITIZE_ADDRESS__, clang (the CI sanitizer build) with __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define PGSPLIT_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PGSPLIT_TEST_UNDER_ASAN 1
#endif
#endif
#if defined(PGSPLIT_TEST_UNDER_ASAN)
constexpr bool kRssIsMeaningful = false;
#else
constexpr bool kRssIsMeaningful = true;
#endif

} // namespace

TEST_SUITE("commands") {
    TEST_CASE("inspect parquet: each hostile memory class is exit 7 within 256 MiB of peak RSS") {
        ScratchDir dir;
        struct Case {
            const char* name;
            std::string bytes;
            std::vector<std::string> extra;
            const char* needle;
        };
        std::string snap_body("\x0c\x2c\x07\x00\x00\x00", 6); // not even valid snappy data: never reached
        std::vector<Case> cases = {
            {"footer_chunks.parquet", hostile::ManyChunksFooter(40, 100000), {}, "footer metadata"},
            {"dictionary.parquet", hostile::DictionaryAmplifier(4000, 1 << 20), {"--scan"}, "decoded values"},
            {"levels.parquet", hostile::NullRunCheckpoint(60000000, 1, 3), {"--scan"}, "levels"},
            {"page_claim.parquet", hostile::PageCountLie(3, 50000000), {"--scan"}, "claims 50000000 values"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            std::string path = dir / c.name;
            WriteBinary(path, c.bytes);
            std::vector<std::string> args = {"inspect", "parquet"};
            args.insert(args.end(), c.extra.begin(), c.extra.end());
            args.push_back(path);
            Measured m = RunMeasured(dir, args);
            CHECK(m.r.exit_code == 7);
            CHECK(m.r.err.find(c.name) != std::string::npos);
            CHECK(m.r.err.find(c.needle) != std::string::npos);
            CHECK(m.peak_kib > 0);
            CHECK((!kRssIsMeaningful || m.peak_kib <= kLimitKiB));
        }
    }

    TEST_CASE("inspect delta: a checkpoint of 64M NULL actions per row group is refused within the limit") {
        ScratchDir dir;
        WriteBinary(dir / ("t/_delta_log/" + std::string(kZeroVersion) + ".checkpoint.parquet"),
                    hostile::NullRunCheckpoint(int64_t{1} << 26, 40, 1));
        auto t0 = std::chrono::steady_clock::now();
        Measured m = RunMeasured(dir, {"inspect", "delta", dir / "t"});
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(m.r.exit_code == 7);
        CHECK(m.r.err.find("memory limit reached") != std::string::npos);
        CHECK(m.r.err.find("checkpoint.parquet") != std::string::npos);
        CHECK((!kRssIsMeaningful || m.peak_kib <= kLimitKiB));
        CHECK(secs < 30);
    }

    TEST_CASE("inspect delta: a commitInfo line of 100 MB is passed over without holding it") {
        ScratchDir dir;
        std::string commit =
            DeltaHeader() + R"({"commitInfo":{"operation":"WRITE","note":")" + std::string(100u << 20, 'n') +
            "\"}}\n" +
            R"({"add":{"path":"part-0.parquet","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":5}"}})" +
            "\n";
        WriteBinary(dir / ("t/_delta_log/" + std::string(kZeroVersion) + ".json"), commit);
        Measured m = RunMeasured(dir, {"inspect", "delta", dir / "t"});
        CHECK_MESSAGE(m.r.exit_code == 0, m.r.All());
        CHECK((!kRssIsMeaningful || m.peak_kib <= 64 * 1024));
    }

    TEST_CASE("inspect delta: SIGTERM during checkpoint decode exits 143 within 5 s") {
        ScratchDir dir;
        // 30M NULL actions per row group fit the budget: the decoding itself is long.
        WriteBinary(dir / ("t/_delta_log/" + std::string(kZeroVersion) + ".checkpoint.parquet"),
                    hostile::NullRunCheckpoint(30000000, 40, 1));
        ProcResult r;
        double secs = TermWhileBusy({"inspect", "delta", dir / "t"}, 1.0, r);
        CHECK(r.exit_code == 143);
        CHECK(r.err.find("interrupted by SIGTERM") != std::string::npos);
        CHECK(secs < 5);
    }

    TEST_CASE("inspect delta: SIGTERM during replay of a long commit exits 143 within 5 s") {
        ScratchDir dir;
        std::string commit = DeltaHeader();
        // Five million short adds of the same file (150 MB): seconds of parsing, little memory.
        const std::string add = R"({"add":{"path":"p","size":1}})"
                                "\n";
        commit.reserve(commit.size() + add.size() * 5000000);
        for (int i = 0; i < 5000000; ++i) {
            commit += add;
        }
        WriteBinary(dir / ("t/_delta_log/" + std::string(kZeroVersion) + ".json"), commit);
        commit.clear();
        commit.shrink_to_fit();
        ProcResult r;
        double secs = TermWhileBusy({"inspect", "delta", dir / "t"}, 0.5, r);
        CHECK(r.exit_code == 143);
        CHECK(r.err.find("interrupted by SIGTERM") != std::string::npos);
        CHECK(secs < 5);
    }

    TEST_CASE("inspect parquet --scan: SIGTERM during data decode exits 143 within 5 s") {
        ScratchDir dir;
        // 8G NULL rows per row group: seconds of decoding per row group for a few hundred bytes.
        std::string path = dir / "nulls.parquet";
        WriteBinary(path, hostile::NullRunFlat(int64_t{1} << 33, 4));
        ProcResult r;
        double secs = TermWhileBusy({"inspect", "parquet", "--scan", path}, 1.0, r);
        CHECK(r.exit_code == 143);
        CHECK(r.err.find("interrupted by SIGTERM") != std::string::npos);
        CHECK(secs < 5);
    }
}
