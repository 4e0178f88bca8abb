#include "measure/dma_latency.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "rtcell/error.hpp"

namespace rtcell::measure {

DmaLatencyRequest DmaLatencyRequest::hold(int32_t us, const std::string& path) {
  if (us < 0) usage_error("--latency " + std::to_string(us) + " is negative: use 0 or more microseconds");
  sys::Fd fd = sys::Fd::try_open(path, O_WRONLY | O_CLOEXEC);
  if (!fd) {
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO)
      unsupported_error(path +
                        " does not exist: this kernel or container has no PM-QoS device (in a container, "
                        "pass --device " +
                        path + "); use --default-system to measure without it");
    if (e == EACCES || e == EPERM)
      privilege_error("cannot open " + path + " (" + (e == EACCES ? "EACCES" : "EPERM") +
                          "): it is root-only; run as root or use --default-system",
                      e);
    sys_error("cannot open " + path, e);
  }
  ssize_t n = ::write(fd.get(), &us, sizeof us);
  if (n != static_cast<ssize_t>(sizeof us))
    sys_error("cannot write " + std::to_string(us) + " to " + path, errno);
  DmaLatencyRequest r;
  r.fd_ = std::move(fd);
  r.us_ = us;
  return r;
}

}  // namespace rtcell::measure
