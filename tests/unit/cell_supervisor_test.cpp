// The supervisor's decisions (cell/supervisor.hpp), from samples alone: the
// demand bound the admitted tasks can never exceed, the meter that compares
// measured RT CPU time with it, and the sampling plan. The kernel side (a
// real SCHED_FIFO runaway demoted, frozen, killed) is
// tests/integration/supervisor_test.cpp.
#include <gtest/gtest.h>

#include <vector>

#include "cell/supervisor.hpp"
#include "rtcell/analysis/enforce.hpp"

using namespace rtcell;
using namespace rtcell::cell;
using analysis::DemandTask;
using analysis::OverrunAction;

namespace {
constexpr int64_t kUs = 1000;
constexpr int64_t kMs = 1000 * kUs;

// One task of 1 ms every 10 ms on CPU 1.
std::vector<DemandTask> one_task() {
  return {{.period = 10 * kMs, .wcet = kMs, .deadline = 10 * kMs, .cpu = 1}};
}
}  // namespace

TEST(SupervisorDemand, CountsTheJobsThatCanTouchAWindow) {
  const auto t = one_task();
  // A window of one period: the job running at its start (released up to
  // D before) and the next one.
  EXPECT_EQ(analysis::max_demand(t, 1, 10 * kMs), 2 * kMs);
  EXPECT_EQ(analysis::max_demand(t, 1, 1), 2 * kMs);
  EXPECT_EQ(analysis::max_demand(t, 1, 10 * kMs + 1), 3 * kMs);
  EXPECT_EQ(analysis::max_demand(t, 1, 100 * kMs), 11 * kMs);
  // Another CPU: nothing admitted there.
  EXPECT_EQ(analysis::max_demand(t, 0, 100 * kMs), 0);
  // A task on any CPU counts on each.
  const std::vector<DemandTask> any = {{.period = 4 * kMs, .wcet = kMs, .deadline = 2 * kMs, .cpu = -1}};
  EXPECT_EQ(analysis::max_demand(any, 3, 8 * kMs), 3 * kMs);  // ⌈(8 + 2) / 4⌉ = 3
}

TEST(SupervisorDemand, ActionsRoundTrip) {
  for (OverrunAction a :
       {OverrunAction::Warn, OverrunAction::Demote, OverrunAction::Freeze, OverrunAction::Kill})
    EXPECT_EQ(analysis::parse_overrun_action(analysis::to_string(a)), a);
  EXPECT_FALSE(analysis::parse_overrun_action("off"));
  EXPECT_FALSE(analysis::parse_overrun_action("Kill"));
}

TEST(SupervisorSpec, SamplesAtHalfTheShortestPeriodWithinBounds) {
  SuperviseSpec s = supervise_spec(OverrunAction::Demote, one_task(), CpuSet::parse("1"), 80, 0);
  EXPECT_EQ(s.sample_ns, 5 * kMs);
  EXPECT_EQ(s.priority, 81);
  // The longest window judged lets a spinning thread (rate 0.9) pass the
  // bound U·w + K: K = 1 ms × (2 + 1) = 3 ms, U = 0.1 → w ≥ 3.75 ms.
  EXPECT_GE(s.windows * s.sample_ns, 3750 * kUs);
  EXPECT_NE(s.notes.front().find("demote on overrun"), std::string::npos);

  const std::vector<DemandTask> fast = {
      {.period = 100 * kUs, .wcet = 10 * kUs, .deadline = 100 * kUs, .cpu = 1}};
  EXPECT_EQ(supervise_spec(OverrunAction::Kill, fast, CpuSet::parse("1"), 99, 0).sample_ns, 2 * kMs);
  EXPECT_EQ(supervise_spec(OverrunAction::Kill, fast, CpuSet::parse("1"), 99, 0).priority, 98);
  const std::vector<DemandTask> slow = {
      {.period = 10'000 * kMs, .wcet = kMs, .deadline = 10'000 * kMs, .cpu = 1}};
  EXPECT_EQ(supervise_spec(OverrunAction::Kill, slow, CpuSet::parse("1"), 1, 0).sample_ns, 50 * kMs);
}

