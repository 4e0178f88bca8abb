// Cells sharing a CPU (issue 12, item 3): Linux budgets cap a group, they do
// not reserve one, so a cell's supply is what the caps of the cells that may
// preempt it leave (Supply::with_interference). The counterexample,
// hand-worked and in the kernel model (analysis_kernel_sim.hpp), and budgets
// derived under interference against the model.
#include <gtest/gtest.h>

#include <random>

#include "rtcell/analysis/admission.hpp"
#include "rtcell/analysis/budget.hpp"
#include "rtcell/analysis/fp.hpp"
#include "unit/analysis_kernel_sim.hpp"

using namespace rtcell;
using namespace rtcell::analysis;
using rtcell::test::SimConfig;
using rtcell::test::SimGroup;
using rtcell::test::SimTask;

namespace {

constexpr Time us = 1000;
constexpr Time ms = 1000 * us;

TaskSpec spec(const char* name, Time t, Time c, int prio, Time d = 0, TaskPolicy p = TaskPolicy::Fifo) {
  TaskSpec s;
  s.task.name = name;
  s.task.period = t;
  s.task.wcet = c;
  s.task.deadline = d == 0 ? t : d;
  if (prio > 0) s.task.priority = prio;
  s.policy = p;
  return s;
}

CellSpec cell(const char* name, const char* cpus, std::vector<TaskSpec> tasks,
              std::optional<BudgetSpec> budget) {
  CellSpec c;
  c.name = name;
  c.cpus = CpuSet::parse(cpus);
  c.tasks = std::move(tasks);
  c.budget = budget;
  return c;
}

AdmitOptions hz(int h) {
  AdmitOptions o;
  o.hz = h;
  return o;
}

}  // namespace

// The case: a FIFO-90 cell runs a 45 ms job (one every 300 ms) under
// a 45 ms / 100 ms budget on CPU 1, and a FIFO-40 cell there has a 10 ms-
// deadline task under 2 ms / 4 ms. The budgets fit the CPU (0.45 + 0.5) and
// each cell alone is schedulable at HZ=1000 (the low one: blackout
// 2(4 − 2) + 1 = 5 ms, then 2 − 1 ms, so its 1 ms job ends by 6.5 ms).
// Together the high cell may take the CPU for 45 ms in one go: the low cell
// is refused, with the reason.
TEST(AnalysisShared, HigherPriorityCellStarvesLowerOne) {
  auto hi = cell("hi", "1", {spec("job", 300 * ms, 45 * ms, 90)}, BudgetSpec{100 * ms, 45 * ms, {}});
  auto lo = cell("lo", "1", {spec("ctl", 10 * ms, 1 * ms, 40)}, BudgetSpec{4 * ms, 2 * ms, {}});
  ASSERT_TRUE(admit({hi}, hz(1000)).admitted);
  ASSERT_TRUE(admit({lo}, hz(1000)).admitted);
  auto r = admit({hi, lo}, hz(1000));
  EXPECT_FALSE(r.admitted);
  EXPECT_TRUE(r.cells[0].admitted) << "nothing below preempts the FIFO-90 cell";
  const auto& v = r.cells[1];
  EXPECT_FALSE(v.admitted);
  ASSERT_TRUE(v.diagnosis);
  EXPECT_EQ(v.diagnosis->task, "ctl");
  EXPECT_NE(v.diagnosis->problem.find("under the interference of the cells that may preempt it"),
            std::string::npos)
      << v.diagnosis->problem;
  bool named = false;
  for (const auto& n : v.notes)
    named |= n.find("shared with cell hi (priority up to 90 >= 40") != std::string::npos;
  EXPECT_TRUE(named);

  // The kernel model agrees (1 unit = 100 µs, tick 10): the 45 ms job runs
  // in one go and the 10 ms deadline passes.
  SimGroup h{1000, 450, 0, {SimTask{3000, 450, 3000, 0, 90, false}}};
  SimGroup l{40, 20, 0, {SimTask{100, 10, 100, 0, 40, false}}};
  SimConfig cfg;
  cfg.tick = 10;
  cfg.horizon = 3000;
  auto sim = rtcell::test::simulate_kernel({h, l}, cfg);
  EXPECT_TRUE(sim.miss);
  EXPECT_EQ(sim.group, 1u);
  EXPECT_GE(sim.max_response[1][0], 450) << "waited out the whole job";
}

// Interference runs one way: a cell whose tasks all rank above every task of
// the other cell gets the verdict it gets alone.
TEST(AnalysisShared, LowerPriorityCellTakesNothingFromAHigherOne) {
  auto hi = cell("hi", "1", {spec("a", 20 * ms, 2 * ms, 90), spec("b", 50 * ms, 5 * ms, 85)},
                 BudgetSpec{10 * ms, std::nullopt, {}});
  auto lo = cell("lo", "1", {spec("c", 100 * ms, 1 * ms, 40)}, BudgetSpec{10 * ms, 4 * ms, {}});
  auto alone = admit({hi}, hz(1000));
  auto both = admit({hi, lo}, hz(1000));
  ASSERT_TRUE(alone.admitted);
  EXPECT_EQ(both.cells[0].budget_runtime, alone.cells[0].budget_runtime);
  EXPECT_EQ(both.cells[0].tasks[1].response, alone.cells[0].tasks[1].response);
  // The low cell sees hi's derived budget as a cap and still fits (100 ms).
  EXPECT_TRUE(both.admitted) << (both.cells[1].diagnosis ? both.cells[1].diagnosis->problem : "");
}

