// Cgroup backends: v1 (one hierarchy per controller), hybrid (the same, plus a
// cgroup2 mount at <root>/unified that holds no controller rtcell uses) and
// unified v2. docs/cgroups.md describes the behaviour; this file is the how.
//
// Everything that can be checked is checked in plan() before the first mkdir,
// so bad input never leaves anything behind. create() then records every
// change it makes (directories made, RT runtime added to a parent, v2
// controllers enabled) and undo() reverts exactly those, both when creation
// fails part-way and when the cell goes away.
//
// The RT group budget is the subtle part (Documentation/scheduler/
// sched-rt-group.rst, kernel/sched/rt.c tg_rt_schedulable()): a new group
// gets rt_runtime_us = 0, and the kernel then refuses SCHED_FIFO/RR in it with
// EPERM (kernel/sched/syscalls.c). A group's runtime/period ratio must cover
// the sum of its children's ratios, and no group may exceed the global
// sched_rt_runtime_us/sched_rt_period_us. So a budget for rtcell/<id> has to be
// added along the chain, top-down (parents grow first), and given back
// bottom-up (child to 0 first). Several cells share rtcell/, so on exit a
// parent shrinks by what this cell added, never below what its remaining
// children need. All tree changes happen under an flock on the cgroup root.
#include "cell/cgroup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <utility>

#include "cell/cgroup_devices.hpp"
#include "rtcell/error.hpp"
#include "sys/cgroup_dir.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::cell {

