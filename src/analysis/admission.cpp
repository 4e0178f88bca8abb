// Admission of cells (see admission.hpp).
//
// Per cell: pick the local scheduler (all SCHED_FIFO/RR tasks: fixed
// priority; all SCHED_DEADLINE: EDF, each task taken as the kernel runs it,
// enforce.hpp deadline_task), give priorities where none are named
// (deadline-monotonic, then Audsley's assignment if that fails; shared
// levels on a CPU with more tasks than the cell's priorities), place
// unpinned tasks onto the cell's CPUs, run the exact test per CPU on the
// cell's supply (a FIFO/RR budget as the kernel's tick-granular throttling
// delivers it, Supply::throttled), then derive the kernel parameters. Across
// cells: a FIFO/RR cell on a CPU shared with others is analysed again with
// the caps of those that may preempt it (analyse_shared_cpus), budgets on a
// shared CPU must fit it (exactly), and every derived parameter must be one
// the target host's kernel accepts (check_enforceable). A rejection names
// the first task that misses in manifest order of cells and ascending CPUs
// and searches for the smallest change: the largest WCET of that task and,
// for a budgeted cell, the least budget. Both searches are binary searches
// over a monotone verdict (fixed priority and EDF are sustainable in C, sbf
// is monotone in Θ), so their answers are exact; with interference the
// budget found passes but may not be the least (budget.hpp).
#include "rtcell/analysis/admission.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "rtcell/analysis/edf.hpp"
#include "rtcell/analysis/fp.hpp"
#include "util/units.hpp"

