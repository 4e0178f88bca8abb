#include "rtcell/analysis/enforce.hpp"

namespace rtcell::analysis {

namespace {
constexpr int kBwShift = 20;                  // kernel/sched/sched.h BW_SHIFT
constexpr Time kDlMinRuntime = 1024;          // 1 << DL_SCALE
constexpr Time kDlPeriodMin = 100'000;        // ns, sysctl_sched_dl_period_min = 100 us
constexpr Time kDlPeriodMax = 4'194'304'000;  // ns, sysctl_sched_dl_period_max = 1 << 22 us
}  // namespace

uint64_t kernel_to_ratio(uint64_t period_ns, uint64_t runtime_ns) {
  if (period_ns == 0) return 0;
  return static_cast<uint64_t>((static_cast<UWide>(runtime_ns) << kBwShift) / period_ns);
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
  s.limit = kernel_to_ratio(static_cast<uint64_t>(parent.period_us) * 1000,
                            static_cast<uint64_t>(parent.runtime_us) * 1000);
  for (const auto& c : children) {
    uint64_t r = kernel_to_ratio(static_cast<uint64_t>(c.period_us) * 1000,
                                 static_cast<uint64_t>(c.runtime_us) * 1000);
    if (r > s.limit) s.fits = false;
    s.total += r;
  }
  if (s.total > s.limit) s.fits = false;
  return s;
}

DeadlineParams deadline_params(const Task& task) {
  DeadlineParams p;
  p.runtime = task.wcet < kDlMinRuntime ? kDlMinRuntime : task.wcet;
  p.period = task.period;
  p.deadline = task.deadline < task.period ? task.deadline : task.period;
  if (p.period < kDlPeriodMin || p.period > kDlPeriodMax) {
    p.ok = false;
    p.why = "SCHED_DEADLINE needs a period in [100 us, 4.194304 s]";
  } else if (p.runtime > p.deadline) {
    p.ok = false;
    p.why = "SCHED_DEADLINE needs runtime (at least 1024 ns) <= deadline";
  }
  return p;
}

BandwidthSum deadline_bandwidth_sum(std::span<const DeadlineParams> tasks, int cpus, RtBandwidth global) {
  BandwidthSum s;
  s.limit = kernel_to_ratio(static_cast<uint64_t>(global.period_us) * 1000,
                            static_cast<uint64_t>(global.runtime_us) * 1000) *
            static_cast<uint64_t>(cpus);
  for (const auto& t : tasks)
    s.total += kernel_to_ratio(static_cast<uint64_t>(t.period), static_cast<uint64_t>(t.runtime));
  s.fits = s.total <= s.limit;
  return s;
}

}  // namespace rtcell::analysis
