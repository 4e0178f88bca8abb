// Minimum budgets, partitioning and kernel parameters.
#include <gtest/gtest.h>

#include "rtcell/analysis/budget.hpp"
#include "rtcell/analysis/enforce.hpp"
#include "rtcell/analysis/fp.hpp"
#include "rtcell/analysis/partition.hpp"

using namespace rtcell::analysis;

namespace {

Task task(const char* name, Time t, Time c, std::optional<int> prio = std::nullopt) {
  Task x;
  x.name = name;
  x.period = t;
  x.wcet = c;
  x.deadline = t;
  x.priority = prio;
  return x;
}

}  // namespace

// One task (T 10, C 2) on Γ(5, Θ): Θ = 2 (hand-worked in
// AnalysisEdf.QpaOnPeriodicResource), the same under FP. The linear bound
// of Shin & Lee 2003 would not be exact; the search is.
TEST(AnalysisBudget, MinimumBudgetSingleTask) {
  std::vector<Task> ts{task("a", 10, 2, 1)};
  EXPECT_EQ(min_budget(ts, LocalScheduler::Edf, 5), std::optional<Time>(2));
  EXPECT_EQ(min_budget(ts, LocalScheduler::FixedPriority, 5), std::optional<Time>(2));
  // Π = 10 needs Θ with blackout 2(10 − Θ) + Θ... sbf(10) ≥ 2 ⇔ Θ ≥ 6.
  EXPECT_EQ(min_budget(ts, LocalScheduler::Edf, 10), std::optional<Time>(6));
  // A task that does not fit even the whole CPU has no budget.
  std::vector<Task> over{task("a", 10, 11, 1)};
  EXPECT_FALSE(min_budget(over, LocalScheduler::Edf, 5).has_value());
}

TEST(AnalysisBudget, EdpDeadlineShortensBlackout) {
  std::vector<Task> ts{task("a", 10, 2, 1)};
  // Δ < Π lets a smaller Θ do: Ω(10, Θ, Δ) with blackout Π + Δ − 2Θ.
  auto prm = min_budget(ts, LocalScheduler::Edf, 10);
  auto edp = min_budget(ts, LocalScheduler::Edf, 10, 4);
  ASSERT_TRUE(prm && edp);
  EXPECT_LT(*edp, *prm);
  EXPECT_TRUE(schedulable_on(ts, LocalScheduler::Edf, Supply::edp(10, *edp, 4)));
  EXPECT_FALSE(schedulable_on(ts, LocalScheduler::Edf, Supply::edp(10, *edp - 1, 4)));
}

// Issue 12, item 8: a task set at U = 1 needs the whole period, and the
// whole period is enough (Θ = Π supplies sbf(t) = t, a dedicated CPU).
TEST(AnalysisBudget, UtilizationOneNeedsAndGetsTheFullBudget) {
  std::vector<Task> ts{task("a", 3, 1, 2), task("b", 3, 2, 1)};
  EXPECT_EQ(min_budget(ts, LocalScheduler::Edf, 6), std::optional<Time>(6));
  EXPECT_EQ(min_budget(ts, LocalScheduler::FixedPriority, 6), std::optional<Time>(6));
}

// Budget search on a realistic cell in ns: 20 tasks, Π = 1 ms.
TEST(AnalysisBudget, NanosecondScaleSearch) {
  std::vector<Task> ts;
  for (int i = 0; i < 20; ++i) ts.push_back(task("t", 5'000'000 + i * 250'000, 50'000 + i * 1'000));
  auto pr = deadline_monotonic(ts);
  for (size_t i = 0; i < ts.size(); ++i) ts[i].priority = pr[i];
  auto theta = min_budget(ts, LocalScheduler::FixedPriority, 1'000'000);
  ASSERT_TRUE(theta);
  EXPECT_TRUE(schedulable_on(ts, LocalScheduler::FixedPriority, Supply::periodic(1'000'000, *theta)));
  EXPECT_FALSE(schedulable_on(ts, LocalScheduler::FixedPriority, Supply::periodic(1'000'000, *theta - 1)));
}

// First-fit decreasing places by the exact test: three tasks of U = 0.6,
// 0.5 and 0.4 under EDF on two CPUs: 0.6 → CPU0, 0.5 → CPU1 (0.6 + 0.5 > 1),
// 0.4 → CPU0 (1.0). Worst-fit sends 0.4 to the emptier CPU1.
TEST(AnalysisPartition, FitHeuristics) {
  std::vector<Task> ts{task("b", 10, 5), task("a", 10, 6), task("c", 10, 4)};
  std::vector<int> none(3, -1);
  auto ff = partition(ts, none, 2, LocalScheduler::Edf, Supply::dedicated(), Fit::First);
  ASSERT_TRUE(ff.ok);
  EXPECT_EQ(ff.bin, (std::vector<int>{1, 0, 0}));
  auto wf = partition(ts, none, 2, LocalScheduler::Edf, Supply::dedicated(), Fit::Worst);
  ASSERT_TRUE(wf.ok);
  EXPECT_EQ(wf.bin, (std::vector<int>{1, 0, 1}));
  auto bf = partition(ts, none, 2, LocalScheduler::Edf, Supply::dedicated(), Fit::Best);
  ASSERT_TRUE(bf.ok);
  EXPECT_EQ(bf.bin, (std::vector<int>{1, 0, 0}));
  ts.push_back(task("d", 10, 7));
  none.push_back(-1);
  auto fail = partition(ts, none, 2, LocalScheduler::Edf, Supply::dedicated(), Fit::First);
  EXPECT_FALSE(fail.ok);
  ASSERT_TRUE(fail.unplaced);
  // Pinned tasks stay where they were put.
  std::vector<int> pin{0, -1, -1};
  auto p = partition(std::span<const Task>(ts.data(), 3), pin, 2, LocalScheduler::Edf, Supply::dedicated());
  EXPECT_EQ(p.bin[0], 0);
}

// kernel/sched/core.c to_ratio: (runtime << 20) / period.
TEST(AnalysisEnforce, KernelRatios) {
  EXPECT_EQ(kernel_to_ratio(1'000'000'000, 950'000'000), 996147u);
  EXPECT_EQ(kernel_to_ratio(0, 5), 0u);
  auto b = rt_bandwidth(10'000'000, 2'000'001);
  EXPECT_EQ(b.period_us, 10'000);
  EXPECT_EQ(b.runtime_us, 2'001);  // rounded up, never down
  // Two cells at 0.5 each exceed the root's 0.95.
  std::vector<RtBandwidth> two{{1000, 500}, {1000, 500}};
  EXPECT_FALSE(rt_bandwidth_sum(two).fits);
  two[1].runtime_us = 450;
  EXPECT_TRUE(rt_bandwidth_sum(two).fits);
}

TEST(AnalysisEnforce, DeadlineTriples) {
  Task t = task("a", 1'000'000, 200);
  auto p = deadline_params(t);
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.runtime, 1024);  // the kernel's minimum
  EXPECT_EQ(p.deadline, 1'000'000);
  t.deadline = 2'000'000;  // beyond the period: tightened to it
  EXPECT_EQ(deadline_params(t).deadline, 1'000'000);
  t.period = 50'000;  // below 100 us
  t.deadline = 50'000;
  EXPECT_FALSE(deadline_params(t).ok);
  DeadlineParams half;
  half.runtime = 500;
  half.deadline = 1000;
  half.period = 1000;
  std::vector<DeadlineParams> ds{half, half};
  EXPECT_FALSE(deadline_bandwidth_sum(ds, 1).fits);
  EXPECT_TRUE(deadline_bandwidth_sum(ds, 2).fits);
}
