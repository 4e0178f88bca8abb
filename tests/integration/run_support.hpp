// Helpers for the `rtcell run` integration tests: run the real rtcell binary
// and the static probe, and look for what a cell might leave behind (cgroups,
// host mounts). Process plumbing is in support.hpp.
#pragma once

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "integration/support.hpp"

namespace rtcell::test {

inline const std::string kRtcell = rtcell_bin();
inline const std::string kProbe = std::string(RTCELL_BUILD_DIR) + "/tests/probe/rtcell_probe";

// `rtcell ARGS...`
inline Result run(const std::vector<std::string>& args) {
  std::vector<std::string> full{kRtcell};
  full.insert(full.end(), args.begin(), args.end());
  return run_argv(full);
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

// Unified cgroup v2 at /sys/fs/cgroup (JetPack 6, the QEMU guests of
// tests/guest/), rather than v1 or hybrid.
inline bool unified_cgroup() {
  struct statfs fs {};
  return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// The group of cell `id` under the default parent that holds controller
// `ctrl`'s files: one per controller on v1/hybrid, the one group on v2.
inline std::string cell_group(const std::string& ctrl, const std::string& id) {
  return unified_cgroup() ? "/sys/fs/cgroup/rtcell/" + id : "/sys/fs/cgroup/" + ctrl + "/rtcell/" + id;
}

// Cgroup directories a cell named `name` under the default parent would have.
inline std::vector<std::string> leftover_cgroups(const std::string& name) {
  std::vector<std::string> left;
  for (const char* c : {"cpuset", "cpu", "cpu,cpuacct", "memory", "pids", "devices", "freezer", "unified"}) {
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

// A scratch directory (0755, so a cell's user can read it), removed at the
// end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/rtcell-test-XXXXXX";
    path = mkdtemp(tmpl);
    chmod(path.c_str(), 0755);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Exactly one line on stderr: what every bad input must print.
inline bool only_line(const std::string& err) {
  return !err.empty() && err.find('\n') == err.size() - 1;
}

inline std::string unique_name(const std::string& stem) {
  static int n = 0;
  return "test-" + stem + "-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

}  // namespace rtcell::test
