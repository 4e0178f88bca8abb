// What every integration test needs to drive real programs: spawn with pipes,
// read stdout and stderr to EOF without either filling up (poll), wait for the
// exit status (no sleeps anywhere), run a shell line, and read small files.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace rtcell::test {

// The rtcell the tests drive: $RTCELL_TEST_BIN when set (the QEMU guests of
// tests/guest/ point it at an installed rtcell), else the one this build made.
inline const std::string& rtcell_bin() {
  static const std::string bin = [] {
    const char* env = std::getenv("RTCELL_TEST_BIN");
    return std::string(env != nullptr && *env != '\0' ? env : RTCELL_BIN);
  }();
  return bin;
}

struct Spawned {
  pid_t pid = -1;
  int out = -1;  // the child's stdout
  int err = -1;  // the child's stderr
};

// fork + execvp(args[0]) with stdout and stderr on pipes.
inline Spawned spawn(const std::vector<std::string>& args) {
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) != 0) return {};
  if (pipe2(e, O_CLOEXEC) != 0) {
    close(o[0]);
    close(o[1]);
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(o[1], 1);
    dup2(e[1], 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(o[1]);
  close(e[1]);
  return {pid, o[0], e[0]};
}

// Reads both pipes to EOF and closes them.
inline void drain(Spawned& c, std::string& out, std::string& err) {
  pollfd fds[2] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? out : err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  c.out = c.err = -1;
}

// Reads one line from fd byte by byte (the rest stays in the pipe).
inline std::string read_line(int fd) {
  std::string s;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') s += c;
  return s;
}

// The exit status, or 128+signal.
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
  // The value of a "key=value" line of stdout (the probe's format).
  std::string get(const std::string& key) const {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
    return "<missing " + key + ">";
  }
};

// Runs argv to completion.
inline Result run_argv(const std::vector<std::string>& args) {
  Spawned s = spawn(args);
  Result r;
  if (s.pid < 0) return r;
  drain(s, r.out, r.err);
  r.code = wait_exit(s.pid);
  return r;
}

// Runs a shell line; stdout and stderr stay apart unless the line merges them.
inline Result run_shell(const std::string& line) {
  return run_argv({"/bin/sh", "-c", line});
}

// The whole file, or "" when it cannot be read.
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The file without its trailing newline and blanks (sysfs/cgroupfs values).
inline std::string slurp_value(const std::string& path) {
  std::string s = slurp(path);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline bool path_exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

}  // namespace rtcell::test
