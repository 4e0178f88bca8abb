// A set of CPU numbers, parsed from and printed as the kernel's list format
// ("0-3,8,10-11"), as used by isolcpus=, cpuset.cpus and taskset -c.
#pragma once

#include <sched.h>

#include <string>
#include <string_view>
#include <vector>

namespace rtcell {

class CpuSet {
 public:
  // Highest CPU number rtcell accepts; far above any board it targets.
  static constexpr int kMaxCpu = 4095;

  CpuSet() = default;
  explicit CpuSet(std::vector<int> cpus);

  // Parses "0-3,8,10-11" (and "0-7:2" strides as the kernel allows). Empty
  // text gives an empty set. Throws rtcell::Error (Usage) naming the bad part.
  static CpuSet parse(std::string_view text);
  // Parses a hex mask as in /proc/irq/N/smp_affinity ("ff,ffffffff").
  static CpuSet parse_mask(std::string_view text);
  static CpuSet from_cpu_set(const cpu_set_t& set);

  std::string to_string() const;  // canonical list form, "" when empty
  cpu_set_t to_cpu_set() const;

  const std::vector<int>& cpus() const noexcept { return cpus_; }  // sorted, unique
  bool empty() const noexcept { return cpus_.empty(); }
  size_t size() const noexcept { return cpus_.size(); }
  bool contains(int cpu) const noexcept;
  bool contains(const CpuSet& other) const noexcept;  // other ⊆ this
  CpuSet intersect(const CpuSet& other) const;
  CpuSet unite(const CpuSet& other) const;
  CpuSet minus(const CpuSet& other) const;

  friend bool operator==(const CpuSet&, const CpuSet&) = default;

 private:
  std::vector<int> cpus_;
};

}  // namespace rtcell