namespace {

constexpr uint64_t kBwShift = 20;  // kernel/sched/sched.h BW_SHIFT
constexpr uint64_t kBwUnit = uint64_t{1} << kBwShift;

// The controllers rtcell uses on v1, in creation order.
constexpr const char* kV1Controllers[] = {"cpuset", "cpu", "memory", "pids", "devices"};

class KernelFs : public CgroupFs {
 public:
  int make_dir(const std::string& path) override { return sys::make_dir(path); }
  int remove_dir(const std::string& path) override { return sys::remove_dir(path); }
};

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_value(const std::string& path) {
  return sys::trim(sys::read_file(path));
}

int64_t read_i64(const std::string& path) {
  std::string v = read_value(path);
  return util::parse_int(v, INT64_MIN, INT64_MAX, path);
}

std::vector<std::string> subdirs(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
    std::error_code ec2;
    if (e.is_directory(ec2) && !e.is_symlink(ec2)) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

bool has_word(const std::string& text, const std::string& w) {
  auto ws = words(text);
  return std::find(ws.begin(), ws.end(), w) != ws.end();
}

bool procs_empty(const std::string& dir) {
  auto procs = sys::try_read_file(dir + "/cgroup.procs");
  return !procs || sys::trim(*procs).empty();
}

std::string device_rule_text(const DeviceRule& r) {
  if (r.type == 'a') return "a";
  std::string s(1, r.type);
  s += ' ';
  s += r.major < 0 ? "*" : std::to_string(r.major);
  s += ':';
  s += r.minor < 0 ? "*" : std::to_string(r.minor);
  s += ' ';
  s += r.access;
  return s;
}

bool is_rtcell_name(const std::string& component) {
  return component.rfind("rtcell", 0) == 0;
}

// One controller hierarchy: its root directory and what rtcell does in it.
struct Hierarchy {
  std::string name;  // v1 controller name; "" on v2
  std::string base;  // the hierarchy's root directory
};

// The global RT limit: /proc/sys/kernel/sched_rt_{runtime,period}_us.
RtBudget read_global_rt(const CgroupFs& fs) {
  RtBudget g;
  g.runtime_us = read_i64(fs.proc_sys_kernel() + "/sched_rt_runtime_us");
  g.period_us = read_i64(fs.proc_sys_kernel() + "/sched_rt_period_us");
  return g;
}

uint64_t child_ratio_sum(const std::string& dir, const std::string& skip) {
  uint64_t sum = 0;
  for (const auto& c : subdirs(dir)) {
    if (c == skip) continue;
    std::string p = dir;
    p += '/';
    p += c;
    auto rt = sys::try_read_file(p + "/cpu.rt_runtime_us");
    auto per = sys::try_read_file(p + "/cpu.rt_period_us");
    if (!rt || !per) continue;
    sum += rt_ratio(util::parse_int(sys::trim(*rt), -1, INT64_MAX, p),
                    util::parse_int(sys::trim(*per), 1, INT64_MAX, p));
  }
  return sum;
}

// Everything create() needs, computed without changing anything.
struct Plan {
  CgroupLayout layout = CgroupLayout::V1;
  std::vector<std::string> parent;  // components of req.parent
  std::vector<Hierarchy> hierarchies;
  std::vector<std::string> v2_controllers;  // to enable along the path (v2)
  std::optional<RtBudget> budget;           // v1 RT budget to give the leaf
  bool budget_defaulted = false;
  std::vector<RtLevel> rt_chain;  // root .. parent (cpu hierarchy)
  std::vector<int64_t> rt_new;    // planned runtimes, same indices
  std::vector<std::string> notes;
};

std::string level_path(const Hierarchy& h, const std::vector<std::string>& parent, size_t depth) {
  std::string p = h.base;
  for (size_t i = 0; i < depth; ++i) p += "/" + parent[i];
  return p;
}

// The deepest existing level of the parent chain (the root at worst).
std::string deepest_existing(const Hierarchy& h, const std::vector<std::string>& parent) {
  std::string best = h.base;
  for (size_t d = 1; d <= parent.size(); ++d) {
    std::string p = level_path(h, parent, d);
    if (!path_exists(p)) break;
    best = p;
  }
  return best;
}

void check_set(const CpuSet& want, const CpuSet& online, const CpuSet& allowed, const std::string& where,
               const char* what, const char* flag) {
  for (int c : want.cpus()) {
    if (!online.contains(c)) {
      usage_error(std::string(what) + " " + std::to_string(c) + " does not exist or is offline (online: " +
                  online.to_string() + "); pick " + flag + " from those");
    }
    if (!allowed.contains(c)) {
      usage_error(std::string(what) + " " + std::to_string(c) + " is outside the cpuset of " + where + " (" +
                  allowed.to_string() + "); pick " + flag + " within it");
    }
  }
}

void check_request(const CgroupRequest& req) {
  validate_id(req.id, "cell id");
  if (req.memory_bytes && *req.memory_bytes == 0) usage_error("--memory must be more than 0 bytes");
  if (req.pids_max && *req.pids_max < 1) usage_error("--pids-max must be at least 1");
  if (req.rt_budget) {
    const RtBudget& b = *req.rt_budget;
    if (b.period_us < 1 || b.period_us > INT_MAX) {
      usage_error("--rt-period must be between 1 and " + std::to_string(INT_MAX) + " us");
    }
    if (b.runtime_us < 1 || b.runtime_us > b.period_us) {
      usage_error("--rt-runtime must be between 1 us and the period (" + std::to_string(b.period_us) +
                  " us)");
    }
  }
  for (const auto& d : req.devices) {
    bool ok = (d.type == 'c' || d.type == 'b' || d.type == 'a') && d.major >= -1 && d.minor >= -1 &&
              !d.access.empty() && d.access.find_first_not_of("rwm") == std::string::npos;
    if (!ok)
      usage_error("bad device rule '" + device_rule_text(d) + "': want c|b MAJOR:MINOR with access rwm");
  }
}

void plan_v1_cpuset(const CgroupRequest& req, const Hierarchy& h, const std::vector<std::string>& parent) {
  std::string where = deepest_existing(h, parent);
  CpuSet online = CpuSet::parse(read_value(h.base + "/cpuset.effective_cpus"));
  if (!req.cpus.empty()) {
    // v1 wants a child's cpus within the parent's cpuset.cpus
    // (kernel/cgroup/cpuset-v1.c validate_change()).
    // An unfinished level with empty cpus is filled from its parent at
    // creation, so check against the nearest level that has cpus.
    std::string at = where;
    while (read_value(at + "/cpuset.cpus").empty() && at.size() > h.base.size()) {
      at = at.substr(0, at.rfind('/'));
    }
    check_set(req.cpus, online, CpuSet::parse(read_value(at + "/cpuset.cpus")), at, "CPU", "--cpus");
  }
  if (!req.mems.empty()) {
    CpuSet mems = CpuSet::parse(req.mems);
    CpuSet online_mems = CpuSet::parse(read_value(h.base + "/cpuset.effective_mems"));
    std::string at = where;
    while (read_value(at + "/cpuset.mems").empty() && at.size() > h.base.size()) {
      at = at.substr(0, at.rfind('/'));
    }
    check_set(mems, online_mems, CpuSet::parse(read_value(at + "/cpuset.mems")), at, "memory node", "--mems");
  }
}

void plan_v2_cpuset(const CgroupRequest& req, const Hierarchy& h, const std::vector<std::string>& parent) {
  // cpuset.cpus.effective exists only where the parent enabled cpuset; walk
  // up to the nearest level that has it (the root always does).
  std::string where = deepest_existing(h, parent);
  std::string at = where;
  while (!path_exists(at + "/cpuset.cpus.effective") && at.size() > h.base.size()) {
    at = at.substr(0, at.rfind('/'));
  }
  if (!req.cpus.empty()) {
    CpuSet online = CpuSet::parse(read_value(h.base + "/cpuset.cpus.effective"));
    check_set(req.cpus, online, CpuSet::parse(read_value(at + "/cpuset.cpus.effective")), where, "CPU",
              "--cpus");
  }
  if (!req.mems.empty()) {
    CpuSet online = CpuSet::parse(read_value(h.base + "/cpuset.mems.effective"));
    check_set(CpuSet::parse(req.mems), online, CpuSet::parse(read_value(at + "/cpuset.mems.effective")),
              where, "memory node", "--mems");
  }
}

void plan_rt(const CgroupRequest& req, const Hierarchy& cpu, Plan& plan, const CgroupFs& fs) {
  RtBudget global = read_global_rt(fs);
  if (req.rt_budget) {
    plan.budget = req.rt_budget;
  } else {
    plan.budget = default_rt_budget(global.period_us);
    plan.budget_defaulted = true;
  }
  const RtBudget& b = *plan.budget;
  if (global.runtime_us >= 0 &&
      rt_ratio(b.runtime_us, b.period_us) > rt_ratio(global.runtime_us, global.period_us)) {
    usage_error("RT budget " + std::to_string(b.runtime_us) + " us per " + std::to_string(b.period_us) +
                " us is more than sched_rt_runtime_us allows (" + std::to_string(global.runtime_us) +
                " per " + std::to_string(global.period_us) + " us, " + fs.proc_sys_kernel() +
                "/sched_rt_runtime_us); lower --rt-runtime");
  }
  // The chain: the hierarchy root, then every parent level.
  for (size_t d = 0; d <= plan.parent.size(); ++d) {
    RtLevel l;
    l.path = level_path(cpu, plan.parent, d);
    std::string next = d < plan.parent.size() ? plan.parent[d] : req.id;
    l.exists = path_exists(l.path);
    if (l.exists) {
      l.runtime_us = read_i64(l.path + "/cpu.rt_runtime_us");
      l.period_us = read_i64(l.path + "/cpu.rt_period_us");
      l.others_ratio = child_ratio_sum(l.path, next);
    } else {
      // kernel/sched/rt.c alloc_rt_sched_group(): a new group gets the
      // default (global) period and runtime 0.
      l.runtime_us = 0;
      l.period_us = global.period_us;
    }
    plan.rt_chain.push_back(l);
  }
  plan.rt_new = plan_rt_budget(plan.rt_chain, b, global);
}

Plan make_plan(const CgroupRequest& req, const std::string& root, CgroupFs& fs) {
  check_request(req);
  Plan plan;
  plan.parent = split_parent(req.parent);
  plan.layout = detect_layout(root);
  std::string rel = req.parent + "/" + req.id;
  const bool want_cpuset = !req.cpus.empty() || !req.mems.empty();
  const bool want_rt = req.wants_rt || req.rt_budget.has_value();

  if (plan.layout == CgroupLayout::V2) {
    Hierarchy h{"", root};
    std::string avail = read_value(root + "/cgroup.controllers");
    auto need = [&](bool wanted, const char* c, const char* flag) {
      if (!wanted) return;
      if (!has_word(avail, c)) {
        unsupported_error(std::string("cgroup v2 controller '") + c + "' is not available in " + root +
                          "/cgroup.controllers (needed for " + flag + ")");
      }
      plan.v2_controllers.emplace_back(c);
    };
    need(want_cpuset, "cpuset", "--cpus/--mems");
    need(req.memory_bytes.has_value(), "memory", "--memory");
    need(req.pids_max.has_value(), "pids", "--pids-max");
    if (want_cpuset) plan_v2_cpuset(req, h, plan.parent);
    if (path_exists(root + "/" + rel)) {
      usage_error("cgroup " + root + "/" + rel + " already exists: cell id '" + req.id +
                  "' is in use (pick another id, or run `rtcell gc` if it is a leftover)");
    }
    plan.hierarchies.push_back(h);
    plan.notes.push_back("cgroup v2 at " + root + ", cell group " + rel);
    if (req.restrict_devices) {
      plan.notes.push_back("device cgroup on v2: an eBPF filter allows only the minimal /dev set" +
                           std::string(req.devices.empty() ? "" : " and the --device nodes"));
    }
    if (want_rt) {
      plan.notes.push_back(
          "RT group budget not available on cgroup v2 (cpu.rt_runtime_us exists only on v1 with "
          "CONFIG_RT_GROUP_SCHED); RT tasks are bounded only by sched_rt_runtime_us");
    }
    return plan;
  }

  // v1 and hybrid: one hierarchy per controller, found as <root>/<name> (a
  // symlink such as cpu -> cpu,cpuacct is followed).
  std::vector<std::string> seen;
  for (const char* c : kV1Controllers) {
    std::string base = root + "/" + c;
    if (!path_exists(base + "/cgroup.procs")) continue;
    std::error_code ec;
    std::string real = std::filesystem::canonical(base, ec).string();
    if (!ec && std::find(seen.begin(), seen.end(), real) != seen.end()) continue;  // co-mounted
    seen.push_back(ec ? base : real);
    plan.hierarchies.push_back({c, base});
  }
  auto find = [&](const char* c) -> const Hierarchy* {
    for (const auto& h : plan.hierarchies)
      if (h.name == c) return &h;
    return nullptr;
  };
  auto need = [&](bool wanted, const char* c, const char* flag) {
    if (wanted && !find(c)) {
      unsupported_error(std::string("cgroup v1 controller '") + c + "' is not mounted at " + root + "/" + c +
                        " (needed for " + flag + ")");
    }
  };
  need(want_cpuset, "cpuset", "--cpus/--mems");
  need(req.memory_bytes.has_value(), "memory", "--memory");
  need(req.pids_max.has_value(), "pids", "--pids-max");
  need(req.restrict_devices, "devices", "the device allow-list");
  if (plan.hierarchies.empty()) unsupported_error("no cgroup controller found under " + root);
  for (const auto& h : plan.hierarchies) {
    if (path_exists(h.base + "/" + rel)) {
      usage_error("cgroup " + h.base + "/" + rel + " already exists: cell id '" + req.id +
                  "' is in use (pick another id, or run `rtcell gc` if it is a leftover)");
    }
  }
  if (const Hierarchy* cs = find("cpuset")) plan_v1_cpuset(req, *cs, plan.parent);

  std::string names;
  for (const auto& h : plan.hierarchies) names += (names.empty() ? "" : ",") + h.name;
  plan.notes.push_back(std::string("cgroup ") + to_string(plan.layout) + " (" + names + ") under " + root +
                       ", cell group " + rel);
  const Hierarchy* cpu = find("cpu");
  bool has_rt_sched = cpu && path_exists(cpu->base + "/cpu.rt_runtime_us");
  if (want_rt && !has_rt_sched) {
    plan.notes.push_back(
        "RT group scheduling is not in this kernel (no cpu.rt_runtime_us: CONFIG_RT_GROUP_SCHED off); RT "
        "tasks are bounded only by sched_rt_runtime_us");
  } else if (want_rt) {
    plan_rt(req, *cpu, plan, fs);
    const RtBudget& b = *plan.budget;
    std::string line = "RT budget " + std::to_string(b.runtime_us) + " us per " +
                       std::to_string(b.period_us) + " us period for " + cpu->base + "/" + rel;
    if (plan.budget_defaulted) {
      line += " (default: " + std::to_string(kDefaultRtPercent) + " %; set --rt-runtime/--rt-period)";
    }
    line += "; v1 rt_runtime_us is per CPU: on each CPU the cell's RT tasks run at most " +
            std::to_string(b.runtime_us) + " us of every " + std::to_string(b.period_us) +
            " us, then wait for the next period";
    plan.notes.push_back(line);
  }
  return plan;
}

}  // namespace

// ---------------------------------------------------------------------------
// State and undo

struct Cgroup::State {
  CgroupFs* fs = nullptr;
  std::string root;
  CgroupRequest req;
  Plan plan;
  struct Made {
    std::string path;
    bool rtcell_owned = false;  // created by us or an rtcell-named parent level
    bool leaf = false;
  };
  std::vector<Made> made;  // creation order (top-down per hierarchy)
  std::vector<std::string> leaves;
  std::string rt_leaf;                                       // cpu leaf whose runtime we set
  std::vector<std::pair<std::string, int64_t>> grown;        // cpu level, runtime added (top-down)
  std::vector<std::pair<std::string, std::string>> enabled;  // v2 level, controller we enabled
  bool destroyed = false;
  // A forked child inherits a copy of this handle; only the process that made
  // the cell may take it down (a child's destructors must not remove the
  // groups its parent still uses).
  pid_t owner = 0;
  sys::DirLock alive;  // shared flock on the first leaf while the cell lives
};

namespace {

// Reverts everything `s` recorded; returns the first error message ("" if
// none). Must be called with the root lock held.
std::string undo(Cgroup::State& s) {
  std::string first;
  auto fail = [&](const std::string& m) {
    if (first.empty()) first = m;
  };
  auto try_write = [&](const std::string& path, const std::string& text) {
    try {
      s.fs->write(path, text);
      return true;
    } catch (const std::exception& e) {
      fail(e.what());
      return false;
    }
  };
  s.alive.release();
  // 1. The cell's RT budget back to 0 before its group goes (the kernel would
  //    drop it with the group too; doing it first keeps the order explicit).
  if (!s.rt_leaf.empty() && path_exists(s.rt_leaf)) try_write(s.rt_leaf + "/cpu.rt_runtime_us", "0");
  s.rt_leaf.clear();
  // 2. The leaves.
  for (auto it = s.made.rbegin(); it != s.made.rend(); ++it) {
    if (!it->leaf) continue;
    int rc = s.fs->remove_dir(it->path);
    if (rc != 0 && rc != ENOENT) fail("cannot remove cgroup " + it->path + ": " + std::strerror(rc));
  }
  // 3. Shrink the parents we grew, deepest first.
  for (auto it = s.grown.rbegin(); it != s.grown.rend(); ++it) {
    const std::string& p = it->first;
    if (!path_exists(p)) continue;
    try {
      int64_t cur = read_i64(p + "/cpu.rt_runtime_us");
      int64_t period = read_i64(p + "/cpu.rt_period_us");
      int64_t want = rt_shrunk_runtime(cur, it->second, child_ratio_sum(p, ""), period);
      if (want != cur) try_write(p + "/cpu.rt_runtime_us", std::to_string(want));
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  s.grown.clear();
  // 4. Parent levels, deepest first, when empty and ours. EBUSY/ENOTEMPTY
  //    means another cell still lives there: leave it.
  for (auto it = s.made.rbegin(); it != s.made.rend(); ++it) {
    if (it->leaf || !it->rtcell_owned) continue;
    int rc = s.fs->remove_dir(it->path);
    if (rc != 0 && rc != ENOENT && rc != EBUSY && rc != ENOTEMPTY) {
      fail("cannot remove cgroup " + it->path + ": " + std::strerror(rc));
    }
  }
  s.made.clear();
  // 5. v2 controllers we enabled at levels that stay, when no child group
  //    could rely on them any more.
  for (auto it = s.enabled.rbegin(); it != s.enabled.rend(); ++it) {
    if (!path_exists(it->first) || !subdirs(it->first).empty()) continue;
    try {
      s.fs->write(it->first + "/cgroup.subtree_control", "-" + it->second);
    } catch (const std::exception&) {
      // Another user of the level may have started to need it: leave it on.
    }
  }
  s.enabled.clear();
  return first;
}

// Creates the cell's own group `dir/id` and records it for undo; a leaf
// that exists already means another cell has this id.
std::string make_leaf(Cgroup::State& s, const std::string& dir, const std::string& id) {
  std::string leaf = dir + "/" + id;
  int rc = s.fs->make_dir(leaf);
  if (rc == EEXIST) usage_error("cgroup " + leaf + " already exists: cell id '" + id + "' is in use");
  if (rc != 0) sys_error("cannot create cgroup " + leaf, rc);
  s.made.push_back({leaf, true, true});
  s.leaves.push_back(leaf);
  return leaf;
}

void build_v1(Cgroup::State& s) {
  const Plan& plan = s.plan;
  const CgroupRequest& req = s.req;
  for (const auto& h : plan.hierarchies) {
    for (size_t d = 1; d <= plan.parent.size(); ++d) {
      std::string p = level_path(h, plan.parent, d);
      int rc = s.fs->make_dir(p);
      if (rc == EEXIST) {
        // Shared parent, possibly made by a concurrent rtcell: fine. An
        // rtcell-named level is still ours to remove once empty.
        if (is_rtcell_name(plan.parent[d - 1])) s.made.push_back({p, true, false});
        // A level some earlier run made but never finished has empty cpus or
        // mems and would refuse the cell: fill it like a new one.
        if (h.name != "cpuset" ||
            (!read_value(p + "/cpuset.cpus").empty() && !read_value(p + "/cpuset.mems").empty())) {
          continue;
        }
      } else if (rc != 0) {
        sys_error("cannot create cgroup " + p, rc);
      } else {
        s.made.push_back({p, true, false});
      }
      if (h.name == "cpuset") {
        // v1 cpuset: a new group has empty cpus/mems and refuses tasks until
        // both are set (Documentation/admin-guide/cgroup-v1/cpusets.rst).
        std::string up = level_path(h, plan.parent, d - 1);
        s.fs->write(p + "/cpuset.cpus", read_value(up + "/cpuset.cpus"));
        s.fs->write(p + "/cpuset.mems", read_value(up + "/cpuset.mems"));
      }
    }
    std::string leaf = make_leaf(s, level_path(h, plan.parent, plan.parent.size()), req.id);
    if (!s.alive.held()) s.alive = sys::DirLock::acquire(leaf, true);
    std::string up = level_path(h, plan.parent, plan.parent.size());
    if (h.name == "cpuset") {
      s.fs->write(leaf + "/cpuset.cpus",
                  req.cpus.empty() ? read_value(up + "/cpuset.cpus") : req.cpus.to_string());
      s.fs->write(leaf + "/cpuset.mems", req.mems.empty() ? read_value(up + "/cpuset.mems") : req.mems);
    } else if (h.name == "memory" && req.memory_bytes) {
      s.fs->write(leaf + "/memory.limit_in_bytes", std::to_string(*req.memory_bytes));
    } else if (h.name == "pids" && req.pids_max) {
      s.fs->write(leaf + "/pids.max", std::to_string(*req.pids_max));
    } else if (h.name == "devices" && req.restrict_devices) {
      // Documentation/admin-guide/cgroup-v1/devices.rst: deny all, then
      // allow the minimal set and each requested device.
      s.fs->write(leaf + "/devices.deny", "a");
      for (const auto& r : minimal_devices()) s.fs->write(leaf + "/devices.allow", device_rule_text(r));
      for (const auto& r : req.devices) s.fs->write(leaf + "/devices.allow", device_rule_text(r));
    } else if (h.name == "cpu" && plan.budget) {
      // Parents first (top-down), so each write fits its parent's share.
      for (size_t d = 1; d < plan.rt_chain.size(); ++d) {
        std::string p = level_path(h, plan.parent, d);
        int64_t cur = read_i64(p + "/cpu.rt_runtime_us");
        if (plan.rt_new[d] > cur) {
          s.fs->write(p + "/cpu.rt_runtime_us", std::to_string(plan.rt_new[d]));
          s.grown.emplace_back(p, plan.rt_new[d] - cur);
        }
      }
      s.fs->write(leaf + "/cpu.rt_period_us", std::to_string(plan.budget->period_us));
      s.rt_leaf = leaf;
      s.fs->write(leaf + "/cpu.rt_runtime_us", std::to_string(plan.budget->runtime_us));
    }
  }
}

void build_v2(Cgroup::State& s) {
  const Plan& plan = s.plan;
  const CgroupRequest& req = s.req;
  const Hierarchy& h = plan.hierarchies.front();
  for (size_t d = 0; d <= plan.parent.size(); ++d) {
    std::string p = level_path(h, plan.parent, d);
    // Controllers reach a group only when every ancestor lists them in
    // cgroup.subtree_control (Documentation/admin-guide/cgroup-v2.rst,
    // "Enabling and Disabling").
    std::string on = read_value(p + "/cgroup.subtree_control");
    bool made_here = std::any_of(s.made.begin(), s.made.end(), [&](const auto& m) { return m.path == p; });
    for (const auto& c : plan.v2_controllers) {
      if (has_word(on, c)) continue;
      s.fs->write(p + "/cgroup.subtree_control", "+" + c);
      if (!made_here) s.enabled.emplace_back(p, c);
    }
    if (d == plan.parent.size()) break;
    std::string next = level_path(h, plan.parent, d + 1);
    int rc = s.fs->make_dir(next);
    if (rc == EEXIST) {
      if (is_rtcell_name(plan.parent[d])) s.made.push_back({next, true, false});
      continue;
    }
    if (rc != 0) sys_error("cannot create cgroup " + next, rc);
    s.made.push_back({next, true, false});
  }
  std::string leaf = make_leaf(s, level_path(h, plan.parent, plan.parent.size()), req.id);
  s.alive = sys::DirLock::acquire(leaf, true);
  if (!req.cpus.empty()) s.fs->write(leaf + "/cpuset.cpus", req.cpus.to_string());
  if (!req.mems.empty()) s.fs->write(leaf + "/cpuset.mems", req.mems);
  if (req.memory_bytes) s.fs->write(leaf + "/memory.max", std::to_string(*req.memory_bytes));
  if (req.pids_max) s.fs->write(leaf + "/pids.max", std::to_string(*req.pids_max));
  if (req.restrict_devices) {
    std::vector<DeviceRule> rules = minimal_devices();
    rules.insert(rules.end(), req.devices.begin(), req.devices.end());
    s.fs->attach_device_filter(leaf, rules);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API

const char* to_string(CgroupLayout layout) {
  switch (layout) {
    case CgroupLayout::V1:
      return "v1";
    case CgroupLayout::Hybrid:
      return "hybrid";
    case CgroupLayout::V2:
      return "v2";
  }
  return "?";
}

void CgroupFs::write(const std::string& path, const std::string& text) {
  sys::write_file(path, text);
}

void CgroupFs::attach_device_filter(const std::string& dir, const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> prog = device_filter_program(rules);
  sys::Fd fd = sys::load_device_program(prog.data(), prog.size());
  sys::attach_device_program(dir, fd);
}

CgroupFs& CgroupFs::kernel() {
  static KernelFs fs;
  return fs;
}

CgroupLayout detect_layout(const std::string& root) {
  switch (sys::fs_kind(root)) {
    case sys::FsKind::Cgroup2:
      return CgroupLayout::V2;
    case sys::FsKind::Missing:
      unsupported_error("no cgroup filesystem at " + root + " (mount cgroup or cgroup2 there)");
    default:
      break;
  }
  if (sys::fs_kind(root + "/unified") == sys::FsKind::Cgroup2) return CgroupLayout::Hybrid;
  if (path_exists(root + "/cgroup.controllers")) return CgroupLayout::V2;  // a fake v2 root
  return CgroupLayout::V1;
}

Cgroup::Cgroup() = default;
Cgroup::Cgroup(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
Cgroup::Cgroup(Cgroup&&) noexcept = default;
Cgroup& Cgroup::operator=(Cgroup&& o) noexcept {
  if (this != &o) {
    destroy();
    state_ = std::move(o.state_);
  }
  return *this;
}
Cgroup::~Cgroup() {
  destroy();
}

void Cgroup::validate(const CgroupRequest& req, const std::string& root) {
  validate(req, root, CgroupFs::kernel());
}

void Cgroup::validate(const CgroupRequest& req, const std::string& root, CgroupFs& fs) {
  (void)make_plan(req, root, fs);
}

Cgroup Cgroup::create(const CgroupRequest& req, const std::string& root) {
  return create(req, root, CgroupFs::kernel());
}

Cgroup Cgroup::create(const CgroupRequest& req, const std::string& root, CgroupFs& fs) {
  auto s = std::make_unique<State>();
  s->fs = &fs;
  s->root = root;
  s->req = req;
  s->owner = ::getpid();
  sys::DirLock lock = sys::DirLock::acquire(root);
  s->plan = make_plan(req, root, fs);  // under the lock: the plan stays true
  try {
    if (s->plan.layout == CgroupLayout::V2) {
      build_v2(*s);
    } else {
      build_v1(*s);
    }
  } catch (...) {
    undo(*s);
    throw;
  }
  return Cgroup(std::move(s));
}

void Cgroup::attach(pid_t pid) {
  if (!state_ || state_->destroyed) usage_error("cgroup: attach to a destroyed cell");
  for (const auto& leaf : state_->leaves) state_->fs->write(leaf + "/cgroup.procs", std::to_string(pid));
}

std::vector<std::string> Cgroup::notes() const {
  return state_ ? state_->plan.notes : std::vector<std::string>{};
}

CgroupLayout Cgroup::layout() const {
  return state_ ? state_->plan.layout : CgroupLayout::V1;
}

std::vector<std::string> Cgroup::paths() const {
  return state_ ? state_->leaves : std::vector<std::string>{};
}

std::optional<RtBudget> Cgroup::rt_budget() const {
  if (!state_) return std::nullopt;
  return state_->plan.budget;
}

void Cgroup::destroy() noexcept {
  try {
    destroy_checked();
  } catch (...) {
    // Best effort by contract; destroy_checked() reports.
  }
}

void Cgroup::destroy_checked() {
  if (!state_ || state_->destroyed) return;
  state_->destroyed = true;
  if (state_->owner != ::getpid()) return;
  sys::DirLock lock = sys::DirLock::acquire(state_->root);
  std::string err = undo(*state_);
  if (!err.empty()) throw Error(ErrorKind::System, err);
}

// ---------------------------------------------------------------------------
// gc

std::vector<std::string> collect_garbage(const std::string& parent, const std::string& root) {
  return collect_garbage(parent, root, CgroupFs::kernel());
}

std::vector<std::string> collect_garbage(const std::string& parent, const std::string& root, CgroupFs& fs) {
  std::vector<std::string> parts = split_parent(parent);
  CgroupLayout layout = detect_layout(root);
  std::vector<Hierarchy> hs;
  if (layout == CgroupLayout::V2) {
    hs.push_back({"", root});
  } else {
    for (const char* c : kV1Controllers)
      if (path_exists(std::string(root) + "/" + c + "/cgroup.procs")) hs.push_back({c, root + "/" + c});
  }
  sys::DirLock lock = sys::DirLock::acquire(root);
  // Candidate ids: every group under <parent> in any hierarchy.
  std::vector<std::string> ids;
  for (const auto& h : hs)
    for (const auto& id : subdirs(level_path(h, parts, parts.size())))
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());

  std::vector<std::string> removed;
  std::string first_error;
  int first_errno = 0;
  for (const auto& id : ids) {
    bool idle = true;
    // A live rtcell holds a shared flock on its cell's group from creation
    // on, before any process is attached; a killed one holds nothing.
    for (const auto& h : hs) {
      std::string g = level_path(h, parts, parts.size()) + "/" + id;
      if (!path_exists(g)) continue;
      idle = sys::DirLock::try_acquire(g).held();
      break;
    }
    for (const auto& h : hs) {
      std::string g = level_path(h, parts, parts.size()) + "/" + id;
      if (path_exists(g) && (!procs_empty(g) || !subdirs(g).empty())) idle = false;
    }
    if (!idle) continue;
    bool ok = true;
    for (const auto& h : hs) {
      std::string g = level_path(h, parts, parts.size()) + "/" + id;
      if (!path_exists(g)) continue;
      if (h.name == "cpu" && path_exists(g + "/cpu.rt_runtime_us")) {
        try {
          if (read_i64(g + "/cpu.rt_runtime_us") != 0) fs.write(g + "/cpu.rt_runtime_us", "0");
        } catch (const std::exception& e) {
          if (first_error.empty()) first_error = e.what();
        }
      }
      int rc = fs.remove_dir(g);
      if (rc != 0 && rc != ENOENT) {
        ok = false;
        if (first_error.empty()) {
          first_error = "cannot remove cgroup " + g + ": " + std::strerror(rc);
          first_errno = rc;
        }
      }
    }
    if (ok) {
      std::string r = parent;
      r += '/';
      r += id;
      removed.push_back(std::move(r));
    }
  }
  // Give the budget back and drop rtcell-named parents left empty, deepest
  // first; stop at the first level that is not rtcell's.
  for (const auto& h : hs) {
    for (size_t d = parts.size(); d >= 1; --d) {
      if (!is_rtcell_name(parts[d - 1])) break;
      std::string p = level_path(h, parts, d);
      if (!path_exists(p)) continue;
      if (h.name == "cpu" && path_exists(p + "/cpu.rt_runtime_us")) {
        try {
          int64_t cur = read_i64(p + "/cpu.rt_runtime_us");
          int64_t want = rt_runtime_for_ratio(child_ratio_sum(p, ""), read_i64(p + "/cpu.rt_period_us"));
          if (want < cur) fs.write(p + "/cpu.rt_runtime_us", std::to_string(want));
        } catch (const std::exception& e) {
          if (first_error.empty()) first_error = e.what();
        }
      }
      if (subdirs(p).empty() && procs_empty(p)) (void)fs.remove_dir(p);
    }
  }
  if (!first_error.empty() && removed.empty()) {
    bool priv = first_errno == EPERM || first_errno == EACCES;
    throw Error(priv ? ErrorKind::Privilege : ErrorKind::System,
                priv ? first_error + " (run rtcell gc as root)" : first_error, first_errno);
  }
  return removed;
}

// ---------------------------------------------------------------------------
// Pure helpers

void validate_id(std::string_view id, std::string_view what) {
  auto bad = [&](const std::string& why) {
    usage_error(std::string(what) + " '" + std::string(id) + "' " + why + "; use 1-64 of A-Z a-z 0-9 _ . -");
  };
  if (id.empty()) bad("is empty");
  if (id.size() > 64) bad("is too long");
  if (id == "." || id == "..") bad("is not a name");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-';
    if (!ok) bad("has a character outside the allowed set");
  }
}

std::vector<std::string> split_parent(std::string_view parent) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= parent.size()) {
    size_t j = parent.find('/', i);
    if (j == std::string_view::npos) j = parent.size();
    std::string_view part = parent.substr(i, j - i);
    if (!part.empty()) {
      validate_id(part, "--cgroup-root component");
      out.emplace_back(part);
    }
    i = j + 1;
  }
  if (out.empty()) usage_error("--cgroup-root '" + std::string(parent) + "' is empty; give e.g. rtcell");
  return out;
}

uint64_t rt_ratio(int64_t runtime_us, int64_t period_us) {
  if (runtime_us < 0) return kBwUnit;  // RUNTIME_INF
  if (period_us <= 0) return 0;
  // kernel/sched/core.c to_ratio() works in ns; the 1000s cancel exactly.
  return (static_cast<uint64_t>(runtime_us) << kBwShift) / static_cast<uint64_t>(period_us);
}

int64_t rt_runtime_for_ratio(uint64_t ratio, int64_t period_us) {
  if (period_us <= 0) return 0;
  // floor(r * 2^20 / p) >= ratio  <=>  r >= ratio * p / 2^20
  auto p = static_cast<uint64_t>(period_us);
  if (ratio > (UINT64_MAX - kBwUnit) / p) return INT64_MAX;  // no real group gets near this
  return static_cast<int64_t>((ratio * p + kBwUnit - 1) >> kBwShift);
}

RtBudget default_rt_budget(int64_t period_us) {
  return RtBudget{period_us * kDefaultRtPercent / 100, period_us};
}

namespace {

// plan_rt_budget() without messages: the new runtimes, or nullopt.
std::optional<std::vector<int64_t>> try_plan(const std::vector<RtLevel>& chain, RtBudget leaf,
                                             RtBudget global, std::string* why) {
  uint64_t global_ratio = global.runtime_us < 0 ? kBwUnit : rt_ratio(global.runtime_us, global.period_us);
  std::vector<int64_t> out;
  out.reserve(chain.size());
  for (const auto& l : chain) out.push_back(l.runtime_us);
  uint64_t child = rt_ratio(leaf.runtime_us, leaf.period_us);
  if (child > global_ratio || leaf.runtime_us > leaf.period_us) {
    if (why) *why = "global";
    return std::nullopt;
  }
  for (size_t i = chain.size(); i-- > 0;) {
    const RtLevel& l = chain[i];
    uint64_t need = l.others_ratio + child;
    if (rt_ratio(l.runtime_us, l.period_us) >= need) return out;  // covered: nothing above changes
    if (i == 0) {
      if (why) *why = chain[0].path;
      return std::nullopt;  // the root is never changed
    }
    int64_t rt = rt_runtime_for_ratio(need, l.period_us);
    if (rt > l.period_us || rt_ratio(rt, l.period_us) > global_ratio) {
      if (why) *why = l.path;
      return std::nullopt;
    }
    out[i] = rt;
    child = rt_ratio(rt, l.period_us);
  }
  return out;
}

}  // namespace

std::vector<int64_t> plan_rt_budget(const std::vector<RtLevel>& chain, RtBudget leaf, RtBudget global) {
  if (chain.empty()) usage_error("RT budget: empty cgroup chain");
  std::string why;
  auto plan = try_plan(chain, leaf, global, &why);
  if (plan) return *plan;
  if (why == "global") {
    usage_error("RT budget " + std::to_string(leaf.runtime_us) + " us per " + std::to_string(leaf.period_us) +
                " us is more than sched_rt_runtime_us allows (" + std::to_string(global.runtime_us) +
                " per " + std::to_string(global.period_us) + " us); lower --rt-runtime");
  }
  int64_t free_us = rt_max_leaf_runtime(chain, leaf.period_us, global);
  usage_error("RT budget " + std::to_string(leaf.runtime_us) + " us per " + std::to_string(leaf.period_us) +
              " us does not fit under " + why + ": the free RT share is " + std::to_string(free_us) +
              " us per " + std::to_string(leaf.period_us) +
              " us (other groups hold the rest of sched_rt_runtime_us); lower --rt-runtime, or remove "
              "leftover cells with `rtcell gc`");
}

int64_t rt_max_leaf_runtime(const std::vector<RtLevel>& chain, int64_t period_us, RtBudget global) {
  int64_t lo = 0, hi = period_us;  // invariant: lo fits (or is 0), hi+1 does not
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (try_plan(chain, RtBudget{mid, period_us}, global, nullptr)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

int64_t rt_shrunk_runtime(int64_t current_us, int64_t grown_by_us, uint64_t children_ratio,
                          int64_t period_us) {
  if (current_us < 0) return current_us;  // unlimited: never ours to touch
  int64_t floor_us = rt_runtime_for_ratio(children_ratio, period_us);
  int64_t want = std::max<int64_t>(current_us - grown_by_us, 0);
  return std::min(current_us, std::max(want, floor_us));
}

}  // namespace rtcell::cell
