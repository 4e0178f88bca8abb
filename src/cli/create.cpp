// rtcell create ID [flags] -- CMD: makes the cell (cgroups with the RT
// budget, namespaces, root, user, capabilities, scheduler) and leaves its
// command waiting for `rtcell start ID`. The cell outlives this command.
#include <iostream>

#include "cell/lifecycle.hpp"
#include "cli/cell_flags.hpp"
#include "cli/command.hpp"
#include "cli/supervise.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::cli {
namespace {

struct CreateFlags {
  CellFlagText cell;
  std::string root;
  std::string pid_file;
  bool quiet = false;
};

Run setup(CLI::App& app) {
  auto o = std::make_shared<CreateFlags>();
  app.add_option("id", o->cell.name, "the cell's id: 1-64 characters of [A-Za-z0-9_.-]")->required();
  app.add_option("command", o->cell.command, "the command and its arguments, after --");
  add_cell_flags(app, o->cell);
  add_state_root(app, o->root);
  app.add_option("--pid-file", o->pid_file, "write the cell's init pid to FILE");
  app.add_flag("--quiet,-q", o->quiet, "do not print notes (warnings still print)");
  return [o]() {
    cell::CreateOptions opts = create_options();
    PreparedCell pc = prepare_cell(o->cell, o->root);
    // rtcell start reads no spec back (only a bundle's): hooks due at start
    // or after it would be lost.
    const cell::Hooks& hooks = pc.prepared.spec.hooks;
    if (!hooks.start_container.empty() || !hooks.poststart.empty() || !hooks.poststop.empty())
      usage_error(
          "rtcell create: the CDI devices bring startContainer, poststart or poststop hooks, which rtcell "
          "start "
          "does not run yet: use rtcell run, or a CDI spec without them");
    add_create_hooks(opts, hooks);
    // Blocked only now: until here nothing exists, so SIGINT/SIGTERM may end
    // rtcell outright (a FIFO or a slow manifest never hangs it unkillable).
    // From here on one is held pending while the cell is made, then relayed
    // to it or, before start, turned into a clean teardown.
    cell::block_cell_signals();
    const cell::Registry reg(o->root);
    cell::Cell c = create_cell(reg, pc, opts, o->quiet);
    // Asked to stop while the cell was made: leave nothing, as run does.
    if (int sig = cell::pending_stop_signal(); sig != 0) {
      c.destroy();
      return 128 + sig;
    }
    if (!o->pid_file.empty()) sys::write_file_atomic(o->pid_file, std::to_string(c.pid()), 0644);
    // No rtcell process stays with the cell: its supervisor is a process of
    // its own, until the cell's init exits.
    if (pc.supervise) {
      try {
        const pid_t sup = start_detached_supervisor(reg, c.id(), *pc.supervise);
        if (!o->quiet)
          std::cerr << "rtcell: supervisor: pid " << sup << ", " << cell::describe(*pc.supervise)
                    << "; overruns go to the kernel log and rtcell delete prints them\n";
      } catch (const Error& e) {
        warn(std::string("cell is not supervised: ") + e.what());
      }
    }
    c.detach();
    return kExitOk;
  };
}

const Registrar kCreate{
    Verb{"create", "create a cell by id; its command waits for rtcell start", 31, setup, true}};

}  // namespace
}  // namespace rtcell::cli
