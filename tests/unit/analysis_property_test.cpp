// Property tests: the exact tests agree with a brute-force discrete
// simulation of the synchronous release over the hyperperiod.
//
// For constrained deadlines (D ≤ T) and no jitter or blocking, the
// synchronous release is the worst case for fixed priority (Liu & Layland
// 1973, Theorem 1) and for EDF (Baruah et al. 1990), and every job released
// in [0, H) has its deadline by H, so "no miss in [0, H)" is exactly
// schedulability. Time is in abstract units (the analysis is in ns, but
// nothing depends on the unit). Random sets are drawn from a fixed seed,
// so failures reproduce.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "rtcell/analysis/budget.hpp"
#include "rtcell/analysis/edf.hpp"
#include "rtcell/analysis/enforce.hpp"
#include "rtcell/analysis/fp.hpp"

using namespace rtcell::analysis;

namespace {

// Unit-step simulation. `supplied(t)` says whether the CPU serves the cell in
// [t, t+1). FP picks the highest priority pending job, EDF the earliest
// absolute deadline (ties by task index, which does not change feasibility).
template <typename SupplyFn>
bool simulate_no_miss(const std::vector<Task>& ts, bool edf, Time horizon, SupplyFn supplied) {
  struct Job {
    Time deadline;
    Time left;
  };
  std::vector<std::vector<Job>> pending(ts.size());
  for (Time t = 0; t < horizon; ++t) {
    for (size_t i = 0; i < ts.size(); ++i) {
      if (t % ts[i].period == 0) pending[i].push_back({t + ts[i].deadline, ts[i].wcet});
      for (const auto& j : pending[i])
        if (j.deadline <= t && j.left > 0) return false;
    }
    if (!supplied(t)) continue;
    int pick = -1;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (pending[i].empty()) continue;
      if (pick < 0) {
        pick = static_cast<int>(i);
        continue;
      }
      size_t p = static_cast<size_t>(pick);
      Time di = pending[i].front().deadline;
      Time dp = pending[p].front().deadline;
      bool better = edf ? di < dp : *ts[i].priority > *ts[p].priority;
      if (better) pick = static_cast<int>(i);
    }
    if (pick < 0) continue;
    auto& q = pending[static_cast<size_t>(pick)];
    if (--q.front().left == 0) q.erase(q.begin());
  }
  for (size_t i = 0; i < ts.size(); ++i)
    for (const auto& j : pending[i])
      if (j.deadline <= horizon && j.left > 0) return false;
  return true;
}

Time hyperperiod(const std::vector<Task>& ts) {
  Time h = 1;
  for (const auto& t : ts) h = std::lcm(h, t.period);
  return h;
}

// Periods whose lcm is 120 (default) or 96 000 (`large`: hyperperiods up to
// 10^5, closer to the 10^6 the issue allows, fewer sets).
std::vector<Task> random_set(std::mt19937_64& rng, bool large = false) {
  static const Time kSmall[] = {4, 5, 6, 8, 10, 12, 15, 20, 24, 30, 40, 60};
  static const Time kLarge[] = {50, 64, 75, 80, 100, 125, 128, 160, 200, 250, 256, 320};
  const Time* kPeriods = large ? kLarge : kSmall;
  std::uniform_int_distribution<int> nd(1, 5), pd(0, 11);
  int n = nd(rng);
  std::vector<Task> ts;
  for (int i = 0; i < n; ++i) {
    Task t;
    t.name = "t" + std::to_string(i);
    t.period = kPeriods[pd(rng)];
    std::uniform_int_distribution<Time> cd(1, std::max<Time>(1, t.period / 2));
    t.wcet = cd(rng);
    std::uniform_int_distribution<Time> dd(t.wcet, t.period);
    t.deadline = dd(rng);
    ts.push_back(t);
  }
  return ts;
}

}  // namespace

TEST(AnalysisProperty, FixedPriorityAgreesWithSimulation) {
  std::mt19937_64 rng(20260401);
  int yes = 0, no = 0;
  for (int iter = 0; iter < 400; ++iter) {
    auto ts = random_set(rng);
    auto prio = deadline_monotonic(ts);
    for (size_t i = 0; i < ts.size(); ++i) ts[i].priority = prio[i];
    bool analysed = fp_analysis(ts).schedulable;
    bool simulated = simulate_no_miss(ts, false, hyperperiod(ts), [](Time) { return true; });
    ASSERT_EQ(analysed, simulated) << "iteration " << iter;
    (analysed ? yes : no)++;
  }
  // Both answers occur, so the agreement is not vacuous.
  EXPECT_GT(yes, 20);
  EXPECT_GT(no, 20);
}

