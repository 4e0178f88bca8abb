// A file descriptor that closes itself: the one place (besides release())
// where rtcell calls close(). Modelled on rr's ScopedFd / bpftrace util/fd.h.
#pragma once

#include <string>
#include <utility>

namespace rtcell::sys {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }

  // open(2) that throws rtcell::Error naming the path on failure.
  static Fd open(const std::string& path, int flags, int mode = 0);
  // open(2) that returns an invalid Fd instead of throwing (errno is kept).
  static Fd try_open(const std::string& path, int flags, int mode = 0) noexcept;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

}  // namespace rtcell::sys
