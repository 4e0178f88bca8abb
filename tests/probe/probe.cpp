// rtcell_probe: reports what a process inside a cell can see and do, one
// machine-readable "key=value" line per fact, and performs single escape
// attempts on request ("try NAME [ARG]" prints "try=NAME result=ok|fail
// errno=ENAME"). The integration tests (tests/integration/run_*.cpp) assert
// these lines against the flags given to `rtcell run`. Only libc: it is
// linked statically and must not depend on rtcell's libraries.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

const char* errno_name(int e) {
  switch (e) {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    case EACCES:
      return "EACCES";
    case EROFS:
      return "EROFS";
    case EINVAL:
      return "EINVAL";
    case ENOSYS:
      return "ENOSYS";
    case EBUSY:
      return "EBUSY";
    case ENXIO:
      return "ENXIO";
    case ENODEV:
      return "ENODEV";
    case EEXIST:
      return "EEXIST";
    case EAGAIN:
      return "EAGAIN";
    case ENOTTY:
      return "ENOTTY";
    case EBADF:
      return "EBADF";
    default:
      return "OTHER";
  }
}

int result(const std::string& name, int rc) {
  if (rc == 0)
    std::cout << "try=" << name << " result=ok\n";
  else
    std::cout << "try=" << name << " result=fail errno=" << errno_name(errno) << '\n';
  return 0;
}

std::string status_field(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      size_t s = v.find_first_not_of(" \t");
      return s == std::string::npos ? "" : v.substr(s);
    }
  return "?";
}

std::string sched_text() {
  sched_param sp{};
  int pol = sched_getscheduler(0);
  sched_getparam(0, &sp);
  const char* name = pol == SCHED_FIFO ? "fifo" : pol == SCHED_RR ? "rr" : pol == 6 ? "deadline" : "other";
  return std::string(name) + ":" + std::to_string(sp.sched_priority);
}

std::string rlimit_text(int res) {
  rlimit rl{};
  getrlimit(res, &rl);
  auto v = [](rlim_t x) { return x == RLIM_INFINITY ? std::string("inf") : std::to_string(x); };
  return v(rl.rlim_cur) + ":" + v(rl.rlim_max);
}

int report() {
  std::cout << "uid=" << getuid() << "\ngid=" << getgid() << "\neuid=" << geteuid() << '\n';
  std::cout << "groups=" << status_field("Groups") << '\n';
  for (const char* c : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    std::cout << c << '=' << status_field(c) << '\n';
  std::cout << "no_new_privs=" << status_field("NoNewPrivs") << '\n';
  std::cout << "seccomp=" << status_field("Seccomp") << '\n';
  std::cout << "cpus=" << status_field("Cpus_allowed_list") << '\n';
  std::cout << "rlimit_rtprio=" << rlimit_text(RLIMIT_RTPRIO) << '\n';
  std::cout << "rlimit_memlock=" << rlimit_text(RLIMIT_MEMLOCK) << '\n';
  std::cout << "sched=" << sched_text() << '\n';
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::cout << "hostname=" << host << '\n';
  std::cout << "pid=" << getpid() << '\n';
  const char* p = std::getenv("PATH");
  std::cout << "env_path=" << (p ? p : "") << '\n';
  char cwd[512] = {};
  if (getcwd(cwd, sizeof cwd - 1) == nullptr) cwd[0] = '?';
  std::cout << "cwd=" << cwd << '\n';
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, opts, field, fstype;
    f >> id >> parent >> dev >> root >> point >> opts;
    while (f >> field && field != "-") {
    }
    f >> fstype;
    std::cout << "mount=" << point << ' ' << fstype << ' ' << opts << '\n';
  }
  return 0;
}

