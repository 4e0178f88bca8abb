// rtcell run: create + start + wait + delete of one cell (docs/run.md). The
// flags (or a manifest cell, -f) become one cell::Spec; bad input fails in
// prepare_cell() before anything exists; warnings and the path that gave RT
// rights print once; the exit status is the command's. The cell dies with
// this process (a killed rtcell run leaves no process; rtcell gc takes the
// rest).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cell/hooks.hpp"
#include "cell/lifecycle.hpp"
#include "cell/supervisor.hpp"
#include "cli/cell_flags.hpp"
#include "cli/command.hpp"
#include "cli/promises.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {

namespace {

struct RunOptions {
  CellFlagText cell;
  std::string root;
  bool quiet = false;
  bool strict = false;
  HistoryFlags history;
};

// The tasks' counters against what they were admitted with, printed once
// the command has exited; true when a promise was broken.
bool report_promises(const PreparedCell& pc, const HistoryFlags& h) {
  if (!pc.admitted || !pc.stats) return false;
  return end_of_cell_promises(*pc.admitted, pc.stats->path, h, PromisePrint::All);
}

Run setup(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  app.add_option("command", o->cell.command, "the command and its arguments, after -- (with -f: optional)");
  app.add_option("--name", o->cell.name, "cell id (default run-PID-RANDOM); cgroups live at CGROUP_ROOT/ID");
  add_cell_flags(app, o->cell);
  add_state_root(app, o->root);
  app.add_flag("--quiet,-q", o->quiet, "do not print notes (warnings still print)");
  app.add_option("--supervise", o->cell.supervise,
                 "with -f: what rtcell's supervisor does when the cell's RT threads run past what its tasks "
                 "were admitted with: off, warn, demote, freeze or kill (default: the manifest's supervise, "
                 "else demote where the kernel does not cap the cell; docs/enforcement.md)");
  add_history_flags(app, o->history);
  app.add_flag(
      "--strict", o->strict,
      "exit 6 when a task of the manifest cell broke a promise (ran past its WCET, missed a deadline) "
      "and the command itself exited 0");
  return [o]() {
    cell::CreateOptions opts = create_options();
    PreparedCell pc = prepare_cell(o->cell, o->root);
    // From a terminal, the cell gets a pty of its own, relayed here; never
    // the caller's terminal (docs/security.md).
    pc.prepared.spec.process.terminal = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
    // Blocked only now: until here nothing exists, so SIGINT/SIGTERM may end
    // rtcell outright (a FIFO or a slow manifest never hangs it unkillable).
    // From here on one is held pending while the cell is made, then relayed
    // to it or, before start, turned into a clean teardown.
    cell::block_cell_signals();
    opts.die_with_creator = true;
    auto phase = opts.on_phase;
    auto step = [&phase](std::string_view name) {
      if (phase) phase(name);
    };
    step("prepared");
    std::cout.flush();
    const cell::Registry reg(o->root);
    // The CDI devices' OCI hooks, each at its step as rtcell-runtime runs
    // them (docs/run.md, "CDI devices").
    const cell::Hooks hooks = pc.prepared.spec.hooks;
    add_create_hooks(opts, hooks);
    cell::Cell c = create_cell(reg, pc, opts, o->quiet);
    // Stopped before the command started: nothing to relay it to; tear down.
    if (int sig = cell::pending_stop_signal(); sig != 0) {
      c.destroy();
      front::forget_running(c.id(), reg.root());
      return 128 + sig;
    }
    const cell::CellState st = hooks.empty() ? cell::CellState{} : cell::state(reg, c.id());
    cell::run_hooks(hooks.start_container, "startContainer", cell::hook_state(st, "created", c.pid()));
    c.start();
    step("started");
    // Where the kernel does not cap the cell, rtcell's supervisor watches it
    // from a thread of this process for as long as it runs.
    std::atomic<bool> overran{false};
    std::unique_ptr<cell::Supervisor> sup;
    if (pc.supervise)
      sup = std::make_unique<cell::Supervisor>(reg, c.id(), *pc.supervise,
                                               [&overran](const cell::OverrunEvent& e) {
                                                 overran.store(true);
                                                 warn(supervisor_line(e));
                                               });
    cell::run_hooks(hooks.poststart, "poststart", cell::hook_state(st, "running", c.pid()));
    int code = c.wait();
    if (sup) {
      const int seen = sup->overruns();
      sup.reset();
      if (seen > 1 && pc.supervise->action == analysis::OverrunAction::Warn)
        warn("supervisor: " + std::to_string(seen) + " overruns in all (each CPU's first shown)");
    }
    const bool broken = report_promises(pc, o->history) || overran.load();
    front::forget_running(c.id(), reg.root());
    if (broken && o->strict && code == 0) code = kExitBrokenPromise;
    step("exited");
    c.destroy();
    step("deleted");
    cell::run_hooks(hooks.poststop, "poststop", cell::hook_state(st, "stopped", 0));
    return code;
  };
}

const Registrar reg{
    Verb{"run", "run a command in a real-time cell (sandbox, CPU partition, RT rights)", 30, setup, true}};

}  // namespace

}  // namespace rtcell::cli