// SCHED_DEADLINE runs before every RT group: a FIFO cell on a CPU with
// deadline tasks loses their reservations, whatever its priority.
TEST(AnalysisShared, DeadlineTasksPreemptEveryFifoCell) {
  auto dl = cell("dl", "1", {spec("d", 10 * ms, 6 * ms, 0, 0, TaskPolicy::Deadline)},
                 BudgetSpec{10 * ms, 6 * ms, {}});
  auto fifo = cell("f", "1", {spec("f", 20 * ms, 1 * ms, 99, 5 * ms)}, BudgetSpec{2 * ms, 1 * ms, {}});
  ASSERT_TRUE(admit({fifo}, hz(1000)).admitted);
  auto r = admit({dl, fifo}, hz(1000));
  EXPECT_FALSE(r.cells[1].admitted);
  bool named = false;
  for (const auto& n : r.cells[1].notes)
    named |= n.find("SCHED_DEADLINE task d of cell dl") != std::string::npos;
  EXPECT_TRUE(named);
}

// Random low cells under a random capped high cell whose hog spends its
// whole cap: the low cell's budget derived with the interference holds in
// the kernel model under random phasings; the budget derived as if the cell
// were alone misses for some of them.
TEST(AnalysisShared, BudgetsUnderInterferenceHoldInKernelModel) {
  std::mt19937_64 rng(20260415);
  static const Time kPeriods[] = {40, 60, 80, 120};
  int checked = 0, compared = 0, alone_missed = 0;
  for (int iter = 0; iter < 200; ++iter) {
    Time tick = std::uniform_int_distribution<Time>(1, 4)(rng);
    Time hi_pi = std::uniform_int_distribution<Time>(tick + 1, 60)(rng);
    Time hi_theta = std::uniform_int_distribution<Time>(1, hi_pi / 2)(rng);
    std::vector<Task> ts;
    int n = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int i = 0; i < n; ++i) {
      Task t;
      t.name = "t";
      t.period = kPeriods[std::uniform_int_distribution<int>(0, 3)(rng)];
      t.wcet = std::uniform_int_distribution<Time>(1, t.period / 10)(rng);
      t.deadline = std::uniform_int_distribution<Time>(t.period / 2, t.period)(rng);
      ts.push_back(t);
    }
    auto prio = deadline_monotonic(ts);
    for (size_t i = 0; i < ts.size(); ++i) ts[i].priority = prio[i] + 1;
    Time pi = std::uniform_int_distribution<Time>(tick + 1, 20)(rng);
    Supply shape = Supply::throttled(pi, pi, tick).with_interference({Cap{hi_pi, hi_theta, tick}});
    auto theta = min_budget(ts, LocalScheduler::FixedPriority, shape);
    if (!theta) continue;
    ASSERT_TRUE(schedulable_on(ts, LocalScheduler::FixedPriority, shape.with_budget(*theta)));
    // High cell: a hog at priority 50 (above every low task) under its cap.
    SimGroup hi{hi_pi, hi_theta, 0, {SimTask{1, 1, 1, 0, 50, true}}};
    SimGroup lo{pi, *theta, 0, {}};
    for (const auto& t : ts) lo.tasks.push_back(SimTask{t.period, t.wcet, t.deadline, 0, *t.priority, false});
    lo.tasks.push_back(SimTask{1, 1, 1, 0, 0, true});
    for (int k = 0; k < 6; ++k) {
      SimConfig cfg;
      cfg.tick = tick;
      cfg.tick_phase = std::uniform_int_distribution<Time>(0, tick - 1)(rng);
      cfg.horizon = 1500;
      cfg.timer_first = k % 2 == 0;
      hi.timer_phase = std::uniform_int_distribution<Time>(0, hi_pi - 1)(rng);
      lo.timer_phase = std::uniform_int_distribution<Time>(0, pi - 1)(rng);
      Time sync = std::uniform_int_distribution<Time>(0, 3 * hi_pi)(rng);
      for (auto& t : lo.tasks)
        if (!t.hog) t.offset = k % 3 == 0 ? std::uniform_int_distribution<Time>(0, t.period - 1)(rng) : sync;
      auto sim = rtcell::test::simulate_kernel({hi, lo}, cfg);
      ASSERT_FALSE(sim.miss) << "iteration " << iter << " run " << k << " Π=" << pi << " Θ=" << *theta
                             << " cap " << hi_theta << "/" << hi_pi << " τ=" << tick << " at " << sim.at;
    }
    ++checked;
    auto alone = min_budget(ts, LocalScheduler::FixedPriority, Supply::throttled(pi, pi, tick));
    if (alone && *alone < *theta) {
      ++compared;
      SimGroup lo_alone = lo;
      lo_alone.budget = *alone;
      for (int k = 0; k < 6; ++k) {
        SimConfig cfg;
        cfg.tick = tick;
        cfg.tick_phase = std::uniform_int_distribution<Time>(0, tick - 1)(rng);
        cfg.horizon = 1500;
        hi.timer_phase = std::uniform_int_distribution<Time>(0, hi_pi - 1)(rng);
        lo_alone.timer_phase = std::uniform_int_distribution<Time>(0, pi - 1)(rng);
        if (rtcell::test::simulate_kernel({hi, lo_alone}, cfg).miss) {
          ++alone_missed;
          break;
        }
      }
    }
  }
  EXPECT_GT(checked, 50);
  EXPECT_GT(compared, 20);
  // The alone budget's own margin (the bound's worst case rarely happens)
  // absorbs most of the interference in six random runs, not all of it: the
  // fixed seed finds 6 of 130.
  EXPECT_GT(alone_missed, 0) << alone_missed << " of " << compared;
}
