// rtcell start / kill / pause / resume / state / delete / ps: a created cell by id, from any
// process (cell/lifecycle.hpp). Each verb is a few lines over the library.
#include "cell/lifecycle.hpp"

#include <time.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cell_flags.hpp"
#include "cli/command.hpp"
#include "cli/promises.hpp"
#include "cli/supervise.hpp"
#include "front/admitted_load.hpp"
#include "report/cells.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::cli {
namespace {

struct ById {
  std::string id;
  std::string root;
  std::string signal = "TERM";
  bool all = false;
  bool force = false;
  bool json = false;
  bool tasks = false;
  bool quiet = false;
  HistoryFlags history;
};

Run setup_start(CLI::App& app) {
  auto o = std::make_shared<ById>();
  app.add_option("id", o->id, "the cell's id")->required();
  add_state_root(app, o->root);
  return [o]() {
    cell::start(cell::Registry(o->root), o->id);
    return kExitOk;
  };
}

Run setup_kill(CLI::App& app) {
  auto o = std::make_shared<ById>();
  app.add_option("id", o->id, "the cell's id")->required();
  app.add_option("signal", o->signal, "signal name or number (default TERM)")->capture_default_str();
  app.add_flag("--all,-a", o->all, "signal every process of the cell, not only its init");
  add_state_root(app, o->root);
  return [o]() {
    cell::kill(cell::Registry(o->root), o->id, cell::parse_signal(o->signal), o->all);
    return kExitOk;
  };
}

// pause and resume: the same few lines, one library call each.
template <void (*Op)(const cell::Registry&, const std::string&)>
Run setup_by_id(CLI::App& app) {
  auto o = std::make_shared<ById>();
  app.add_option("id", o->id, "the cell's id")->required();
  add_state_root(app, o->root);
  return [o]() {
    Op(cell::Registry(o->root), o->id);
    return kExitOk;
  };
}

Run setup_state(CLI::App& app) {
  auto o = std::make_shared<ById>();
  app.add_option("id", o->id, "the cell's id")->required();
  add_state_root(app, o->root);
  return [o]() {
    std::cout << report::cell_state_json(cell::state(cell::Registry(o->root), o->id)).dump(2) << '\n';
    return kExitOk;
  };
}

Run setup_delete(CLI::App& app) {
  auto o = std::make_shared<ById>();
  app.add_option("id", o->id, "the cell's id")->required();
  app.add_flag("--force,-f", o->force, "kill a running cell first");
  app.add_flag("--quiet,-q", o->quiet, "of a manifest cell's tasks, print only the broken promises");
  add_history_flags(app, o->history);
  add_state_root(app, o->root);
  return [o]() {
    const cell::Registry reg(o->root);
    // What a detached supervisor saw (create -f): read before the state
    // directory goes with the cell.
    const auto overruns = sys::try_read_file(supervisor_log(reg, o->id));
    cell::remove(reg, o->id, o->force);
    if (overruns && !overruns->empty()) {
      std::istringstream lines(*overruns);
      for (std::string l; std::getline(lines, l);) warn(l);
    }
    // A create -f cell ends here: its tasks against what they were admitted
    // with, as rtcell run prints them at its end, and kept in the history.
    if (auto rec = front::recorded_cell(o->id, reg.root()))
      end_of_cell_promises(*rec, front::stats_dir(o->id, reg.root()), o->history,
                           o->quiet ? PromisePrint::Warnings : PromisePrint::All);
    front::forget_running(o->id, o->root);
    return kExitOk;
  };
}

// ps --tasks: the counters the running cells' librtcell tasks publish,
// against what each was admitted with (front::measured_vs_admitted), read
// live from their shared pages without disturbing them.
void print_task_counters(const std::string& root) {
  const std::string here = std::filesystem::weakly_canonical(root).string();
  bool any = false;
  for (const auto& r : front::running_cells()) {
    if (std::filesystem::weakly_canonical(r.state_root).string() != here) continue;
    any = true;
    std::cout << "\ncell " << r.id << " (" << r.cell << " of " << r.manifest << "):\n";
    const front::PromiseReport p = front::measured_vs_admitted(r, front::stats_dir(r.id, r.state_root));
    if (p.table.empty())
      std::cout << "  no counters published yet (tasks run with librtcell's PeriodicTask publish their "
                   "own; rtcell/rt/published_stats.hpp)\n";
    std::cout << p.table;
    for (const auto& b : p.broken) std::cout << "  ! " << b << "\n";
  }
  if (!any)
    std::cout << "\nno cell admitted from a manifest runs here (the ledger: " << front::ledger_dir() << ")\n";
}

Run setup_ps(CLI::App& app) {
  auto o = std::make_shared<ById>();
  app.add_flag("--json", o->json, "one JSON array");
  app.add_flag("--tasks", o->tasks,
               "also the counters of each admitted cell's tasks, live, against their WCET and deadline");
  add_state_root(app, o->root);
  return [o]() {
    if (o->json && o->tasks) usage_error("--tasks prints a table: drop --json (or --tasks)");
    auto cells = cell::list(cell::Registry(o->root));
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
    if (o->json)
      std::cout << report::cells_json(cells, now_ns).dump(2) << '\n';
    else
      std::cout << report::cells_table(cells, now_ns);
    if (o->tasks) print_task_counters(o->root);
    return kExitOk;
  };
}

const Registrar kStart{Verb{"start", "start the command of a created cell", 32, setup_start}};
const Registrar kKill{Verb{"kill", "send a signal to a cell (default TERM)", 33, setup_kill}};
const Registrar kState{
    Verb{"state", "print a cell's state as JSON (OCI state plus rtcell's)", 34, setup_state}};
const Registrar kDelete{
    Verb{"delete", "remove a cell and give back its cgroups and RT budget", 35, setup_delete}};
const Registrar kPause{Verb{"pause", "freeze every process of a running cell", 37, setup_by_id<cell::pause>}};
const Registrar kResume{Verb{"resume", "thaw a paused cell", 38, setup_by_id<cell::resume>}};
const Registrar kPs{Verb{"ps", "list the cells of this host", 36, setup_ps}};

}  // namespace
}  // namespace rtcell::cli
