#include "cell/lifecycle.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "cell/console.hpp"
#include "cell/exec.hpp"
#include "cell/freezer.hpp"
#include "cell/rootfs.hpp"
#include "rtcell/error.hpp"
#include "sys/fd.hpp"
#include "sys/fdpass.hpp"
#include "sys/file.hpp"
#include "sys/process.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::cell {

namespace {

// Signals the creator relays to the cell and the init relays to the
// command (SIGKILL/SIGSTOP cannot be caught).
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

// How long delete waits for a killed init to be gone before it gives up
// with an error (a process stuck in D state); it never sleeps, it polls
// the pidfd.
constexpr int kExitWaitMs = 10'000;

sigset_t supervised_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int s : kForwarded) sigaddset(&set, s);
  return set;
}

struct Pipe {
  sys::Fd r;
  sys::Fd w;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) sys_error("pipe2", errno);
  return Pipe{sys::Fd(fds[0]), sys::Fd(fds[1])};
}

Pipe make_socketpair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) sys_error("socketpair", errno);
  return Pipe{sys::Fd(fds[0]), sys::Fd(fds[1])};
}

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// ---- in the cell (after clone): never return, never throw out ----

bool read_byte(int fd) noexcept {
  char c = 0;
  ssize_t n;
  do {
    n = ::read(fd, &c, 1);
  } while (n < 0 && errno == EINTR);
  return n == 1;
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

void ignore_signal(int) {}

// What the init and the command inherit from the creator, by number.
struct CellFds {
  int status = -1;    // write end: "R" ready, "E..." failure
  int recorded = -1;  // socket: the mode byte and the cgroup files, once recorded
  int go = -1;        // the start FIFO, read by the command
  int userns = -1;    // the command's end of its user-namespace handshake with the init
};

// The command's side of its user namespace: it unshares one (as host root,
// its scheduler and limits already set), asks its init, still host root in
// the host's user namespace, to write the maps, and waits for them
// (user_namespaces(7): the writer needs CAP_SETUID/CAP_SETGID in the parent
// namespace, which a process inside the new one no longer has).
void enter_user_namespace(int fd) {
  if (::unshare(CLONE_NEWUSER) != 0) {
    if (errno == EINVAL || errno == ENOSPC)
      unsupported_error(std::string("cannot make the cell's user namespace (") + std::strerror(errno) +
                        "): this kernel has none or no more (CONFIG_USER_NS, user.max_user_namespaces); "
                        "run as a non-root --user, or pass --host-root to run as the host's uid 0");
    sys_error("cannot make the cell's user namespace", errno);
  }
  char c = 'U';
  if (::write(fd, &c, 1) != 1 || !read_byte(fd))
    sys_error("the cell's init did not map its user namespace", EPIPE);
  ::close(fd);
}

std::string map_text(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) +
           "\n";
  return out;
}

// The init's side: once the command unshared its user namespace, write its
// maps through the cell's /proc. A command that failed before (EOF) has
// reported it on the status pipe already.
void map_user_namespace(const Spec& s, pid_t command, int fd) {
  char c = 0;
  ssize_t n;
  do {
    n = ::read(fd, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return;
  const std::string dir = "/proc/" + std::to_string(command) + "/";
  sys::write_file(dir + "uid_map", map_text(s.uid_mappings));
  sys::write_file(dir + "gid_map", map_text(s.gid_mappings));
  if (::write(fd, "M", 1) != 1) sys_error("the command left before its user namespace was mapped", errno);
}

// The leaves' files an init writes "0" to, to join its cgroups (v1 tasks:
// moving oneself skips the threadgroup rwsem; v2 cgroup.procs).
constexpr int kMaxAttachFds = 8;

// pid 1 of the cell: reap everything, relay what the creator forwards,
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
      ::kill(command, sig);
      continue;
    }
    int status = 0;
    pid_t p;
    while ((p = ::waitpid(-1, &status, WNOHANG)) > 0)
      if (p == command) ::_exit(sys::exit_code_of(status));
  }
}