namespace rtcell::analysis {

namespace {

using util::format_time_ns;

// Audsley's assignment is O(n²) tests: only tried on small sets.
constexpr size_t kOpaMaxTasks = 200;

struct CpuWork {
  int cpu = -1;
  std::vector<size_t> idx;  // indices into the cell's tasks
  std::vector<Task> tasks;
};

bool test(std::span<const Task> tasks, LocalScheduler s, const Supply& sup) {
  return schedulable_on(tasks, s, sup);
}

// A budget the declared tasks can never reach: with rt_time reset by each
// replenishment, a charge in period k covers at most the run since the last
// charge before the period began (a tick earlier at most), so the group is
// never throttled if every CPU's tasks run at most Θ in any window of Π + τ.
// A job of task j runs between its nominal release and its deadline (the
// cell is admitted), so at most ⌈(t + D_j)/T_j⌉ jobs of j run in a window
// of length t: W(t) = Σ_j ⌈(t + D_j)/T_j⌉·C_j. Period Π (the global one,
// 1 s by default), Θ = max over CPUs of W(Π + τ), rounded up to µs.
// nullopt if that is not below Π.
std::optional<std::pair<Time, Time>> guard_budget(const std::vector<CpuWork>& work, Time period, Time tick) {
  if (period <= 0) return std::nullopt;
  Time window = sat_add(period, tick);
  Time theta = 0;
  for (const auto& w : work) {
    Time sum = 0;
    for (const auto& t : w.tasks)
      sum = sat_add(sum, sat_mul(ceil_div(sat_add(window, t.deadline), t.period), t.wcet));
    theta = std::max(theta, sum);
  }
  theta = ceil_div(theta, 1000) * 1000;
  if (theta >= period) return std::nullopt;
  return std::make_pair(period, theta);
}

// Largest C in [1, C_i) for tasks[i] that makes the set schedulable, by
// binary search (sustainability: lowering one WCET never breaks a schedulable
// set). nullopt if none does.
std::optional<Time> max_wcet(std::vector<Task> tasks, size_t i, LocalScheduler s, const Supply& sup) {
  Time hi = tasks[i].wcet;  // fails
  tasks[i].wcet = 1;
  if (!test(tasks, s, sup)) return std::nullopt;
  Time lo = 1;  // passes
  while (hi - lo > 1) {
    Time mid = lo + (hi - lo) / 2;
    tasks[i].wcet = mid;
    if (test(tasks, s, sup))
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

std::vector<int> linux_priorities(const std::vector<int>& ranks, int base) {
  // ranks: n..1, larger = more urgent; map the most urgent to `base`.
  int n = static_cast<int>(ranks.size());
  std::vector<int> out(ranks.size());
  for (size_t i = 0; i < ranks.size(); ++i) out[i] = std::max(1, base - (n - ranks[i]));
  return out;
}

std::string wcet_fix(const std::string& task, const std::optional<Time>& w) {
  if (!w)
    return "task " + task +
           " misses even with a 1 ns WCET: the work of the tasks sharing its CPU (at or above its priority, "
           "or due before it) leaves it no time; lower their WCETs or move tasks to another CPU";
  return "lower the WCET of task " + task + " to " + format_time_ns(*w) + " (" + std::to_string(*w) + " ns)";
}

// Puts one CPU's tasks of a cell with more tasks than priority levels on the
// levels base, base − 1, ..., 1: distinct deadline-monotonic priorities when
// the CPU has few enough, else bands found by the exact test (fp.hpp), and
// the cell says so.
void assign_levels(CpuWork& w, std::vector<Task>& tasks, int levels, int base, const Supply& supply,
                   CellVerdict& v) {
  if (w.tasks.empty()) return;
  std::vector<int> lv;
  if (static_cast<int>(w.tasks.size()) <= levels) {
    lv = deadline_monotonic(w.tasks);
  } else {
    std::string how = "deadline-monotonic bands";
    auto a = deadline_monotonic_levels(w.tasks, levels, supply);
    if (!a && w.tasks.size() <= kOpaMaxTasks) {
      a = audsley_levels(w.tasks, levels, supply);
      how = "Audsley's assignment over levels";
    }
    if (!a) {
      a = deadline_monotonic_bands(w.tasks, levels);
      how = "deadline-monotonic bands of equal size (no assignment of the levels passes)";
    }
    lv = std::move(*a);
    v.notes.push_back("CPU " + std::to_string(w.cpu) + " has " + std::to_string(w.tasks.size()) +
                      " tasks for the cell's " + std::to_string(levels) + " priority levels (" +
                      std::to_string(base) + " down to " + std::to_string(base - levels + 1) +
                      "; Linux has 99, 99 only with allow_prio_99): tasks share levels by " + how +
                      ", and tasks of one level are analysed as delaying each other in full");
  }
  int top = *std::max_element(lv.begin(), lv.end());
  for (size_t k = 0; k < w.tasks.size(); ++k) {
    int p = base - (top - lv[k]);
    w.tasks[k].priority = p;
    tasks[w.idx[k]].priority = p;
  }
}

// `interference`: per CPU, the caps of other cells that may preempt this one
// there (shared_cpu_interference below); empty for a cell alone on its CPUs.
void analyse_cell(const CellSpec& spec, const AdmitOptions& opts, CellVerdict& v,
                  const std::map<int, std::vector<Cap>>& interference = {}) {
  v.name = spec.name;
  const auto& cpus = spec.cpus.cpus();
  size_t n = spec.tasks.size();
  v.tasks.resize(n);
  bool any_dl = false, any_fp = false;
  for (const auto& t : spec.tasks) (t.policy == TaskPolicy::Deadline ? any_dl : any_fp) = true;
  v.scheduler = any_dl ? LocalScheduler::Edf : LocalScheduler::FixedPriority;
  LocalScheduler sched = v.scheduler;
  if (any_dl && any_fp) {
    // The manifest refuses this; stay total anyway.
    v.admitted = false;
    v.diagnosis =
        Diagnosis{"", -1, "cell mixes deadline and fifo/rr tasks", {}, {}, {}, "put them in two cells"};
    return;
  }

  std::vector<Task> tasks;
  tasks.reserve(n);
  for (const auto& t : spec.tasks) tasks.push_back(t.task);
  // SCHED_DEADLINE tasks are analysed as the kernel runs them (deadline
  // min(D, T) − J, no jitter: enforce.hpp deadline_task), so the triple
  // printed and applied is the one analysed.
  if (sched == LocalScheduler::Edf) {
    std::string changed;
    size_t count = 0;
    for (auto& t : tasks) {
      Task k = deadline_task(t);
      if (k.deadline != t.deadline && ++count <= 4)
        changed += (changed.empty() ? "" : ", ") + t.name + " " + format_time_ns(k.deadline);
      t = std::move(k);
    }
    if (count > 4) changed += " and " + std::to_string(count - 4) + " more";
    if (count > 0)
      v.notes.push_back(
          "SCHED_DEADLINE deadlines analysed and applied as min(D, T) - J (the kernel counts a "
          "deadline from the wake-up and clamps it to the period): " +
          changed);
  }

  // Priorities for fixed priority: named, or deadline-monotonic from the
  // cell's top priority down. A cell with more tasks than that keeps distinct
  // ranks here (placement only compares them); each CPU's tasks are put on
  // the levels after placement (assign_levels).
  const int levels = std::clamp(spec.base_priority, 1, 99);
  bool named =
      !tasks.empty() && std::all_of(tasks.begin(), tasks.end(), [](const Task& t) { return t.priority; });
  const bool over_levels = sched == LocalScheduler::FixedPriority && !named && static_cast<int>(n) > levels;
  if (sched == LocalScheduler::FixedPriority && !named) {
    auto ranks = deadline_monotonic(tasks);
    auto pr = over_levels ? ranks : linux_priorities(ranks, spec.base_priority);
    for (size_t i = 0; i < n; ++i) tasks[i].priority = pr[i];
  }

  // The supply each CPU gives the cell. A FIFO/RR budget is what cgroup v1
  // enforces: Θ per Π charged at the scheduler tick (Supply::throttled), less
  // what capped cells that may preempt it on a shared CPU take; an EDF
  // budget is the Ω(Π, Θ, Δ) of the analysis (no Linux server enforces it).
  const bool rt_group = sched == LocalScheduler::FixedPriority;
  auto shape_at = [&](int cpu) {
    if (!rt_group) return Supply::edp(v.budget_period, v.budget_deadline, v.budget_deadline);
    Supply s = Supply::throttled(v.budget_period, v.budget_period, tick_ns(opts.hz));
    auto it = interference.find(cpu);
    return it == interference.end() ? s : s.with_interference(it->second);
  };
  Supply supply = Supply::dedicated();
  if (spec.budget) {
    v.dedicated = false;
    v.budget_period = spec.budget->period;
    v.budget_deadline = spec.budget->deadline.value_or(spec.budget->period);
    if (spec.budget->runtime) v.budget_runtime = *spec.budget->runtime;
    // Derive: place and test on the full share first (Θ = Π, or Δ).
    Supply full = shape_at(-1);
    supply = full.with_budget(spec.budget->runtime.value_or(full.budget()));
  }
  auto supply_at = [&](int cpu) { return spec.budget ? shape_at(cpu).with_budget(supply.budget()) : supply; };

  // Placement.
  std::vector<int> slot_of_cpu(static_cast<size_t>(CpuSet::kMaxCpu) + 1, -1);
  for (size_t s = 0; s < cpus.size(); ++s) slot_of_cpu[static_cast<size_t>(cpus[s])] = static_cast<int>(s);
  std::vector<int> fixed(n, -1);
  bool all_fixed = true;
  for (size_t i = 0; i < n; ++i) {
    if (spec.tasks[i].cpu && *spec.tasks[i].cpu >= 0 && *spec.tasks[i].cpu <= CpuSet::kMaxCpu)
      fixed[i] = slot_of_cpu[static_cast<size_t>(*spec.tasks[i].cpu)];
    if (fixed[i] < 0) all_fixed = false;
  }
  std::vector<int> bin(n, 0);
  if (cpus.empty() && n > 0) {
    v.admitted = false;
    v.diagnosis = Diagnosis{"", -1, "cell has tasks but no CPUs", {}, {}, {}, "give the cell cpus:"};
    return;
  }
  if (all_fixed || cpus.size() == 1) {
    for (size_t i = 0; i < n; ++i) bin[i] = fixed[i] >= 0 ? fixed[i] : 0;
  } else {
    auto part = partition(tasks, fixed, static_cast<int>(cpus.size()), sched, supply, opts.fit);
    if (!part.ok) {
      size_t u = *part.unplaced;
      v.admitted = false;
      Diagnosis d;
      d.task = tasks[u].name;
      d.problem = "task " + tasks[u].name + " fits on none of CPUs " + spec.cpus.to_string() +
                  " next to the tasks placed before it (decreasing utilization)";
      d.fix = "give the cell another CPU, pin tasks with cpu:, or lower the WCET of task " + tasks[u].name;
      v.diagnosis = d;
      for (size_t i = 0; i < n; ++i) {
        auto& tv = v.tasks[i];
        tv.name = tasks[i].name;
        tv.policy = spec.tasks[i].policy;
        // Unplaced, a cell with more tasks than levels has ranks, not priorities.
        if (!over_levels) tv.priority = tasks[i].priority;
        tv.period = tasks[i].period;
        tv.wcet = tasks[i].wcet;
        tv.deadline = spec.tasks[i].task.deadline;
        tv.utilization = utilization(tasks[i]).to_double();
        tv.cpu = part.bin[i] >= 0 ? cpus[static_cast<size_t>(part.bin[i])] : -1;
        tv.ok = part.bin[i] >= 0;
      }
      return;
    }
    bin = part.bin;
  }

  std::vector<CpuWork> work(cpus.size());
  for (size_t s = 0; s < cpus.size(); ++s) work[s].cpu = cpus[s];
  for (size_t i = 0; i < n; ++i) {
    work[static_cast<size_t>(bin[i])].idx.push_back(i);
    work[static_cast<size_t>(bin[i])].tasks.push_back(tasks[i]);
  }

  if (over_levels)
    for (auto& w : work) assign_levels(w, tasks, levels, spec.base_priority, supply_at(w.cpu), v);

  // Audsley's assignment where deadline-monotonic fails and priorities were
  // not named.
  if (sched == LocalScheduler::FixedPriority && !named) {
    for (auto& w : work) {
      if (w.tasks.empty() || w.tasks.size() > kOpaMaxTasks || static_cast<int>(w.tasks.size()) > levels ||
          test(w.tasks, sched, supply_at(w.cpu)))
        continue;
      auto opa = audsley_opa(w.tasks, supply_at(w.cpu));
      if (!opa) continue;
      // Keep the cell's top priority for this CPU's most urgent task.
      auto pr = linux_priorities(*opa, spec.base_priority);
      for (size_t k = 0; k < w.tasks.size(); ++k) {
        w.tasks[k].priority = pr[k];
        tasks[w.idx[k]].priority = pr[k];
      }
      v.notes.push_back("CPU " + std::to_string(w.cpu) +
                        ": deadline-monotonic priorities miss; Audsley's optimal assignment is used");
    }
  }

  // Budget derivation: the least Θ per CPU, the cell's Θ is the largest.
  if (spec.budget && !spec.budget->runtime) {
    Time theta = 0;
    bool feasible = true;
    for (auto& w : work) {
      auto mb = min_budget(w.tasks, sched, shape_at(w.cpu));
      if (!mb) {
        feasible = false;
        continue;
      }
      theta = std::max(theta, *mb);
    }
    if (feasible) supply = supply.with_budget(theta);
    v.budget_runtime = supply.budget();  // else the full share, which still fails
  }

  // Per-CPU verdicts and per-task results.
  for (auto& w : work) {
    const Supply sup = supply_at(w.cpu);
    CpuVerdict cv;
    cv.cpu = w.cpu;
    cv.utilization = utilization_double(w.tasks);
    if (sched == LocalScheduler::FixedPriority) {
      cv.liu_layland = liu_layland_test(w.tasks);
      cv.hyperbolic = hyperbolic_test(w.tasks);
      auto r = fp_analysis(w.tasks, sup, true);
      cv.ok = r.schedulable;
      for (size_t k = 0; k < w.idx.size(); ++k) {
        auto& tv = v.tasks[w.idx[k]];
        tv.response = r.response[k];
        tv.ok = r.response[k] <= w.tasks[k].deadline;
      }
      if (!r.schedulable && !v.diagnosis) {
        size_t k = *r.first_miss;
        const Task& t = w.tasks[k];
        Diagnosis d;
        d.task = t.name;
        d.cpu = w.cpu;
        Time resp = r.response[k];
        if (resp >= sat_mul(t.deadline, 64)) {
          d.problem = "task " + t.name + " on CPU " + std::to_string(w.cpu) +
                      " never completes in time: its response time has no bound below 64x its deadline " +
                      format_time_ns(t.deadline) + " (demand on the CPU outruns its supply)";
        } else {
          d.miss_by = resp - t.deadline;
          d.problem = "task " + t.name + " on CPU " + std::to_string(w.cpu) + " misses its deadline by " +
                      format_time_ns(*d.miss_by) + " (response " + format_time_ns(resp) + " > deadline " +
                      format_time_ns(t.deadline) + ")";
        }
        d.max_wcet = max_wcet(w.tasks, k, sched, sup);
        d.fix = wcet_fix(t.name, d.max_wcet);
        if (over_levels && static_cast<int>(w.tasks.size()) > levels)
          d.fix += "; CPU " + std::to_string(w.cpu) + " has " + std::to_string(w.tasks.size()) +
                   " tasks for " + std::to_string(levels) +
                   " priority levels, so some share one: a higher top priority (sched: fifo:98) or more CPUs "
                   "gives them more";
        v.diagnosis = d;
      }
    } else {
      auto r = qpa(w.tasks, sup);
      cv.ok = r.schedulable;
      for (size_t k = 0; k < w.idx.size(); ++k) v.tasks[w.idx[k]].ok = r.schedulable;
      if (!r.schedulable && !v.diagnosis) {
        Diagnosis d;
        d.cpu = w.cpu;
        std::string where = "CPU " + std::to_string(w.cpu);
        size_t k = r.missing_task.value_or(0);
        if (r.missing_task) {
          for (auto& tv : v.tasks) tv.ok = true;
          for (size_t m = 0; m < w.idx.size(); ++m) v.tasks[w.idx[m]].ok = m != k;
        } else {
          // Over-utilized: blame the task with the largest utilization.
          for (size_t m = 1; m < w.tasks.size(); ++m)
            if (utilization(w.tasks[k]) < utilization(w.tasks[m])) k = m;
        }
        const Task& t = w.tasks[k];
        d.task = t.name;
        if (r.miss_at) {
          d.miss_by = r.overload;
          d.problem = "task " + t.name + " on " + where + " misses its deadline under EDF: jobs due within " +
                      format_time_ns(*r.miss_at) + " need " + format_time_ns(r.overload) +
                      " more than the CPU supplies";
          if (r.blocking > 0) d.problem += " (with " + format_time_ns(r.blocking) + " of blocking)";
        } else if (r.over_utilized) {
          d.problem = where + " is over-utilized: utilization " + std::to_string(cv.utilization) +
                      " exceeds the supply rate";
        } else {
          d.problem = where + ": the EDF test could not decide exactly (treated as a miss)";
        }
        d.max_wcet = max_wcet(w.tasks, k, sched, sup);
        d.fix = wcet_fix(t.name, d.max_wcet);
        v.diagnosis = d;
      }
    }
    v.admitted = v.admitted && cv.ok;
    v.cpus.push_back(cv);
  }
  for (size_t i = 0; i < n; ++i) {
    auto& tv = v.tasks[i];
    tv.name = tasks[i].name;
    tv.cpu = cpus[static_cast<size_t>(bin[i])];
    tv.policy = spec.tasks[i].policy;
    if (sched == LocalScheduler::FixedPriority) tv.priority = tasks[i].priority;
    tv.period = tasks[i].period;
    tv.wcet = tasks[i].wcet;
    tv.deadline = spec.tasks[i].task.deadline;
    tv.utilization = utilization(tasks[i]).to_double();
    if (sched == LocalScheduler::Edf) tv.dl = deadline_params(tasks[i], opts.dl_limits);
  }

  // The budget that would admit a rejected budgeted cell.
  if (!v.admitted && spec.budget && v.diagnosis) {
    Time theta = 0;
    bool feasible = true;
    for (auto& w : work) {
      auto mb = min_budget(w.tasks, sched, shape_at(w.cpu));
      if (!mb) feasible = false;
      theta = std::max(theta, mb.value_or(0));
    }
    if (feasible && spec.budget->runtime) {
      v.diagnosis->min_budget = theta;
      v.diagnosis->fix = "raise the budget runtime to " + format_time_ns(theta) + " per " +
                         format_time_ns(v.budget_period) + ", or " + v.diagnosis->fix;
    }
  }
  for (size_t s = 0; s < work.size(); ++s) {
    if (spec.budget && sched == LocalScheduler::FixedPriority)
      v.cpus[s].min_budget = min_budget(work[s].tasks, sched, shape_at(work[s].cpu));
  }

  // Enforcement.
  if (sched == LocalScheduler::FixedPriority && n > 0) {
    if (spec.budget) {
      v.rt = rt_bandwidth(v.budget_period, v.budget_runtime);
      if (v.budget_deadline != v.budget_period)
        v.notes.push_back(
            "cgroup v1 RT throttling has no budget deadline: the budget is analysed as the kernel "
            "enforces it, Θ per Π (the deadline " +
            format_time_ns(v.budget_deadline) + " is not used for a fifo/rr cell)");
    } else if (v.admitted) {
      // Dedicated CPUs still need an RT budget in a cgroup v1 group (a new
      // group gets 0, Documentation/scheduler/sched-rt-group.rst), and the
      // kernel sums the groups' ratios as if they shared every CPU. So pick
      // the budget of smallest ratio that still meets every deadline under
      // tick-granular throttling (Supply::throttled), over periods of whole
      // ticks (in µs, rounded up) from one tick to about the shortest
      // deadline: a period shorter than the tick cannot be enforced at all
      // (Θ' = 0), and a longer one only lengthens the blackout. Any
      // throttled budget may block the cell for 2(Π − Θ') + τ >= 3 ticks;
      // when no deadline tolerates that, runtime = period is the only budget
      // that holds (the kernel never throttles it).
      const Time tick = tick_ns(opts.hz);
      Time dmin = std::numeric_limits<Time>::max();
      for (const auto& t : tasks) dmin = std::min(dmin, std::min(t.deadline, t.period));
      int tries = n > 1000 ? 2 : 16;
      Time best_pi = 0, best_theta = 0;
      for (int k = 1; k <= tries; ++k) {
        Time pi = ceil_div(sat_mul(k, tick), 1000) * 1000;
        if (k > 1 && pi > dmin) break;
        Time theta = 0;
        for (auto& w : work)
          theta = std::max(theta, min_budget(w.tasks, sched, Supply::throttled(pi, pi, tick)).value_or(pi));
        theta = ceil_div(theta, 1000) * 1000;  // as cpu.rt_runtime_us will hold it
        // The enforced µs values compared exactly: the kernel's floored
        // 2^-20 ratios could tie a larger share with a smaller one.
        if (best_pi == 0 || Ratio{theta, pi} < Ratio{best_theta, best_pi}) {
          best_pi = pi;
          best_theta = theta;
        }
      }
      std::string hz = "HZ=" + std::to_string(opts.hz);
      std::string why_not = "no throttled cgroup v1 budget holds at " + hz + ": one may stop the cell for " +
                            "2(Π − Θ) + 1 tick >= 3 ticks (" + format_time_ns(sat_mul(3, tick)) +
                            ") and the shortest deadline is " + format_time_ns(dmin);
      if (best_theta < best_pi) {
        v.rt = rt_bandwidth(best_pi, best_theta);
        // The verdict holds under this budget (min_budget proves it), but
        // the response times above assume the whole CPU: throttled at Θ per
        // Π, a job may finish as late as its deadline.
        v.notes.push_back("the cgroup v1 budget " + std::to_string(v.rt->runtime_us) + " us per " +
                          std::to_string(v.rt->period_us) + " us" +
                          " is the least ratio that still meets every deadline under " + hz +
                          " tick accounting, whatever else in the cell spends it (docs/analysis.md); under "
                          "it responses may grow up to the deadlines, the responses shown assume the whole "
                          "CPU. Give the cell a budget: {period: ...} to choose the trade-off yourself");
      } else if (auto guard = guard_budget(work, opts.global.period_us * 1000, tick)) {
        v.rt = rt_bandwidth(guard->first, guard->second);
        v.notes.push_back(why_not + ". The budget " + std::to_string(v.rt->runtime_us) + " us per " +
                          std::to_string(v.rt->period_us) +
                          " us is a guard instead: the declared tasks never reach it (what they run in a "
                          "period and a tick, Σ⌈(Π + τ + D)/T⌉·C, fits), so the cell runs as on a dedicated "
                          "CPU as long as nothing else in it runs at RT priority (docs/analysis.md)");
      } else {
        v.rt = rt_bandwidth(best_pi, best_pi);
        v.notes.push_back(why_not +
                          ", so cpu.rt_runtime_us = cpu.rt_period_us (never throttled); the kernel "
                          "accepts that only with sched_rt_runtime_us = sched_rt_period_us (or -1)" +
                          (opts.hz < 1000
                               ? std::string(", or use a kernel with a finer tick (CONFIG_HZ_1000)")
                               : std::string()));
      }
    }
  }
  if (sched == LocalScheduler::Edf && n > 0) {
    std::vector<DeadlineParams> dls;
    for (const auto& tv : v.tasks) dls.push_back(*tv.dl);
    v.dl_sum = deadline_bandwidth_sum(dls, static_cast<int>(cpus.size()), opts.global);
    if (cpus.size() > 1)
      v.notes.push_back(
          "SCHED_DEADLINE is global EDF over a root domain: the per-CPU verdicts hold only if each CPU is "
          "its "
          "own exclusive cpuset (partitioned EDF); global EDF guarantees bounded tardiness, not deadlines");
    if (spec.budget)
      v.notes.push_back(
          "Linux has no hierarchical SCHED_DEADLINE server: the budget is analysed (and used by "
          "hypervisor emitters) but each task is enforced by its own reservation");
  }
}

// Cells sharing a CPU (issue 12, item 3). Linux budgets cap a group, they
// do not reserve one: on a shared CPU a cell gets what the groups that may
// preempt it leave. kernel/sched/rt.c queues a group at the priority of its
// most urgent runnable task (rt_se_prio), so a FIFO/RR cell may be preempted
// on `cpu` by a FIFO/RR cell whose top priority is at least the lowest
// priority of this cell's tasks there (ties included: groups of equal
// priority run in arrival order), up to that cell's enforced cgroup budget;
// and by every SCHED_DEADLINE task there (deadline runs before any RT
// group), up to its reservation. Both are caps charged at the tick
// (Cap::max_in). `who` collects one line per interfering cell.
std::pair<int, int> priority_range(const CellVerdict& v, int cpu) {
  int top = 0, low = 100;
  for (const auto& t : v.tasks) {
    if (!t.priority || (cpu >= 0 && t.cpu != cpu)) continue;
    top = std::max(top, *t.priority);
    low = std::min(low, *t.priority);
  }
  return {top, low};
}

std::string cap_text(const Cap& c) {
  if (c.budget >= c.period) return "no cap (never throttled)";
  return "cap " + format_time_ns(c.budget) + " per " + format_time_ns(c.period);
}

std::map<int, std::vector<Cap>> shared_cpu_interference(size_t c, const std::vector<CellVerdict>& cells,
                                                        const std::map<int, std::vector<size_t>>& users,
                                                        Time tick, std::vector<std::string>* who) {
  std::map<int, std::vector<Cap>> out;
  for (const auto& [cpu, us] : users) {
    if (us.size() < 2 || std::find(us.begin(), us.end(), c) == us.end()) continue;
    int low = priority_range(cells[c], cpu).second;
    if (low > 99) continue;  // none of this cell's tasks runs here
    for (size_t d : us) {
      if (d == c) continue;
      const CellVerdict& o = cells[d];
      if (o.scheduler == LocalScheduler::Edf) {
        for (const auto& t : o.tasks) {
          if (t.cpu != cpu || !t.dl) continue;
          out[cpu].push_back(Cap{t.dl->period, t.dl->runtime, tick});
          if (who)
            who->push_back("CPU " + std::to_string(cpu) + " is shared with SCHED_DEADLINE task " + t.name +
                           " of cell " + o.name + ", which runs before any fifo/rr task: its reservation " +
                           format_time_ns(t.dl->runtime) + " per " + format_time_ns(t.dl->period) +
                           " is taken from this cell's supply");
        }
        continue;
      }
      int top = priority_range(o, -1).first;
      if (top < low) continue;
      // What the kernel enforces: the cgroup budget; a cell with none
      // (rejected elsewhere for sharing) takes the whole CPU.
      Cap cap = o.rt ? Cap{o.rt->period_us * 1000, o.rt->runtime_us * 1000, tick} : Cap{1, 1, 0};
      out[cpu].push_back(cap);
      if (who)
        who->push_back("CPU " + std::to_string(cpu) + " is shared with cell " + o.name + " (priority up to " +
                       std::to_string(top) + " >= " + std::to_string(low) + " here): its " + cap_text(cap) +
                       ", overrun by up to a tick, is taken from this cell's supply");
    }
  }
  return out;
}

bool same_caps(const std::map<int, std::vector<Cap>>& a, const std::map<int, std::vector<Cap>>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [cpu, caps] : a) {
    auto it = b.find(cpu);
    if (it == b.end() || it->second.size() != caps.size()) return false;
    for (size_t i = 0; i < caps.size(); ++i)
      if (caps[i].period != it->second[i].period || caps[i].budget != it->second[i].budget ||
          caps[i].tick != it->second[i].tick)
        return false;
  }
  return true;
}

// Re-analyses every budgeted FIFO/RR cell that shares a CPU with the
// interference of the others, most urgent cell first, so that a derived
// budget is known before the cells below it are analysed. Cells whose
// priorities interleave may change each other's derived budgets: repeat
// until nothing changes, and reject what has not settled after a few rounds.
void analyse_shared_cpus(const std::vector<CellSpec>& specs, const AdmitOptions& opts,
                         const std::map<int, std::vector<size_t>>& users, std::vector<CellVerdict>& cells) {
  Time tick = tick_ns(opts.hz);
  std::vector<size_t> order;
  for (size_t c = 0; c < cells.size(); ++c) {
    if (cells[c].scheduler != LocalScheduler::FixedPriority || cells[c].dedicated || specs[c].tasks.empty())
      continue;
    if (!shared_cpu_interference(c, cells, users, tick, nullptr).empty()) order.push_back(c);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return priority_range(cells[a], -1).first > priority_range(cells[b], -1).first;
  });
  std::map<size_t, std::map<int, std::vector<Cap>>> used;
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    bool changed = false;
    for (size_t c : order) {
      std::vector<std::string> who;
      auto inf = shared_cpu_interference(c, cells, users, tick, &who);
      if (used.count(c) && same_caps(used[c], inf)) continue;
      CellVerdict v;
      analyse_cell(specs[c], opts, v, inf);
      for (auto& line : who) v.notes.push_back(std::move(line));
      if (!v.admitted && v.diagnosis && inf.count(v.diagnosis->cpu)) {
        v.diagnosis->problem += " under the interference of the cells that may preempt it there";
        v.diagnosis->fix += ", or move this cell or the cells above it to other cpus";
      }
      cells[c] = std::move(v);
      used[c] = std::move(inf);
      changed = true;
    }
    if (!changed) return;
  }
  for (size_t c : order) {
    if (same_caps(used[c], shared_cpu_interference(c, cells, users, tick, nullptr))) continue;
    auto& v = cells[c];
    v.admitted = false;
    v.diagnosis = Diagnosis{"",
                            -1,
                            "the derived budgets of the cells sharing its CPUs depend on each other (their "
                            "priorities interleave) and did not settle",
                            {},
                            {},
                            {},
                            "give these cells explicit budget runtimes"};
  }
}

// A cell's budget on one CPU as a task Θ/Π: what the kernel caps it at, the
// cgroup runtime rounded up to whole µs where there is one.
Task budget_share(const CellVerdict& v) {
  Task t;
  t.name = v.name;
  t.period = v.budget_period;
  t.wcet = v.budget_runtime;
  if (v.rt && v.rt->period_us > 0 && Ratio{t.wcet, t.period} < Ratio{v.rt->runtime_us, v.rt->period_us}) {
    t.period = v.rt->period_us * 1000;
    t.wcet = v.rt->runtime_us * 1000;
  }
  return t;
}

std::string ratio_text(uint64_t r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(r) / (1 << 20));  // for printing only
  return buf;
}

