// Cgroup backends behind one interface: cgroup v1, hybrid (v1 controllers plus
// a cgroup2 mount that holds no controller we use) and unified v2.
//
// A cell's cgroups live at <root>/<controller>/<parent>/<id> on v1/hybrid and
// at <root>/<parent>/<id> on v2. Cgroup is a move-only RAII handle: destroy()
// (also run by the destructor) removes every directory it created and gives
// the RT group budget back along the parent chain, so a cell never leaves a
// half-made group behind. validate() checks everything that can be checked
// before a single directory exists, so bad input fails with nothing to undo.
//
// RT group scheduling (cpu.rt_runtime_us) exists only on v1 with
// CONFIG_RT_GROUP_SCHED. New groups start with runtime 0, so every SCHED_FIFO
// task in them gets EPERM (Documentation/scheduler/sched-rt-group.rst); the
// budget has to be created on every level from the root down. See
// docs/cgroups.md.
//
// What create() takes from the host is written down as it goes in a
// CgroupJournal (directories made, ancestor budgets raised, v2 controllers
// switched on). The journal is plain data with a JSON form, so a cell can
// outlive the process that made it: another process adopt()s the journal and
// destroy()s the cell, exactly as the creator would have.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtcell/analysis/enforce.hpp"
#include "rtcell/cpuset.hpp"

namespace rtcell::cell {

// One device cgroup rule: type 'c' or 'b' ('a' = all), -1 = wildcard
// major/minor, access a subset of "rwm".
struct DeviceRule {
  char type = 'c';
  int major = -1;
  int minor = -1;
  std::string access = "rwm";
};

// An RT group budget: the group's tasks may run `runtime_us` in every
// `period_us` on each CPU (v1 rt_runtime_us is per CPU of the root domain).
// The same type the analysis derives (one idea, one type); build it with
// designated initializers ({.period_us = .., .runtime_us = ..}) so that a
// swapped pair cannot compile.
using RtBudget = analysis::RtBandwidth;

enum class CgroupLayout { V1, Hybrid, V2 };
const char* to_string(CgroupLayout layout);

// What a cell's cgroups took from the host: enough to give it all back from
// another process. Paths are absolute and lie under `root`.
struct CgroupJournal {
  CgroupLayout layout = CgroupLayout::V1;
  std::string root;  // e.g. /sys/fs/cgroup
  struct Made {
    std::string path;
    bool rtcell_owned = false;  // made by rtcell, or an rtcell-named level: removed once empty
    bool leaf = false;          // the cell's own group (one per v1 hierarchy)
  };
  std::vector<Made> made;  // creation order
  std::string rt_leaf;     // cpu leaf whose cpu.rt_runtime_us we set
  struct Grown {
    std::string path;
    int64_t before_us = 0;
    int64_t after_us = 0;
  };
  std::vector<Grown> grown;                                  // ancestor budgets raised, top-down
  std::vector<std::pair<std::string, std::string>> enabled;  // v2: level, controller we enabled
};
nlohmann::json journal_to_json(const CgroupJournal& j);
// Throws rtcell::Error(System) naming the bad field, e.g. "grown[0].after_us".
// A path outside `root` or with a ".." component is refused, so a corrupt
// journal can never make destroy() remove a directory that is not a cgroup.
CgroupJournal journal_from_json(const nlohmann::json& j);

struct CgroupRequest {
  std::string id;                 // cell id; cgroups live at <parent>/<id>
  std::string parent = "rtcell";  // --cgroup-root (relative, may contain '/')
  CpuSet cpus;                    // empty = inherit the parent's
  std::string mems;               // empty = inherit (copied from the parent on v1)
  std::optional<uint64_t> memory_bytes;
  std::optional<int64_t> pids_max;
  std::optional<RtBudget> rt_budget;  // nullopt = none requested
  bool wants_rt = false;              // an RT policy was asked for (default budget if none given)
  // Allowed devices besides the minimal /dev set (null zero full random
  // urandom tty ptmx pts), which is always allowed. v1: devices.allow;
  // v2: an eBPF device filter.
  std::vector<DeviceRule> devices;
  // When false, no device cgroup is set up (e.g. the caller does not sandbox
  // /dev). Default: restrict.
  bool restrict_devices = true;
  // Called with the journal as it will be *before* each change to the tree
  // (write-ahead), so that a creator killed at any point leaves a journal
  // that covers everything it did. Exceptions from the hook abort create
  // (and undo). Empty = no persistence. Runs under the cgroup root's flock.
  std::function<void(const CgroupJournal&)> on_journal;
};

// Default RT budget when RT is wanted and none was given: 10 % of the period
// on each CPU (rt_runtime_us is per CPU), period = the root's rt_period_us.
inline constexpr int64_t kDefaultRtPercent = 10;

// The few calls that change the cgroup tree, behind an interface so that unit
// tests can run the backends against a fake root in a temp dir: cgroup v2
// controllers cannot exist on the hybrid test host, and a plain mkdir there
// does not create the kernel's interface files. The kernel implementation is
// CgroupFs::kernel().
class CgroupFs {
 public:
  virtual ~CgroupFs() = default;
  virtual int make_dir(const std::string& path) = 0;    // 0 or errno
  virtual int remove_dir(const std::string& path) = 0;  // 0 or errno
  // Writes one control file; throws rtcell::Error naming path and value.
  virtual void write(const std::string& path, const std::string& text);
  // v2: lets only `rules` through the group's device access (an eBPF
  // filter, cell/cgroup_devices.hpp). Throws rtcell::Error.
  virtual void attach_device_filter(const std::string& dir, const std::vector<DeviceRule>& rules);
  // Directory holding sched_rt_runtime_us and sched_rt_period_us.
  virtual std::string proc_sys_kernel() const { return "/proc/sys/kernel"; }
  static CgroupFs& kernel();
};

class Cgroup {
 public:
  Cgroup();  // empty handle; destroy() is a no-op
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) noexcept;
  ~Cgroup();

