#include "cell/exec.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rtcell/error.hpp"
#include "rtcell/rt/sched.hpp"
#include "sys/caps.hpp"
#include "sys/fd.hpp"
#include "sys/seccomp.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::cell {

namespace {

void mark_fds_cloexec() {
  if (sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: walk the usual range.
  for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

void setup_process(const Prepared& p) {
  const Process& proc = p.spec.process;
  for (const auto& r : proc.rlimits) {
    rlimit rl{r.soft, r.hard};
    if (::setrlimit(r.resource, &rl) != 0) sys_error("process.rlimits " + rlimit_name(r.resource), errno);
  }
  const CpuSet& cpus = proc.exec_cpus.empty() ? p.spec.resources.cpus : proc.exec_cpus;
  if (!cpus.empty()) rt::set_affinity(cpus);
  if (proc.scheduler) rt::set_policy(*proc.scheduler, {proc.allow_prio_99});
  if (proc.oom_score_adj) {
    // Lowering it needs CAP_SYS_RESOURCE (proc(5)).
    const std::string v = std::to_string(*proc.oom_score_adj);
    sys::Fd fd = sys::Fd::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (::write(fd.get(), v.data(), v.size()) != static_cast<ssize_t>(v.size()))
      sys_error("process.oomScoreAdj " + v + (errno == EACCES ? " (lowering it needs CAP_SYS_RESOURCE)" : ""),
                errno);
  }
  if (proc.umask) ::umask(*proc.umask);
  if (::chdir(proc.cwd.c_str()) != 0) sys_error("cannot enter process.cwd " + proc.cwd, errno);
}

void take_identity(const Prepared& p) {
  const Process& proc = p.spec.process;
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN
  // (seccomp(2)), which the identity below may drop: load it now, as runc
  // does; the rest of the set-up then runs under it.
  if (!proc.no_new_privileges && !p.seccomp_bpf.empty()) {
    int rc = sys::load_seccomp_bpf(p.seccomp_bpf);
    if (rc != 0) sys_error("cannot load the seccomp filter", -rc);
  }
  const Capabilities& caps = proc.capabilities;
  const uid_t uid = proc.user.uid;
  sys::limit_bounding_set(caps.bounding);
  const bool keep = !caps.permitted.empty() && uid != 0;
  if (keep && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) sys_error("PR_SET_KEEPCAPS", errno);
  const auto& groups = proc.user.additional_gids;
  if (::setgroups(groups.size(), groups.data()) != 0) sys_error("setgroups", errno);
  if (::setresgid(proc.user.gid, proc.user.gid, proc.user.gid) != 0)
    sys_error("setresgid " + std::to_string(proc.user.gid), errno);
  if (::setresuid(uid, uid, uid) != 0) sys_error("setresuid " + std::to_string(uid), errno);
  sys::apply_capabilities(caps.permitted, !caps.ambient.empty());
  if (proc.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    sys_error("PR_SET_NO_NEW_PRIVS", errno);
}

void drop_init_privileges(const Prepared& p) {
  // The command's ids as the host sees them: the init stays in the host's
  // user namespace, so with a cell user namespace it takes the mapped ids
  // (and no supplementary group, those are the cell's ids).
  const bool userns = p.spec.has_namespace(NamespaceType::User);
  const uid_t uid = p.spec.host_uid();
  const gid_t gid = p.spec.host_gid();
  const std::vector<gid_t> none;
  const auto& groups = userns ? none : p.spec.process.user.additional_gids;
  sys::limit_bounding_set(sys::CapSet{});
  if (::setgroups(groups.size(), groups.data()) != 0) sys_error("setgroups", errno);
  if (::setresgid(gid, gid, gid) != 0) sys_error("setresgid " + std::to_string(gid), errno);
  if (::setresuid(uid, uid, uid) != 0) sys_error("setresuid " + std::to_string(uid), errno);
  sys::apply_capabilities(sys::CapSet{}, false);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) sys_error("PR_SET_NO_NEW_PRIVS", errno);
  if (!p.seccomp_bpf.empty()) {
    int rc = sys::load_seccomp_bpf(p.seccomp_bpf);
    if (rc != 0) sys_error("cannot load the seccomp filter in the init", -rc);
  }
}

void exec_process(const Prepared& p) {
  std::vector<char*> argv;
  for (const auto& a : p.spec.process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : p.spec.process.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  mark_fds_cloexec();
  if (!p.seccomp_bpf.empty() && p.spec.process.no_new_privileges) {
    int rc = sys::load_seccomp_bpf(p.seccomp_bpf);
    if (rc != 0) sys_error("cannot load the seccomp filter", -rc);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.executable.c_str(), argv.data(), envp.data());
  int e = errno;
  throw Error(e == EACCES || e == EPERM ? ErrorKind::Privilege : ErrorKind::Usage,
              "cannot execute " + p.executable + " in the cell: " + std::strerror(e), e);
}

namespace {

void write_all(int fd, const std::string& s) noexcept {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

void report_and_exit(int status_fd, ErrorKind kind, const std::string& msg, int code) noexcept {
  ::signal(SIGPIPE, SIG_IGN);
  const std::string text = "E" + std::to_string(static_cast<int>(kind)) + "\n" + msg;
  if (::write(status_fd, text.data(), text.size()) < 0) write_all(STDERR_FILENO, "rtcell: " + msg + "\n");
  ::_exit(code);
}

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

void throw_cell_failure(const std::string& failure) {
  if (failure.empty()) return;
  size_t nl = failure.find('\n');
  int kind = nl == std::string::npos ? 3 : std::atoi(failure.substr(1, nl - 1).c_str());
  std::string msg = nl == std::string::npos ? failure : failure.substr(nl + 1);
  if (kind < 0 || kind > 3) kind = 3;
  throw Error(static_cast<ErrorKind>(kind), msg);
}

}  // namespace rtcell::cell
