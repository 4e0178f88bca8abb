// EDF demand analysis (QPA) and supply bound functions against published or
// hand-worked answers (each test says which).
#include <gtest/gtest.h>

#include "rtcell/analysis/edf.hpp"
#include "rtcell/analysis/supply.hpp"

using namespace rtcell::analysis;

namespace {

Task task(const char* name, Time t, Time c, Time d = 0, Time j = 0) {
  Task x;
  x.name = name;
  x.period = t;
  x.wcet = c;
  x.deadline = d == 0 ? t : d;
  x.jitter = j;
  return x;
}

}  // namespace

// Buttazzo 2005 ("Rate monotonic vs. EDF: judgment day", Fig. 1): the set
// that misses under RM, τ1 = (2, 5), τ2 = (4, 7), U = 34/35, is schedulable
// under EDF (Liu & Layland 1973, Theorem 7: U ≤ 1).
TEST(AnalysisEdf, JudgmentDaySetIsEdfSchedulable) {
  std::vector<Task> ts{task("t1", 5, 2), task("t2", 7, 4)};
  EXPECT_EQ(edf_utilization_test(ts), std::optional<bool>(true));
  EXPECT_TRUE(qpa(ts).schedulable);
  ts[1].wcet = 4 + 1;  // U = 2/5 + 5/7 > 1
  EXPECT_EQ(edf_utilization_test(ts), std::optional<bool>(false));
  auto r = qpa(ts);
  EXPECT_FALSE(r.schedulable);
  EXPECT_TRUE(r.over_utilized);
}

// Utilization exactly 1 is schedulable (Theorem 7 is ≤): exact arithmetic,
// no rounding may turn 1/3 + 2/3 into "more than 1".
TEST(AnalysisEdf, UtilizationExactlyOne) {
  std::vector<Task> ts{task("a", 3, 1), task("b", 3, 2)};
  EXPECT_EQ(compare_utilization(ts, Ratio{1, 1}), Compare::Equal);
  EXPECT_TRUE(qpa(ts).schedulable);
  std::vector<Task> third{task("a", 3, 1), task("b", 6, 2), task("c", 9, 3)};
  EXPECT_EQ(compare_utilization(third, Ratio{1, 1}), Compare::Equal);
  EXPECT_TRUE(qpa(third).schedulable);
}

// Constrained deadlines, hand-worked with the dbf of Baruah, Rosier & Howell
// 1990: τ1 (T 4, C 1, D 2), τ2 (T 6, C 2, D 3), τ3 (T 12, C 3, D 6).
// dbf(2) = 1, dbf(3) = 3, dbf(6) = 2 + 2 + 3 = 7 > 6: a miss at t = 6.
TEST(AnalysisEdf, ConstrainedDeadlinesMissFound) {
  std::vector<Task> ts{task("a", 4, 1, 2), task("b", 6, 2, 3), task("c", 12, 3, 6)};
  EXPECT_EQ(dbf(ts, 2), 1);
  EXPECT_EQ(dbf(ts, 3), 3);
  EXPECT_EQ(dbf(ts, 6), 7);
  auto r = qpa(ts);
  EXPECT_FALSE(r.schedulable);
  ASSERT_TRUE(r.miss_at);
  EXPECT_EQ(dbf(ts, *r.miss_at) - *r.miss_at, r.overload);
  EXPECT_GT(r.overload, 0);
  ts[2].wcet = 1;  // dbf(6) = 5, dbf(10) = 3 + 4 + 1 = 8, dbf(14) = 9: all within t
  EXPECT_TRUE(qpa(ts).schedulable);
}

TEST(AnalysisEdf, WcetAboveDeadlineIsAMissNotACrash) {
  std::vector<Task> ts{task("a", 10, 6, 5)};
  auto r = qpa(ts);
  EXPECT_FALSE(r.schedulable);
  ASSERT_TRUE(r.missing_task);
  EXPECT_EQ(*r.missing_task, 0u);
  EXPECT_EQ(r.overload, 1);
}

