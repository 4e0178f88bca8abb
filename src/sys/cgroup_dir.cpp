#include "sys/cgroup_dir.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "rtcell/error.hpp"
#include "sys/syscalls.hpp"

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

Fd load_device_program(const bpf_insn* insns, size_t count) {
  char log[4096] = {};
  union bpf_attr attr {};
  static const char kLicense[] = "Apache-2.0";
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(insns);
  attr.insn_cnt = static_cast<uint32_t>(count);
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  attr.log_buf = reinterpret_cast<uintptr_t>(log);
  attr.log_size = sizeof log;
  attr.log_level = 1;
  long fd = bpf(BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd < 0 && errno == ENOSPC) {  // log too small: retry without it for the fd
    attr.log_buf = 0;
    attr.log_size = 0;
    attr.log_level = 0;
    fd = bpf(BPF_PROG_LOAD, &attr, sizeof attr);
  }
  if (fd < 0) {
    int e = errno;
    if (e == EINVAL && log[0] == '\0') {
      unsupported_error("the kernel cannot load a cgroup device filter (needs CONFIG_CGROUP_BPF)");
    }
    std::string first(log);
    first = first.substr(0, first.find('\n'));
    sys_error("cannot load the cgroup device filter" + (first.empty() ? "" : " (" + first + ")"), e);
  }
  return Fd(static_cast<int>(fd));
}

void attach_device_program(const std::string& cgroup_dir, const Fd& prog) {
  Fd dir = Fd::open(cgroup_dir, O_RDONLY | O_DIRECTORY);
  union bpf_attr attr {};
  attr.target_fd = static_cast<uint32_t>(dir.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr, sizeof attr) != 0) {
    sys_error("cannot attach the device filter to " + cgroup_dir, errno);
  }
}

DirLock DirLock::acquire(const std::string& dir, bool shared) {
  DirLock lock;
  lock.fd_ = Fd::open(dir, O_RDONLY | O_DIRECTORY);
  int rc;
  do {
    rc = ::flock(lock.fd_.get(), shared ? LOCK_SH : LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) sys_error("cannot lock " + dir, errno);
  return lock;
}

DirLock DirLock::try_acquire(const std::string& dir) noexcept {
  DirLock lock;
  lock.fd_ = Fd::try_open(dir, O_RDONLY | O_DIRECTORY);
  if (!lock.fd_) return lock;
  if (::flock(lock.fd_.get(), LOCK_EX | LOCK_NB) != 0) lock.fd_.reset();
  return lock;
}

}  // namespace rtcell::sys
