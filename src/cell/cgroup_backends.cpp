// The cgroup backends as a table, one entry per layout (crun's
// libcrun_cgroup_manager). What differs between layouts is the shape of the
// tree, not the controllers' files (cgroup_controllers.cpp knows those):
//
// - v1 and hybrid: one hierarchy per controller, <root>/<ctrl>/<parent>/<id>;
//   the cell gets a group in every hierarchy rtcell uses, and every level of
//   the parent chain exists in each. Hybrid is v1 with a cgroup2 mount at
//   <root>/unified that holds no controller rtcell uses.
// - v2: one tree, <root>/<parent>/<id>; a controller reaches a group only
//   when every ancestor lists it in cgroup.subtree_control
//   (Documentation/admin-guide/cgroup-v2.rst, "Enabling and Disabling").
//
// Both undo through the journal (undo_journal in cgroup.cpp).
#include <sys/types.h>

#include <algorithm>
#include <string>

#include "cell/cgroup_internal.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cell::detail {

namespace {

void refuse_existing(const std::string& group, const std::string& id) {
  usage_error("cgroup " + group + " already exists: cell id '" + id +
              "' is in use (pick another id, or run `rtcell gc` if it is a leftover)");
}

// ---- v1 / hybrid ----------------------------------------------------------

void v1_plan(const CgroupRequest& req, Plan& plan, CgroupFs& fs) {
  const std::string& root = plan.root;
  plan.hierarchies = v1_hierarchies(root);
  auto find = [&](const std::string& name) -> const Hierarchy* {
    for (const auto& h : plan.hierarchies)
      if (h.name == name) return &h;
    return nullptr;
  };
  for (const auto& w : controller_writers()) {
    if (w.needed && w.needed(req, plan.layout) && !find(w.name)) {
      unsupported_error(std::string("cgroup v1 controller '") + w.name + "' is not mounted at " + root + "/" +
                        w.name + " (needed for " + w.what + ")");
    }
  }
  if (plan.hierarchies.empty()) unsupported_error("no cgroup controller found under " + root);
  std::string rel = req.parent + "/" + req.id;
  for (const auto& h : plan.hierarchies)
    if (path_exists(h.base + "/" + rel)) refuse_existing(h.base + "/" + rel, req.id);

  std::string names;
  for (const auto& h : plan.hierarchies) names += (names.empty() ? "" : ",") + h.name;
  plan.notes.push_back(std::string("cgroup ") + to_string(plan.layout) + " (" + names + ") under " + root +
                       ", cell group " + rel);
  // Every writer plans, mounted or not: cpu says so when RT is wanted but
  // the kernel has no cpu.rt_runtime_us; a writer whose controller is needed
  // is mounted by now.
  for (const auto& w : controller_writers()) {
    if (!w.plan) continue;
    const Hierarchy* h = find(w.name);
    w.plan(req, h ? *h : Hierarchy{w.name, root + "/" + w.name}, plan, fs);
  }
}

void v1_create(Cgroup::State& s) {
  const Plan& plan = s.plan;
  for (const auto& h : plan.hierarchies) {
    const ControllerWriter* w = find_writer(h.name);
    for (size_t d = 1; d <= plan.parent.size(); ++d) {
      std::string p = level_path(h, plan.parent, d);
      bool made = make_group(s, p, false);
      if (w && w->init_level) w->init_level(s, p, level_path(h, plan.parent, d - 1), made);
    }
    std::string leaf = level_path(h, plan.parent, plan.parent.size()) + "/" + s.req.id;
    make_group(s, leaf, true);
    if (!s.alive.held()) s.alive = sys::DirLock::acquire(leaf, true);
  }
}

void v1_apply(Cgroup::State& s) {
  const Plan& plan = s.plan;
  for (const auto& h : plan.hierarchies) {
    const ControllerWriter* w = find_writer(h.name);
    if (!w || !w->apply) continue;
    w->apply(s, h, level_path(h, plan.parent, plan.parent.size()) + "/" + s.req.id);
  }
}

// ---- v2 -------------------------------------------------------------------

void v2_plan(const CgroupRequest& req, Plan& plan, CgroupFs& fs) {
  const std::string& root = plan.root;
  Hierarchy h{"", root};
  std::string avail = read_value(root + "/cgroup.controllers");
  for (const auto& w : controller_writers()) {
    if (!w.needed || !w.needed(req, plan.layout)) continue;
    if (!has_word(avail, w.name)) {
      unsupported_error(std::string("cgroup v2 controller '") + w.name + "' is not available in " + root +
                        "/cgroup.controllers (needed for " + w.what + ")");
    }
    if (w.v2_controller) plan.v2_controllers.emplace_back(w.name);
  }
  std::string rel = req.parent + "/" + req.id;
  if (path_exists(root + "/" + rel)) refuse_existing(root + "/" + rel, req.id);
  plan.hierarchies.push_back(h);
  plan.notes.push_back("cgroup v2 at " + root + ", cell group " + rel);
  for (const auto& w : controller_writers())
    if (w.plan) w.plan(req, h, plan, fs);
}

void v2_create(Cgroup::State& s) {
  const Plan& plan = s.plan;
  const Hierarchy& h = plan.hierarchies.front();
  for (size_t d = 0; d <= plan.parent.size(); ++d) {
    std::string p = level_path(h, plan.parent, d);
    std::string on = read_value(p + "/cgroup.subtree_control");
    for (const auto& c : plan.v2_controllers)
      if (!has_word(on, c)) enable_controller(s, p, c);
    if (d == plan.parent.size()) break;
    make_group(s, level_path(h, plan.parent, d + 1), false);
  }
  std::string leaf = level_path(h, plan.parent, plan.parent.size()) + "/" + s.req.id;
  make_group(s, leaf, true);
  s.alive = sys::DirLock::acquire(leaf, true);
}

void v2_apply(Cgroup::State& s) {
  const Hierarchy& h = s.plan.hierarchies.front();
  std::string leaf = level_path(h, s.plan.parent, s.plan.parent.size()) + "/" + s.req.id;
  for (const auto& w : controller_writers())
    if (w.apply) w.apply(s, h, leaf);
}

// ---- both -----------------------------------------------------------------

// v1 writes the pid into the cell's group of every hierarchy, v2 into its one
// group.
void attach_leaves(Cgroup::State& s, pid_t pid) {
  for (const auto& leaf : s.leaves()) s.fs->write(leaf + "/cgroup.procs", std::to_string(pid));
}

const CgroupBackend kV1{CgroupLayout::V1, v1_plan, v1_create, v1_apply, attach_leaves, undo_journal};
const CgroupBackend kHybrid{CgroupLayout::Hybrid, v1_plan, v1_create, v1_apply, attach_leaves, undo_journal};
const CgroupBackend kV2{CgroupLayout::V2, v2_plan, v2_create, v2_apply, attach_leaves, undo_journal};

}  // namespace

const CgroupBackend& backend_for(CgroupLayout layout) {
  switch (layout) {
    case CgroupLayout::V1:
      return kV1;
    case CgroupLayout::Hybrid:
      return kHybrid;
    case CgroupLayout::V2:
      return kV2;
  }
  return kV1;
}

}  // namespace rtcell::cell::detail
