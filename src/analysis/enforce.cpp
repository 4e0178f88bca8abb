#include "rtcell/analysis/enforce.hpp"

#include <algorithm>

namespace rtcell::analysis {

namespace {
constexpr int kBwShift = 20;          // kernel/sched/sched.h BW_SHIFT
constexpr Time kDlMinRuntime = 1024;  // 1 << DL_SCALE
}  // namespace

uint64_t kernel_to_ratio(uint64_t period_ns, uint64_t runtime_ns) {
  if (period_ns == 0) return 0;
  return static_cast<uint64_t>((static_cast<UWide>(runtime_ns) << kBwShift) / period_ns);
}

uint64_t kernel_to_ratio(const RtBandwidth& b) {
  if (b.runtime_us < 0) return uint64_t{1} << kBwShift;
  return kernel_to_ratio(static_cast<uint64_t>(b.period_us) * 1000,
                         static_cast<uint64_t>(b.runtime_us) * 1000);
}

RtBandwidth rt_bandwidth(Time period, Time budget) {
  RtBandwidth b;
  b.period_us = period / 1000;
  b.runtime_us = ceil_div(budget, 1000);
  if (b.runtime_us > b.period_us) b.runtime_us = b.period_us;
  return b;
}

BandwidthSum rt_bandwidth_sum(std::span<const RtBandwidth> children, RtBandwidth parent) {
  BandwidthSum s;
  s.limit = kernel_to_ratio(parent);
  for (const auto& c : children) {
    uint64_t r = kernel_to_ratio(c);
    if (r > s.limit) s.fits = false;
    s.total += r;
  }
  if (s.total > s.limit) s.fits = false;
  return s;
}

Task deadline_task(const Task& task) {
  Task t = task;
  t.deadline = std::min(task.deadline, task.period) - task.jitter;
  t.jitter = 0;
  return t;
}

DeadlineParams deadline_params(const Task& task, const DeadlineLimits& limits) {
  DeadlineParams p;
  p.runtime = std::max(task.wcet, kDlMinRuntime);
  p.period = task.period;
  p.deadline = deadline_task(task).deadline;
  const Time min_ns = sat_mul(limits.period_min_us, 1000);
  const Time max_ns = sat_mul(limits.period_max_us, 1000);
  if (p.period < min_ns || p.period > max_ns) {
    p.ok = false;
    p.why = "SCHED_DEADLINE needs a period in [" + std::to_string(limits.period_min_us) + " us, " +
            std::to_string(limits.period_max_us) + " us] (sched_deadline_period_min_us/max_us), not " +
            std::to_string(p.period) + " ns";
  } else if (p.deadline <= 0 || p.runtime > p.deadline) {
    p.ok = false;
    p.why = "SCHED_DEADLINE needs runtime (at least 1024 ns) <= deadline min(D, T) - J = " +
            std::to_string(p.deadline) + " ns";
  }
  return p;
}

BandwidthSum deadline_bandwidth_sum(std::span<const DeadlineParams> tasks, int cpus, RtBandwidth global) {
  BandwidthSum s;
  s.unlimited = global.runtime_us < 0;  // dl_b->bw = -1: __dl_overflow never refuses
  s.limit = s.unlimited ? 0 : kernel_to_ratio(global) * static_cast<uint64_t>(cpus);
  for (const auto& t : tasks)
    s.total += kernel_to_ratio(static_cast<uint64_t>(t.period), static_cast<uint64_t>(t.runtime));
  s.fits = s.unlimited || s.total <= s.limit;
  return s;
}

const char* to_string(OverrunAction a) {
  switch (a) {
    case OverrunAction::Warn:
      return "warn";
    case OverrunAction::Demote:
      return "demote";
    case OverrunAction::Freeze:
      return "freeze";
    case OverrunAction::Kill:
      return "kill";
  }
  return "?";
}

std::optional<OverrunAction> parse_overrun_action(std::string_view s) {
  for (OverrunAction a :
       {OverrunAction::Warn, OverrunAction::Demote, OverrunAction::Freeze, OverrunAction::Kill})
    if (s == to_string(a)) return a;
  return std::nullopt;
}

Time max_demand(std::span<const DemandTask> tasks, int cpu, Time window) {
  Time sum = 0;
  for (const DemandTask& t : tasks) {
    if (t.cpu >= 0 && t.cpu != cpu) continue;
    if (t.period <= 0) continue;
    sum = sat_add(sum, sat_mul(ceil_div(sat_add(window, t.deadline), t.period), t.wcet));
  }
  return sum;
}

}  // namespace rtcell::analysis
