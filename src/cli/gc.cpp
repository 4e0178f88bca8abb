// rtcell gc: removes the cgroups of cells whose rtcell was killed before it
// could clean up (rtcell/<id> with no live process in any controller), and
// gives their RT budgets back. Safe to run at any time: a cell whose rtcell is
// alive is never taken, even while it is starting (see docs/cgroups.md).
#include <iostream>

#include "cell/cgroup.hpp"
#include "cli/command.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {
namespace {

struct GcOptions {
  std::string parent = "rtcell";
  std::string root = "/sys/fs/cgroup";
};

Run setup_gc(CLI::App& app) {
  auto opts = std::make_shared<GcOptions>();
  app.add_option("--cgroup-root", opts->parent, "parent group the cells live under (as given to rtcell run)")
      ->capture_default_str();
  app.add_option("--cgroup-mount", opts->root, "where the cgroup filesystems are mounted")
      ->capture_default_str();
  return [opts]() {
    std::vector<std::string> removed = cell::collect_garbage(opts->parent, opts->root);
    for (const auto& r : removed) std::cout << "removed " << r << '\n';
    if (removed.empty()) std::cout << "nothing to remove under " << opts->parent << '\n';
    return kExitOk;
  };
}

const Registrar kGc{
    Verb{"gc", "remove cgroups left behind by a killed rtcell (no live process in them)", 80, setup_gc}};

}  // namespace
}  // namespace rtcell::cli
