// tracefs, owned: a mount made only for the run and a private ftrace
// instance (instances/<name>) that is always removed. An instance has its own
// ring buffers, event enables, tracing_cpumask, trace_clock and trace_marker,
// so a capture never touches the global buffer or another tool's tracing
// (Documentation/trace/ftrace.rst, "Instances"). rmdir of an instance frees
// its buffers and disables its events in one step; the kernel refuses it
// (EBUSY) while a file of the instance is open, so every fd into the
// instance must be closed first.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sys/mount.hpp"

namespace rtcell::sys {

// Where tracefs lives; mounts it there (and owns the mount) when it is not
// mounted yet. Throws Privilege when it cannot be mounted or is not
// readable, Unsupported when the kernel has no tracefs.
class TracefsMount {
 public:
  static TracefsMount ensure(const std::string& path = "/sys/kernel/tracing");
  const std::string& path() const noexcept { return path_; }
  bool mounted_by_us() const noexcept { return !mount_.target().empty(); }

 private:
  std::string path_;
  MountPoint mount_;  // empty when tracefs was already mounted
};

// True when `path` is a tracefs mount (statfs magic TRACEFS_MAGIC).
bool is_tracefs(const std::string& path);

class TraceInstance {
 public:
  TraceInstance() = default;
  TraceInstance(const TraceInstance&) = delete;
  TraceInstance& operator=(const TraceInstance&) = delete;
  TraceInstance(TraceInstance&& o) noexcept : dir_(std::exchange(o.dir_, {})) {}
  TraceInstance& operator=(TraceInstance&& o) noexcept;
  ~TraceInstance() { reset(); }

  // mkdir <tracefs>/instances/<name>; throws when it exists or cannot be made.
  static TraceInstance create(const std::string& tracefs, const std::string& name);
  const std::string& dir() const noexcept { return dir_; }
  // Stops recording and removes the instance; never throws.
  void reset() noexcept;

 private:
  std::string dir_;
};

// A global tracefs setting changed for a run and put back after it (the
// osnoise tracer's `osnoise/cpus`, which no instance has a copy of): holds
// the file's old text and writes it back in reset() or the destructor.
class TracefsSetting {
 public:
  TracefsSetting() = default;
  TracefsSetting(const TracefsSetting&) = delete;
  TracefsSetting& operator=(const TracefsSetting&) = delete;
  TracefsSetting(TracefsSetting&& o) noexcept
      : path_(std::exchange(o.path_, {})),
        old_(std::exchange(o.old_, {})),
        journal_(std::exchange(o.journal_, {})) {}
  TracefsSetting& operator=(TracefsSetting&& o) noexcept;
  ~TracefsSetting() { reset(); }

  // Reads path's text, then writes value. Returns errno (0 on success); on
  // failure nothing was changed and nothing is held. With a journal path,
  // "PATH\nOLD" is written there first (its directory made), so that a
  // process killed with SIGKILL before reset() can be undone by
  // restore_stale_settings(); reset() removes it.
  int set(const std::string& path, const std::string& value, const std::string& journal = {});
  // Writes the old text back; never throws.
  void reset() noexcept;

 private:
  std::string path_, old_, journal_;
};

// Writes text to a tracefs file; returns 0 or the errno of the open or write.
int try_write(const std::string& path, const std::string& text) noexcept;

// Removes instances/<prefix><pid> left by a process that no longer exists
// (killed with SIGKILL before its TraceInstance could go). Returns their names.
// An instance running a tracer (timerlat) is set back to nop first.
std::vector<std::string> remove_stale_instances(const std::string& tracefs, const std::string& prefix);

// Puts back the settings journaled by TracefsSetting::set in journal_dir
// (files named by the pid that made them) for processes that no longer
// exist, and removes their journals. Returns the paths put back.
std::vector<std::string> restore_stale_settings(const std::string& journal_dir);

}  // namespace rtcell::sys
