// Scheduling policy and CPU affinity for RT threads: the start-up half of the
// public RT API. Everything here may throw rtcell::Error; call it before the
// periodic loop starts, never inside it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "rtcell/cpuset.hpp"

namespace rtcell::rt {

struct Fifo {
  int priority = 80;
};
struct Rr {
  int priority = 80;
};
// SCHED_DEADLINE reservation; all times in nanoseconds.
struct Deadline {
  uint64_t runtime_ns = 0;
  uint64_t deadline_ns = 0;
  uint64_t period_ns = 0;
};
struct Other {
  int nice = 0;
};
using Policy = std::variant<Fifo, Rr, Deadline, Other>;

// rtcell's default RT priority: below 99, which competes with the kernel's
// watchdog and migration threads (seeds/002).
inline constexpr int kDefaultPriority = 80;

struct PolicyOptions {
  bool allow_prio_99 = false;
};

// Throws rtcell::Error (Usage) when the kernel would refuse the policy or when
// priority 99 is asked for without allow_prio_99. SCHED_DEADLINE limits:
// runtime >= 1024 ns, runtime <= deadline <= period, period in
// [100 us, 4.194304 s] (kernel/sched/deadline.c sysctl_sched_dl_period_{min,max}).
void validate_policy(const Policy& policy, PolicyOptions opts = {});

// Applies the policy to thread `tid` (0 = the caller) with sched_setattr(2).
// EPERM becomes a Privilege error naming the fix (root, CAP_SYS_NICE,
// RLIMIT_RTPRIO); EBUSY for deadline says the admission test refused it.
void set_policy(const Policy& policy, PolicyOptions opts = {}, pid_t tid = 0);

// Reads the policy of `tid` (0 = the caller).
Policy get_policy(pid_t tid = 0);

// Pins thread `tid` (0 = the caller) to `cpus`.
void set_affinity(const CpuSet& cpus, pid_t tid = 0);
CpuSet get_affinity(pid_t tid = 0);

// "fifo:80", "rr:10", "deadline:200us/1ms/1ms", "other:0" and back.
Policy parse_policy(std::string_view text);
std::string to_string(const Policy& policy);
// "fifo", "rr", "deadline", "other".
std::string_view policy_name(const Policy& policy);

}  // namespace rtcell::rt