[[noreturn]] void command_main(const Prepared& p, const CellFds& fds, const std::string& slave) noexcept {
  try {
    if (!slave.empty()) take_pty(slave, p.spec.host_uid(), p.spec.host_gid());
    setup_process(p);
    if (fds.userns >= 0) enter_user_namespace(fds.userns);
    take_identity(p);
    if (::write(fds.status, "R", 1) != 1) ::_exit(125);
    // Wait for start with no signal blocked, so that a cell killed before
    // it started (kill of a created cell) simply ends.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!read_byte(fds.go)) ::_exit(125);
    ::close(fds.go);
    exec_process(p);
  } catch (const Error& e) {
    report_and_exit(fds.status, e.kind(), e.what(), e.err() == ENOENT || e.err() == EACCES ? 127 : 126);
  } catch (const std::exception& e) {
    report_and_exit(fds.status, ErrorKind::System, e.what(), 126);
  }
}

// Closes every descriptor above stderr but `keep`: the init never execs,
// so nothing its creator had open (a caller's pipe, a lock) may live on in
// the cell; the command forked from it inherits only stdio.
void close_all_but(std::vector<int> keep) noexcept {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  bool ok = true;
  for (int k : keep) {
    if (k < 3 || static_cast<unsigned>(k) < from) continue;
    if (static_cast<unsigned>(k) > from)
      ok = ok && sys::close_range(from, static_cast<unsigned>(k) - 1, 0) == 0;
    from = static_cast<unsigned>(k) + 1;
  }
  ok = ok && sys::close_range(from, ~0U, 0) == 0;
  if (ok) return;
  for (int fd = 3; fd < 4096; ++fd)  // before Linux 5.9
    if (std::find(keep.begin(), keep.end(), fd) == keep.end()) ::close(fd);
}

