// A process file descriptor (pidfd_open(2), CLONE_PIDFD): signals sent
// through it can never hit a recycled pid, which matters for a supervisor
// that forwards SIGTERM to a cell long after it started.
#pragma once

#include <sys/types.h>

#include "sys/fd.hpp"

namespace rtcell::sys {

class PidFd {
 public:
  PidFd() = default;
  PidFd(Fd fd, pid_t pid) noexcept : fd_(std::move(fd)), pid_(pid) {}

  // pidfd_open(2); throws rtcell::Error (ESRCH when the process is gone).
  static PidFd open(pid_t pid);

  // pidfd_send_signal(2). Returns false with errno set (ESRCH: already gone).
  bool send_signal(int sig) const noexcept;

  pid_t pid() const noexcept { return pid_; }
  int get() const noexcept { return fd_.get(); }
  bool valid() const noexcept { return fd_.valid(); }
  int release() noexcept { return fd_.release(); }

 private:
  Fd fd_;
  pid_t pid_ = -1;
};

}  // namespace rtcell::sys
