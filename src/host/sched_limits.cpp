#include "host/sched_limits.hpp"

#include <charconv>

namespace rtcell::host {

std::optional<int64_t> parse_sysctl_int(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

SchedLimits read_sched_limits(const Probe& probe) {
  SchedLimits l;
  auto read = [&](const char* file, int64_t& into, int64_t lo) {
    std::string path = std::string("/proc/sys/kernel/") + file;
    auto text = probe.read(path);
    auto v = text ? parse_sysctl_int(*text) : std::nullopt;
    if (v && *v >= lo)
      into = *v;
    else
      l.defaulted.push_back(path);
  };
  read("sched_rt_period_us", l.rt_period_us, 1);
  read("sched_rt_runtime_us", l.rt_runtime_us, -1);
  read("sched_deadline_period_min_us", l.dl_period_min_us, 0);
  read("sched_deadline_period_max_us", l.dl_period_max_us, 0);
  // See Documentation/scheduler/sched-rt-group.rst: cpu.rt_runtime_us exists
  // only in a v1 cpu controller of a kernel with CONFIG_RT_GROUP_SCHED.
  l.rt_groups = false;
  for (const char* d : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup"})
    if (probe.exists(std::string(d) + "/cpu.rt_runtime_us")) l.rt_groups = true;
  return l;
}

}  // namespace rtcell::host