// Shin & Lee 2003, Eq. (1): Γ(Π = 10, Θ = 3) has a blackout of 2(Π − Θ) = 14
// and then gains Θ per Π: sbf(14) = 0, sbf(15) = 1, sbf(17) = 3, sbf(24) = 3,
// sbf(26) = 5, sbf(27) = 6.
TEST(AnalysisSupply, PeriodicResourceSbf) {
  auto s = Supply::periodic(10, 3);
  EXPECT_EQ(s.sbf(0), 0);
  EXPECT_EQ(s.sbf(14), 0);
  EXPECT_EQ(s.sbf(15), 1);
  EXPECT_EQ(s.sbf(17), 3);
  EXPECT_EQ(s.sbf(24), 3);
  EXPECT_EQ(s.sbf(26), 5);
  EXPECT_EQ(s.sbf(27), 6);
  for (Time x = 0; x <= 40; ++x) {
    Time t = s.inverse(x);
    EXPECT_GE(s.sbf(t), x);
    if (t > 0) {
      EXPECT_LT(s.sbf(t - 1), x);
    }
  }
  EXPECT_EQ(Supply::periodic(10, 0).inverse(1), kInfinity);
}

// Easwaran, Anand & Lee 2007, Eq. (2): Ω(Π 5, Θ 2, Δ 3) has blackout
// Π + Δ − 2Θ = 4, shorter than Γ(5, 2)'s 6: sbf(4) = 0, sbf(5) = 1,
// sbf(6) = 2, sbf(9) = 2, sbf(10) = 3. With Δ = Π it is Γ(Π, Θ).
TEST(AnalysisSupply, EdpSbf) {
  auto s = Supply::edp(5, 2, 3);
  EXPECT_EQ(s.sbf(4), 0);
  EXPECT_EQ(s.sbf(5), 1);
  EXPECT_EQ(s.sbf(6), 2);
  EXPECT_EQ(s.sbf(9), 2);
  EXPECT_EQ(s.sbf(10), 3);
  auto g = Supply::periodic(5, 2);
  EXPECT_EQ(g.sbf(6), 0);
  EXPECT_EQ(g.sbf(7), 1);
  // Full budget is a dedicated CPU.
  auto full = Supply::periodic(7, 7);
  for (Time t = 0; t < 30; ++t) EXPECT_EQ(full.sbf(t), t);
}

// QPA on a partial supply: one task (T 10, C 2) on Γ(5, Θ). Hand-worked:
// Θ = 2 gives sbf(10) = 2 ≥ dbf(10) = 2, sbf(20) = 6 ≥ 4; Θ = 1 gives
// sbf(10) = 1 < 2.
TEST(AnalysisEdf, QpaOnPeriodicResource) {
  std::vector<Task> ts{task("a", 10, 2)};
  EXPECT_TRUE(qpa(ts, Supply::periodic(5, 2)).schedulable);
  auto r = qpa(ts, Supply::periodic(5, 1));
  EXPECT_FALSE(r.schedulable);
}

TEST(AnalysisEdf, JitterShortensTheDeadline) {
  std::vector<Task> ts{task("a", 10, 4, 10, 7)};  // D − J = 3 < C
  EXPECT_FALSE(qpa(ts).schedulable);
  ts[0].jitter = 6;  // D − J = 4 = C
  EXPECT_TRUE(qpa(ts).schedulable);
}

