// From a verdict to what the kernel enforces: cgroup v1 RT bandwidth for a
// cell's SCHED_FIFO/RR tasks, SCHED_DEADLINE triples for its EDF tasks. The
// kernel's own integer arithmetic is mirrored so that "fits" here means the
// kernel accepts the write.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rtcell/analysis/task.hpp"

namespace rtcell::analysis {

// kernel/sched/core.c to_ratio(): runtime/period in 2^-20 units (BW_SHIFT),
// both in ns, rounded down. Used by RT group and SCHED_DEADLINE admission.
uint64_t kernel_to_ratio(uint64_t period_ns, uint64_t runtime_ns);

// One cgroup v1 cpu controller setting, in µs as the files take it.
struct RtBandwidth {
  int64_t period_us = 1'000'000;
  int64_t runtime_us = 950'000;
};
// kernel_to_ratio of a setting in µs; a runtime of -1 (RUNTIME_INF, no
// throttling) is BW_UNIT, as the kernel's to_ratio() has it.
uint64_t kernel_to_ratio(const RtBandwidth& b);

// The cgroup setting for a budget Θ per period Π (ns): Π must be a whole
// number of µs; Θ is rounded up to the next µs (more supply never hurts a
// verdict: sbf is monotone in Θ).
RtBandwidth rt_bandwidth(Time period, Time budget);

// kernel/sched/rt.c tg_rt_schedulable(): the children of a group may not
// together exceed the group's ratio, and no group may exceed the global
// sched_rt_runtime_us/sched_rt_period_us (950000/1000000 by default; see
// Documentation/scheduler/sched-rt-group.rst). Returns the children's summed
// ratio and whether it fits under `parent`. A parent runtime of -1
// (RUNTIME_INF) is the ratio 1 (to_ratio returns BW_UNIT for it).
struct BandwidthSum {
  uint64_t total = 0;  // 2^-20 units
  uint64_t limit = 0;
  bool fits = true;
  bool unlimited = false;  // sched_rt_runtime_us = -1: no SCHED_DEADLINE limit
};
BandwidthSum rt_bandwidth_sum(std::span<const RtBandwidth> children, RtBandwidth parent = {});

// The task the kernel schedules for a SCHED_DEADLINE task (T, C, D, J): the
// sporadic task (T, C, min(D, T) − J) without jitter. It is what `admit`
// analyses and applies, so the two cannot differ.
//  - The kernel sets a job's deadline from its wake-up, not from its nominal
//    release: a job woken J late must be given D − J to end by release + D.
//  - A deadline above the period is clamped to it (__checkparam_dl wants
//    deadline ≤ period), so D > T is analysed as D = T.
//  - With that deadline a job ends before the next one can be released
//    (min(D, T) − J ≤ T − J), so each job wakes the thread; a wake-up after
//    the old deadline but before the end of the old period is held until
//    then (kernel/sched/deadline.c dl_check_constrained_dl). The kernel's
//    releases are thus at least T apart and at most J late, and its EDF runs
//    over jobs of (T, C, min(D, T) − J) with no jitter left.
Task deadline_task(const Task& task);

// The target host's sched_deadline_period_{min,max}_us (kernel defaults).
struct DeadlineLimits {
  int64_t period_min_us = 100;
  int64_t period_max_us = 4'194'304;
};

// A SCHED_DEADLINE reservation for an EDF task: (max(C, 1024 ns),
// min(D, T) − J, T), see deadline_task(). The kernel requires runtime >=
// 1024 ns, runtime <= deadline <= period and period within
// [sched_deadline_period_min_us, _max_us] (kernel/sched/deadline.c
// __checkparam_dl). `ok` false with `why` when no legal triple exists.
struct DeadlineParams {
  Time runtime = 0;
  Time deadline = 0;
  Time period = 0;
  bool ok = true;
  std::string why;
};
DeadlineParams deadline_params(const Task& task, const DeadlineLimits& limits = {});

// SCHED_DEADLINE admission in a root domain of `cpus` CPUs
// (kernel/sched/deadline.c __dl_overflow): Σ to_ratio(T, runtime) must not
// exceed cpus × to_ratio(sched_rt_period, sched_rt_runtime); no limit when
// sched_rt_runtime_us is -1.
BandwidthSum deadline_bandwidth_sum(std::span<const DeadlineParams> tasks, int cpus, RtBandwidth global = {});

// What rtcell's supervisor does to a cell whose RT threads ran longer than
// its admitted tasks can ask for (cell/supervisor.hpp): where the kernel
// does not cap an RT cell (cgroup v2, RT group scheduling compiled out or
// off), this is what enforces the admission. Warn: a line and a broken
// promise. Demote: the cell's RT threads on that CPU go to SCHED_OTHER.
// Freeze: the whole cell is frozen (rtcell resume ID). Kill: the cell dies.
enum class OverrunAction { Warn, Demote, Freeze, Kill };
const char* to_string(OverrunAction a);
// "warn", "demote", "freeze", "kill"; nullopt otherwise.
std::optional<OverrunAction> parse_overrun_action(std::string_view s);

// One admitted task as the supervisor sees it: on `cpu` (-1: any CPU of
// the cell) it asks for at most `wcet` every `period` and ends each job
// within `deadline` of its release.
struct DemandTask {
  Time period = 0;
  Time wcet = 0;
  Time deadline = 0;
  int cpu = -1;
};
// The most CPU time the tasks that may run on `cpu` can take in any window
// of length `window`: Σ ⌈(window + D) / T⌉ · C. A job that runs in the
// window was released less than D before it starts (it ends by its
// deadline), so at most ⌈(window + D)/T⌉ jobs of a task touch it, each
// running at most C. A cell that keeps its promises never exceeds it.
Time max_demand(std::span<const DemandTask> tasks, int cpu, Time window);

}  // namespace rtcell::analysis
