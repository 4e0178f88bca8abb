#include "cli/supervise.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>

#include "cli/cell_flags.hpp"
#include "cli/command.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::cli {

std::string supervisor_log(const cell::Registry& reg, const std::string& id) {
  return reg.dir(id) + "/supervisor.log";
}

pid_t start_detached_supervisor(const cell::Registry& reg, const std::string& id,
                                const cell::SuperviseSpec& spec) {
  const std::string json = cell::supervise_spec_json(spec);
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls until execv.
  std::string root = reg.root();
  std::string cell_id = id;
  std::string argv0 = "rtcell";
  std::string verb = "__supervise";
  std::string root_flag = "--root";
  char* const argv[] = {argv0.data(), verb.data(), root_flag.data(), root.data(), cell_id.data(), nullptr};
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) sys_error("pipe for the cell's supervisor", errno);
  // The grandchild's pid, from the child; then EOF once the grandchild has
  // exec'd (the pipe is close-on-exec), or its execv errno.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(p[0]);
    ::close(p[1]);
    sys_error("pipe for the cell's supervisor", e);
  }
  const pid_t child = ::fork();
  if (child < 0) {
    const int e = errno;
    for (int fd : {p[0], p[1], report[0], report[1]}) ::close(fd);
    sys_error("fork for the cell's supervisor", e);
  }
  if (child == 0) {
    const pid_t grand = ::fork();
    if (grand != 0) {
      if (grand > 0) (void)!::write(report[1], &grand, sizeof grand);
      ::_exit(grand > 0 ? 0 : 1);
    }
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(p[0], STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    // Nothing of the creator's (locks, a client's pipes) outlives the exec;
    // report[1] is close-on-exec and tells the parent how the exec went.
    const auto keep = static_cast<unsigned>(report[1]);
    if (keep > 3) ::close_range(3, keep - 1, 0);
    ::close_range(keep + 1, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv("/proc/self/exe", argv);
    const int e = errno;
    (void)!::write(report[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(p[0]);
  ::close(report[1]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t grand = -1;
  const ssize_t n = ::read(report[0], &grand, sizeof grand);
  // Then EOF when the supervisor runs (its exec closed the pipe), or the
  // errno of a failed exec: create returns only once it is known.
  int exec_errno = 0;
  ssize_t m = 0;
  if (n == sizeof grand)
    while ((m = ::read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
    }
  ::close(report[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n != sizeof grand || m != 0) {
    ::close(p[1]);
    throw Error(ErrorKind::System,
                std::string("could not start the cell's supervisor process") +
                    (m > 0 ? std::string(": ") + std::strerror(exec_errno) : ""),
                exec_errno);
  }
  // The spec is small (a pipe holds 64 KiB): one write, then EOF.
  const ssize_t w = ::write(p[1], json.data(), json.size());
  ::close(p[1]);
  if (w != static_cast<ssize_t>(json.size())) {
    ::kill(grand, SIGKILL);
    throw Error(ErrorKind::System, "could not hand the spec to the cell's supervisor process");
  }
  return grand;
}

namespace {

// One overrun: a line in the cell's supervisor log and in the kernel log.
void log_event(const cell::Registry& reg, const std::string& id, const cell::OverrunEvent& e) {
  const std::string line = "cell " + id + ": " + supervisor_line(e);
  const std::string with_nl = line + "\n";
  const int fd = ::open(supervisor_log(reg, id).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)!::write(fd, with_nl.data(), with_nl.size());
    ::close(fd);
  }
  const std::string kmsg = "<4>rtcell: " + with_nl;  // a line without \n waits as a continuation
  const int k = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (k >= 0) {
    (void)!::write(k, kmsg.data(), kmsg.size());
    ::close(k);
  }
}

struct SuperviseOptions {
  std::string root;
  std::string id;
};

// __supervise --root R ID, the spec as JSON on stdin: waits (on the init's
// pidfd, a sample at a time) until the cell runs, supervises it until its
// init exits, and exits 0. A cell that is gone, or never starts, ends it.
int supervise(const SuperviseOptions& o) {
  const std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  const cell::SuperviseSpec spec = cell::supervise_spec_from_json(text);
  // Off the cell's CPUs (any other online CPU, whatever the creator's
  // affinity was) and above its tasks, from the start: a runaway that
  // begins the moment the cell starts must not starve the wait for it
  // (seen in the PREEMPT_RT guests: a SCHED_OTHER waiter on the runaway's
  // CPU never saw the cell start). The sampling thread inherits both.
  if (auto online = sys::try_read_file("/sys/devices/system/cpu/online")) {
    try {
      const CpuSet others = CpuSet::parse(sys::trim(*online)).minus(spec.cpus);
      if (!others.empty()) {
        const cpu_set_t set = others.to_cpu_set();
        (void)::sched_setaffinity(0, sizeof set, &set);
      }
    } catch (const Error&) {
      // An unreadable list: stay where the creator was.
    }
  }
  if (spec.priority > 0) {
    sched_param sp{};
    sp.sched_priority = spec.priority;
    (void)::sched_setscheduler(0, SCHED_FIFO, &sp);
  }
  const cell::Registry reg(o.root);
  if (!reg.exists(o.id)) return kExitOk;
  const sys::PidFd init = cell::open_process(cell::state(reg, o.id).init);
  if (!init.valid()) return kExitOk;
  pollfd pfd{init.get(), POLLIN, 0};
  const int sample_ms = static_cast<int>(std::max<int64_t>(1, spec.sample_ns / 1'000'000));
  for (;;) {
    const int n = ::poll(&pfd, 1, sample_ms);
    if (n > 0) return kExitOk;  // the init exited before the command started
    if (n < 0 && errno != EINTR) return kExitSystem;
    if (!reg.exists(o.id)) return kExitOk;
    const cell::Status st = cell::state(reg, o.id).status;
    if (st == cell::Status::Running) break;
    if (st != cell::Status::Created && st != cell::Status::Creating) return kExitOk;
  }
  cell::Supervisor sup(reg, o.id, spec, [&](const cell::OverrunEvent& e) { log_event(reg, o.id, e); });
  for (;;) {
    const int n = ::poll(&pfd, 1, -1);
    if (n > 0) return kExitOk;
    if (n < 0 && errno != EINTR) return kExitSystem;
  }
}

Run setup(CLI::App& app) {
  auto o = std::make_shared<SuperviseOptions>();
  add_state_root(app, o->root);
  app.add_option("id", o->id, "the cell's id")->required();
  return [o]() { return supervise(*o); };
}

const Registrar reg{Verb{"__supervise", "", 99, setup, false}};

}  // namespace

}  // namespace rtcell::cli
