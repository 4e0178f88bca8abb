#include "cell/join.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cell/console.hpp"
#include "cell/exec.hpp"
#include "rtcell/error.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"

namespace rtcell::cell {

namespace {

struct NsName {
  NamespaceType type;
  int flag;
  const char* proc;
};
constexpr NsName kJoinable[] = {
    {NamespaceType::Cgroup, CLONE_NEWCGROUP, "cgroup"}, {NamespaceType::Ipc, CLONE_NEWIPC, "ipc"},
    {NamespaceType::Uts, CLONE_NEWUTS, "uts"},          {NamespaceType::Network, CLONE_NEWNET, "net"},
    {NamespaceType::Pid, CLONE_NEWPID, "pid"},          {NamespaceType::Mount, CLONE_NEWNS, "mnt"},
};

// Joins the namespaces of the process `pidfd` names: one setns(2) with the
// pidfd (Linux 5.8), else one /proc/PID/ns file at a time.
void enter_namespaces(const sys::PidFd& init, const Spec& s) {
  int flags = 0;
  for (const auto& ns : kJoinable)
    if (s.has_namespace(ns.type)) flags |= ns.flag;
  if (flags == 0 || ::setns(init.get(), flags) == 0) return;
  if (errno != EINVAL) sys_error("cannot join the cell's namespaces", errno);
  std::vector<sys::Fd> fds;
  for (const auto& ns : kJoinable)
    if (s.has_namespace(ns.type))
      fds.push_back(
          sys::Fd::open("/proc/" + std::to_string(init.pid()) + "/ns/" + ns.proc, O_RDONLY | O_CLOEXEC));
  // The pid still names the init (its pidfd would fail on a recycled pid).
  if (!init.send_signal(0)) sys_error("the cell's init is gone", ESRCH);
  for (const auto& fd : fds)
    if (::setns(fd.get(), 0) != 0) sys_error("cannot join the cell's namespaces", errno);
}

[[noreturn]] void second(const Prepared& p, int status, int console) noexcept {
  try {
    if (console >= 0) {
      std::string slave;
      sys::Fd master = open_pty("/dev/pts", slave);
      send_console_fd(console, master.get(), slave);
      ::close(console);
      master.reset();
      take_pty(slave, p.spec.host_uid(), p.spec.host_gid());
    }
    setup_process(p);
    take_identity(p);
    exec_process(p);
  } catch (const Error& e) {
    report_and_exit(status, e.kind(), e.what(), e.err() == ENOENT || e.err() == EACCES ? 127 : 126);
  } catch (const std::exception& e) {
    report_and_exit(status, ErrorKind::System, e.what(), 126);
  }
}

[[noreturn]] void first(const CellState& st, const sys::PidFd& init, const Prepared& p, const JoinOptions& o,
                        int status, int report) noexcept {
  try {
    for (const auto& m : st.cgroups.made) {
      if (!m.leaf) continue;
      sys::Fd fd = sys::Fd::try_open(m.path + "/cgroup.procs", O_WRONLY | O_CLOEXEC);
      if (!fd) continue;
      const std::string self = "0";
      if (::write(fd.get(), self.data(), self.size()) < 0)
        sys_error("cannot join the cell's cgroup " + m.path, errno);
    }
    int console = -1;
    if (p.spec.process.terminal) {
      if (o.console_socket.empty())
        usage_error("process.terminal needs --console-socket (the caller's end of the pty)");
      console = connect_console(o.console_socket);
    }
    enter_namespaces(init, p.spec);
    const pid_t pid = ::fork();
    if (pid < 0) sys_error("fork in the cell", errno);
    if (pid == 0) second(p, status, console);
    const int32_t v = pid;
    if (::write(report, &v, sizeof v) != sizeof v) ::_exit(125);
    ::_exit(0);
  } catch (const Error& e) {
    report_and_exit(status, e.kind(), e.what(), 126);
  } catch (const std::exception& e) {
    report_and_exit(status, ErrorKind::System, e.what(), 126);
  }
}

}  // namespace

pid_t join(const Registry& reg, const std::string& id, const Prepared& cell, const Process& process,
           const JoinOptions& o) {
  CellState st = reg.load(id);
  if (live_status(st) != Status::Running) usage_error("cell '" + id + "' is not running");
  if (cell.spec.has_namespace(NamespaceType::User))
    unsupported_error("cell '" + id + "' has a user namespace: a second process cannot join it yet");
  sys::PidFd init = open_process(st.init);
  if (!init.valid()) usage_error("cell '" + id + "' is not running");

  Prepared p = cell;
  p.spec.process = process;
  std::string path_var = kCellPath;
  for (const auto& e : process.env)
    if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
  p.executable = resolve_command(cell.spec, process.args.at(0), path_var, process.cwd);
  if (p.executable.empty())
    usage_error("command '" + process.args[0] + "' is not an executable file in the cell's root filesystem");

  int sfd[2];
  int rfd[2];
  if (::pipe2(sfd, O_CLOEXEC) != 0 || ::pipe2(rfd, O_CLOEXEC) != 0) sys_error("pipe2", errno);
  sys::Fd status_r(sfd[0]);
  sys::Fd status_w(sfd[1]);
  sys::Fd report_r(rfd[0]);
  sys::Fd report_w(rfd[1]);
  const pid_t a = ::fork();
  if (a < 0) sys_error("fork", errno);
  if (a == 0) first(st, init, p, o, status_w.get(), report_w.get());
  status_w.reset();
  report_w.reset();
  int32_t b = 0;
  ssize_t n;
  do {
    n = ::read(report_r.get(), &b, sizeof b);
  } while (n < 0 && errno == EINTR);
  int ws = 0;
  while (::waitpid(a, &ws, 0) < 0 && errno == EINTR) {
  }
  throw_cell_failure(read_all(status_r.get()));
  if (n != sizeof b)
    throw Error(ErrorKind::System, "the process joining cell '" + id + "' died before it started");
  return b;
}

}  // namespace rtcell::cell