TEST(AnalysisProperty, LargeHyperperiodsAgreeWithSimulation) {
  std::mt19937_64 rng(20260404);
  int yes = 0, no = 0;
  Time max_h = 0;
  for (int iter = 0; iter < 60; ++iter) {
    auto ts = random_set(rng, true);
    auto prio = deadline_monotonic(ts);
    for (size_t i = 0; i < ts.size(); ++i) ts[i].priority = prio[i];
    Time h = hyperperiod(ts);
    ASSERT_LE(h, 1'000'000);
    max_h = std::max(max_h, h);
    bool fp = fp_analysis(ts).schedulable;
    ASSERT_EQ(fp, simulate_no_miss(ts, false, h, [](Time) { return true; })) << "FP, iteration " << iter;
    bool edf = qpa(ts).schedulable;
    ASSERT_EQ(edf, simulate_no_miss(ts, true, h, [](Time) { return true; })) << "EDF, iteration " << iter;
    (fp ? yes : no)++;
  }
  EXPECT_GT(yes, 5);
  EXPECT_GT(no, 5);
  EXPECT_GE(max_h, 10'000);  // the large periods really were exercised
}

TEST(AnalysisProperty, EdfAgreesWithSimulation) {
  std::mt19937_64 rng(20260402);
  int yes = 0, no = 0;
  for (int iter = 0; iter < 400; ++iter) {
    auto ts = random_set(rng);
    bool analysed = qpa(ts).schedulable;
    bool simulated = simulate_no_miss(ts, true, hyperperiod(ts), [](Time) { return true; });
    ASSERT_EQ(analysed, simulated) << "iteration " << iter;
    (analysed ? yes : no)++;
  }
  EXPECT_GT(yes, 20);
  EXPECT_GT(no, 20);
}

// A budget Θ returned for Π is enough when the periodic resource delivers
// its worst case: no supply for Π + Δ − 2Θ, then Θ every Π (the pattern
// behind sbf, Shin & Lee 2003 Fig. 2 / Easwaran et al. 2007), aligned with
// the synchronous release. And Θ − 1 fails the analysis.
TEST(AnalysisProperty, MinimumBudgetSufficientInSimulation) {
  std::mt19937_64 rng(20260403);
  int checked = 0;
  for (int iter = 0; iter < 300; ++iter) {
    auto ts = random_set(rng);
    bool edf = iter % 2 == 0;
    auto sched = edf ? LocalScheduler::Edf : LocalScheduler::FixedPriority;
    auto prio = deadline_monotonic(ts);
    for (size_t i = 0; i < ts.size(); ++i) ts[i].priority = prio[i];
    std::uniform_int_distribution<Time> pd(2, 12);
    Time pi = pd(rng);
    Time delta = iter % 3 == 0 ? std::max<Time>(1, pi - 1) : pi;
    auto theta = min_budget(ts, sched, pi, delta);
    if (!theta) {
      EXPECT_FALSE(schedulable_on(ts, sched, Supply::edp(pi, delta, delta)));
      continue;
    }
    ASSERT_GE(*theta, 1);
    ASSERT_LE(*theta, delta);
    Time x = pi + delta - 2 * *theta;
    Time horizon = std::lcm(hyperperiod(ts), pi) + x + pi;
    bool sim = simulate_no_miss(ts, edf, horizon, [&](Time t) { return t >= x && (t - x) % pi < *theta; });
    ASSERT_TRUE(sim) << "iteration " << iter << " Θ=" << *theta << " Π=" << pi << " Δ=" << delta;
    EXPECT_FALSE(schedulable_on(ts, sched, Supply::edp(pi, *theta - 1, delta))) << "iteration " << iter;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

// Issue 12, item 1: with blocking, QPA's walk and bounds agree with checking
// dbf(t) + b(t) ≤ t at every t. For U ≤ 1 and t ≥ max D, dbf(t + H) =
// dbf(t) + U·H and b(t) is constant, so t ≤ max D + H covers every window.
TEST(AnalysisProperty, EdfWithBlockingAgreesWithEveryWindow) {
  std::mt19937_64 rng(20260412);
  int yes = 0, no = 0;
  for (int iter = 0; iter < 400; ++iter) {
    auto ts = random_set(rng);
    if (compare_utilization(ts, Ratio{1, 1}) == Compare::Greater) continue;
    std::uniform_int_distribution<Time> bd(0, 6);
    for (auto& t : ts) t.blocking = bd(rng) < 3 ? 0 : bd(rng);
    Time max_d = 0;
    for (const auto& t : ts) max_d = std::max(max_d, t.deadline);
    bool every = true;
    for (Time t = 1; t <= max_d + hyperperiod(ts) && every; ++t)
      every = dbf(ts, t) + edf_blocking(ts, t) <= t;
    bool analysed = qpa(ts).schedulable;
    ASSERT_EQ(analysed, every) << "iteration " << iter;
    // Blocking never helps.
    auto plain = ts;
    for (auto& t : plain) t.blocking = 0;
    if (analysed) {
      EXPECT_TRUE(qpa(plain).schedulable) << "iteration " << iter;
    }
    (analysed ? yes : no)++;
  }
  EXPECT_GT(yes, 20);
  EXPECT_GT(no, 20);
}

namespace {

// SCHED_DEADLINE as the kernel runs one thread per task (unit steps): job k
// of task i is released nominally at offset[i] + k·T and wakes the thread `late[i][k]`
// (≤ J) later; the kernel releases it at ρ = max(wake-up, previous ρ + T)
// (dl_check_constrained_dl) with deadline ρ + `kernel_deadline[i]`, and runs
// the earliest deadline, ties broken against the job whose real deadline
// (nominal release + D) comes first. True when every job ends by then.
bool simulate_deadline(const std::vector<Task>& ts, const std::vector<Time>& kernel_deadline,
                       const std::vector<Time>& offset, const std::vector<std::vector<Time>>& late,
                       Time horizon) {
  struct Job {
    Time release, kernel_dl, real_dl, left;
  };
  std::vector<std::vector<Job>> jobs(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    Time rho = -ts[i].period;
    for (size_t k = 0; static_cast<Time>(k) * ts[i].period < horizon; ++k) {
      Time nominal = offset[i] + static_cast<Time>(k) * ts[i].period;
      rho = std::max(nominal + late[i][k], rho + ts[i].period);
      jobs[i].push_back({rho, rho + kernel_deadline[i], nominal + ts[i].deadline, ts[i].wcet});
    }
  }
  std::vector<size_t> next(ts.size(), 0);  // the thread's current job
  for (Time t = 0; t < horizon; ++t) {
    int pick = -1;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (next[i] >= jobs[i].size()) continue;
      const Job& j = jobs[i][next[i]];
      if (j.real_dl <= t) return false;
      if (j.release > t) continue;
      if (pick < 0) {
        pick = static_cast<int>(i);
        continue;
      }
      const Job& p = jobs[static_cast<size_t>(pick)][next[static_cast<size_t>(pick)]];
      if (j.kernel_dl < p.kernel_dl || (j.kernel_dl == p.kernel_dl && j.real_dl > p.real_dl))
        pick = static_cast<int>(i);
    }
    if (pick < 0) continue;
    auto u = static_cast<size_t>(pick);
    if (--jobs[u][next[u]].left == 0) ++next[u];
  }
  return true;
}

}  // namespace

// Issue 12, item 4. a (T 10, C 2, D 4, J 2) and b (T 10, C 2, D 4): the
// analysis takes a's deadline as D − J = 2. Told D = 4, the kernel gives a
// job of a woken 2 late the deadline 6, the same as b's released at 2; it
// may run b first and a ends at 6 > 4. Told min(D, T) − J (deadline_params),
// it meets every deadline.
TEST(AnalysisProperty, DeadlineTripleIsWhatWasAnalysed) {
  std::vector<Task> ts{Task{"a", 10, 2, 4, 2, 0, std::nullopt}, Task{"b", 10, 2, 4, 0, 0, std::nullopt}};
  std::vector<Task> kernel{deadline_task(ts[0]), deadline_task(ts[1])};
  ASSERT_TRUE(qpa(ts).schedulable);
  ASSERT_TRUE(qpa(kernel).schedulable);
  EXPECT_EQ(deadline_params(ts[0]).deadline, 2);
  EXPECT_EQ(deadline_params(ts[1]).deadline, 4);
  std::vector<std::vector<Time>> late{std::vector<Time>(4, 2), std::vector<Time>(4, 0)};
  EXPECT_FALSE(simulate_deadline(ts, {4, 4}, {0, 2}, late, 40));  // the old triple: (2, 4, 10)
  EXPECT_TRUE(simulate_deadline(ts, {2, 4}, {0, 2}, late, 40));
}

// Every set admitted as deadline_task() describes it meets its real
// deadlines under the kernel's rules, for random release jitter (each job
// 0..J late, the extremes included), random phases and deadlines above the
// period.
TEST(AnalysisProperty, DeadlineTasksMeetRealDeadlinesWithJitter) {
  std::mt19937_64 rng(20260413);
  int checked = 0;
  for (int iter = 0; iter < 300; ++iter) {
    auto ts = random_set(rng);
    for (auto& t : ts) {
      std::uniform_int_distribution<Time> jd(0, t.period / 4), dd(0, 3);
      t.jitter = jd(rng);
      if (dd(rng) == 0) t.deadline += t.period / 2;  // D > T now and then
    }
    std::vector<Task> kernel;
    std::vector<Time> kdl;
    for (const auto& t : ts) {
      kernel.push_back(deadline_task(t));
      kdl.push_back(kernel.back().deadline);
    }
    if (!qpa(kernel).schedulable) continue;
    Time horizon = 3 * hyperperiod(ts);
    for (int pattern = 0; pattern < 8; ++pattern) {
      std::vector<std::vector<Time>> late(ts.size());
      std::vector<Time> offset(ts.size(), 0);
      for (size_t i = 0; i < ts.size(); ++i) {
        std::uniform_int_distribution<Time> od(0, ts[i].period - 1);
        if (pattern >= 4) offset[i] = od(rng);
        std::uniform_int_distribution<Time> ld(0, ts[i].jitter);
        for (Time k = 0; k * ts[i].period < horizon; ++k)
          late[i].push_back(pattern == 0 ? 0 : pattern == 1 ? ts[i].jitter : ld(rng));
      }
      ASSERT_TRUE(simulate_deadline(ts, kdl, offset, late, horizon))
          << "iteration " << iter << " pattern " << pattern;
    }
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

// Issue 12, item 7: with fewer levels than tasks, audsley_levels finds an
// assignment exactly when one of the k^n assignments passes fp_analysis,
// and deadline_monotonic_levels whenever a DM-contiguous banding passes;
// what either returns passes and uses at most k levels.
TEST(AnalysisProperty, LevelAssignmentsAgreeWithEnumeration) {
  std::mt19937_64 rng(20260414);
  int found = 0, none = 0;
  for (int iter = 0; iter < 300; ++iter) {
    auto ts = random_set(rng);
    std::uniform_int_distribution<Time> jd(0, 2);
    for (auto& t : ts) {
      t.jitter = std::min(jd(rng), t.deadline - 1);
      t.blocking = jd(rng);
    }
    std::uniform_int_distribution<int> kd(1, std::max<int>(1, static_cast<int>(ts.size()) - 1));
    int k = kd(rng);
    auto passes = [&](const std::vector<int>& lv) {
      auto x = ts;
      for (size_t i = 0; i < x.size(); ++i) x[i].priority = lv[i];
      return fp_analysis(x).schedulable;
    };
    // Every assignment, and every DM-contiguous banding, by enumeration.
    size_t n = ts.size();
    bool any = false, any_dm = false;
    std::vector<int> lv(n, 1);
    auto order = deadline_monotonic(ts);
    for (;;) {
      if (passes(lv)) {
        any = true;
        bool contiguous = true;  // more urgent in DM never on a lower level
        for (size_t a = 0; a < n; ++a)
          for (size_t b = 0; b < n; ++b)
            if (order[a] > order[b] && lv[a] < lv[b]) contiguous = false;
        any_dm = any_dm || contiguous;
      }
      size_t d = 0;
      while (d < n && lv[d] == k) lv[d++] = 1;
      if (d == n) break;
      ++lv[d];
    }
    auto au = audsley_levels(ts, k);
    ASSERT_EQ(au.has_value(), any) << "iteration " << iter;
    auto dm = deadline_monotonic_levels(ts, k);
    ASSERT_EQ(dm.has_value(), any_dm) << "iteration " << iter;
    for (const auto& a : {au, dm}) {
      if (!a) continue;
      EXPECT_TRUE(passes(*a)) << "iteration " << iter;
      EXPECT_LE(*std::max_element(a->begin(), a->end()), k);
      EXPECT_GE(*std::min_element(a->begin(), a->end()), 1);
    }
    (any ? found : none)++;
  }
  EXPECT_GT(found, 20);
  EXPECT_GT(none, 20);
}
