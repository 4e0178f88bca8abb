// One writer per controller, each knowing the controller's files on both
// layouts, in the manner of crun's src/libcrun/cgroup-resources.c. A writer
// checks its part of the request before anything exists (plan), prepares the
// levels of the parent chain where the layout needs it (init_level: only v1
// cpuset does), and writes the cell's limits (apply). The backends
// (cgroup_backends.cpp) call them in table order.
//
//   controller  v1 files                         v2 files
//   cpuset      cpuset.cpus/mems on every level  cpuset.cpus/mems on the leaf
//   cpu (RT)    cpu.rt_runtime_us/rt_period_us   (none: no RT group budget)
//   memory      memory.limit_in_bytes            memory.max
//   pids        pids.max                         pids.max
//   devices     devices.deny/devices.allow       an eBPF program (cgroup_devices.hpp)
#include <climits>
#include <string>

#include "cell/cgroup_devices.hpp"
#include "cell/cgroup_internal.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cell::detail {

namespace {

bool v2(const Cgroup::State& s) {
  return s.journal.layout == CgroupLayout::V2;
}

// ---- cpuset ---------------------------------------------------------------

bool cpuset_needed(const CgroupRequest& req, CgroupLayout /*layout*/) {
  return !req.cpus.empty() || !req.mems.empty();
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

// v1 wants a child's cpus within the parent's cpuset.cpus
// (kernel/cgroup/cpuset-v1.c validate_change()). An unfinished level with
// empty cpus is filled from its parent at creation, so check against the
// nearest level that has them.
std::string nearest_with(const Hierarchy& h, std::string at, const std::string& file) {
  auto value = [&] {
    std::string p = at;
    p += '/';
    p += file;
    return read_value(p);
  };
  while (value().empty() && at.size() > h.base.size()) at.resize(at.rfind('/'));
  return at;
}

void cpuset_plan_v1(const CgroupRequest& req, const Hierarchy& h, const Plan& plan) {
  std::string where = deepest_existing(h, plan.parent);
  if (!req.cpus.empty()) {
    CpuSet online = CpuSet::parse(read_value(h.base + "/cpuset.effective_cpus"));
    std::string at = nearest_with(h, where, "cpuset.cpus");
    check_set(req.cpus, online, CpuSet::parse(read_value(at + "/cpuset.cpus")), at, "CPU",
              "resources.cpuset.cpus");
  }
  if (!req.mems.empty()) {
    CpuSet online = CpuSet::parse(read_value(h.base + "/cpuset.effective_mems"));
    std::string at = nearest_with(h, where, "cpuset.mems");
    check_set(CpuSet::parse(req.mems), online, CpuSet::parse(read_value(at + "/cpuset.mems")), at,
              "memory node", "resources.cpuset.mems");
  }
}

void cpuset_plan_v2(const CgroupRequest& req, const Hierarchy& h, const Plan& plan) {
  // cpuset.cpus.effective exists only where the parent enabled cpuset; walk
  // up to the nearest level that has it (the root always does).
  std::string where = deepest_existing(h, plan.parent);
  std::string at = where;
  while (!path_exists(at + "/cpuset.cpus.effective") && at.size() > h.base.size()) {
    at = at.substr(0, at.rfind('/'));
  }
  if (!req.cpus.empty()) {
    CpuSet online = CpuSet::parse(read_value(h.base + "/cpuset.cpus.effective"));
    check_set(req.cpus, online, CpuSet::parse(read_value(at + "/cpuset.cpus.effective")), where, "CPU",
              "resources.cpuset.cpus");
  }
  if (!req.mems.empty()) {
    CpuSet online = CpuSet::parse(read_value(h.base + "/cpuset.mems.effective"));
    check_set(CpuSet::parse(req.mems), online, CpuSet::parse(read_value(at + "/cpuset.mems.effective")),
              where, "memory node", "resources.cpuset.mems");
  }
}

void cpuset_plan(const CgroupRequest& req, const Hierarchy& h, Plan& plan, const CgroupFs& /*fs*/) {
  if (plan.layout == CgroupLayout::V2) {
    if (cpuset_needed(req, plan.layout)) cpuset_plan_v2(req, h, plan);
  } else {
    cpuset_plan_v1(req, h, plan);
  }
}

// v1 only: a new cpuset group has empty cpus/mems and refuses tasks until both
// are set (Documentation/admin-guide/cgroup-v1/cpusets.rst), so every level
// copies its parent's. A level some earlier run made but never finished is
// filled the same way. v2 groups inherit their parent's effective set.
void cpuset_init_level(Cgroup::State& s, const std::string& level, const std::string& up, bool made) {
  if (v2(s)) return;
  if (!made && !read_value(level + "/cpuset.cpus").empty() && !read_value(level + "/cpuset.mems").empty()) {
    return;
  }
  s.fs->write(level + "/cpuset.cpus", read_value(up + "/cpuset.cpus"));
  s.fs->write(level + "/cpuset.mems", read_value(up + "/cpuset.mems"));
}

void cpuset_apply(Cgroup::State& s, const Hierarchy& /*h*/, const std::string& leaf) {
  const CgroupRequest& req = s.req;
  if (v2(s)) {
    if (!req.cpus.empty()) s.fs->write(leaf + "/cpuset.cpus", req.cpus.to_string());
    if (!req.mems.empty()) s.fs->write(leaf + "/cpuset.mems", req.mems);
    return;
  }
  std::string up = leaf.substr(0, leaf.rfind('/'));
  s.fs->write(leaf + "/cpuset.cpus",
              req.cpus.empty() ? read_value(up + "/cpuset.cpus") : req.cpus.to_string());
  s.fs->write(leaf + "/cpuset.mems", req.mems.empty() ? read_value(up + "/cpuset.mems") : req.mems);
}

// ---- cpu: the RT group budget ---------------------------------------------

bool wants_rt(const CgroupRequest& req) {
  return req.wants_rt || req.rt_budget.has_value();
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
                "/sched_rt_runtime_us); lower resources.cpu.realtimeRuntime");
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

void cpu_plan(const CgroupRequest& req, const Hierarchy& cpu, Plan& plan, const CgroupFs& fs) {
  if (!wants_rt(req)) return;
  if (plan.layout == CgroupLayout::V2) {
    plan.notes.push_back(
        "RT group budget not available on cgroup v2 (cpu.rt_runtime_us exists only on v1 with "
        "CONFIG_RT_GROUP_SCHED); RT tasks are bounded only by sched_rt_runtime_us");
    return;
  }
  if (!path_exists(cpu.base + "/cpu.rt_runtime_us")) {
    plan.notes.push_back(
        "RT group scheduling is not in this kernel (no cpu.rt_runtime_us: CONFIG_RT_GROUP_SCHED off); RT "
        "tasks are bounded only by sched_rt_runtime_us");
    return;
  }
  plan_rt(req, cpu, plan, fs);
  const RtBudget& b = *plan.budget;
  std::string line = "RT budget " + std::to_string(b.runtime_us) + " us per " + std::to_string(b.period_us) +
                     " us period for " + cpu.base + "/" + req.parent + "/" + req.id;
  if (plan.budget_defaulted) {
    line += " (default: " + std::to_string(kDefaultRtPercent) +
            " %; set resources.cpu.realtimeRuntime/realtimePeriod)";
  }
  line += "; v1 rt_runtime_us is per CPU: on each CPU the cell's RT tasks run at most " +
          std::to_string(b.runtime_us) + " us of every " + std::to_string(b.period_us) +
          " us, then wait for the next period";
  plan.notes.push_back(line);
}

// Parents first (top-down), so that each write fits its parent's share; the
// cell's own runtime last (kernel/sched/rt.c tg_rt_schedulable()).
void cpu_apply(Cgroup::State& s, const Hierarchy& h, const std::string& leaf) {
  const Plan& plan = s.plan;
  if (v2(s) || !plan.budget) return;
  for (size_t d = 1; d < plan.rt_chain.size(); ++d) {
    std::string p = level_path(h, plan.parent, d);
    int64_t cur = read_i64(p + "/cpu.rt_runtime_us");
    if (plan.rt_new[d] > cur) grow_runtime(s, p, cur, plan.rt_new[d]);
  }
  note_rt_leaf(s, leaf);
  s.fs->write(leaf + "/cpu.rt_period_us", std::to_string(plan.budget->period_us));
  s.fs->write(leaf + "/cpu.rt_runtime_us", std::to_string(plan.budget->runtime_us));
}

// ---- memory, pids ---------------------------------------------------------

bool memory_needed(const CgroupRequest& req, CgroupLayout /*layout*/) {
  return req.memory_bytes.has_value();
}

void memory_apply(Cgroup::State& s, const Hierarchy& /*h*/, const std::string& leaf) {
  if (!s.req.memory_bytes) return;
  const char* file = v2(s) ? "/memory.max" : "/memory.limit_in_bytes";
  s.fs->write(leaf + file, std::to_string(*s.req.memory_bytes));
}

bool pids_needed(const CgroupRequest& req, CgroupLayout /*layout*/) {
  return req.pids_max.has_value();
}

void pids_apply(Cgroup::State& s, const Hierarchy& /*h*/, const std::string& leaf) {
  if (s.req.pids_max) s.fs->write(leaf + "/pids.max", std::to_string(*s.req.pids_max));
}

// ---- devices --------------------------------------------------------------

bool devices_needed(const CgroupRequest& req, CgroupLayout layout) {
  return req.restrict_devices && layout != CgroupLayout::V2;  // v2: bpf(2), no controller
}

void devices_plan(const CgroupRequest& req, const Hierarchy& /*h*/, Plan& plan, const CgroupFs& /*fs*/) {
  if (plan.layout == CgroupLayout::V2 && req.restrict_devices) {
    plan.notes.push_back("device cgroup on v2: an eBPF filter allows only the minimal /dev set" +
                         std::string(req.devices.empty() ? "" : " and the requested device nodes"));
  }
}

void devices_apply(Cgroup::State& s, const Hierarchy& /*h*/, const std::string& leaf) {
  const CgroupRequest& req = s.req;
  if (!req.restrict_devices) return;
  if (v2(s)) {
    std::vector<DeviceRule> rules = minimal_devices();
    rules.insert(rules.end(), req.devices.begin(), req.devices.end());
    s.fs->attach_device_filter(leaf, rules);
    return;
  }
  // Documentation/admin-guide/cgroup-v1/devices.rst: deny all, then allow the
  // minimal set and each requested device.
  s.fs->write(leaf + "/devices.deny", "a");
  for (const auto& r : minimal_devices()) s.fs->write(leaf + "/devices.allow", device_rule_text(r));
  for (const auto& r : req.devices) s.fs->write(leaf + "/devices.allow", device_rule_text(r));
}

}  // namespace

const std::vector<ControllerWriter>& controller_writers() {
  static const std::vector<ControllerWriter> kWriters = {
      {"cpuset", cpuset_needed, "resources.cpuset", true, cpuset_plan, cpuset_init_level, cpuset_apply},
      {"cpu", nullptr, "resources.cpu.realtimeRuntime", false, cpu_plan, nullptr, cpu_apply},
      {"memory", memory_needed, "resources.memory", true, nullptr, nullptr, memory_apply},
      {"pids", pids_needed, "resources.pids", true, nullptr, nullptr, pids_apply},
      {"devices", devices_needed, "the device allow-list", false, devices_plan, nullptr, devices_apply},
  };
  return kWriters;
}

const ControllerWriter* find_writer(const std::string& name) {
  for (const auto& w : controller_writers())
    if (name == w.name) return &w;
  return nullptr;
}

}  // namespace rtcell::cell::detail

