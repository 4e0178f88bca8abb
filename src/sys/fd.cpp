#include "sys/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "rtcell/error.hpp"

namespace rtcell::sys {

Fd Fd::open(const std::string& path, int flags, int mode) {
  Fd fd = try_open(path, flags, mode);
  if (!fd) sys_error("cannot open " + path, errno);
  return fd;
}

Fd Fd::try_open(const std::string& path, int flags, int mode) noexcept {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return Fd(fd);
}

void Fd::reset() noexcept {
  if (fd_ >= 0) {
    int saved = errno;
    ::close(fd_);
    errno = saved;
    fd_ = -1;
  }
}

}  // namespace rtcell::sys
