// Child processes of the bench: the latency probe, cells, containers and the
// stress-ng load. Each starts in its own process group, so one killpg() stops
// a whole stress-ng tree, and a terminal's Ctrl-C reaches only the bench,
// which then decides what to stop and in which order (the probe first, so it
// still writes its partial JSON).
//
// Waiting never sleeps: SIGCHLD and the stop signals write to a self-pipe,
// and the bench polls that pipe (with a timeout only to refresh the progress
// display). The bench is a child subreaper (PR_SET_CHILD_SUBREAPER), so
// stress-ng's workers are reparented to it when their parent dies and can be
// reaped and checked for here rather than leaking to init.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtcell/cpuset.hpp"
#include "sys/fd.hpp"

namespace rtcell::benchrun {

// Installs handlers for SIGINT/SIGTERM/SIGHUP (recorded, not fatal) and
// SIGCHLD, all writing to one self-pipe; restores the old ones on
// destruction. One instance at a time.
class SignalPipe {
 public:
  SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;
  ~SignalPipe();

  // Waits until a signal arrives or timeout_ms passes (-1: no timeout);
  // drains the pipe. Returns true when something arrived.
  bool wait(int timeout_ms);
  // The first stop signal received (SIGINT, SIGTERM, SIGHUP), or 0.
  static int stop_signal() noexcept;

 private:
  sys::Fd read_;
  sys::Fd write_;
  struct sigaction old_[4] = {};
};

struct SpawnOptions {
  std::vector<std::string> argv;
  std::string stdout_path;  // "" -> /dev/null
  std::string stderr_path;  // "" -> /dev/null
  std::optional<CpuSet> affinity;
  std::string cwd;
};

class Child {
 public:
  // fork + exec in a new process group. Throws Unsupported naming the program
  // when it cannot be executed (e.g. ENOENT), System otherwise.
  static Child spawn(const SpawnOptions& opt);

  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // A child still running is killed (its whole group) and reaped.
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0 && !status_; }
  // Reaps without blocking; returns the wait status once it has exited.
  std::optional<int> poll();
  // Signals the child's process group.
  void signal_group(int sig) const noexcept;
  // Waits until the child has exited (reaping), signalling SIGKILL to its
  // group if it takes longer than grace_ms. Returns the wait status.
  int wait(SignalPipe& sp, int grace_ms);
  // Stops the whole process group: SIGTERM, then SIGKILL after grace_ms, and
  // reaps every member that was reparented to us. Returns when no process
  // of the group is left.
  void stop_group(SignalPipe& sp, int grace_ms);
  std::optional<int> status() const noexcept { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Runs a program to completion (no signal forwarding) and returns (wait
// status, stdout). For short helper calls: podman probes and clean-up.
struct Captured {
  int status = 0;
  std::string out;
  std::string err;
};
Captured run_capture(const std::vector<std::string>& argv, const std::string& work_dir, SignalPipe& sp,
                     int timeout_ms);

// "exited 2", "killed by SIGKILL".
std::string describe_status(int status);
// True when some process is in process group pgid.
bool group_alive(pid_t pgid) noexcept;
// The last non-empty line of text, trimmed.
std::string last_line(const std::string& text);
// Makes this process a child subreaper (see the file comment).
void become_subreaper();
int64_t monotonic_ns();

}  // namespace rtcell::benchrun
