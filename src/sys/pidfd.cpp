#include "sys/pidfd.hpp"

#include <cerrno>
#include <string>

#include "rtcell/error.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::sys {

PidFd PidFd::open(pid_t pid) {
  int fd = pidfd_open(pid);
  if (fd < 0) sys_error("pidfd_open(" + std::to_string(pid) + ")", errno);
  return PidFd(Fd(fd), pid);
}

bool PidFd::send_signal(int sig) const noexcept {
  return pidfd_send_signal(fd_.get(), sig) == 0;
}

}  // namespace rtcell::sys