[[noreturn]] void init_main(const Prepared& p, const CellFds& fds) noexcept {
  close_all_but({fds.status, fds.recorded, fds.go});
  try {
    // Die with the creator until it has recorded this process, so that a
    // creator killed before that leaves no cell nobody knows of.
    // (A creator that died before this prctl is noticed below: EOF on the
    // "recorded" socket. getppid() cannot tell, it is 0 in a new pid
    // namespace.)
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) sys_error("PR_SET_PDEATHSIG", errno);
    // A session of its own, always: the cell never shares its caller's
    // controlling terminal (no TIOCSTI into the caller's shell: a terminal
    // that is not the caller's controlling one needs CAP_SYS_ADMIN for it,
    // tty_ioctl(4)) nor its process group (kill(0, ...) stays in the cell).
    if (::setsid() < 0) sys_error("setsid", errno);
    // A fresh anonymous session keyring: the caller's keys stay out of
    // reach (ENOSYS: a kernel without keys has none to leak).
    if (sys::join_new_session_keyring() < 0 && errno != ENOSYS)
      sys_error("keyctl(JOIN_SESSION_KEYRING)", errno);
    // The root first: the creator makes the cgroups meanwhile.
    build_root(p.spec);
    // An entered UTS namespace keeps its name (a pod's containers have
    // their sandbox's), an entered network namespace its interfaces.
    if (p.spec.has_namespace(NamespaceType::Uts) && !p.spec.joins_namespace(NamespaceType::Uts) &&
        ::sethostname(p.spec.hostname.c_str(), p.spec.hostname.size()) != 0)
      sys_error("sethostname " + p.spec.hostname, errno);
    if (p.spec.has_namespace(NamespaceType::Network) && !p.spec.joins_namespace(NamespaceType::Network))
      loopback_up();
    // Held until the init exits (the command does not inherit it past exec).
    sys::Fd dma = hold_dma_latency(p.spec);
    // An interactive cell's pty, in its own devpts: the master goes to the
    // creator, which relays it; the command takes the slave.
    std::string slave;
    if (p.spec.process.terminal) {
      sys::Fd master = open_pty("/newroot/dev/pts", slave);
      if (!sys::send_with_fds(fds.recorded, "T", {master.get()})) ::_exit(125);
    }
    // Then the mode ('d': the cell dies with its creator, rtcell run; 'k':
    // it is kept), the cgroup root, layout and leaves, with the leaves'
    // files to join. EOF: the creator is gone.
    std::string msg;
    std::vector<int> attach;
    if (!sys::recv_with_fds(fds.recorded, msg, attach, kMaxAttachFds)) ::_exit(125);
    ::close(fds.recorded);
    const char mode = msg[0];
    CgroupView view;
    std::istringstream lines(msg.substr(1));
    std::string layout;
    std::getline(lines, layout);
    view.per_hierarchy = layout != "v2";
    std::getline(lines, view.root);
    for (std::string leaf; std::getline(lines, leaf);) view.leaves.push_back(leaf);
    for (int fd : attach) {
      if (::write(fd, "0", 1) != 1) sys_error("cannot join the cell's cgroup", errno);
      ::close(fd);
    }
    // The cgroup namespace starts here, at the groups just joined, so
    // /proc/self/cgroup shows "/" and no host path (cgroup_namespaces(7)).
    if (p.spec.has_namespace(NamespaceType::Cgroup) && ::unshare(CLONE_NEWCGROUP) != 0)
      sys_error("cannot make the cell's cgroup namespace", errno);
    enter_root(p.spec, view);
    if (mode == 'k' && ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) != 0) sys_error("PR_SET_PDEATHSIG", errno);
    Pipe userns;
    if (p.spec.has_namespace(NamespaceType::User)) userns = make_socketpair();
    pid_t pid = ::fork();
    if (pid < 0) sys_error("fork the command", errno);
    if (pid == 0) {
      CellFds mine = fds;
      mine.userns = userns.w.release();
      userns.r.reset();
      command_main(p, mine, slave);
    }
    userns.w.reset();
    if (userns.r) map_user_namespace(p.spec, pid, userns.r.get());
    userns.r.reset();
    ::close(fds.go);
    ::close(fds.status);
    // The command has the stdio (or its pty); the init keeps none, so that
    // a caller reading the creator's pipes to EOF (containerd's shim after
    // create, a shell's $(...)) sees it once the command is done with them.
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int std_fd = 0; std_fd < 3; ++std_fd) {
      if (null >= 0)
        ::dup2(null, std_fd);
      else
        ::close(std_fd);
    }
    if (null > 2) ::close(null);
    drop_init_privileges(p);
    // Changing credentials cleared the parent-death signal (prctl(2)): set
    // it again for a cell that dies with its creator. A creator that died
    // in between is caught by the registry (live_status: a die-with-creator
    // cell whose creator is gone is stopped, and gc kills it).
    if (mode == 'd' && ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) ::_exit(125);
    init_loop(pid);
  } catch (const Error& e) {
    report_and_exit(fds.status, e.kind(), e.what(), 126);
  } catch (const std::exception& e) {
    report_and_exit(fds.status, ErrorKind::System, e.what(), 126);
  }
}

// ---- in the creator ----

uint64_t clone_flags(const Spec& s) {
  uint64_t flags = 0;
  for (const auto& ns : s.namespaces) {
    if (!ns.path.empty()) continue;  // entered, not new (EnteredForClone)
    switch (ns.type) {
      case NamespaceType::Pid:
        flags |= CLONE_NEWPID;
        break;
      case NamespaceType::Mount:
        flags |= CLONE_NEWNS;
        break;
      case NamespaceType::Ipc:
        flags |= CLONE_NEWIPC;
        break;
      case NamespaceType::Uts:
        flags |= CLONE_NEWUTS;
        break;
      case NamespaceType::Network:
        flags |= CLONE_NEWNET;
        break;
      case NamespaceType::Cgroup:
        break;  // unshared by the init once it joined its groups
      case NamespaceType::User:
        break;  // unshared by the command once the init set it up
    }
  }
  return flags;
}

