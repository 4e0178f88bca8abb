// Kernel calls for cgroup directories: mkdir/rmdir that report errno instead
// of throwing (EEXIST and EBUSY are normal answers there), the filesystem
// magic of a path, and DirLock, an flock(2) held on a directory for as long as
// the object lives. rtcell instances take DirLock on the cgroup root while they
// create or remove groups, so that two cells sharing the parent "rtcell/" never
// see each other's half-made tree or race on the parent's RT budget.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <string>

#include "sys/fd.hpp"

namespace rtcell::sys {

// mkdir(2) with mode 0755; returns 0 or the errno.
int make_dir(const std::string& path) noexcept;
// rmdir(2); returns 0 or the errno.
int remove_dir(const std::string& path) noexcept;

enum class FsKind { Cgroup1, Cgroup2, Other, Missing };
// statfs(2) of `path`, classified by f_type (include/uapi/linux/magic.h).
FsKind fs_kind(const std::string& path) noexcept;

// Loads a BPF_PROG_TYPE_CGROUP_DEVICE program; throws rtcell::Error with
// the verifier's first line on failure (Unsupported when the kernel has no
// CONFIG_CGROUP_BPF).
Fd load_device_program(const bpf_insn* insns, size_t count);
// Attaches it to a cgroup2 directory with BPF_F_ALLOW_MULTI, so filters of
// the parents (systemd's) keep running too. The cgroup keeps the program
// alive after the fd is closed; rmdir of the group frees it.
void attach_device_program(const std::string& cgroup_dir, const Fd& prog);

// An flock(2) on a directory; released by the destructor. A live cell also
// holds a shared one on its own group, so `rtcell gc` can tell a cell whose
// rtcell is alive (lock held, even before any process is attached) from the
// leftover of a killed one (the kernel dropped the lock with the process).
class DirLock {
 public:
  DirLock() = default;
  // Blocks until the lock is held; throws rtcell::Error naming the path.
  static DirLock acquire(const std::string& dir, bool shared = false);
  // Exclusive, non-blocking: an empty DirLock when someone else holds any
  // lock on `dir` (or it cannot be opened).
  static DirLock try_acquire(const std::string& dir) noexcept;
  bool held() const noexcept { return fd_.valid(); }
  void release() noexcept { fd_.reset(); }  // closing the fd drops the flock

 private:
  Fd fd_;
};

}  // namespace rtcell::sys
