#include "cell/sandbox.hpp"

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "rtcell/error.hpp"
#include "rtcell/rt/sched.hpp"
#include "sys/caps.hpp"
#include "sys/fd.hpp"
#include "sys/mount.hpp"
#include "sys/process.hpp"
#include "sys/seccomp.hpp"
#include "sys/syscalls.hpp"

#if __has_include("cell/cgroup.hpp")
#include "cell/cgroup.hpp"
#define RTCELL_HAVE_CGROUP 1
#else
#define RTCELL_HAVE_CGROUP 0
#endif

namespace rtcell::cell {

namespace {

// Where the cell process builds its tree: a tmpfs mounted over the host's
// /tmp inside the cell's private mount namespace (the host never sees it).
// Like bubblewrap, pivot into it first so the host tree becomes /oldroot and
// the staging tmpfs is not part of what gets bind-mounted as the cell's root.
constexpr const char* kStage = "/tmp";
constexpr const char* kOld = "/oldroot";
constexpr const char* kNew = "/newroot";

// Signals the supervisor relays to the cell (SIGKILL/SIGSTOP cannot be caught).
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct Pipe {
  sys::Fd r;
  sys::Fd w;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) sys_error("pipe2", errno);
  return Pipe{sys::Fd(fds[0]), sys::Fd(fds[1])};
}

sigset_t supervised_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int s : kForwarded) sigaddset(&set, s);
  return set;
}

// ---- in the cell (after clone): never return, never throw out ----

void write_all(int fd, const std::string& s) noexcept {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

[[noreturn]] void report_and_exit(int err_fd, ErrorKind kind, const std::string& msg, int code) noexcept {
  write_all(err_fd, std::to_string(static_cast<int>(kind)) + "\n" + msg);
  ::_exit(code);
}

void make_dir(const std::string& p, mode_t mode = 0755) {
  if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) sys_error("cannot create " + p, errno);
}

void make_dirs(const std::string& p) {
  for (size_t i = 1; i < p.size(); ++i)
    if (p[i] == '/') make_dir(p.substr(0, i));
  make_dir(p);
}

void make_file(const std::string& p) {
  int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) sys_error("cannot create " + p, errno);
  ::close(fd);
}

void make_symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0) sys_error("cannot create symlink " + link, errno);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// Binds one host node (device or file) onto a new empty file in the cell.
void bind_node(const std::string& host_path, const std::string& cell_path) {
  make_file(cell_path);
  sys::bind_mount(host_path, cell_path, false, false);
}

