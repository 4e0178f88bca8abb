// Helpers for the `rtcell run` integration tests: spawn the real rtcell
// binary with a pipe for stdout and stderr, wait for it (no sleeps), and
// look for what a cell might leave behind (cgroups, host mounts).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace rtcell::test {

inline const std::string kRtcell = RTCELL_BIN;
inline const std::string kProbe = std::string(RTCELL_BUILD_DIR) + "/tests/probe/rtcell_probe";

struct Spawned {
  pid_t pid = -1;
  int out = -1;  // stdout
  int err = -1;  // stderr
};

inline Spawned spawn(const std::vector<std::string>& args) {
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(o[1], 1);
    dup2(e[1], 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(o[1]);
  close(e[1]);
  return {pid, o[0], e[0]};
}

inline std::string read_fd(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) s.append(buf, static_cast<size_t>(n));
  close(fd);
  return s;
}

// Reads one line from fd (byte by byte: the rest stays in the pipe).
inline std::string read_line(int fd) {
  std::string s;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') s += c;
  return s;
}

inline int wait_exit(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
  // "key=value" lines of the probe's output.
  std::string get(const std::string& key) const {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
    return "<missing " + key + ">";
  }
};

inline Result run(const std::vector<std::string>& args) {
  std::vector<std::string> full{kRtcell};
  full.insert(full.end(), args.begin(), args.end());
  Spawned s = spawn(full);
  Result r;
  // stderr is small (a few notes); read stdout first, then stderr.
  r.out = read_fd(s.out);
  r.err = read_fd(s.err);
  r.code = wait_exit(s.pid);
  return r;
}

// `rtcell run [flags] -- probe ARGS...`
inline Result run_probe(std::vector<std::string> flags, const std::vector<std::string>& probe_args) {
  std::vector<std::string> args{"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back("--");
  args.push_back(kProbe);
  args.insert(args.end(), probe_args.begin(), probe_args.end());
  return run(args);
}

inline bool path_exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

// Cgroup directories a cell named `name` under the default parent would have.
inline std::vector<std::string> leftover_cgroups(const std::string& name) {
  std::vector<std::string> left;
  for (const char* c : {"cpuset", "cpu", "cpu,cpuacct", "memory", "pids", "devices", "unified"}) {
    std::string p = std::string("/sys/fs/cgroup/") + c + "/rtcell/" + name;
    if (path_exists(p)) left.push_back(p);
  }
  if (path_exists("/sys/fs/cgroup/rtcell/" + name)) left.push_back("/sys/fs/cgroup/rtcell/" + name);
  return left;
}

// Host mounts a cell could leak: its staging tree lives under /tmp in the
// cell's own namespace and must never show up in the host's.
inline std::vector<std::string> leaked_mounts() {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line))
    if (line.find(" /tmp/oldroot") != std::string::npos || line.find(" /tmp/newroot") != std::string::npos ||
        line.find(" /oldroot") != std::string::npos || line.find(" /newroot") != std::string::npos)
      out.push_back(line);
  return out;
}

inline std::string unique_name(const std::string& stem) {
  static int n = 0;
  return "test-" + stem + "-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

}  // namespace rtcell::test