// Tries each of rtcell's escape checks once; see tests/integration/run_escape_test.cpp.
int try_escape(const std::string& name, const std::string& arg) {
  if (name == "mount") return result(name, mount("none", "/tmp", "tmpfs", 0, nullptr));
  if (name == "proc_sys") {
    int fd = open("/proc/sys/kernel/domainname", O_WRONLY);
    if (fd < 0) return result(name, -1);
    ssize_t n = write(fd, "x\n", 2);
    int e = errno;
    close(fd);
    errno = e;
    return result(name, n == 2 ? 0 : -1);
  }
  if (name == "write_root") {
    std::string path = arg.empty() ? "/etc/rtcell-probe-escape" : arg;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) {
      close(fd);
      unlink(path.c_str());
    }
    return result(name, fd >= 0 ? 0 : -1);
  }
  if (name == "setns") {
    int fd = open(arg.empty() ? "/proc/self/ns/mnt" : arg.c_str(), O_RDONLY);
    if (fd < 0) return result(name, -1);
    int rc = setns(fd, 0);
    int e = errno;
    close(fd);
    errno = e;
    return result(name, rc);
  }
  if (name == "unshare_user") return result(name, unshare(CLONE_NEWUSER));
  if (name == "unshare_mount") return result(name, unshare(CLONE_NEWNS));
  if (name == "clone_newuser") {
    // fork-like clone(2) asking for a new user namespace.
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0)
      while (waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
      }
    return result(name, pid > 0 ? 0 : -1);
  }
  if (name == "ptrace")
    return result(name, static_cast<int>(ptrace(PTRACE_ATTACH, arg.empty() ? 1 : std::atoi(arg.c_str()),
                                                nullptr, nullptr)));
  if (name == "kill") return result(name, kill(std::atoi(arg.c_str()), 0));
  if (name == "see_pid") {
    struct stat st {};
    return result(name, stat(("/proc/" + arg).c_str(), &st));
  }
  if (name == "open") {
    int fd = open(arg.c_str(), O_RDONLY);
    if (fd >= 0) close(fd);
    return result(name, fd >= 0 ? 0 : -1);
  }
  if (name == "mknod") return result(name, mknod(arg.c_str(), S_IFCHR | 0600, makedev(1, 1)));
  if (name == "init_module") return result(name, static_cast<int>(syscall(SYS_init_module, nullptr, 0, "")));
  // CAD_OFF only switches Ctrl-Alt-Del handling; in a child pid namespace
  // the kernel answers EINVAL, so even a broken sandbox cannot reboot here.
  if (name == "reboot") return result(name, reboot(RB_DISABLE_CAD));
  if (name == "keyctl")
    return result(name, static_cast<int>(syscall(SYS_keyctl, 0 /*GET_KEYRING_ID*/, -3, 0)));
  if (name == "raise_rtprio") {
    rlimit rl{};
    getrlimit(RLIMIT_RTPRIO, &rl);
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? rl.rlim_max : rl.rlim_max + 1;
    rlimit up{want, want};
    return result(name, setrlimit(RLIMIT_RTPRIO, &up));
  }
  if (name == "cgroup_write") {
    // Any writable cgroup file of its own groups counts as an escape.
    // ENOENT stays only when none of them exists in the cell's view, so a
    // layout the probe does not know fails the test instead of passing it.
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    int ok = -1;
    int last = ENOENT;
    struct statfs fs {};
    const bool unified = statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
    while (std::getline(in, line)) {
      size_t a = line.find(':'), b = line.find(':', a + 1);
      std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
      if (ctrls.rfind("name=", 0) == 0) ctrls = ctrls.substr(5);
      if (path == "/") path.clear();
      std::string dir = !ctrls.empty() ? "/sys/fs/cgroup/" + ctrls + path
                        : unified      ? "/sys/fs/cgroup" + path
                                       : "/sys/fs/cgroup/unified" + path;
      for (const char* f :
           {"/cgroup.procs", "/tasks", "/cpuset.cpus", "/cpu.rt_runtime_us", "/memory.limit_in_bytes",
            "/memory.max", "/pids.max", "/cgroup.subtree_control"}) {
        int fd = open((dir + f).c_str(), O_WRONLY);
        if (fd >= 0) {
          close(fd);
          ok = 0;
        } else if (errno != ENOENT) {
          last = errno;
        }
      }
    }
    errno = last;
    return result(name, ok);
  }
  if (name == "sched_fifo") {
    sched_param sp{};
    sp.sched_priority = std::atoi(arg.c_str());
    return result(name, sched_setscheduler(0, SCHED_FIFO, &sp));
  }
  if (name == "chroot") return result(name, chroot(arg.empty() ? "/tmp" : arg.c_str()));
  if (name == "tiocsti") {
    // Push a byte into the input queue of the terminal on fd ARG (default
    // 0), as a payload would to make its caller's shell run a command.
    char c = '\n';  // a whole (empty) line: counted by FIONREAD, harmless if run
    return result(name, ioctl(arg.empty() ? 0 : std::atoi(arg.c_str()), TIOCSTI, &c));
  }
  if (name == "connect") {
    // TCP to 127.0.0.1:ARG: a host-only service, if the cell shares the
    // host's network.
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return result(name, -1);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(arg.c_str())));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int e = errno;
    close(fd);
    errno = e;
    return result(name, rc);
  }
  if (name == "open_tty") {
    int fd = open("/dev/tty", O_RDWR);
    if (fd >= 0) close(fd);
    return result(name, fd >= 0 ? 0 : -1);
  }
  if (name == "kill_group") {
    // kill(0, ...) reaches the caller's process group unless the cell has
    // its own; the probe dies with it either way.
    std::cout.flush();
    return result(name, kill(0, SIGKILL));
  }
  std::cerr << "probe: unknown escape " << name << '\n';
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "report";
  if (cmd == "report") return report();
  if (cmd == "try" && argc > 2) return try_escape(argv[2], argc > 3 ? argv[3] : "");
  if (cmd == "wait") {
    // Tells the test it runs, then waits for a signal (the test's SIGTERM).
    std::cout << "ready" << std::endl;
    pause();
    return 0;
  }
  if (cmd == "kill-self") {
    std::cout.flush();
    raise(argc > 2 ? std::atoi(argv[2]) : SIGKILL);
    return 0;
  }
  if (cmd == "exit") return argc > 2 ? std::atoi(argv[2]) : 0;
  if (cmd == "spin") {
    // A runaway: spins until killed, or for N ms of CPU time when given.
    const long ms = argc > 2 ? std::atol(argv[2]) : -1;
    std::cout << "spinning" << std::endl;
    timespec t{};
    for (;;) {
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
      if (ms >= 0 && t.tv_sec * 1000L + t.tv_nsec / 1000000L >= ms) return 0;
    }
  }
  if (cmd == "spin-until-demoted") {
    // A runaway SCHED_FIFO/RR thread that ends once something moved it to
    // another policy (rtcell's supervisor, demote).
    std::cout << "spinning policy=" << sched_getscheduler(0) << std::endl;
    int p = 0;
    while ((p = sched_getscheduler(0)) == SCHED_FIFO || p == SCHED_RR) {
    }
    std::cout << "demoted policy=" << p << std::endl;
    return 0;
  }
  if (cmd == "pending") {
    // Bytes waiting in the input queue of the terminal on stdin (FIONREAD):
    // what a TIOCSTI would have left for the caller's shell to run.
    int n = -1;
    if (ioctl(0, FIONREAD, &n) != 0) n = -1;
    std::cout << "pending=" << n << std::endl;
    return 0;
  }
  if (cmd == "keyring") {
    // The serial of the session keyring (KEYCTL_GET_KEYRING_ID of
    // KEY_SPEC_SESSION_KEYRING, not created when missing).
    std::cout << "keyring=" << syscall(SYS_keyctl, 0, -3, 0) << std::endl;
    return 0;
  }
  std::cerr
      << "usage: rtcell_probe report | try NAME [ARG] | wait | kill-self [SIG] | exit [N] | keyring | spin "
         "[CPU_MS] | spin-until-demoted\n";
  return 2;
}
