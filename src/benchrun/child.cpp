#include "benchrun/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::benchrun {

namespace {

volatile sig_atomic_t g_stop_signal = 0;
volatile sig_atomic_t g_pipe_fd = -1;
constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};

extern "C" void on_signal(int sig) {
  const int saved = errno;
  if (sig != SIGCHLD && g_stop_signal == 0) g_stop_signal = sig;
  if (g_pipe_fd >= 0) {
    const char c = 1;
    // A full pipe already holds a wake-up; losing this byte loses nothing.
    [[maybe_unused]] ssize_t n = ::write(g_pipe_fd, &c, 1);
  }
  errno = saved;
}

sys::Fd open_out(const std::string& path) {
  if (path.empty()) return sys::Fd::open("/dev/null", O_WRONLY | O_CLOEXEC);
  return sys::Fd::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

}  // namespace

SignalPipe::SignalPipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) sys_error("pipe2", errno);
  read_ = sys::Fd(fds[0]);
  write_ = sys::Fd(fds[1]);
  g_stop_signal = 0;
  g_pipe_fd = write_.get();
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  for (size_t i = 0; i < 4; ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
}

SignalPipe::~SignalPipe() {
  for (size_t i = 0; i < 4; ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  g_pipe_fd = -1;
}

int SignalPipe::stop_signal() noexcept {
  return g_stop_signal;
}

bool SignalPipe::wait(int timeout_ms) {
  struct pollfd p = {read_.get(), POLLIN, 0};
  int rc = ::poll(&p, 1, timeout_ms);
  if (rc < 0) return errno == EINTR;
  if (rc == 0) return false;
  char buf[64];
  while (::read(read_.get(), buf, sizeof buf) > 0) {
  }
  return true;
}

Child Child::spawn(const SpawnOptions& opt) {
  if (opt.argv.empty()) usage_error("internal: empty command");
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const auto& a : opt.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  sys::Fd in = sys::Fd::open("/dev/null", O_RDONLY | O_CLOEXEC);
  sys::Fd out = open_out(opt.stdout_path);
  sys::Fd err = open_out(opt.stderr_path);
  cpu_set_t mask;
  if (opt.affinity) mask = opt.affinity->to_cpu_set();
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) sys_error("pipe2", errno);
  sys::Fd report_r(report[0]), report_w(report[1]);

  pid_t pid = ::fork();
  if (pid < 0) sys_error("fork", errno);
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int e = 0;
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) e = errno;
    if (!e && opt.affinity && ::sched_setaffinity(0, sizeof mask, &mask) != 0) e = errno;
    if (!e && !opt.cwd.empty() && ::chdir(opt.cwd.c_str()) != 0) e = errno;
    if (!e) {
      ::execvp(argv[0], argv.data());
      e = errno;
    }
    [[maybe_unused]] ssize_t n = ::write(report_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent: no window where a killpg misses it
  report_w.reset();
  Child c;
  c.pid_ = pid;
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report_r.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    c.pid_ = -1;
    if (child_errno == ENOENT) unsupported_error(opt.argv[0] + " not found");
    sys_error("cannot start " + opt.argv[0], child_errno);
  }
  return c;
}

Child::Child(Child&& o) noexcept : pid_(o.pid_), status_(o.status_) {
  o.pid_ = -1;
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    this->~Child();
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

Child::~Child() {
  if (pid_ <= 0) return;
  if (!status_) {
    ::kill(-pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  // Reap members of the group that were reparented to us.
  while (::waitpid(-pid_, nullptr, WNOHANG) > 0) {
  }
}

std::optional<int> Child::poll() {
  if (status_ || pid_ <= 0) return status_;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = st;
  return status_;
}

void Child::signal_group(int sig) const noexcept {
  if (pid_ > 0) ::kill(-pid_, sig);
}

int Child::wait(SignalPipe& sp, int grace_ms) {
  const int64_t deadline = monotonic_ns() + int64_t{grace_ms} * 1'000'000;
  bool killed = false;
  while (!poll()) {
    int64_t left_ms = (deadline - monotonic_ns()) / 1'000'000;
    if (left_ms <= 0 && !killed) {
      signal_group(SIGKILL);
      killed = true;
    }
    sp.wait(killed ? 100 : static_cast<int>(std::max<int64_t>(left_ms, 1)));
  }
  return *status_;
}

void Child::stop_group(SignalPipe& sp, int grace_ms) {
  if (pid_ <= 0) return;
  signal_group(SIGTERM);
  signal_group(SIGCONT);
  const int64_t deadline = monotonic_ns() + int64_t{grace_ms} * 1'000'000;
  bool killed = false;
  for (;;) {
    poll();
    while (::waitpid(-pid_, nullptr, WNOHANG) > 0) {
    }
    if (status_ && !group_alive(pid_)) return;
    if (!killed && monotonic_ns() >= deadline) {
      signal_group(SIGKILL);
      killed = true;
    }
    // Members reparented to us wake us with SIGCHLD; others (when the
    // subreaper could not be set) are checked again after 50 ms.
    sp.wait(50);
  }
}

Captured run_capture(const std::vector<std::string>& argv, const std::string& work_dir, SignalPipe& sp,
                     int timeout_ms) {
  static int seq = 0;
  std::string base = work_dir + "/capture-" + std::to_string(++seq);
  SpawnOptions o;
  o.argv = argv;
  o.stdout_path = base + ".out";
  o.stderr_path = base + ".err";
  Child c = Child::spawn(o);
  Captured r;
  r.status = c.wait(sp, timeout_ms);
  r.out = sys::try_read_file(o.stdout_path).value_or("");
  r.err = sys::try_read_file(o.stderr_path).value_or("");
  ::unlink(o.stdout_path.c_str());
  ::unlink(o.stderr_path.c_str());
  return r;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) +
           ")";
  return "stopped";
}

bool group_alive(pid_t pgid) noexcept {
  return ::kill(-pgid, 0) == 0 || errno == EPERM;
}

std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  size_t start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return text.substr(start, end - start + 1);
}

void become_subreaper() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int64_t monotonic_ns() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace rtcell::benchrun
