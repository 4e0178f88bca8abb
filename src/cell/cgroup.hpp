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
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
struct RtBudget {
  int64_t runtime_us = 0;
  int64_t period_us = 0;
};

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
  // urandom tty ptmx pts), which is always allowed.
  std::vector<DeviceRule> devices;
  // When false, no device cgroup is set up (e.g. the caller does not sandbox
  // /dev). Default: restrict.
  bool restrict_devices = true;
};

enum class CgroupLayout { V1, Hybrid, V2 };
const char* to_string(CgroupLayout layout);

// Default RT budget when RT is wanted and none was given: 10 % of the period
// on each CPU (rt_runtime_us is per CPU), period = the parent's rt_period_us.
inline constexpr int64_t kDefaultRtPercent = 10;

class Cgroup {
 public:
  Cgroup();  // empty handle; destroy() is a no-op
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) noexcept;
  ~Cgroup();

  // Throws rtcell::Error (Usage: bad id, CPU not in the parent's effective
  // set, budget over the parent's free share or sched_rt_runtime_us;
  // Unsupported: controller missing) before anything is created.
  static void validate(const CgroupRequest& req, const std::string& root = "/sys/fs/cgroup");
  // validate() then create; on failure part-way everything done is undone.
  static Cgroup create(const CgroupRequest& req, const std::string& root = "/sys/fs/cgroup");

  // Puts a process into the cell's group of every controller.
  void attach(pid_t pid);
  // Lines to print once: layout, RT budget given (and what per-CPU means),
  // "not enforced on v2" notes.
  std::vector<std::string> notes() const;
  CgroupLayout layout() const;
  // The cell's directories, one per controller (v2: one).
  std::vector<std::string> paths() const;
  // Idempotent; also run by the destructor. Never throws (best effort,
  // reports nothing); use destroy_checked() to learn about failures.
  void destroy() noexcept;
  // As destroy() but throws the first failure after doing all it can.
  void destroy_checked();

  struct State;  // backend state, defined in cgroup.cpp

 private:
  explicit Cgroup(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

// Auto-detects the layout from statfs() of `root` and its children
// (CGROUP2_SUPER_MAGIC at root = V2; tmpfs with cgroup2 at root/unified =
// Hybrid; else V1). A directory that holds cgroup.controllers at its top is
// taken for V2 too, so unit tests can use a fake v2 root in a temp dir.
CgroupLayout detect_layout(const std::string& root = "/sys/fs/cgroup");

// rtcell gc: removes <parent>/<id> groups with no live process in any
// controller (cgroup.procs empty everywhere), giving their RT budgets back,
// and the parent when it is left empty. Returns the removed group ids.
std::vector<std::string> collect_garbage(const std::string& parent = "rtcell",
                                         const std::string& root = "/sys/fs/cgroup");

// ---- pure helpers (unit-tested; exposed for the CLI and tests) ----

// Checks a cell id or parent path component: [A-Za-z0-9_.-], not "." or "..",
// at most 64 characters. Throws Usage.
void validate_id(std::string_view id, std::string_view what);

// Budget arithmetic on the v1 RT group tree. `parent_runtime` is the
// parent's rt_runtime_us (-1 = unlimited, only at the root), `children_sum`
// the sum of its children's runtimes scaled to the parent's period.
// Returns the free runtime a new child may take, in the parent's period.
int64_t rt_free_share(int64_t parent_runtime, int64_t children_sum);
// Scales a runtime from one period to another, rounding up (a child must
// never be counted smaller than it is).
int64_t rt_scale(int64_t runtime_us, int64_t from_period_us, int64_t to_period_us);
// The default budget: kDefaultRtPercent of `period_us`.
RtBudget default_rt_budget(int64_t period_us);

}  // namespace rtcell::cell