// "Admitted" must mean "can start as printed": each parameter derived above
// that the target host's kernel would refuse becomes one reason on its cell,
// which turns an admitted cell into a NotEnforceable one (docs/errors.md).
// The kernel's own integer arithmetic is mirrored (enforce.hpp), since the
// question is what it accepts.
void check_enforceable(AdmitResult& res, const AdmitOptions& opts,
                       const std::map<int, std::vector<size_t>>& users) {
  const std::string on = " on " + opts.host;
  // SCHED_DEADLINE: each triple (__checkparam_dl), then the bandwidth of
  // every cell's deadline tasks on each CPU (__dl_overflow). The verdicts
  // assume partitioned EDF, each CPU an exclusive cpuset and so a root
  // domain of its own: the limit is one CPU's to_ratio(sched_rt_period,
  // sched_rt_runtime). On a larger root domain the same sums fit as well.
  std::map<int, std::vector<DeadlineParams>> dl_on_cpu;
  std::map<int, std::vector<size_t>> dl_cells;
  for (size_t c = 0; c < res.cells.size(); ++c) {
    auto& v = res.cells[c];
    if (!v.admitted) continue;  // a rejected cell never starts
    for (const auto& tv : v.tasks) {
      if (!tv.dl) continue;
      if (!tv.dl->ok) v.not_enforceable.push_back("task " + tv.name + ": " + tv.dl->why + on);
      if (tv.cpu < 0) continue;
      dl_on_cpu[tv.cpu].push_back(*tv.dl);
      auto& cs = dl_cells[tv.cpu];
      if (cs.empty() || cs.back() != c) cs.push_back(c);
    }
  }
  for (const auto& [cpu, dls] : dl_on_cpu) {
    BandwidthSum sum = deadline_bandwidth_sum(dls, 1, opts.global);
    if (sum.fits) continue;
    for (size_t c : dl_cells[cpu])
      res.cells[c].not_enforceable.push_back(
          "the SCHED_DEADLINE tasks on CPU " + std::to_string(cpu) + " need " + ratio_text(sum.total) +
          " of it, more than sched_rt_runtime_us/sched_rt_period_us = " + ratio_text(sum.limit) + on +
          " (kernel/sched/deadline.c __dl_overflow refuses them): raise sched_rt_runtime_us or move tasks "
          "to other CPUs");
  }
  // A FIFO/RR cell on a shared CPU was analysed with the caps of the cells
  // that may preempt it there (analyse_shared_cpus). Without cgroup RT group
  // scheduling nothing applies those caps: such a cell may take the whole
  // CPU, and the verdict of the cell below it does not hold as printed.
  if (!opts.rt_groups) {
    for (const auto& [cpu, us] : users) {
      for (size_t c : us) {
        auto& v = res.cells[c];
        if (!v.admitted || v.scheduler != LocalScheduler::FixedPriority) continue;
        const int low = priority_range(v, cpu).second;
        if (low > 99) continue;  // none of its tasks runs here
        for (size_t d : us) {
          const auto& o = res.cells[d];
          if (d == c || !o.admitted || !o.rt || o.scheduler != LocalScheduler::FixedPriority ||
              priority_range(o, -1).first < low)
            continue;
          std::string why = "on CPU " + std::to_string(cpu) + " its supply assumes cell " + o.name +
                            " (priority up to " + std::to_string(priority_range(o, -1).first) +
                            ") is capped at cpu.rt_runtime_us=" + std::to_string(o.rt->runtime_us) +
                            " per cpu.rt_period_us=" + std::to_string(o.rt->period_us);
          why += ", but there is no cgroup RT group scheduling" + on;
          why += " to cap it: give the cells disjoint cpus or use a kernel with CONFIG_RT_GROUP_SCHED";
          v.not_enforceable.push_back(std::move(why));
        }
      }
    }
  }
  // cgroup v1 RT budgets, where the target has them (kernel/sched/rt.c
  // tg_rt_schedulable): a group's own ratio may not exceed the global one,
  // and rtcell's cells are children of one parent whose ratio may not either,
  // so their ratios must add up under it too. Cells start in manifest order,
  // and a cell over the limit is refused and holds nothing.
  if (!opts.rt_groups) return;
  const uint64_t limit = kernel_to_ratio(opts.global);
  uint64_t total = 0;
  std::string before;  // the first few cells counted so far
  size_t counted = 0;
  for (auto& v : res.cells) {
    if (!v.rt || !v.admitted) continue;  // a rejected cell never starts
    const uint64_t r = kernel_to_ratio(*v.rt);
    const std::string setting = "cpu.rt_runtime_us=" + std::to_string(v.rt->runtime_us) +
                                " per cpu.rt_period_us=" + std::to_string(v.rt->period_us);
    const std::string over = ", more than sched_rt_runtime_us/sched_rt_period_us = " + ratio_text(limit) + on;
    std::string why;
    if (v.rt->period_us < 1) {
      why = setting + ": the kernel takes no RT period below 1 us";
    } else if (r > limit) {
      why = "the cgroup RT budget " + setting + " is " + ratio_text(r) + " of a CPU";
      why += over;
      why += ": raise sched_rt_runtime_us or lower the load";
    } else if (total + r > limit) {
      why = "the cgroup RT budget " + setting + " brings the sum with the cells before it (";
      why += before;
      why += ") to " + ratio_text(total + r);
      why += over;
      why +=
          " (cgroup v1 sums the groups' ratios as if they shared each CPU): raise sched_rt_runtime_us (-1 "
          "allows a sum of 1.0) or give cells budgets of lower ratio";
    }
    if (!why.empty()) v.not_enforceable.push_back(std::move(why));
    if (!v.not_enforceable.empty()) continue;  // refused: it holds nothing
    total += r;
    if (++counted <= 3)
      before += (before.empty() ? "" : ", ") + v.name;
    else if (counted == 4)
      before += ", ...";
  }
}

}  // namespace

