// rtcell gc: removes the cells whose init is gone or whose creator was
// killed before the cell existed, from their recorded undo journal (state,
// cgroups, RT budgets back exactly), then any rtcell cgroup left with no
// state and no live process. Safe to run at any time: a live or
// still-starting cell is never taken (docs/lifecycle.md, docs/cgroups.md).
// Also the tracefs instances and journaled tracefs settings of `--trace`
// runs killed with SIGKILL. Only rtcell's groups: every group under a parent named rtcell*, and under
// any other parent only the cells the state registry knows (cgroupfs keeps
// no mark of who made a group).
#include <iostream>

#include "cell/cgroup.hpp"
#include "cell/lifecycle.hpp"
#include "cli/cell_flags.hpp"
#include "cli/command.hpp"
#include "front/admitted_load.hpp"
#include "rtcell/error.hpp"
#include "sys/tracefs.hpp"
#include "trace/capture.hpp"

namespace rtcell::cli {
namespace {

struct GcOptions {
  std::string parent = "rtcell";
  std::string root = "/sys/fs/cgroup";
  std::string state_root;
};

Run setup_gc(CLI::App& app) {
  auto opts = std::make_shared<GcOptions>();
  app.add_option("--cgroup-root", opts->parent, "parent group the cells live under (as given to rtcell run)")
      ->capture_default_str();
  app.add_option("--cgroup-mount", opts->root, "where the cgroup filesystems are mounted")
      ->capture_default_str();
  add_state_root(app, opts->state_root);
  return [opts]() {
    const cell::Registry reg(opts->state_root);
    std::vector<std::string> not_ours;
    cell::GcOwnership own;
    own.known_ids = reg.ids();  // before collect_stopped forgets them
    own.not_ours = &not_ours;
    std::vector<std::string> cells = cell::collect_stopped(reg);
    for (const auto& id : cells) {
      // Its ledger entry and counters' directory go with it.
      front::forget_running(id, reg.root());
      std::cout << "removed cell " << id << '\n';
    }
    std::vector<std::string> removed =
        cell::collect_garbage(opts->parent, opts->root, cell::CgroupFs::kernel(), own);
    for (const auto& r : removed) std::cout << "removed " << r << '\n';
    // What a `--trace` run killed with SIGKILL left: its tracefs instance
    // (the timerlat tracer stopped with it) and osnoise/cpus narrowed.
    const trace::CaptureConfig tc;
    std::vector<std::string> traces;
    if (sys::is_tracefs(tc.tracefs)) traces = sys::remove_stale_instances(tc.tracefs, tc.instance_prefix);
    for (const auto& t : traces) std::cout << "removed trace instance " << t << '\n';
    for (const auto& p : sys::restore_stale_settings(tc.journal_dir)) {
      std::cout << "put back " << p << '\n';
      traces.push_back(p);
    }
    if (removed.empty() && cells.empty() && traces.empty())
      std::cout << "nothing to remove under " << opts->parent << '\n';
    if (!not_ours.empty())
      std::cout << "left " << not_ours.size() << " group" << (not_ours.size() == 1 ? "" : "s") << " under "
                << opts->parent << " that rtcell did not make (the parent is not named rtcell* and "
                << opts->state_root << " does not know them), e.g. " << not_ours.front() << '\n';
    return kExitOk;
  };
}

const Registrar kGc{
    Verb{"gc", "remove cells whose init is gone and cgroups left behind by a killed rtcell", 80, setup_gc}};

}  // namespace
}  // namespace rtcell::cli