// The namespaces the spec names by path (linux.namespaces[].path: a pod's
// sandbox, a netns file). The creator enters them only around the clone,
// so the init is born in them, and returns to its own at once: its cgroup
// work and the runtime's hooks stay in the runtime's namespaces. (A pid
// namespace entered this way is the children's only: pid_for_children.)
class EnteredForClone {
 public:
  explicit EnteredForClone(const Spec& s) {
    try {
      for (const auto& ns : s.namespaces) {
        if (ns.path.empty()) continue;
        // prepare() lets only network, ipc, uts and pid through.
        const int flag = clone_flag(ns.type);
        sys::Fd target = sys::Fd::open(ns.path, O_RDONLY | O_CLOEXEC);
        sys::Fd mine =
            sys::Fd::open(std::string("/proc/self/ns/") + proc_ns_name(ns.type), O_RDONLY | O_CLOEXEC);
        if (::setns(target.get(), flag) != 0)
          sys_error(std::string("cannot enter the ") + to_string(ns.type) + " namespace " + ns.path, errno);
        saved_.push_back({std::move(mine), flag});
      }
    } catch (...) {
      restore();
      throw;
    }
  }
  EnteredForClone(const EnteredForClone&) = delete;
  EnteredForClone& operator=(const EnteredForClone&) = delete;
  ~EnteredForClone() { restore(); }
  // In the init: it stays where it was born.
  void stay() noexcept { saved_.clear(); }

 private:
  void restore() noexcept {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) ::setns(it->fd.get(), it->flag);
    saved_.clear();
  }
  struct Saved {
    sys::Fd fd;
    int flag;
  };
  std::vector<Saved> saved_;
};

// Waits (poll on the pidfd, no sleep) until the process is gone.
bool wait_gone(const sys::PidFd& pfd, int timeout_ms) {
  pollfd p{pfd.get(), POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc == 1;
}

// Kills the process `ref` names (if it still lives) and waits until it is gone.
void kill_and_wait(const ProcRef& ref, const std::string& what) {
  sys::PidFd pfd = open_process(ref);
  if (!pfd.valid()) return;
  pfd.send_signal(SIGKILL);
  if (!wait_gone(pfd, kExitWaitMs))
    sys_error(what + " (pid " + std::to_string(ref.pid) + ") did not exit after SIGKILL", ETIMEDOUT);
}

std::vector<std::string> leaf_dirs(const CgroupJournal& j) {
  std::vector<std::string> out;
  for (const auto& m : j.made)
    if (m.leaf) out.push_back(m.path);
  return out;
}

// Gives back what a recorded cell took: its processes, cgroups and state.
void teardown(const Registry& reg, const CellState& st) {
  // A creator still alive here (delete --force of a cell being created) is
  // an rtcell that would go on making it.
  if (st.status == Status::Creating) kill_and_wait(st.creator, "the creating rtcell");
  if (st.status == Status::Paused) {
    // A frozen v1 task does not act on SIGKILL until thawed: kill, then thaw.
    sys::PidFd init = open_process(st.init);
    if (init.valid()) init.send_signal(SIGKILL);
    thaw(st.cgroups);
  }
  kill_and_wait(st.init, "the cell's init");
  if (!st.cgroups.root.empty()) Cgroup::adopt(st.cgroups).destroy_checked();
  reg.remove(st.id);
}

}  // namespace

// ---------------------------------------------------------------------------
// Cell

struct Cell::Impl {
  Registry reg;
  CellState state;
  sys::DirLock lock;  // held while being created
  Cgroup cgroup;
  sys::Process init;
  sys::Fd status;  // read end
  sys::Fd go;      // the start FIFO, O_RDWR
  sys::Fd master;  // the pty of an interactive cell, relayed by wait()
  bool claimed = false;
  bool fifo = false;  // the start signal is the FIFO in the cell's directory
  bool done = false;  // destroyed or detached
  std::function<void(std::string_view)> phase;

  explicit Impl(Registry r) : reg(std::move(r)) {}
  void save() { reg.save(state); }
  void step(std::string_view name) {
    if (phase) phase(name);
  }
};