void build_dev(const PreparedRun& r) {
  const std::string dev = std::string(kNew) + "/dev";
  sys::mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k");
  for (const char* n : {"null", "zero", "full", "random", "urandom", "tty"})
    bind_node(std::string(kOld) + "/dev/" + n, dev + "/" + n);
  make_dir(dev + "/pts");
  sys::mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  make_symlink("pts/ptmx", dev + "/ptmx");
  make_dir(dev + "/shm", 01777);
  sys::mount("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
  make_symlink("/proc/self/fd", dev + "/fd");
  make_symlink("/proc/self/fd/0", dev + "/stdin");
  make_symlink("/proc/self/fd/1", dev + "/stdout");
  make_symlink("/proc/self/fd/2", dev + "/stderr");
  for (const auto& d : r.spec.devices) {
    std::string target = std::string(kNew) + d.path;
    if (exists(target)) continue;  // already there (e.g. /dev/null)
    make_dirs(target.substr(0, target.rfind('/')));
    bind_node(std::string(kOld) + d.path, target);
  }
}

void bind_ro(const std::string& src, const std::string& dst) {
  sys::bind_mount(src, dst, false, false);
  sys::remount_tree_read_only(dst, std::string(kOld) + "/proc/self/mountinfo", false);
}

void build_proc() {
  const std::string proc = std::string(kNew) + "/proc";
  sys::mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  // As Docker does: kernel knobs read-only, kernel memory and keys hidden.
  for (const char* p : {"/sys", "/sysrq-trigger", "/irq", "/bus", "/fs"}) {
    std::string path = proc + p;
    if (exists(path)) bind_ro(path, path);
  }
  for (const char* p : {"/kcore", "/keys", "/timer_list", "/sched_debug"}) {
    std::string path = proc + p;
    if (exists(path)) bind_ro(std::string(kNew) + "/dev/null", path);
  }
}

void build_root(const PreparedRun& r) {
  sys::make_rprivate();
  sys::mount("tmpfs", kStage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64k");
  make_dir(std::string(kStage) + kOld);
  make_dir(std::string(kStage) + kNew);
  if (sys::pivot_root(kStage, (std::string(kStage) + kOld).c_str()) != 0)
    sys_error("pivot_root to the stage", errno);
  if (::chdir("/") != 0) sys_error("chdir /", errno);

  const std::string src = r.rootfs == "/" ? std::string(kOld) : std::string(kOld) + r.rootfs;
  sys::bind_mount(src, kNew, true, false);
  sys::remount_tree_read_only(kNew, std::string(kOld) + "/proc/self/mountinfo");
  build_dev(r);
  build_proc();
  for (const auto& v : r.spec.volumes) {
    const std::string target = std::string(kNew) + v.target;
    sys::bind_mount(std::string(kOld) + v.source, target, true, false);
    if (v.read_only) sys::remount_tree_read_only(target, std::string(kOld) + "/proc/self/mountinfo");
  }
  for (const auto& t : r.spec.tmpfs)
    sys::mount("tmpfs", std::string(kNew) + t, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");

  // pivot_root(".", ".") stacks the old root on the new one; detaching "."
  // then drops the stage and the whole host tree (pivot_root(2), NOTES).
  if (::chdir(kNew) != 0) sys_error(std::string("chdir ") + kNew, errno);
  if (sys::pivot_root(".", ".") != 0) sys_error("pivot_root into the cell's root", errno);
  if (::umount2(".", MNT_DETACH) != 0) sys_error("cannot detach the host's root", errno);
  if (::chdir("/") != 0) sys_error("chdir /", errno);
}

void loopback_up() {
  sys::Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) sys_error("socket", errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) sys_error("SIOCGIFFLAGS lo", errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) sys_error("cannot bring up lo in the cell", errno);
}

void set_rlimit(int resource, rlim_t value, const char* name) {
  rlimit rl{value, value};
  if (::setrlimit(resource, &rl) != 0) sys_error(std::string("setrlimit ") + name, errno);
}

void mark_fds_cloexec() {
  if (sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: walk the usual range.
  for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

[[noreturn]] void exec_command(const PreparedRun& r, int err_fd) noexcept {
  try {
    const RunSpec& s = r.spec;
    // Least privilege: no RT priority of its own unless --rtprio.
    set_rlimit(RLIMIT_RTPRIO, static_cast<rlim_t>(s.rtprio.value_or(0)), "RLIMIT_RTPRIO");
    if (s.memlock_bytes) set_rlimit(RLIMIT_MEMLOCK, *s.memlock_bytes, "RLIMIT_MEMLOCK");
    if (!s.cpus.empty()) rt::set_affinity(s.cpus);
    // Before exec and before dropping root: threads inherit the policy and
    // can only lower it (sched(7): unprivileged raise needs RLIMIT_RTPRIO).
    if (s.sched) rt::set_policy(*s.sched, {s.allow_prio_99});
    if (::chdir(s.workdir.c_str()) != 0) sys_error("cannot enter --workdir " + s.workdir, errno);

    sys::limit_bounding_set(r.caps);
    const bool keep = !r.caps.empty() && s.uid != 0;
    if (keep && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) sys_error("PR_SET_KEEPCAPS", errno);
    if (::setgroups(0, nullptr) != 0) sys_error("setgroups", errno);
    if (::setresgid(s.gid, s.gid, s.gid) != 0) sys_error("setresgid " + std::to_string(s.gid), errno);
    if (::setresuid(s.uid, s.uid, s.uid) != 0) sys_error("setresuid " + std::to_string(s.uid), errno);
    sys::apply_capabilities(r.caps, s.uid != 0);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) sys_error("PR_SET_NO_NEW_PRIVS", errno);

    std::vector<char*> argv;
    for (const auto& a : s.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : r.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    mark_fds_cloexec();
    ::fcntl(err_fd, F_SETFD, FD_CLOEXEC);
    if (!r.seccomp_bpf.empty()) {
      int rc = sys::load_seccomp_bpf(r.seccomp_bpf);
      if (rc != 0) sys_error("cannot load the seccomp filter", -rc);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(r.executable.c_str(), argv.data(), envp.data());
    int e = errno;
    report_and_exit(err_fd, e == EACCES || e == EPERM ? ErrorKind::Privilege : ErrorKind::Usage,
                    "cannot execute " + r.executable + " in the cell: " + std::strerror(e), 127);
  } catch (const Error& e) {
    report_and_exit(err_fd, e.kind(), e.what(), 126);
  } catch (const std::exception& e) {
    report_and_exit(err_fd, ErrorKind::System, e.what(), 126);
  }
}

void ignore_signal(int) {}

// pid 1 of the cell: reap everything, relay what the supervisor forwards,
// leave with the command's status.
[[noreturn]] void init_loop(pid_t command) noexcept {
  // pid namespaces drop signals to init that it has no handler for, even
  // from the parent namespace (pid_namespaces(7)); a handler makes them
  // deliverable, sigwaitinfo() then takes them.
  struct sigaction sa {};
  sa.sa_handler = ignore_signal;
  for (int s : kForwarded) ::sigaction(s, &sa, nullptr);
  const sigset_t set = supervised_signals();
  for (;;) {
    siginfo_t si{};
    int sig = ::sigwaitinfo(&set, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      // A terminal's ^C (SI_KERNEL) already reached the command in the same
      // process group; relaying it would deliver it twice.
      if (si.si_code != SI_KERNEL) ::kill(command, sig);
      continue;
    }
    int status = 0;
    pid_t p;
    while ((p = ::waitpid(-1, &status, WNOHANG)) > 0)
      if (p == command) ::_exit(sys::exit_code_of(status));
  }
}

[[noreturn]] void cell_init(const PreparedRun& r, int go_fd, int err_fd) noexcept {
  try {
    // Die with the supervisor; the kernel then kills the whole pid namespace.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) sys_error("PR_SET_PDEATHSIG", errno);
    build_root(r);
    const std::string host = r.spec.hostname.empty() ? r.id : r.spec.hostname;
    if (::sethostname(host.c_str(), host.size()) != 0) sys_error("sethostname " + host, errno);
    if (r.spec.net_none) loopback_up();
    // The command must start inside the cell's cgroups: wait until the
    // supervisor has attached us (EOF: it gave up or died).
    char c = 0;
    ssize_t n;
    do {
      n = ::read(go_fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(125);
    ::close(go_fd);
    pid_t pid = ::fork();
    if (pid < 0) sys_error("fork the command", errno);
    if (pid == 0) exec_command(r, err_fd);
    ::close(err_fd);
    init_loop(pid);
  } catch (const Error& e) {
    report_and_exit(err_fd, e.kind(), e.what(), 126);
  } catch (const std::exception& e) {
    report_and_exit(err_fd, ErrorKind::System, e.what(), 126);
  }
}

// ---- in the supervisor ----

std::string read_all(int fd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Rethrows an error the cell reported on its error pipe ("<kind>\n<message>").
void throw_cell_failure(const std::string& failure) {
  if (failure.empty()) return;
  size_t nl = failure.find('\n');
  int kind = nl == std::string::npos ? 3 : std::atoi(failure.substr(0, nl).c_str());
  std::string msg = nl == std::string::npos ? failure : failure.substr(nl + 1);
  if (kind < 0 || kind > 3) kind = 3;
  throw Error(static_cast<ErrorKind>(kind), msg);
}

class SignalMask {
 public:
  explicit SignalMask(const sigset_t& block) {
    if (::sigprocmask(SIG_BLOCK, &block, &old_) != 0) sys_error("sigprocmask", errno);
  }
  SignalMask(const SignalMask&) = delete;
  SignalMask& operator=(const SignalMask&) = delete;
  ~SignalMask() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_{};
};

}  // namespace

int run_cell(const PreparedRun& r, const RunHooks& hooks) {
  const sigset_t set = supervised_signals();
  SignalMask mask(set);

#if RTCELL_HAVE_CGROUP
  CgroupRequest req;
  req.id = r.id;
  req.parent = r.spec.cgroup_root;
  req.cpus = r.spec.cpus;
  req.mems = r.spec.mems;
  req.memory_bytes = r.spec.memory_bytes;
  req.pids_max = r.spec.pids_max;
  if (r.spec.rt_runtime_us)
    req.rt_budget = RtBudget{*r.spec.rt_runtime_us, r.spec.rt_period_us.value_or(1'000'000)};
  req.wants_rt = (r.spec.sched && !std::holds_alternative<rt::Other>(*r.spec.sched)) ||
                 r.spec.rtprio.has_value() || r.caps.has(23);
  for (const auto& d : r.spec.devices) req.devices.push_back(DeviceRule{d.type, d.major, d.minor, d.access});
  // Refuse a bad request before anything exists.
  Cgroup::validate(req);
#endif
  if (hooks.warn)
    for (const auto& w : r.warnings) hooks.warn(w);
  if (hooks.note)
    for (const auto& n : r.notes) hooks.note(n);

  Pipe go = make_pipe();
  Pipe err = make_pipe();
  uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
  if (r.spec.net_none) flags |= CLONE_NEWNET;
  sys::Process init = sys::Process::clone(flags);
  if (init.is_child()) {
    int go_fd = go.r.release();
    int err_fd = err.w.release();
    go.w.reset();
    err.r.reset();
    cell_init(r, go_fd, err_fd);
  }
  go.r.reset();
  err.w.reset();
  // The cell's init builds its mount tree meanwhile; it forks the command
  // only after "go", so the command starts inside the cgroups. Creating and
  // attaching overlap with that work: moving a task between v1 cgroups waits
  // for an RCU grace period (cgroup_threadgroup_rwsem), the largest part of
  // the launch time. If either fails, `init` is killed and reaped on unwind.
#if RTCELL_HAVE_CGROUP
  Cgroup cgroup;
  try {
    cgroup = Cgroup::create(req);
    if (hooks.note)
      for (const auto& n : cgroup.notes()) hooks.note(n);
    cgroup.attach(init.pid());
  } catch (const Error&) {
    // The init may have failed first (then attach fails too): its own
    // message says more. Killing it closes the error pipe either way.
    init.kill_and_reap();
    throw_cell_failure(read_all(err.r.get()));
    throw;
  }
#endif
  if (::write(go.w.get(), "g", 1) != 1) sys_error("cannot start the cell", errno);
  go.w.reset();

  std::string failure = read_all(err.r.get());
  if (!failure.empty()) {
    init.wait();
    throw_cell_failure(failure);
  }

  int status = 0;
  for (;;) {
    siginfo_t si{};
    int sig = ::sigwaitinfo(&set, &si);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      auto st = init.wait(true);
      if (st) {
        status = *st;
        break;
      }
      continue;
    }
    // See init_loop: a terminal's signal reached the cell's command directly.
    if (si.si_code != SI_KERNEL) init.signal(sig);
  }
#if RTCELL_HAVE_CGROUP
  cgroup.destroy();
#endif
  return sys::exit_code_of(status);
}

}  // namespace rtcell::cell