std::string_view to_string(TaskPolicy p) {
  switch (p) {
    case TaskPolicy::Fifo:
      return "fifo";
    case TaskPolicy::Rr:
      return "rr";
    case TaskPolicy::Deadline:
      return "deadline";
  }
  return "?";
}

Time tick_ns(int hz) {
  return ceil_div(1'000'000'000, hz > 0 ? hz : kDefaultHz);
}

AdmitResult admit(const std::vector<CellSpec>& cells, const AdmitOptions& opts) {
  AdmitResult res;
  res.hz = opts.hz > 0 ? opts.hz : kDefaultHz;
  res.hz_source = opts.hz > 0 ? opts.hz_source : "default";
  std::vector<RtBandwidth> bws;
  // CPUs shared by cells: without budgets the dedicated-CPU verdicts would be
  // wrong; with budgets the shares must fit in the CPU.
  std::map<int, std::vector<size_t>> users;
  for (size_t c = 0; c < cells.size(); ++c)
    if (!cells[c].tasks.empty())
      for (int cpu : cells[c].cpus.cpus()) users[cpu].push_back(c);

  for (size_t c = 0; c < cells.size(); ++c) {
    CellVerdict v;
    analyse_cell(cells[c], opts, v);
    res.cells.push_back(std::move(v));
  }
  analyse_shared_cpus(cells, opts, users, res.cells);
  for (const auto& [cpu, us] : users) {
    if (us.size() < 2) continue;
    std::vector<Task> shares;  // each budget as a "task" Θ/Π, summed exactly
    for (size_t c : us) {
      const auto& v = res.cells[c];
      if (v.dedicated) {
        auto& cv = res.cells[c];
        if (cv.admitted || !cv.diagnosis) {
          cv.admitted = false;
          std::string other = res.cells[us[0] == c ? us[1] : us[0]].name;
          cv.diagnosis = Diagnosis{"",
                                   cpu,
                                   "cell shares CPU " + std::to_string(cpu) + " with cell " + other +
                                       " but has no budget, so no supply is guaranteed to it",
                                   {},
                                   {},
                                   {},
                                   "give both cells a budget: {period: ...} or disjoint cpus"};
        }
        continue;
      }
      shares.push_back(budget_share(v));
    }
    std::string names;
    for (size_t c : us) names += (names.empty() ? "" : ", ") + res.cells[c].name;
    for (size_t c : us)
      if (!res.cells[c].dedicated)
        res.cells[c].notes.push_back(
            "CPU " + std::to_string(cpu) + " is shared by cells " + names +
            ": Linux caps each cell at its budget and serves the cells in priority order; " +
            (res.cells[c].scheduler == LocalScheduler::FixedPriority
                 ? "a fifo/rr cell is analysed with the caps of the cells that may preempt it "
                   "(docs/analysis.md)"
                 : "the verdict assumes this EDF cell still receives its budget in every period "
                   "(docs/analysis.md)"));
    // Exact: the kernel's floor(Θ·2^20/Π) summed two cells of 1 500 001 ns
    // per 3 ms to exactly 1.0 and admitted them (issue 12, item 5).
    Compare sum = compare_utilization(shares, Ratio{1, 1});
    if (sum == Compare::Greater || sum == Compare::Unknown) {
      for (size_t c : us) {
        auto& cv = res.cells[c];
        if (!cv.admitted) continue;
        cv.admitted = false;
        cv.diagnosis = Diagnosis{
            "",
            cpu,
            "the budgets of the cells on CPU " + std::to_string(cpu) + " add up to more than the CPU",
            {},
            {},
            {},
            "lower a budget or move a cell to other cpus"};
      }
    }
  }
  for (const auto& v : res.cells)
    if (v.rt) bws.push_back(*v.rt);
  res.rt_sum = rt_bandwidth_sum(bws, opts.global);
  check_enforceable(res, opts, users);
  res.target = opts;
  for (size_t c = 0; c < res.cells.size(); ++c) {
    auto& v = res.cells[c];
    if (!v.admitted) {
      res.admitted = false;
      if (!res.first_rejected) res.first_rejected = c;
    } else if (!v.not_enforceable.empty() && !res.first_not_enforceable) {
      res.first_not_enforceable = c;
    }
  }
  return res;
}

Verdict verdict(const CellVerdict& c) {
  if (!c.admitted) return Verdict::Rejected;
  return c.not_enforceable.empty() ? Verdict::Admitted : Verdict::NotEnforceable;
}

Verdict verdict(const AdmitResult& r) {
  if (!r.admitted) return Verdict::Rejected;
  return r.first_not_enforceable ? Verdict::NotEnforceable : Verdict::Admitted;
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Admitted:
      return "admitted";
    case Verdict::NotEnforceable:
      return "not enforceable";
    case Verdict::Rejected:
      return "rejected";
  }
  return "?";
}

