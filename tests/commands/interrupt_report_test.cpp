// The last line after SIGINT/SIGTERM (Context::DescribeInterrupt) from the phases LogPhase records.
#include "commands/context.h"

#include <csignal>
#include <doctest/doctest.h>
#include <stdexcept>

using pgsplit::Context;
using pgsplit::InterruptPolicy;
using pgsplit::LogPhase;
using pgsplit::PhaseEnd;

namespace {

Context Quiet(InterruptPolicy policy) {
    Context ctx;
    ctx.log = pgsplit::Logger(pgsplit::LogFormat::Text, pgsplit::LogLevel::Error, false);
    ctx.interrupt = std::move(policy);
    return ctx;
}

InterruptPolicy Months() {
    return {InterruptPolicy::Kind::Transactional, "month", "months", "the tables keep their previous rows",
            ""};
}

} // namespace

TEST_SUITE("interrupt-report") {
    TEST_CASE("transactional: the phase in flight is rolled back, the finished ones are named as committed") {
        Context ctx = Quiet(Months());
        { LogPhase p(ctx.log, "2024-01", "sync 2024-01"); }
        {
            LogPhase p(ctx.log, "2024-02", "sync 2024-02");
            p.End(PhaseEnd::Interrupted);
        }
        auto [msg, fields] = ctx.DescribeInterrupt(SIGTERM);
        CHECK(msg ==
              "interrupted by SIGTERM: month 2024-02 rolled back; the tables keep their previous rows; "
              "already committed: 2024-01");
        CHECK(fields["exit_code"] == 143);
        CHECK(fields["signal"] == "SIGTERM");
        CHECK(fields["rolled_back"] == nlohmann::json::array({"2024-02"}));
        CHECK(fields["committed"] == nlohmann::json::array({"2024-01"}));
    }

    TEST_CASE("a phase that is not fully transactional adds its caveat when it is the one interrupted") {
        Context ctx = Quiet({InterruptPolicy::Kind::Transactional, "migration", "migrations", "", ""});
        {
            LogPhase p(ctx.log, "0001_a.sql", "migrate 0001_a.sql");
            p.SetCaveat("not told: it completed");
        }
        {
            LogPhase p(ctx.log, "0002_idx.sql", "migrate 0002_idx.sql");
            p.SetCaveat("0002_idx.sql runs outside a transaction");
            p.End(PhaseEnd::Interrupted);
        }
        auto [msg, fields] = ctx.DescribeInterrupt(SIGTERM);
        CHECK(msg ==
              "interrupted by SIGTERM: migration 0002_idx.sql rolled back; already committed: 0001_a.sql; "
              "0002_idx.sql runs outside a transaction");
        CHECK(fields["caveats"] == nlohmann::json::array({"0002_idx.sql runs outside a transaction"}));
    }

    TEST_CASE("transactional: before anything started, between phases, and SIGINT's exit code") {
        Context none = Quiet(Months());
        CHECK(none.DescribeInterrupt(SIGINT).first ==
              "interrupted by SIGINT before any month started; nothing to roll back");
        CHECK(none.DescribeInterrupt(SIGINT).second["exit_code"] == 130);

        Context between = Quiet(Months());
        { LogPhase p(between.log, "2024-01", "t"); }
        CHECK(between.DescribeInterrupt(SIGTERM).first ==
              "interrupted by SIGTERM between months: nothing was in flight; already committed: 2024-01");
    }

    TEST_CASE("a phase unwound by an error without a signal counts as failed, neither committed nor rolled "
              "back by the interrupt") {
        Context ctx = Quiet(Months());
        try {
            LogPhase p(ctx.log, "2024-01", "t");
            throw std::runtime_error("boom");
        } catch (const std::runtime_error&) {
        }
        auto phases = ctx.log.Phases();
        REQUIRE(phases.size() == 1);
        CHECK(phases[0].end == PhaseEnd::Failed);
        CHECK(ctx.DescribeInterrupt(SIGTERM).second["rolled_back"].empty());
        CHECK(ctx.DescribeInterrupt(SIGTERM).second["committed"].empty());
    }

    TEST_CASE("a long list of committed phases is shortened in the message, complete in the fields") {
        Context ctx = Quiet(Months());
        for (int m = 1; m <= 15; ++m) {
            ctx.log.RecordPhase("2023-" + std::string(m < 10 ? "0" : "") + std::to_string(m),
                                PhaseEnd::Completed);
        }
        auto [msg, fields] = ctx.DescribeInterrupt(SIGTERM);
        CHECK(msg.find("2023-12 and 3 more") != std::string::npos);
        CHECK(fields["committed"].size() == 15);
    }

    TEST_CASE("steps: the outer step in flight, an inner phase rolled back, the completed steps") {
        Context ctx = Quiet({InterruptPolicy::Kind::Steps, "step", "steps", "", "a re-run is safe"});
        { LogPhase p(ctx.log, "login", "t"); }
        {
            LogPhase outer(ctx.log, "migrations", "t");
            {
                LogPhase inner(ctx.log, "0003_x.sql", "t");
                inner.End(PhaseEnd::Interrupted);
            }
            outer.End(PhaseEnd::Interrupted);
        }
        auto [msg, fields] = ctx.DescribeInterrupt(SIGTERM);
        CHECK(msg == "interrupted by SIGTERM during step 'migrations', which was stopped (0003_x.sql rolled "
                     "back); completed steps remain: login; a re-run is safe");
        CHECK(fields["interrupted_step"] == "migrations");
        CHECK(fields["completed_steps"] == nlohmann::json::array({"login"}));
        CHECK(fields["rolled_back"] == nlohmann::json::array({"0003_x.sql"}));
    }

    TEST_CASE("read-only and undescribed commands") {
        InterruptPolicy read_only;
        read_only.kind = InterruptPolicy::Kind::ReadOnly;
        CHECK(Quiet(read_only).DescribeInterrupt(SIGTERM).first ==
              "interrupted by SIGTERM: nothing to roll back (read-only)");
        CHECK(Quiet({}).DescribeInterrupt(SIGINT).first ==
              "interrupted by SIGINT; anything in progress was rolled back");
    }
}
