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

// ---- rtcell run: processes, namespaces, mounts, capabilities ----
// Syscall numbers below 5.x glibc may lack; since 5.0 new syscalls share one
// number on every architecture (include/uapi/asm-generic/unistd.h).
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_LOWER 3
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// include/uapi/linux/sched.h struct clone_args, CLONE_ARGS_SIZE_VER0 = 64.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
};

// clone3(2) with no stack: fork semantics (the child returns 0 on a copy of
// the caller's stack). Only safe in a single-threaded caller, as with fork().
inline long clone3(CloneArgs* args) noexcept {
  return ::syscall(SYS_clone3, args, sizeof(CloneArgs));
}

inline int pidfd_open(pid_t pid, unsigned flags = 0) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags));
}

inline int pidfd_send_signal(int pidfd, int sig, void* info = nullptr, unsigned flags = 0) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags));
}

inline int pivot_root(const char* new_root, const char* put_old) noexcept {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

inline int close_range(unsigned first, unsigned last, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

// mount_setattr(2), Linux 5.12 (syscall 442 on every architecture; glibc
// 2.36 has no wrapper): changes the attributes of a whole mount tree in one
// call. include/uapi/linux/mount.h.
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
inline constexpr uint64_t kMountAttrRdonly = 0x00000001;  // MOUNT_ATTR_RDONLY
inline constexpr unsigned kAtRecursive = 0x8000;          // AT_RECURSIVE
struct MountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
inline int mount_setattr(int dirfd, const char* path, unsigned flags, MountAttr* attr) noexcept {
  return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof(MountAttr)));
}

// openat2(2), Linux 5.6 (syscall 437 on every architecture; glibc 2.36 has
// no wrapper): path resolution with RESOLVE_* restrictions.
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
struct OpenHow {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
inline constexpr uint64_t kResolveNoMagiclinks = 0x02;  // RESOLVE_NO_MAGICLINKS
inline constexpr uint64_t kResolveNoSymlinks = 0x04;    // RESOLVE_NO_SYMLINKS
inline constexpr uint64_t kResolveBeneath = 0x08;       // RESOLVE_BENEATH
inline int openat2(int dirfd, const char* path, OpenHow* how) noexcept {
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, sizeof(OpenHow)));
}
inline constexpr uint64_t kMountAttrNosuid = 0x00000002;  // MOUNT_ATTR_NOSUID
inline constexpr uint64_t kMountAttrNodev = 0x00000004;   // MOUNT_ATTR_NODEV
inline constexpr uint64_t kMountAttrNoexec = 0x00000008;  // MOUNT_ATTR_NOEXEC
inline constexpr unsigned kAtEmptyPath = 0x1000;          // AT_EMPTY_PATH

// keyctl(2) KEYCTL_JOIN_SESSION_KEYRING with no name: a new anonymous
// session keyring, so a cell never sees its caller's keys (as runc does).
inline constexpr int kKeyctlJoinSessionKeyring = 1;
inline long join_new_session_keyring() noexcept {
  return ::syscall(SYS_keyctl, kKeyctlJoinSessionKeyring, nullptr);
}

// include/uapi/linux/capability.h, version 3 (64-bit sets as two u32 halves).
inline constexpr uint32_t kCapVersion3 = 0x20080522;
struct CapHeader {
  uint32_t version;
  int pid;
};
struct CapData {
  uint32_t effective;
  uint32_t permitted;
  uint32_t inheritable;
};

inline int capget(CapHeader* hdr, CapData* data) noexcept {
  return static_cast<int>(::syscall(SYS_capget, hdr, data));
}

inline int capset(CapHeader* hdr, const CapData* data) noexcept {
  return static_cast<int>(::syscall(SYS_capset, hdr, data));
}

// bpf(2): glibc has no wrapper. Used to load and attach the cgroup v2
// device filter (cell/cgroup_devices.hpp).
inline long bpf(int cmd, void* attr, unsigned size) noexcept {
  return ::syscall(SYS_bpf, cmd, attr, size);
}

}  // namespace rtcell::sys
