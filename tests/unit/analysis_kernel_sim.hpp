// A discrete-time model of cgroup v1 RT group throttling as kernel/sched/rt.c
// does it, for the property tests of the tick-accounting supply
// (Supply::throttled) and of cells sharing a CPU (Cap, with_interference).
//
// What is modelled, per group (one cpu.rt_period_us / cpu.rt_runtime_us pair
// on one CPU):
//   - rt_time grows only when the running task is charged: at the tick
//     (task_tick_rt -> update_curr_rt), when it is switched out
//     (put_prev_task_rt) and when its job ends (dequeue_task_rt). Every
//     charge checks sched_rt_runtime_exceeded(): rt_time > runtime throttles
//     the group, unless runtime >= period (never throttled).
//   - The period timer (sched_rt_period_timer -> do_sched_rt_period_timer)
//     subtracts min(rt_time, runtime) every period, without charging the
//     running task first, and unthrottles when rt_time < runtime.
//   - The CPU runs the group whose most urgent runnable task has the highest
//     priority (rt_se_prio), ties to the lower group index; inside the group
//     the most urgent task, ties to the lower task index.
// Time is in abstract units; events at the same instant happen in the order
// `timer_first` picks (the kernel gives no order between the tick and the
// hrtimer). A task with `hog` set is always runnable and never counted: it
// is a cell's best-effort thread at the bottom of its priorities, which
// makes the group use its whole budget in every period.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "rtcell/analysis/time.hpp"

namespace rtcell::test {

using analysis::Time;

struct SimTask {
  Time period = 1;
  Time wcet = 1;
  Time deadline = 1;
  Time offset = 0;  // first release
  int priority = 1;
  bool hog = false;
};

struct SimGroup {
  Time period = 1;  // cpu.rt_period_us
  Time budget = 1;  // cpu.rt_runtime_us
  Time timer_phase = 0;
  std::vector<SimTask> tasks;
};

struct SimConfig {
  Time tick = 1;
  Time tick_phase = 0;
  Time horizon = 0;
  bool timer_first = true;
};

struct SimResult {
  bool miss = false;
  size_t group = 0, task = 0;  // the first miss
  Time at = 0;
  // Per group and task: the largest response time seen.
  std::vector<std::vector<Time>> max_response;
};

inline SimResult simulate_kernel(const std::vector<SimGroup>& groups, const SimConfig& cfg) {
  struct Job {
    Time release, deadline, left;
  };
  struct GroupState {
    Time rt_time = 0;
    bool throttled = false;
    std::vector<std::deque<Job>> jobs;
  };
  SimResult res;
  std::vector<GroupState> st(groups.size());
  res.max_response.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    st[g].jobs.resize(groups[g].tasks.size());
    res.max_response[g].assign(groups[g].tasks.size(), 0);
  }
  long running_g = -1, running_t = -1;  // the task that ran in the last unit
  Time uncharged = 0;                   // its run since its last charge

  auto check = [&](size_t g) {
    const SimGroup& grp = groups[g];
    if (grp.budget < grp.period && st[g].rt_time > grp.budget) st[g].throttled = true;
  };
  auto charge = [&] {
    if (running_g < 0) return;
    auto g = static_cast<size_t>(running_g);
    st[g].rt_time += uncharged;
    uncharged = 0;
    check(g);
  };
  auto note_miss = [&](size_t g, size_t t, Time at) {
    if (res.miss) return;
    res.miss = true;
    res.group = g;
    res.task = t;
    res.at = at;
  };
  auto timers = [&](Time now) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const SimGroup& grp = groups[g];
      if (now < grp.timer_phase || (now - grp.timer_phase) % grp.period != 0) continue;
      st[g].rt_time -= std::min(st[g].rt_time, grp.budget);
      if (st[g].throttled && st[g].rt_time < grp.budget) st[g].throttled = false;
    }
  };
  auto tick = [&](Time now) {
    if (now >= cfg.tick_phase && (now - cfg.tick_phase) % cfg.tick == 0) charge();
  };

  for (Time now = 0; now < cfg.horizon; ++now) {
    if (cfg.timer_first) {
      timers(now);
      tick(now);
    } else {
      tick(now);
      timers(now);
    }
    for (size_t g = 0; g < groups.size(); ++g) {
      for (size_t i = 0; i < groups[g].tasks.size(); ++i) {
        const SimTask& task = groups[g].tasks[i];
        if (now < task.offset) continue;
        if (task.hog) {
          if (st[g].jobs[i].empty()) st[g].jobs[i].push_back({now, analysis::kInfinity, analysis::kInfinity});
          continue;
        }
        for (const auto& j : st[g].jobs[i])
          if (j.deadline <= now) note_miss(g, i, now);
        if ((now - task.offset) % task.period == 0)
          st[g].jobs[i].push_back({now, now + task.deadline, task.wcet});
      }
    }
    // Pick, charging the task switched out (which may throttle its group).
    long pick_g = -1, pick_t = -1;
    for (;;) {
      pick_g = pick_t = -1;
      int best = -1;
      for (size_t g = 0; g < groups.size(); ++g) {
        if (st[g].throttled) continue;
        for (size_t i = 0; i < groups[g].tasks.size(); ++i) {
          if (st[g].jobs[i].empty() || groups[g].tasks[i].priority <= best) continue;
          best = groups[g].tasks[i].priority;
          pick_g = static_cast<long>(g);
          pick_t = static_cast<long>(i);
        }
      }
      if (running_g < 0 || (pick_g == running_g && pick_t == running_t)) break;
      charge();  // put_prev_task_rt
      running_g = running_t = -1;
    }
    if (pick_g < 0) continue;
    running_g = pick_g;
    running_t = pick_t;
    auto g = static_cast<size_t>(pick_g);
    auto i = static_cast<size_t>(pick_t);
    ++uncharged;
    Job& job = st[g].jobs[i].front();
    if (--job.left == 0) {
      charge();  // dequeue_task_rt at the job's end
      running_g = running_t = -1;
      Time resp = now + 1 - job.release;
      res.max_response[g][i] = std::max(res.max_response[g][i], resp);
      if (now + 1 > job.deadline) note_miss(g, i, now + 1);
      st[g].jobs[i].pop_front();
    }
  }
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t i = 0; i < groups[g].tasks.size(); ++i)
      if (!groups[g].tasks[i].hog)
        for (const auto& j : st[g].jobs[i])
          if (j.deadline <= cfg.horizon) note_miss(g, i, cfg.horizon);
  return res;
}

}  // namespace rtcell::test