TEST(SupervisorSpec, AFullyBookedCpuIsSaidToBeBlind) {
  const std::vector<DemandTask> full = {
      {.period = 10 * kMs, .wcet = 9500 * kUs, .deadline = 10 * kMs, .cpu = 1}};
  SuperviseSpec s = supervise_spec(OverrunAction::Demote, full, CpuSet::parse("1"), 80, 0);
  bool said = false;
  for (const auto& n : s.notes) said = said || n.find("CPU 1 is 95% booked") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(SupervisorMeter, SilentWhileTheTasksKeepTheirPromise) {
  SuperviseSpec s = supervise_spec(OverrunAction::Demote, one_task(), CpuSet::parse("1"), 80, 0);
  OverrunMeter m(s, 0);
  // 1 ms per 10 ms, sampled every 5 ms, for a second, with every job at
  // the worst place (the whole of it between two samples).
  std::vector<int64_t> usage(2, 0);
  for (int64_t t = 0; t <= 1000 * kMs; t += 5 * kMs) {
    if (t % (10 * kMs) == 5 * kMs) usage[1] += kMs;
    EXPECT_FALSE(m.feed(t, usage)) << "at " << t;
  }
}

TEST(SupervisorMeter, SeesASpinningThreadAndSaysWhere) {
  SuperviseSpec s = supervise_spec(OverrunAction::Kill, one_task(), CpuSet::parse("1"), 80, 0);
  OverrunMeter m(s, 0);
  std::vector<int64_t> usage(2, 0);
  std::optional<Overrun> o;
  int64_t t = 0;
  for (; t <= 200 * kMs && !o; t += s.sample_ns) {
    usage[1] = t;  // the whole CPU
    o = m.feed(t, usage);
  }
  ASSERT_TRUE(o);
  EXPECT_EQ(o->cpu, 1);
  EXPECT_GT(o->used_ns, o->allowed_ns);
  EXPECT_EQ(o->allowed_ns, analysis::max_demand(s.tasks, 1, o->window_ns));
  EXPECT_EQ(o->seen_ns, t - s.sample_ns);
  EXPECT_EQ(o->since_ns, o->seen_ns - s.sample_ns);
  // Within the plan's longest window (plus the sample that sees it).
  EXPECT_LE(o->seen_ns, static_cast<int64_t>(s.windows + 1) * s.sample_ns);
}

TEST(SupervisorMeter, RtTimeOnACpuWithoutTasksIsAnOverrun) {
  SuperviseSpec s = supervise_spec(OverrunAction::Warn, one_task(), CpuSet::parse("1"), 80, 0);
  OverrunMeter m(s, 0);
  EXPECT_FALSE(m.feed(0, {0, 0}));
  auto o = m.feed(s.sample_ns, {100 * kUs, 0});  // CPU 0 is not the cell's
  ASSERT_TRUE(o);
  EXPECT_EQ(o->cpu, 0);
  EXPECT_EQ(o->allowed_ns, 0);
}

TEST(SupervisorMeter, GraceIsNotJudged) {
  SuperviseSpec s = supervise_spec(OverrunAction::Kill, one_task(), CpuSet::parse("1"), 80, 100 * kMs);
  OverrunMeter m(s, 0);
  for (int64_t t = 0; t < 100 * kMs; t += s.sample_ns) EXPECT_FALSE(m.feed(t, {0, t}));
  // After it, the windows start afresh: the set-up's time is not counted.
  EXPECT_FALSE(m.feed(100 * kMs, {0, 100 * kMs}));
  EXPECT_FALSE(m.feed(100 * kMs + s.sample_ns, {0, 100 * kMs + kMs}));
  m.restart();
  EXPECT_FALSE(m.feed(200 * kMs, {0, 200 * kMs}));
}
