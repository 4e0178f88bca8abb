// The latency engine without privileges: thread planning and validation on
// literal CPU sets, and real runs under SCHED_OTHER without mlock or
// /dev/cpu_dma_latency (what any user may do). Assertions are on counts and
// stop reasons, never on how long anything took.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "measure/latency.hpp"
#include "rtcell/error.hpp"
#include "unit/error_helpers.hpp"

using namespace rtcell;
using namespace rtcell::measure;

namespace {

using rtcell::test::kind_of;
using rtcell::test::message_of;

LatencyConfig unprivileged(int threads, uint64_t loops) {
  LatencyConfig c;
  for (int i = 0; i < threads; ++i) c.threads.push_back({std::nullopt, 100'000});
  // The nice we already have: lowering it (e.g. when the suite runs under
  // `nice`) would need CAP_SYS_NICE, and unit tests never need privilege.
  c.policy = rt::Other{getpriority(PRIO_PROCESS, 0)};
  c.mlock = false;
  c.dma_latency_us = std::nullopt;
  c.loops = loops;
  c.histogram_buckets = 100;
  return c;
}

}  // namespace

TEST(MeasurePlan, SmpPinsOneThreadPerCpuWithDistance) {
  const CpuSet all = CpuSet::parse("0-3");
  auto plans = plan_threads(1, CpuSet(), true, 200'000, 50'000, all, all, CpuSet::parse("1-3"));
  ASSERT_EQ(plans.size(), 3u);
  EXPECT_EQ(plans[0].cpu, 1);
  EXPECT_EQ(plans[2].cpu, 3);
  EXPECT_EQ(plans[0].interval_ns, 200'000);
  EXPECT_EQ(plans[2].interval_ns, 300'000);
}

TEST(MeasurePlan, ThreadsRoundRobinOverAffinityOrUnpinned) {
  const CpuSet all = CpuSet::parse("0-3");
  auto pinned = plan_threads(3, CpuSet::parse("2-3"), false, 1'000'000, 0, all, all, all);
  ASSERT_EQ(pinned.size(), 3u);
  EXPECT_EQ(pinned[0].cpu, 2);
  EXPECT_EQ(pinned[1].cpu, 3);
  EXPECT_EQ(pinned[2].cpu, 2);
  auto free = plan_threads(2, CpuSet(), false, 1'000'000, 500'000, all, all, all);
  EXPECT_FALSE(free[0].cpu.has_value());
  EXPECT_EQ(free[1].interval_ns, 1'500'000);
}

TEST(MeasurePlan, RefusesUnknownOfflineAndForbiddenCpus) {
  const CpuSet possible = CpuSet::parse("0-3");
  const CpuSet online = CpuSet::parse("0-2");
  const CpuSet allowed = CpuSet::parse("0-1");
  auto plan = [&](const char* aff) {
    return [=] { plan_threads(1, CpuSet::parse(aff), false, 1'000'000, 0, possible, online, allowed); };
  };
  EXPECT_EQ(kind_of(plan("9")), ErrorKind::Usage);
  EXPECT_NE(message_of(plan("9")).find("does not exist"), std::string::npos);
  EXPECT_NE(message_of(plan("3")).find("offline"), std::string::npos);
  EXPECT_NE(message_of(plan("2")).find("outside"), std::string::npos);
  EXPECT_EQ(kind_of([&] { plan_threads(0, CpuSet(), false, 1'000'000, 0, possible, online, allowed); }),
            ErrorKind::Usage);
}

TEST(MeasurePlan, IntervalLimits) {
  EXPECT_EQ(kind_of([] { validate_interval(0, true); }), ErrorKind::Usage);
  EXPECT_EQ(kind_of([] { validate_interval(9'999, false); }), ErrorKind::Usage);
  EXPECT_NO_THROW(validate_interval(9'999, true));
  EXPECT_NO_THROW(validate_interval(10'000, false));
}

TEST(MeasureConfig, RefusesBadConfigBeforeStarting) {
  auto c = unprivileged(1, 10);
  c.histogram_buckets = 0;
  EXPECT_EQ(kind_of([&] { LatencyRun r(c); }), ErrorKind::Usage);
  c = unprivileged(1, 10);
  c.policy = rt::Fifo{99};
  EXPECT_EQ(kind_of([&] { LatencyRun r(c); }), ErrorKind::Usage);
  c = unprivileged(0, 10);
  EXPECT_EQ(kind_of([&] { LatencyRun r(c); }), ErrorKind::Usage);
}

TEST(MeasureRun, LoopsGiveExactlyThatManySamplesPerThread) {
  LatencyResult r = run_latency(unprivileged(2, 25));
  ASSERT_EQ(r.threads.size(), 2u);
  EXPECT_EQ(r.stopped_by, StopReason::Loops);
  for (const auto& t : r.threads) {
    EXPECT_EQ(t.histogram.count(), 25u);
    EXPECT_GT(t.tid, 0);
    uint64_t in_buckets = 0;
    for (auto c : t.histogram.buckets()) in_buckets += c;
    EXPECT_EQ(in_buckets + t.histogram.overflow_count(), 25u);
    // Woke no earlier than asked: clock_nanosleep(TIMER_ABSTIME) never returns early.
    EXPECT_GE(t.histogram.min_ns(), 0);
  }
  EXPECT_EQ(r.total.count(), 50u);
  EXPECT_FALSE(r.breaktrace.has_value());
}

TEST(MeasureRun, BreaktraceStopsAtTheFirstSampleOverTheLimit) {
  auto c = unprivileged(1, 100'000);
  c.breaktrace_ns = 1;  // every real wake-up is later than 1 ns
  LatencyResult r = run_latency(c);
  EXPECT_EQ(r.stopped_by, StopReason::Breaktrace);
  ASSERT_TRUE(r.breaktrace.has_value());
  EXPECT_EQ(r.breaktrace->thread, 0);
  EXPECT_EQ(r.breaktrace->sample, 0u);
  EXPECT_GT(r.breaktrace->value_ns, 1);
  EXPECT_EQ(r.threads[0].histogram.count(), 1u);
  EXPECT_EQ(r.threads[0].histogram.max_ns(), r.breaktrace->value_ns);
}

TEST(MeasureRun, StopEndsAnEndlessRunWithTheResultsSoFar) {
  LatencyRun run(unprivileged(1, 0));
  run.start();
  // Wait for real samples (an event: the live counter), not for time.
  while (run.live()[0].cycles < 5) run.wait_for(1'000'000);
  run.stop(StopReason::Signal);
  LatencyResult r = run.finish();
  EXPECT_EQ(r.stopped_by, StopReason::Signal);
  EXPECT_GE(r.threads[0].histogram.count(), 5u);
}

TEST(MeasureRun, PolicyFailureLeavesNothingRunning) {
  auto c = unprivileged(2, 10);
  c.threads[1].cpu = CpuSet::kMaxCpu;  // no such CPU: sched_setaffinity fails in the thread
  LatencyRun run(c);
  EXPECT_EQ(kind_of([&] { run.start(); }), ErrorKind::Usage);
  EXPECT_TRUE(run.finished());
}

TEST(MeasureRun, ThreadsAreStaggeredUnlessAligned) {
  auto c = unprivileged(2, 3);
  LatencyResult staggered = run_latency(c);
  EXPECT_EQ(staggered.threads[0].phase_ns, 0);
  EXPECT_EQ(staggered.threads[1].phase_ns, 50'000);  // half of the 100 us interval
  c.aligned = true;
  LatencyResult aligned = run_latency(c);
  EXPECT_EQ(aligned.threads[1].phase_ns, 0);
}