  // Throws rtcell::Error (Usage: bad id, CPU not in the parent's effective
  // set, budget over the parent's free share or sched_rt_runtime_us, id in
  // use; Unsupported: controller missing) before anything is created.
  static void validate(const CgroupRequest& req, const std::string& root = "/sys/fs/cgroup");
  static void validate(const CgroupRequest& req, const std::string& root, CgroupFs& fs);
  // validate() then create; on failure part-way everything done is undone.
  static Cgroup create(const CgroupRequest& req, const std::string& root = "/sys/fs/cgroup");
  static Cgroup create(const CgroupRequest& req, const std::string& root, CgroupFs& fs);
  // Re-creates the handle in another process from a persisted journal, so
  // that destroy() gives everything back. Tolerates a journal whose last
  // entry never happened (ENOENT dirs, budgets never raised). The adopting
  // process becomes the owner.
  static Cgroup adopt(const CgroupJournal& j, CgroupFs& fs = CgroupFs::kernel());

  // Puts a process into the cell's group of every controller. Attach before
  // giving the process an RT policy: v1 refuses to move an RT task into a
  // group with no budget (EINVAL, kernel/sched/core.c sched_rt_can_attach).
  void attach(pid_t pid);
  // Lines to print once: layout, RT budget given (and what per-CPU means),
  // v2: the eBPF device filter and "RT group budget not available".
  std::vector<std::string> notes() const;
  CgroupLayout layout() const;
  // The cell's directories, one per controller (v2: one).
  std::vector<std::string> paths() const;
  // The RT budget the cell's group got (nullopt: none set). An adopted handle
  // reads it back from the cell's cpu group.
  std::optional<RtBudget> rt_budget() const;
  // What the cell took so far (empty for an empty handle).
  CgroupJournal journal() const;
  bool valid() const noexcept { return state_ != nullptr; }
  // Forgets the cell without undoing it (the creator of a persistent cell
  // exits and leaves the groups to the registry). After release() the handle
  // is empty. This also drops the shared flock that keeps collect_garbage()
  // off a cell with no process yet: from here on the caller's registry
  // answers for the cell.
  void release() noexcept;
  // Idempotent; also run by the destructor. Only the process that created
  // the cell removes it: in a forked child it does nothing, so a child's
  // exit path cannot pull the groups from under its parent. Never throws;
  // destroy_checked() throws the first failure after doing all it can.
  void destroy() noexcept;
  void destroy_checked();

  struct State;  // backend state, defined in cgroup_internal.hpp