namespace rtcell::cell {

namespace {

// The cell's leaf that holds `file` (v1: one leaf per controller).
std::string leaf_with(const CgroupJournal& j, const std::string& file, const std::string& what) {
  for (const auto& m : j.made)
    if (m.leaf && detail::path_exists(m.path + "/" + file)) return m.path + "/" + file;
  usage_error("the cell has no " + what +
              " cgroup (it was created without that limit): recreate it with the limit to change it later");
}

}  // namespace

void update_cgroups(const CgroupJournal& j, const CgroupUpdate& u) {
  const bool v2 = j.layout == CgroupLayout::V2;
  // Every file is found before anything is written: a cell that cannot take
  // one of the limits gets none of them.
  std::vector<std::pair<std::string, std::string>> writes;
  if (!u.cpus.empty()) writes.emplace_back(leaf_with(j, "cpuset.cpus", "cpuset"), u.cpus.to_string());
  if (!u.mems.empty()) writes.emplace_back(leaf_with(j, "cpuset.mems", "cpuset"), u.mems);
  if (u.memory_bytes)
    writes.emplace_back(leaf_with(j, v2 ? "memory.max" : "memory.limit_in_bytes", "memory"),
                        std::to_string(*u.memory_bytes));
  if (u.pids_max) writes.emplace_back(leaf_with(j, "pids.max", "pids"), std::to_string(*u.pids_max));
  for (const auto& [file, value] : writes) CgroupFs::kernel().write(file, value);
}

}  // namespace rtcell::cell
