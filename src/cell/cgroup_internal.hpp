// The inside of the cgroup layer, shared by its files and by nothing else:
//
//   cgroup.cpp              the public API: Cgroup, adopt/undo, gc, RT arithmetic
//   cgroup_backends.cpp     one backend per layout (v1/hybrid, v2), as a table
//   cgroup_controllers.cpp  one writer per controller, knowing both layouts
//   cgroup_journal.cpp      the journal's JSON form
//
// The split follows crun (src/libcrun/cgroup-internal.h): a backend knows how
// a layout lays out the tree (one hierarchy per controller on v1, one tree
// with cgroup.subtree_control on v2); a controller writer knows one
// controller's files on both layouts (v1 memory.limit_in_bytes, v2
// memory.max). Adding a cgroup knob touches one writer.
//
// Undo is in neither: it replays the journal, whose entries (directories
// made, budgets raised, controllers switched on) mean the same on every
// layout, so the creator and an adopting process undo with the same code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cell/cgroup.hpp"
#include "sys/cgroup_dir.hpp"

namespace rtcell::cell::detail {

// ---- reading the tree (no changes) ----

bool path_exists(const std::string& path);
std::string read_value(const std::string& path);  // trimmed; throws naming the path
int64_t read_i64(const std::string& path);
std::vector<std::string> subdirs(const std::string& path);  // sorted names, no symlinks
bool has_word(const std::string& text, const std::string& word);
bool is_rtcell_name(const std::string& component);
// Sum of rt_ratio() of the children of `dir` except `skip`.
uint64_t child_ratio_sum(const std::string& dir, const std::string& skip);
std::string device_rule_text(const DeviceRule& r);  // "c 1:3 rwm", "a"
// The global RT limit: <proc_sys_kernel>/sched_rt_{runtime,period}_us.
RtBudget read_global_rt(const CgroupFs& fs);

// One controller hierarchy: v1 has one per controller, v2 one for all.
struct Hierarchy {
  std::string name;  // v1 controller name; "" on v2
  std::string base;  // the hierarchy's root directory
};

// base/parent[0]/.../parent[depth-1]
std::string level_path(const Hierarchy& h, const std::vector<std::string>& parent, size_t depth);
// The deepest existing level of the parent chain (the base at worst).
std::string deepest_existing(const Hierarchy& h, const std::vector<std::string>& parent);
// The v1 hierarchies among rtcell's controllers mounted under `root`, in
// creation order; a controller co-mounted with an earlier one is skipped.
std::vector<Hierarchy> v1_hierarchies(const std::string& root);

// Everything create() needs, computed without changing anything.
struct Plan {
  CgroupLayout layout = CgroupLayout::V1;
  std::string root;
  std::vector<std::string> parent;  // components of req.parent
  std::vector<Hierarchy> hierarchies;
  std::vector<std::string> v2_controllers;  // to enable along the path (v2)
  std::optional<RtBudget> budget;           // v1 RT budget to give the leaf
  bool budget_defaulted = false;
  std::vector<RtLevel> rt_chain;  // root .. parent (cpu hierarchy)
  std::vector<int64_t> rt_new;    // planned runtimes, same indices
  std::vector<std::string> notes;
};

}  // namespace rtcell::cell::detail

namespace rtcell::cell {

struct Cgroup::State {
  CgroupFs* fs = nullptr;
  CgroupJournal journal;  // exactly what was done (in this process's memory)
  std::function<void(const CgroupJournal&)> on_journal;
  CgroupRequest req;  // empty when adopted
  detail::Plan plan;  // empty when adopted
  std::optional<RtBudget> budget;
  bool destroyed = false;
  // A forked child inherits a copy of this handle; only the process that made
  // (or adopted) the cell may take it down, so a child's destructors cannot
  // remove the groups its parent still uses.
  pid_t owner = 0;
  sys::DirLock alive;  // shared flock on the first leaf while the cell lives

  std::vector<std::string> leaves() const;
};

}  // namespace rtcell::cell

