// The registry of cells: one directory per cell under a state root
// (default /run/rtcell, mode 0700), holding state.json and, until the cell
// starts, the start FIFO.
//
// state.json is a log of whole states, one JSON object per line; the last
// complete line (ending in '\n') is the state. A change appends one line
// with one write(2) (O_APPEND): a reader in another process (rtcell ps,
// delete, gc) never takes half a line, and a creator killed at any point
// leaves a state that says what it had taken (the cgroup undo journal is
// written ahead of each change, cell/cgroup.hpp). Appending costs one
// syscall where write + fsync + rename cost three and a journal commit: the
// creator saves a dozen times (docs/performance.md), and the log stays a
// few kilobytes. No fsync: the registry describes processes, which a power
// loss ends too.
//
// A process is named by its pid and its start time (field 22 of
// /proc/PID/stat): a pid the kernel reused for another process is never
// mistaken for the cell.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell/cgroup.hpp"
#include "rtcell/cpuset.hpp"
#include "sys/cgroup_dir.hpp"
#include "sys/pidfd.hpp"

namespace rtcell::cell {

inline constexpr const char* kDefaultStateRoot = "/run/rtcell";

struct ProcRef {
  pid_t pid = 0;
  uint64_t start_time = 0;  // clock ticks after boot; 0 = unknown
};

// The start time of `pid` from /proc, nullopt when it is gone.
std::optional<uint64_t> process_start_time(pid_t pid);
// Field 22 of a /proc/PID/stat line (the comm field may hold spaces and
// parentheses); nullopt when malformed.
std::optional<uint64_t> parse_start_time(std::string_view stat_line);
ProcRef self_ref();
// A pidfd on the process `ref` names, or an invalid one when it is gone or
// its pid now belongs to another process. The check follows pidfd_open, so
// the returned fd can never reach a recycled pid.
sys::PidFd open_process(const ProcRef& ref);
// True once the pidfd's process has exited (a zombie included).
bool exited(const sys::PidFd& p);
// open_process(ref) names a process that has not exited.
bool alive(const ProcRef& ref);

enum class Status { Creating, Created, Running, Stopped, Paused };
const char* to_string(Status s);

struct CellState {
  std::string id;
  Status status = Status::Creating;  // as recorded; see live_status()
  ProcRef creator;                   // the process running create
  ProcRef init;                      // the cell's pid 1 (0 until cloned)
  std::string bundle;                // OCI bundle directory, or ""
  std::string rootfs;                // root.path on the host
  bool die_with_creator = false;     // rtcell run: the cell ends with its creator
  std::vector<std::string> command;
  int64_t created_ns = 0;  // CLOCK_REALTIME
  std::map<std::string, std::string> annotations;
  // For ps.
  CpuSet cpus;
  std::string scheduler;  // rt::to_string of process.scheduler, or ""
  std::optional<RtBudget> rt;
  // What the cgroups took (empty journal: none yet).
  CgroupJournal cgroups;
};

std::string state_to_json(const CellState& s);
// Throws Error(System) naming `where` and the bad field.
CellState state_from_json(std::string_view text, const std::string& where);

// What a cell is now, from its record and the kernel: a recorded
// created/running cell whose init is gone is Stopped; a Creating one whose
// creator is gone is Stopped too (gc takes it), and so is a cell that was to
// die with its creator (rtcell run) once the creator is gone.
Status live_status(const CellState& s);

class Registry {
 public:
  explicit Registry(std::string root = kDefaultStateRoot);
  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo(const std::string& id) const { return dir(id) + "/start"; }

  // Makes the cell's directory (the root too, 0700, when missing) and
  // returns an exclusive lock on it, held while the cell is being made.
  // Usage error when the id exists or the root cannot be written.
  sys::DirLock claim(const std::string& id) const;
  // Exclusive lock on an existing cell's directory; blocks while a create
  // or another change holds it. Usage error when there is no such cell.
  sys::DirLock lock(const std::string& id) const;
  bool exists(const std::string& id) const;
  // Appends the state as the file's new last line.
  void save(const CellState& s) const;
  // Usage error for an unknown id; System for a corrupt file.
  CellState load(const std::string& id) const;
  // Ids with a directory under the root, sorted; none when the root is missing.
  std::vector<std::string> ids() const;
  // Removes the cell's files and directory.
  void remove(const std::string& id) const;

 private:
  std::string root_;
};

}  // namespace rtcell::cell