 private:
  explicit Cgroup(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

// New limits for a running cell's groups (rtcell-runtime update, as `docker
// update` asks). Only a limit whose group the cell has can change: a cell
// made without a memory limit has no memory group on v1, and a v2 group
// whose controller was not switched on has no memory.max; either is a Usage
// error saying to recreate the cell with the limit. Unset fields stay.
// Throws rtcell::Error naming the file when the kernel refuses a value
// (e.g. memory below what is in use).
struct CgroupUpdate {
  std::optional<uint64_t> memory_bytes;
  std::optional<int64_t> pids_max;
  CpuSet cpus;       // empty: unchanged
  std::string mems;  // empty: unchanged
};
void update_cgroups(const CgroupJournal& j, const CgroupUpdate& u);

// Auto-detects the layout from statfs(2): cgroup2 at `root` = V2; cgroup2 at
// root/unified = Hybrid; else V1. A plain directory that holds
// cgroup.controllers at its top is taken for V2 too (the fake root of the
// unit tests).
CgroupLayout detect_layout(const std::string& root = "/sys/fs/cgroup");

// rtcell gc: removes <parent>/<id> groups that are rtcell's (GcOwnership
// below) with no live process in any
// controller (cgroup.procs empty everywhere), gives their RT budgets back and
// removes an rtcell-named parent left empty. Returns the removed group paths
// (relative to the controller roots, e.g. "rtcell/1234"). A group whose
// rtcell is alive is never taken, even before attach(): the live Cgroup holds
// a shared flock on it (sys::DirLock).
std::vector<std::string> collect_garbage(const std::string& parent = "rtcell",
                                         const std::string& root = "/sys/fs/cgroup");
std::vector<std::string> collect_garbage(const std::string& parent, const std::string& root, CgroupFs& fs);
// Which groups under a parent are rtcell's. Under a parent named rtcell*
// (the default "rtcell", "rtcell-test", ...) every group is; under another
// parent only the cell ids in `known_ids` (the state registry's) are, so
// that gc never takes another tool's empty group (docker, kubepods, a
// systemd slice). The skipped ones are appended to `not_ours` when given.
struct GcOwnership {
  std::vector<std::string> known_ids;
  std::vector<std::string>* not_ours = nullptr;
};
std::vector<std::string> collect_garbage(const std::string& parent, const std::string& root, CgroupFs& fs,
                                         const GcOwnership& own);

// ---- pure helpers (unit-tested) ----

// Checks one cell id or parent path component: [A-Za-z0-9_.-], not "." or
// "..", 1..64 characters. Throws Usage naming `what`.
void validate_id(std::string_view id, std::string_view what);
// Splits a parent path ("rtcell", "a/b") into validated components.
std::vector<std::string> split_parent(std::string_view parent);

// The kernel's bandwidth ratio, to_ratio() in kernel/sched/core.c:
// runtime/period in 2^-20 units; runtime -1 (RUNTIME_INF) = 1 << 20.
uint64_t rt_ratio(int64_t runtime_us, int64_t period_us);
// The smallest runtime whose ratio over `period_us` is >= `ratio`.
int64_t rt_runtime_for_ratio(uint64_t ratio, int64_t period_us);
// The default budget: kDefaultRtPercent of `period_us`.
RtBudget default_rt_budget(int64_t period_us);

// One existing or planned level of the v1 cpu hierarchy on the way from the
// controller root to the cell's group.
struct RtLevel {
  std::string path;           // for messages
  bool exists = true;         // false: rtcell will create it (runtime 0)
  int64_t runtime_us = 0;     // cpu.rt_runtime_us (-1 = unlimited)
  int64_t period_us = 0;      // cpu.rt_period_us
  uint64_t others_ratio = 0;  // sum of rt_ratio() of its children off the chain
};
// Plans a leaf budget on a chain (root first, the cell's parent last), the
// way tg_rt_schedulable() in kernel/sched/rt.c will check it: every level's
// ratio covers the sum of its children's, none exceeds the global ratio
// (sched_rt_runtime_us / sched_rt_period_us), the root is never changed.
// Returns the new runtime of each level (unchanged where it already covers
// the child). Throws Usage with the free share when it does not fit.
std::vector<int64_t> plan_rt_budget(const std::vector<RtLevel>& chain, RtBudget leaf, RtBudget global);
// The largest leaf runtime (over `period_us`) plan_rt_budget() accepts; 0
// when nothing fits.
int64_t rt_max_leaf_runtime(const std::vector<RtLevel>& chain, int64_t period_us, RtBudget global);
// Where a grown level goes back to when a cell leaves: what others added
// since stays, and it never drops below what its children still need.
int64_t rt_shrunk_runtime(int64_t current_us, int64_t grown_by_us, uint64_t children_ratio,
                          int64_t period_us);

}  // namespace rtcell::cell
