// What a host's kernel accepts for the scheduling parameters `rtcell admit`
// derives: the sysctls that bound SCHED_DEADLINE periods and bandwidth and
// cgroup RT budgets, and whether cgroup RT budgets exist there at all. Read
// under a root ("/" for this host, a captured tree for another board); the
// parser takes text (STYLE.md habit 7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/probe.hpp"

namespace rtcell::host {

struct SchedLimits {
  int64_t rt_period_us = 1'000'000;      // /proc/sys/kernel/sched_rt_period_us
  int64_t rt_runtime_us = 950'000;       // sched_rt_runtime_us; -1: no RT throttling
  int64_t dl_period_min_us = 100;        // sched_deadline_period_min_us
  int64_t dl_period_max_us = 4'194'304;  // sched_deadline_period_max_us
  // A cgroup v1 cpu controller with cpu.rt_runtime_us (CONFIG_RT_GROUP_SCHED):
  // rtcell run writes each cell's RT budget and the kernel checks its ratio.
  bool rt_groups = true;
  std::vector<std::string> defaulted;  // files that could not be read: kernel defaults used
};

// The kernel defaults when a file is absent or malformed; rt_groups from the
// same places `rtcell check` looks (kernel.rt_group_sched).
SchedLimits read_sched_limits(const Probe& probe);

// One integer sysctl value ("950000\n", "-1"); nullopt when malformed.
std::optional<int64_t> parse_sysctl_int(std::string_view text);

}  // namespace rtcell::host
