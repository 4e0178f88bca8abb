// Raw syscall() wrappers and constants that older glibc/kernel headers lack.
// Porting rtcell to an older Jetson kernel or libc means touching this file
// only (crun keeps the same discipline in src/libcrun/syscalls.h).
#pragma once

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace rtcell::sys {

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif

// include/uapi/linux/sched/types.h (SCHED_ATTR_SIZE_VER0 = 48 bytes).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

inline int sched_setattr(pid_t tid, const SchedAttr* attr, unsigned flags = 0) noexcept {
  return static_cast<int>(::syscall(SYS_sched_setattr, tid, attr, flags));
}

inline int sched_getattr(pid_t tid, SchedAttr* attr, unsigned size = sizeof(SchedAttr),
                         unsigned flags = 0) noexcept {
  return static_cast<int>(::syscall(SYS_sched_getattr, tid, attr, size, flags));
}

inline pid_t gettid() noexcept {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

// bpf(2): glibc has no wrapper. Used to load and attach the cgroup v2
// device filter (cell/cgroup_devices.hpp).
inline long bpf(int cmd, void* attr, unsigned size) noexcept {
  return ::syscall(SYS_bpf, cmd, attr, size);
}

}  // namespace rtcell::sys
