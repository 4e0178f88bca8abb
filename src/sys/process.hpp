// A child process started with clone3(2) into new namespaces, owned by its
// parent: if the parent unwinds before it reaped the child (an error after
// the clone), the destructor kills and reaps it, so no cell outlives a failed
// `rtcell run`. Fork semantics: only for single-threaded callers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "sys/pidfd.hpp"

namespace rtcell::sys {

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();

  // clone3 with `clone_flags` (CLONE_NEW* ...) plus CLONE_PIDFD and SIGCHLD.
  // Returns a valid Process in the parent and an empty one (is_child())
  // in the child. Throws rtcell::Error in the parent when clone3 fails
  // (EPERM names the missing CAP_SYS_ADMIN).
  static Process clone(uint64_t clone_flags);

  bool is_child() const noexcept { return child_; }
  pid_t pid() const noexcept { return pidfd_.pid(); }
  const PidFd& pidfd() const noexcept { return pidfd_; }

  // Forwards a signal; false when the process is already gone.
  bool signal(int sig) const noexcept;
  // waitpid() for the raw status, retrying EINTR; nullopt with WNOHANG when
  // the process still runs. Throws on other errors.
  std::optional<int> wait(bool nohang = false);
  bool reaped() const noexcept { return reaped_; }

  // SIGKILL and reap when still running; idempotent, never throws.
  void kill_and_reap() noexcept;
  // Forgets the child without killing it: it outlives this handle (a cell
  // left to the registry by rtcell create). Its parent's exit reparents it.
  void release() noexcept { reaped_ = true; }

 private:
  PidFd pidfd_;
  bool child_ = false;
  bool reaped_ = true;
};

// The exit code a shell would report for a raw wait status: the exit
// status, or 128 + the signal number.
int exit_code_of(int wait_status) noexcept;

}  // namespace rtcell::sys