namespace rtcell::cell::detail {

// ---- changing the tree, write-ahead ----
//
// Every change to the shared tree goes through these, so that the journal
// handed to on_journal always covers it before it happens. When the hook
// throws, neither the journal nor the tree changes. When the change itself
// fails, its entry is taken back out of the in-memory journal, which thus
// stays exact; the persisted one may hold that one step too many, which
// undo tolerates.

// mkdir of a level of the parent chain (leaf = false) or of the cell's own
// group (leaf = true). Returns true when this call made it. An existing level
// is recorded as ours only when rtcell-named; an existing leaf means the id
// is in use (Usage).
bool make_group(Cgroup::State& s, const std::string& path, bool leaf);
// Raises an ancestor's cpu.rt_runtime_us from `before_us` to `after_us`.
void grow_runtime(Cgroup::State& s, const std::string& level, int64_t before_us, int64_t after_us);
// Records the cell's cpu group as holding a runtime (set to 0 first on undo).
void note_rt_leaf(Cgroup::State& s, const std::string& leaf);
// v2: "+controller" in level/cgroup.subtree_control; recorded for undo
// unless rtcell made the level (its removal undoes it).
void enable_controller(Cgroup::State& s, const std::string& level, const std::string& controller);

// ---- controller writers (cgroup_controllers.cpp) ----

// One controller's part in every phase. Each function may be null.
struct ControllerWriter {
  const char* name;  // v1 hierarchy name; v2 controller name
  // The controller must be available for this request (v1: mounted, v2: in
  // cgroup.controllers); otherwise Unsupported naming `what`.
  bool (*needed)(const CgroupRequest& req, CgroupLayout layout);
  const char* what;  // the request field(s) that need it, for messages
  // v2: switched on in cgroup.subtree_control along the path when needed
  // (devices is an eBPF program on v2, not a controller).
  bool v2_controller;
  // Before anything exists: checks the request against the tree, plans,
  // adds notes. Throws Usage/Unsupported.
  void (*plan)(const CgroupRequest& req, const Hierarchy& h, Plan& plan, const CgroupFs& fs);
  // v1: a level of the parent chain in this controller's hierarchy, just
  // made (`made`) or found; `up` is its parent.
  void (*init_level)(Cgroup::State& s, const std::string& level, const std::string& up, bool made);
  // The cell's own group: every limit of this controller.
  void (*apply)(Cgroup::State& s, const Hierarchy& h, const std::string& leaf);
};

// cpuset, cpu (RT), memory, pids, devices: the v1 creation order.
const std::vector<ControllerWriter>& controller_writers();
const ControllerWriter* find_writer(const std::string& name);

// ---- backends (cgroup_backends.cpp) ----

// crun's libcrun_cgroup_manager: what differs between layouts.
struct CgroupBackend {
  CgroupLayout layout;
  // Finds the hierarchies, checks availability and every controller's plan.
  // Changes nothing.
  void (*plan)(const CgroupRequest& req, Plan& plan, CgroupFs& fs);
  // Makes the groups from the root down to the cell's leaves (write-ahead)
  // and takes the cell's shared "alive" flock.
  void (*create)(Cgroup::State& s);
  // Writes every controller's limits into the leaves (create; a future
  // `update`).
  void (*apply)(Cgroup::State& s);
  // Moves a process into the cell.
  void (*attach)(Cgroup::State& s, pid_t pid);
  // Gives back everything the journal records; returns the first error ("" =
  // none). Called with the root lock held.
  std::string (*destroy)(CgroupJournal& j, CgroupFs& fs);
};
const CgroupBackend& backend_for(CgroupLayout layout);

// The layout-independent undo (both backends' destroy).
std::string undo_journal(CgroupJournal& j, CgroupFs& fs);

// Throws Error(System) naming the field when a path lies outside the root or
// a grown entry is not a raise (cgroup_journal.cpp; also run by adopt()).
void validate_journal(const CgroupJournal& j);

}  // namespace rtcell::cell::detail