Cell::Cell(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Cell::Cell(Cell&&) noexcept = default;
Cell& Cell::operator=(Cell&& o) noexcept {
  if (this != &o) {
    if (impl_ && !impl_->done) {
      try {
        destroy();
      } catch (...) {  // NOLINT(bugprone-empty-catch): best effort on overwrite
      }
    }
    impl_ = std::move(o.impl_);
  }
  return *this;
}

Cell::~Cell() {
  if (!impl_ || impl_->done) return;
  try {
    destroy();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor gives back what it can; gc does the rest
  }
}

const std::string& Cell::id() const {
  return impl_->state.id;
}

pid_t Cell::pid() const {
  return impl_->init.pid();
}

Cell Cell::create(const Registry& reg, const Prepared& p, const CreateOptions& o) {
  // Cgroup::create() validates the request before it makes anything; a
  // refusal then takes back only the claimed state directory.
  auto impl = std::make_unique<Impl>(reg);
  Impl& c = *impl;
  Cell cell(std::move(impl));
  c.phase = o.on_phase;

  c.lock = reg.claim(p.id);
  c.claimed = true;
  CellState& st = c.state;
  st.id = p.id;
  st.status = Status::Creating;
  st.creator = self_ref();
  st.bundle = o.bundle;
  st.rootfs = p.spec.root_path;
  st.die_with_creator = o.die_with_creator;
  st.command = p.spec.process.args;
  st.created_ns = now_ns();
  st.annotations = p.spec.annotations;
  st.cpus = p.spec.resources.cpus;
  if (p.spec.process.scheduler) st.scheduler = rt::to_string(*p.spec.process.scheduler);
  c.save();
  c.step("claim");

  // The start signal: a FIFO in the cell's directory when another process
  // may start it (rtcell start); a pipe when only this one will (rtcell
  // run), which spares two metadata writes of the state root.
  sys::Fd go_read;
  c.fifo = !o.die_with_creator;
  if (c.fifo) {
    const std::string fifo = reg.fifo(p.id);
    if (::mkfifo(fifo.c_str(), 0600) != 0) sys_error("cannot create " + fifo, errno);
    c.go = sys::Fd::open(fifo, O_RDWR | O_CLOEXEC);
  } else {
    Pipe go = make_pipe();
    go_read = std::move(go.r);
    c.go = std::move(go.w);
  }
  Pipe status = make_pipe();
  // A socket: it carries the cgroup files to the init (SCM_RIGHTS), and a
  // send to an init that died already fails with EPIPE instead of killing
  // the creator with SIGPIPE (MSG_NOSIGNAL).
  Pipe recorded = make_socketpair();

  // The init first: it builds its root while the cgroups are made here,
  // then joins them itself before it forks the command.
  {
    EnteredForClone entered(p.spec);
    c.init = sys::Process::clone(clone_flags(p.spec));
    if (c.init.is_child()) entered.stay();
  }
  if (c.init.is_child()) {
    CellFds fds;
    fds.status = status.w.release();
    fds.recorded = recorded.r.release();
    fds.go = c.fifo ? c.go.release() : go_read.release();
    c.go.reset();
    // Nothing else of the creator's stays open in the cell (its state
    // directory lock above all: the init must not hold it).
    status.r.reset();
    recorded.w.reset();
    c.lock.release();
    init_main(p, fds);
  }
  status.w.reset();
  recorded.r.reset();
  go_read.reset();
  c.status = std::move(status.r);
  st.init.pid = c.init.pid();
  st.init.start_time = process_start_time(st.init.pid).value_or(0);
  c.save();
  c.step("clone");

  CgroupRequest req = p.cgroup;
  req.on_journal = [&c](const CgroupJournal& j) {
    c.state.cgroups = j;
    c.save();
    c.step("cgroup");
  };
  try {
    c.cgroup = Cgroup::create(req);
  } catch (const Error&) {
    st.cgroups = {};  // create undid its own steps
    throw;
  }
  st.cgroups = c.cgroup.journal();
  st.rt = c.cgroup.rt_budget();
  c.save();
  c.step("cgroups");
  if (o.note)
    for (const auto& n : c.cgroup.notes()) o.note(n);

  std::vector<sys::Fd> attach;
  std::vector<int> attach_fds;
  for (const auto& dir : c.cgroup.paths()) {
    sys::Fd fd = sys::Fd::try_open(dir + "/tasks", O_WRONLY | O_CLOEXEC);
    attach.push_back(fd ? std::move(fd) : sys::Fd::open(dir + "/cgroup.procs", O_WRONLY | O_CLOEXEC));
    attach_fds.push_back(attach.back().get());
  }
  std::string msg(1, o.die_with_creator ? 'd' : 'k');
  msg += to_string(c.cgroup.layout());
  msg += '\n';
  msg += c.state.cgroups.root;
  for (const auto& dir : c.cgroup.paths()) {
    msg += '\n';
    msg += dir;
  }
  // A send error means the init died already: its status pipe says why.
  if (sys::send_with_fds(recorded.w.get(), msg, attach_fds)) c.step("recorded");
  if (p.spec.process.terminal) {
    std::string tag;
    std::vector<int> got;
    if (sys::recv_with_fds(recorded.w.get(), tag, got, 1) && got.size() == 1) c.master = sys::Fd(got[0]);
    if (c.master && !o.console_socket.empty()) {
      send_console(o.console_socket, c.master.get(), "/dev/ptmx");
      c.master.reset();
    } else if (c.master) {
      copy_window_size(c.master.get());
    }
  }
  recorded.w.reset();
  attach.clear();

  char first = 0;
  ssize_t n;
  do {
    n = ::read(c.status.get(), &first, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1 || first != 'R') {
    std::string failure = n == 1 ? std::string(1, first) + read_all(c.status.get()) : "";
    if (failure.empty())
      throw Error(ErrorKind::System, "the cell's init exited while the cell was being created");
    throw_cell_failure(failure);
  }
  c.step("ready");
  if (o.on_created_namespaces) o.on_created_namespaces(st);
  st.status = Status::Created;
  c.save();
  c.lock.release();
  c.step("created");
  return cell;
}

void Cell::start() {
  Impl& c = *impl_;
  if (::write(c.go.get(), "g", 1) != 1) sys_error("cannot start cell " + c.state.id, errno);
  c.go.reset();
  if (c.fifo) ::unlink(c.reg.fifo(c.state.id).c_str());
  c.state.status = Status::Running;
  c.save();
  // EOF: execve succeeded (the pipe is close-on-exec); else the reason.
  std::string failure = read_all(c.status.get());
  c.status.reset();
  if (!failure.empty()) {
    c.init.wait();
    throw_cell_failure(failure);
  }
}

int Cell::wait() {
  Impl& c = *impl_;
  const sigset_t set = supervised_signals();
  if (c.master) {
    RawTerminal raw;
    return sys::exit_code_of(relay_until_exit(c.master.get(), c.init, set));
  }
  for (;;) {
    siginfo_t si{};
    int sig = ::sigwaitinfo(&set, &si);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      if (auto st = c.init.wait(true)) return sys::exit_code_of(*st);
      continue;
    }
    // The cell has a session of its own: a terminal's ^C reached only this
    // process, and reaches the command through the relay, once.
    c.init.signal(sig);
  }
}

std::optional<int> Cell::poll_exit() {
  Impl& c = *impl_;
  if (c.done || c.init.reaped()) return std::nullopt;
  if (auto st = c.init.wait(true)) return sys::exit_code_of(*st);
  return std::nullopt;
}

void Cell::signal(int sig) {
  Impl& c = *impl_;
  if (!c.done && !c.init.reaped()) c.init.signal(sig);
}

void Cell::destroy() {
  Impl& c = *impl_;
  if (c.done) return;
  c.done = true;
  c.init.kill_and_reap();
  c.go.reset();
  c.status.reset();
  c.master.reset();
  if (c.claimed && c.state.status != Status::Creating && !c.reg.exists(c.state.id)) {
    // rtcell delete --force from another process took it all already.
    c.cgroup.release();
    return;
  }
  bool given_back = false;
  if (c.cgroup.valid() && c.claimed && c.reg.exists(c.state.id)) {
    // Another process (rtcell pause, the supervisor) may have grown the
    // recorded journal (a freezer group): give back what the record holds.
    try {
      CgroupJournal rec = c.reg.load(c.state.id).cgroups;
      if (rec.made.size() > c.cgroup.journal().made.size()) {
        c.cgroup.release();
        Cgroup::adopt(rec).destroy_checked();
        given_back = true;
      }
    } catch (const Error&) {
      // An unreadable record: what this process made is still given back.
    }
  }
  if (given_back) {
    // done above
  } else if (c.cgroup.valid()) {
    c.cgroup.destroy_checked();
  } else if (!c.state.cgroups.root.empty()) {
    Cgroup::adopt(c.state.cgroups).destroy_checked();
  }
  if (c.claimed) c.reg.remove(c.state.id);
}

void Cell::detach() noexcept {
  Impl& c = *impl_;
  c.done = true;
  c.cgroup.release();
  c.init.release();
  c.go.reset();
  c.status.reset();
  c.lock.release();
}

void block_cell_signals() {
  const sigset_t set = supervised_signals();
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) sys_error("sigprocmask", errno);
}