CpuRoom room_on_cpu(const std::vector<CellSpec>& cells, const AdmitOptions& opts, int cpu, Time period,
                    Time resolution) {
  CpuRoom out;
  out.cpu = cpu;
  if (period <= 0 || resolution <= 0) return out;
  std::vector<CellSpec> with = cells;
  CellSpec probe;
  probe.name = "room";
  probe.cpus = CpuSet(std::vector<int>{cpu});
  TaskSpec t;
  t.task.name = "room";
  t.task.period = period;
  t.task.deadline = period;
  t.task.priority = 1;
  t.policy = TaskPolicy::Fifo;
  t.cpu = cpu;
  probe.tasks.push_back(t);
  with.push_back(std::move(probe));
  auto fits = [&](Time c) {
    with.back().tasks[0].task.wcet = c * resolution;
    return verdict(admit(with, opts)) == Verdict::Admitted;
  };
  Time lo = 0;                    // fits (vacuously)
  Time hi = period / resolution;  // candidates: lo < c <= hi
  if (hi == 0 || !fits(1)) return out;
  lo = 1;
  while (lo < hi) {
    const Time mid = lo + (hi - lo + 1) / 2;
    if (fits(mid))
      lo = mid;
    else
      hi = mid - 1;
  }
  out.wcet = lo * resolution;
  return out;
}

}  // namespace rtcell::analysis