// 10 000 tasks: handled, exact, and without overflow.
TEST(AnalysisEdf, TenThousandTasks) {
  std::vector<Task> ts;
  for (int i = 0; i < 10'000; ++i) ts.push_back(task("t", 1'000'000 + i * 1000, 90, 0));
  EXPECT_TRUE(qpa(ts).schedulable);
  ts[0].wcet = 1'000'000;  // U > 1 now
  EXPECT_FALSE(qpa(ts).schedulable);
}

// Issue 12, item 1: blocking counts under EDF. a (T 10, C 5, B 6) and
// b (T 100, C 7): dbf(10) = 5, and a lock held by b when a is released adds
// 6: 11 > 10 (Baker 1991; Baruah 2006, dbf(t) + b(t) ≤ t). Without the
// blocking term the set passed (U = 0.57).
TEST(AnalysisEdf, BlockingCountsAgainstTheDeadline) {
  std::vector<Task> ts{task("a", 10, 5), task("b", 100, 7)};
  ts[0].blocking = 6;
  EXPECT_EQ(edf_blocking(ts, 9), 0);
  EXPECT_EQ(edf_blocking(ts, 10), 6);
  auto r = qpa(ts);
  EXPECT_FALSE(r.schedulable);
  ASSERT_TRUE(r.miss_at);
  EXPECT_EQ(*r.miss_at, 10);
  EXPECT_EQ(r.overload, 1);
  EXPECT_EQ(r.blocking, 6);
  ASSERT_TRUE(r.missing_task);
  EXPECT_EQ(*r.missing_task, 0u);
  ts[0].blocking = 5;  // 5 + 5 = 10: just fits
  EXPECT_TRUE(qpa(ts).schedulable);
  // The same with every D ≥ T, where U ≤ 1 alone used to decide.
  EXPECT_TRUE(qpa(std::vector<Task>{task("a", 10, 5), task("b", 100, 7)}).schedulable);
}

// Blocking of a task with a longer deadline does not enter windows shorter
// than that deadline: b(t) sums B_i over D_i − J_i ≤ t only.
TEST(AnalysisEdf, BlockingOnlyInWindowsThatHoldTheTask) {
  std::vector<Task> ts{task("a", 10, 3, 4), task("b", 20, 2, 20)};
  ts[1].blocking = 12;
  EXPECT_EQ(edf_blocking(ts, 4), 0);
  EXPECT_EQ(edf_blocking(ts, 20), 12);
  // dbf(4) = 3; dbf(20) = 2·3 + 2 = 8, + 12 = 20 ≤ 20.
  EXPECT_TRUE(qpa(ts).schedulable);
  ts[1].blocking = 13;
  EXPECT_FALSE(qpa(ts).schedulable);
}

// Linux blocks SCHED_DEADLINE tasks through priority inheritance, not SRP:
// two later-deadline jobs that each hold a lock (one that a needs, one that
// b needs) both block the window, so their terms add up. a and b (T 10, C 2,
// B 4): dbf(10) = 4, b(10) = 8, 12 > 10, although Baker's one-section form
// (4 + 4 = 8) would pass it.
TEST(AnalysisEdf, InheritanceBlockingAddsUpPerTask) {
  std::vector<Task> ts{task("a", 10, 2), task("b", 10, 2)};
  ts[0].blocking = ts[1].blocking = 4;
  EXPECT_EQ(edf_blocking(ts, 10), 8);
  EXPECT_FALSE(qpa(ts).schedulable);
  ts[0].blocking = ts[1].blocking = 3;  // 4 + 6 = 10
  EXPECT_TRUE(qpa(ts).schedulable);
}

// Issue 12, item 8: a full budget (Θ = Π) is a dedicated CPU, sbf(t) = t,
// so U = 1 is schedulable on it as on the CPU itself (Liu & Layland 1973,
// Theorem 7), with constrained deadlines too; one unit less is not.
TEST(AnalysisEdf, FullBudgetIsADedicatedCpu) {
  std::vector<Task> ts{task("a", 3, 1), task("b", 3, 2)};
  auto full = Supply::periodic(10, 10);
  EXPECT_TRUE(full.is_full());
  for (Time t : {0, 1, 7, 10, 23}) EXPECT_EQ(full.sbf(t), t);
  EXPECT_TRUE(qpa(ts, full).schedulable);
  EXPECT_FALSE(qpa(ts, Supply::periodic(10, 9)).schedulable);
  std::vector<Task> constrained{task("a", 4, 1, 2), task("b", 4, 3)};  // U = 1, dbf(2) = 1, dbf(4) = 4
  EXPECT_TRUE(qpa(constrained).schedulable);
  EXPECT_TRUE(qpa(constrained, Supply::edp(8, 8, 8)).schedulable);
  EXPECT_FALSE(Supply::edp(8, 7, 8).is_full());
}
