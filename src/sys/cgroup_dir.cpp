#include "sys/cgroup_dir.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>

#include "rtcell/error.hpp"

namespace rtcell::sys {

int make_dir(const std::string& path) noexcept {
  return ::mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
}

int remove_dir(const std::string& path) noexcept {
  return ::rmdir(path.c_str()) == 0 ? 0 : errno;
}

FsKind fs_kind(const std::string& path) noexcept {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return FsKind::Missing;
  if (st.f_type == CGROUP2_SUPER_MAGIC) return FsKind::Cgroup2;
  if (st.f_type == CGROUP_SUPER_MAGIC) return FsKind::Cgroup1;
  return FsKind::Other;
}

DirLock DirLock::acquire(const std::string& dir) {
  DirLock lock;
  lock.fd_ = Fd::open(dir, O_RDONLY | O_DIRECTORY);
  int rc;
  do {
    rc = ::flock(lock.fd_.get(), LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) sys_error("cannot lock " + dir, errno);
  return lock;
}

}  // namespace rtcell::sys