int pending_stop_signal() {
  sigset_t stop;
  sigemptyset(&stop);
  for (int sg : kForwarded)
    if (sg != SIGWINCH) sigaddset(&stop, sg);
  const timespec now{0, 0};
  int sg = ::sigtimedwait(&stop, nullptr, &now);
  return sg > 0 ? sg : 0;
}

int next_cell_signal(int timeout_ms) {
  const sigset_t set = supervised_signals();
  siginfo_t si{};
  for (;;) {
    int sig = 0;
    if (timeout_ms < 0) {
      sig = ::sigwaitinfo(&set, &si);
    } else {
      const timespec ts{timeout_ms / 1000, static_cast<long>(timeout_ms % 1000) * 1'000'000};
      sig = ::sigtimedwait(&set, &si, &ts);
      if (sig < 0 && errno == EAGAIN) return 0;
    }
    if (sig > 0) return sig;
    if (errno != EINTR) sys_error("sigwaitinfo", errno);
  }
}

// ---------------------------------------------------------------------------
// By id

void start(const Registry& reg, const std::string& id) {
  sys::DirLock lock = reg.lock(id);
  CellState st = reg.load(id);
  switch (live_status(st)) {
    case Status::Running:
      usage_error("cell '" + id + "' is already running");
    case Status::Creating:
      usage_error("cell '" + id + "' is still being created: start it once rtcell create returned");
    case Status::Stopped:
      usage_error("cell '" + id + "' is stopped: rtcell delete " + id + ", then create it again");
    case Status::Paused:
      usage_error("cell '" + id + "' is paused: resume it first");
    case Status::Created:
      break;
  }
  sys::Fd fifo = sys::Fd::try_open(reg.fifo(id), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (!fifo) {
    if (errno == ENXIO || errno == ENOENT)
      usage_error("cell '" + id + "' is stopped (its command is gone): rtcell delete " + id);
    sys_error("cannot open " + reg.fifo(id), errno);
  }
  if (::write(fifo.get(), "g", 1) != 1) sys_error("cannot start cell " + id, errno);
  ::unlink(reg.fifo(id).c_str());
  st.status = Status::Running;
  reg.save(st);
}

void kill(const Registry& reg, const std::string& id, int signal, bool all) {
  if (signal < 1 || signal > 64) usage_error("signal " + std::to_string(signal) + " is not 1-64");
  CellState st = reg.load(id);
  const Status live = live_status(st);
  if (live == Status::Stopped)
    usage_error("cell '" + id + "' is stopped: nothing to signal (rtcell delete " + id + ")");
  if (live == Status::Creating)
    usage_error("cell '" + id + "' is still being created: signal it once it exists");
  sys::PidFd init = open_process(st.init);
  if (!init.valid() || exited(init) || !init.send_signal(signal)) {
    if (errno == ESRCH || !init.valid()) usage_error("cell '" + id + "' is stopped: nothing to signal");
    sys_error("cannot signal cell " + id, errno);
  }
  // Frozen tasks act on SIGKILL only once thawed (v1 freezer), as runc.
  if (live == Status::Paused && signal == SIGKILL) thaw(st.cgroups);
  if (!all) return;
  for (const auto& dir : leaf_dirs(st.cgroups)) {
    auto procs = sys::try_read_file(dir + "/cgroup.procs");
    if (!procs) continue;
    std::istringstream in(*procs);
    pid_t pid = 0;
    while (in >> pid) {
      int fd = sys::pidfd_open(pid);
      if (fd < 0) continue;
      sys::PidFd p(sys::Fd(fd), pid);
      p.send_signal(signal);
    }
  }
}

void pause(const Registry& reg, const std::string& id) {
  sys::DirLock lock = reg.lock(id);
  CellState st = reg.load(id);
  const Status live = live_status(st);
  if (live == Status::Paused) usage_error("cell '" + id + "' is already paused");
  if (live != Status::Running)
    usage_error("cell '" + id + "' is not running: only a running cell can be paused");
  freeze(st.cgroups, [&](const CgroupJournal& j) {
    CellState ahead = st;
    ahead.cgroups = j;
    reg.save(ahead);
  });
  st.status = Status::Paused;
  reg.save(st);
}

void resume(const Registry& reg, const std::string& id) {
  sys::DirLock lock = reg.lock(id);
  CellState st = reg.load(id);
  if (live_status(st) != Status::Paused) usage_error("cell '" + id + "' is not paused");
  thaw(st.cgroups);
  st.status = Status::Running;
  reg.save(st);
}

CellState state(const Registry& reg, const std::string& id) {
  CellState st = reg.load(id);
  st.status = live_status(st);
  return st;
}

void remove(const Registry& reg, const std::string& id, bool force) {
  sys::DirLock lock = reg.lock(id);
  CellState st = reg.load(id);
  const Status live = live_status(st);
  if (!force && (live == Status::Running || live == Status::Paused))
    usage_error("cell '" + id + "' is " + to_string(live) + ": stop it (rtcell kill " + id +
                ") or rtcell delete --force " + id);
  if (!force && live == Status::Creating)
    usage_error("cell '" + id + "' is still being created: wait for it, or rtcell delete --force " + id);
  teardown(reg, st);
}

std::vector<Listed> list(const Registry& reg) {
  std::vector<Listed> out;
  for (const auto& id : reg.ids()) {
    Listed l;
    try {
      l.state = reg.load(id);
      l.state.status = live_status(l.state);
    } catch (const Error& e) {
      l.state.id = id;
      l.state.status = Status::Stopped;
      l.problem = e.what();
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<std::string> collect_stopped(const Registry& reg) {
  std::vector<std::string> removed;
  std::string first_error;
  for (const auto& id : reg.ids()) {
    // A create or delete in progress holds the lock: not ours to take.
    sys::DirLock lock = sys::DirLock::try_acquire(reg.dir(id));
    if (!lock.held()) continue;
    try {
      CellState st = reg.load(id);
      if (live_status(st) != Status::Stopped) continue;
      teardown(reg, st);
      removed.push_back(id);
    } catch (const Error& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (!first_error.empty() && removed.empty()) throw Error(ErrorKind::System, first_error);
  return removed;
}

int parse_signal(std::string_view text) {
  static const std::pair<const char*, int> kNames[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
      {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
      {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
      {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},   {"SYS", SIGSYS},
  };
  std::string_view t = text;
  if (t.rfind("SIG", 0) == 0) t.remove_prefix(3);
  for (const auto& [name, num] : kNames)
    if (t == name) return num;
  if (!t.empty() && std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
      t.size() <= 2) {
    int v = std::stoi(std::string(t));
    if (v >= 1 && v <= 64) return v;
  }
  usage_error("'" + std::string(text) + "' is not a signal: give a name (TERM, SIGKILL) or a number 1-64");
}

}  // namespace rtcell::cell
