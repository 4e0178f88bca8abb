// What the OCI runtime tests share: bundles written from a runc-like
// config, a small root filesystem copied from the host (a shell, a few
// tools and their libraries, the static probe) and packed as an image
// tarball, a pty receiver for --console-socket, and daemons (dockerd,
// containerd) started with temporary roots and waited for through their
// systemd readiness notification (NOTIFY_SOCKET), never a sleep.
#pragma once

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/run_support.hpp"

namespace rtcell::test {

namespace fs = std::filesystem;

// Beside the rtcell the tests drive (the build's, or the guests' installed one).
inline const std::string kRuntime = rtcell_bin().substr(0, rtcell_bin().rfind('/') + 1) + "rtcell-runtime";

inline bool have(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

// `rtcell-runtime --root ROOT ARGS...`
inline Result runtime(const std::string& root, const std::vector<std::string>& args) {
  std::vector<std::string> full{kRuntime, "--root", root};
  full.insert(full.end(), args.begin(), args.end());
  return run_argv(full);
}

// `rtcell-runtime --root ROOT ARGS...` for create/run --detach/exec
// --detach: the container keeps the stdio it was given, so stdout and
// stderr go to files (a pipe would stay open for the container's life).
inline Result runtime_detached(const std::string& root, const std::vector<std::string>& args) {
  char tmpl[] = "/tmp/rtcell-oci-io-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  pid_t pid = fork();
  if (pid == 0) {
    int o = open((dir + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open((dir + "/err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = open("/dev/null", O_RDONLY);
    dup2(n, 0);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<std::string> full{kRuntime, "--root", root};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  Result r;
  r.code = wait_exit(pid);
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  fs::remove_all(dir);
  return r;
}

// A runc-like config.json: the host's / read-only as the root, new pid,
// mount, ipc, uts and network namespaces, proc, a tmpfs /dev, devpts,
// sysfs and the cgroup mount, uid 0 with no capabilities.
inline nlohmann::json base_config(const std::vector<std::string>& args) {
  using nlohmann::json;
  json c;
  c["ociVersion"] = "1.0.2";
  c["process"] = {{"terminal", false}, {"user", {{"uid", 0}, {"gid", 0}}},
                  {"args", args},      {"env", {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}},
                  {"cwd", "/"},        {"noNewPrivileges", true}};
  c["root"] = {{"path", "/"}, {"readonly", true}};
  c["hostname"] = "oci";
  c["mounts"] = json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"}, {"options", {"ro"}}},
  });
  c["linux"] = {{"namespaces", json::array({{{"type", "pid"}},
                                            {{"type", "network"}},
                                            {{"type", "ipc"}},
                                            {{"type", "uts"}},
                                            {{"type", "mount"}}})},
                {"maskedPaths", {"/proc/kcore", "/proc/keys"}},
                {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger"}}};
  return c;
}

struct Bundle : TempDir {
  explicit Bundle(const nlohmann::json& config) { write(config); }
  void write(const nlohmann::json& config) const { std::ofstream(path + "/config.json") << config.dump(1); }
};

// A root filesystem of host binaries and the libraries they load, plus the
// static probe at /probe: what an image needs for these tests.
struct ImageRoot : TempDir {
  ImageRoot() {
    std::set<std::string> files;
    for (const char* b : {"/bin/sh", "/bin/cat", "/bin/ls", "/bin/sleep", "/usr/bin/chrt", "/usr/bin/id",
                          "/bin/grep", "/usr/bin/tty", "/bin/true", "/usr/bin/env"}) {
      if (!fs::exists(b)) continue;
      files.insert(fs::canonical(b).string());
      files.insert(b);
      Result l = run_argv({"/usr/bin/ldd", b});
      std::istringstream in(l.out);
      for (std::string word; in >> word;)
        if (!word.empty() && word[0] == '/') files.insert(word);
    }
    for (const auto& f : files) {
      const std::string dst = path + f;
      fs::create_directories(fs::path(dst).parent_path());
      if (!fs::exists(dst)) fs::copy_file(fs::canonical(f), dst);
    }
    for (const char* d : {"/proc", "/sys", "/dev", "/etc", "/tmp", "/run"}) fs::create_directories(path + d);
    fs::copy_file(kProbe, path + "/probe");
    chmod((path + "/tmp").c_str(), 01777);
  }
  // The root as a tarball (docker import).
  std::string tar() const {
    const std::string file = path + ".tar";
    run_argv({"/bin/tar", "-C", path, "-cf", file, "."});
    return file;
  }
  ~ImageRoot() { fs::remove(path + ".tar"); }
};

// Receives the pty master a runtime sends to --console-socket.
struct ConsoleSocket : TempDir {
  std::string sock;
  int listener = -1;
  ConsoleSocket() : sock(path + "/console.sock") {
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
    bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listener, 1);
  }
  ~ConsoleSocket() { close(listener); }
  // Accepts one connection and returns the fd it carries (-1: none).
  int receive() const {
    int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return -1;
    char data[256];
    char ctl[CMSG_SPACE(sizeof(int))];
    iovec iov{data, sizeof data};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    int fd = -1;
    if (recvmsg(c, &m, MSG_CMSG_CLOEXEC) > 0)
      for (cmsghdr* h = CMSG_FIRSTHDR(&m); h != nullptr; h = CMSG_NXTHDR(&m, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
          std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
    close(c);
    return fd;
  }
};

// Everything readable from `fd` until EOF or EIO (a pty whose other side
// closed).
inline std::string read_to_end(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A daemon (dockerd, containerd) started with its own temporary roots; the
// constructor returns once it said READY=1 on NOTIFY_SOCKET (or it died),
// the destructor stops it (SIGTERM, then waits) and lazily unmounts
// anything left under its directory.
class Daemon {
 public:
  Daemon(const std::string& dir, std::vector<std::string> argv) : dir_(dir) {
    const std::string notify = dir + "/notify.sock";
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, notify.c_str(), sizeof a.sun_path - 1);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    log_ = dir + "/daemon.log";
    pid_ = fork();
    if (pid_ == 0) {
      setenv("NOTIFY_SOCKET", notify.c_str(), 1);
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setsid();
      std::vector<char*> args;
      for (auto& x : argv) args.push_back(x.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    // READY=1, or the daemon's exit (its pidfd), whichever comes first.
    int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    pollfd p[2] = {{s, POLLIN, 0}, {pfd, POLLIN, 0}};
    for (;;) {
      if (poll(p, 2, 120'000) <= 0) break;
      if (p[1].revents) break;
      char buf[512];
      ssize_t n = recv(s, buf, sizeof buf - 1, 0);
      if (n <= 0) break;
      buf[n] = '\0';
      if (std::strstr(buf, "READY=1") != nullptr) {
        ready_ = true;
        break;
      }
    }
    close(pfd);
    close(s);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      wait_exit(pid_);
    }
    // Whatever the daemon left mounted under its roots (netns files, shm).
    std::ifstream in("/proc/self/mountinfo");
    std::vector<std::string> left;
    for (std::string line; std::getline(in, line);) {
      std::istringstream w(line);
      std::string f;
      for (int i = 0; i < 5 && w >> f; ++i) {
      }
      if (f.rfind(dir_ + "/", 0) == 0) left.push_back(f);
    }
    for (auto it = left.rbegin(); it != left.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  }
  bool ready() const { return ready_; }
  std::string log() const { return slurp(log_); }

 private:
  std::string dir_;
  std::string log_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// Cgroup directories under any v1 hierarchy (or v2) whose name contains
// `needle`: what a removed container must not leave.
inline std::vector<std::string> cgroups_named(const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator("/sys/fs/cgroup",
                                                  fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it.depth() > 4) it.disable_recursion_pending();
    if (it->is_directory(ec) && it->path().filename().string().find(needle) != std::string::npos)
      out.push_back(it->path().string());
  }
  return out;
}

}  // namespace rtcell::test
