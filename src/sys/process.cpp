#include "sys/process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <utility>

#include "rtcell/error.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::sys {

Process::Process(Process&& o) noexcept
    : pidfd_(std::move(o.pidfd_)), child_(o.child_), reaped_(std::exchange(o.reaped_, true)) {}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    kill_and_reap();
    pidfd_ = std::move(o.pidfd_);
    child_ = o.child_;
    reaped_ = std::exchange(o.reaped_, true);
  }
  return *this;
}

Process::~Process() {
  kill_and_reap();
}

Process Process::clone(uint64_t clone_flags) {
  int pidfd = -1;
  CloneArgs args{};
  args.flags = clone_flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = clone3(&args);
  if (pid < 0) {
    int e = errno;
    if (e == EPERM)
      privilege_error(
          "cannot create the cell's namespaces (clone3: EPERM): run rtcell run as root "
          "or with CAP_SYS_ADMIN",
          e);
    if (e == ENOSYS) unsupported_error("clone3(2) is missing: rtcell run needs Linux 5.3 or newer");
    if (e == EINVAL && (clone_flags & CLONE_NEWNET) == 0)
      unsupported_error(
          "the kernel refused a namespace rtcell needs (CONFIG_PID_NS, CONFIG_IPC_NS, "
          "CONFIG_UTS_NS)");
    sys_error("clone3", e);
  }
  Process p;
  if (pid == 0) {
    p.child_ = true;
    return p;
  }
  p.pidfd_ = PidFd(Fd(pidfd), static_cast<pid_t>(pid));
  p.reaped_ = false;
  return p;
}

bool Process::signal(int sig) const noexcept {
  if (reaped_ || !pidfd_.valid()) return false;
  return pidfd_.send_signal(sig);
}

std::optional<int> Process::wait(bool nohang) {
  if (reaped_) sys_error("wait: process already reaped", ECHILD);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pidfd_.pid(), &status, nohang ? WNOHANG : 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) sys_error("waitpid", errno);
  if (r == 0) return std::nullopt;
  reaped_ = true;
  return status;
}

void Process::kill_and_reap() noexcept {
  if (reaped_ || child_ || !pidfd_.valid()) return;
  pidfd_.send_signal(SIGKILL);
  int status = 0;
  while (::waitpid(pidfd_.pid(), &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

int exit_code_of(int wait_status) noexcept {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 128;
}

}  // namespace rtcell::sys
