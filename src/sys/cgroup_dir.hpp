// Kernel calls for cgroup directories: mkdir/rmdir that report errno instead
// of throwing (EEXIST and EBUSY are normal answers there), the filesystem
// magic of a path, and DirLock, an flock(2) held on a directory for as long as
// the object lives. rtcell instances take DirLock on the cgroup root while they
// create or remove groups, so that two cells sharing the parent "rtcell/" never
// see each other's half-made tree or race on the parent's RT budget.
#pragma once

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

// An exclusive flock(2) on a directory; released by the destructor.
class DirLock {
 public:
  DirLock() = default;
  // Blocks until the lock is held; throws rtcell::Error naming the path.
  static DirLock acquire(const std::string& dir);
  bool held() const noexcept { return fd_.valid(); }
  void release() noexcept { fd_.reset(); }  // closing the fd drops the flock

 private:
  Fd fd_;
};

}  // namespace rtcell::sys
