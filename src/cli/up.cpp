// rtcell up FILE / rtcell down FILE: every cell of a manifest at once, as
// `docker compose up` starts a compose file (docs/up.md).
//
// up is `rtcell run -f FILE CELL` for all the cells with a command, in one
// process, in passes:
//   1. plan:    the manifest (depends_on checked by manifest::parse), the
//               start order, one id per cell (`STEM-CELL`), nothing made;
//   2. admit:   the host-wide admission lock, once, and every cell admitted
//               against the same running load (so the manifest's cells are
//               admitted together, and against what already runs);
//   3. create:  every cell, each recorded in the admission ledger; the lock
//               is released once all are in. A failure gives back the ones
//               already made (cgroups, state, ledger entries) and is the
//               exit status;
//   4. start:   in the start order (each start returns once the command's
//               execve succeeded, so a cell starts only after every cell of
//               its depends_on runs);
//   5. wait:    sigwaitinfo() on SIGCHLD and the relayed signals, polling
//               each cell's init: a cell that exits is deleted at once;
//               a `required` cell that fails (or does not start) stops the
//               others (exit = its code); SIGINT/SIGTERM/SIGHUP/SIGQUIT is
//               relayed to every cell, a second one (or kStopGraceMs
//               later) kills them, exit 128+signal.
// The cells are made with die_with_creator, as rtcell run's: a SIGKILLed up
// leaves no process behind, and rtcell gc (or down) takes the rest.
//
// down FILE finds the cells by the annotation up records in each cell's
// state (kManifestAnnotation: the manifest's canonical path), sends
// SIGTERM to the up that created them (it stops its cells and gives
// everything back itself, one process owning each cell's teardown) and
// waits for it on a pidfd; what is left after that (an up that was
// SIGKILLed, or one that did not finish within kDownWaitMs) is deleted
// with --force semantics.
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cell/hooks.hpp"
#include "cell/lifecycle.hpp"
#include "cell/supervisor.hpp"
#include "cli/cell_flags.hpp"
#include "cli/command.hpp"
#include "cli/promises.hpp"
#include "manifest/manifest.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {

namespace {

// The state annotations that tie a cell to the manifest `up` started it from.
constexpr const char* kManifestAnnotation = "rtcell.io/up.manifest";
constexpr const char* kCellAnnotation = "rtcell.io/up.cell";
// After a stop signal, how long the cells have to exit before up kills
// them (docker compose's default stop timeout).
constexpr int kStopGraceMs = 10'000;
// How long down waits for an up to finish its own teardown.
constexpr int kDownWaitMs = 30'000;

struct UpOptions {
  std::string file;
  std::string root;
  bool quiet = false;
  bool no_admit = false;
  bool strict = false;
  HistoryFlags history;
};

// One cell of the manifest that up runs.
struct UpCell {
  const manifest::CellDecl* decl = nullptr;
  std::string id;
  PreparedCell prepared;
  std::optional<cell::Cell> cell;
  // rtcell's supervisor, where the cell has one (docs/enforcement.md).
  std::unique_ptr<cell::Supervisor> sup;
  bool running = false;     // started and not yet exited
  cell::CellState hook_st;  // what its OCI hooks read (only with hooks)
  const UpOptions* opts = nullptr;
  bool broke = false;  // a task broke a promise (reported when it was given back)
};

// The id of cell `cell` of manifest `file`: STEM-CELL, as ps shows it.
std::string cell_id(const std::string& file, const std::string& cell) {
  return std::filesystem::path(file).stem().string() + "-" + cell;
}

// Pass 1: the cells to run, in start order; refuses a cell with no command
// and a cell whose id is taken.
std::vector<UpCell> plan(const manifest::Manifest& m, const UpOptions& o, const cell::Registry& reg) {
  std::vector<UpCell> cells;
  for (size_t i : manifest::start_order(m)) {
    const manifest::CellDecl& d = m.cells[i];
    if (d.command.empty())
      usage_error(d.where.to_string() + ": cell " + d.name +
                  " has no command: rtcell up starts only cells with command: [...]");
    UpCell u;
    u.decl = &d;
    u.opts = &o;
    u.id = cell_id(o.file, d.name);
    if (reg.exists(u.id))
      usage_error("cell '" + d.name + "' of " + o.file + " would be " + u.id + ", which exists in " +
                  reg.root() + ": rtcell down " + o.file + " (or rtcell delete --force " + u.id + ") first");
    cells.push_back(std::move(u));
  }
  return cells;
}

// Kills cell `u` if it still runs and gives back everything it took
// (cgroups, RT budget, state, ledger entry), then runs its poststop hooks.
void give_back(UpCell& u, const cell::Registry& reg) noexcept {
  if (!u.cell) return;
  u.sup.reset();
  // Its tasks against what they were admitted with, as rtcell run prints
  // them (a cell still running is read as it stands, then killed).
  const PreparedCell& pc = u.prepared;
  if (pc.admitted && pc.stats && u.opts != nullptr) {
    try {
      u.broke = end_of_cell_promises(*pc.admitted, pc.stats->path, u.opts->history,
                                     u.opts->quiet ? PromisePrint::Warnings : PromisePrint::All);
    } catch (const std::exception& e) {
      std::cerr << "rtcell: up: cell " << u.id << ": cannot read its tasks' counters: " << e.what() << "\n";
    }
  }
  front::forget_running(u.id, reg.root());
  try {
    u.cell->destroy();
  } catch (const Error& e) {
    std::cerr << "rtcell: up: cannot delete cell " << u.id << ": " << e.what() << " (rtcell gc takes it)\n";
  }
  u.cell.reset();
  u.running = false;
  const cell::Hooks& hooks = u.prepared.prepared.spec.hooks;
  if (hooks.poststop.empty()) return;
  try {
    cell::run_hooks(hooks.poststop, "poststop", cell::hook_state(u.hook_st, "stopped", 0));
  } catch (const Error& e) {
    std::cerr << "rtcell: up: cell " << u.id << ": " << e.what() << "\n";
  }
}

// Stops and gives back every cell still held.
void stop_all(std::vector<UpCell>& cells, const cell::Registry& reg) noexcept {
  for (auto& u : cells) give_back(u, reg);
}

// Passes 2 and 3: admission and creation of every cell. A failure throws
// once the cells made so far are given back.
void admit_and_create(std::vector<UpCell>& cells, const UpOptions& o, const cell::Registry& reg) {
  front::AdmissionLock lock;
  std::vector<front::RunningCell> running;
  if (!o.no_admit) {
    lock = front::AdmissionLock::acquire();
    running = front::running_cells();
  }
  const std::string key = front::manifest_key(o.file);
  for (auto& u : cells) {
    CellFlagText f;
    f.file_cell = {o.file, u.decl->name};
    f.name = u.id;
    f.no_admit = o.no_admit;
    u.prepared = prepare_cell(f, o.root, &running);
    // Output is inherited: every cell writes to up's stdout and stderr.
    u.prepared.prepared.spec.process.terminal = false;
    u.prepared.prepared.spec.annotations[kManifestAnnotation] = key;
    u.prepared.prepared.spec.annotations[kCellAnnotation] = u.decl->name;
  }
  // Blocked only now, as rtcell run does: before, nothing exists.
  cell::block_cell_signals();
  std::cout.flush();
  cell::CreateOptions opts = create_options();
  opts.die_with_creator = true;
  try {
    for (auto& u : cells) {
      // Names the cell the notes create_cell prints are about.
      if (!o.quiet) std::cerr << "rtcell: up: cell " << u.decl->name << " as " << u.id << ":\n";
      // The CDI devices' OCI hooks, each at its step, as rtcell run runs them.
      cell::CreateOptions co = opts;
      add_create_hooks(co, u.prepared.prepared.spec.hooks);
      u.cell.emplace(create_cell(reg, u.prepared, co, o.quiet));
    }
  } catch (...) {
    stop_all(cells, reg);
    throw;
  }
  lock.release();
}

// What a cell's end means for up: its exit code, or the exit of up.
struct Outcome {
  bool stop = false;  // stop every other cell
  int code = 0;
};

Outcome exited(UpCell& u, int code, const cell::Registry& reg, bool stopping) {
  u.running = false;
  // Deleted by rtcell down / delete --force from another process: that
  // was a request, not a failure.
  const bool removed = !reg.exists(u.id);
  give_back(u, reg);
  std::cerr << "rtcell: up: cell " << u.decl->name << " (" << u.id << ") exited with " << code
            << (removed ? " (deleted by another rtcell)" : "") << "\n";
  if (u.decl->required && code != 0 && !stopping && !removed) {
    std::cerr << "rtcell: up: cell " << u.decl->name << " is required: stopping every cell\n";
    return {true, code};
  }
  return {};
}

// Pass 4: starts the cells in order. Returns a required cell's failure.
Outcome start_all(std::vector<UpCell>& cells, const cell::Registry& reg) {
  for (auto& u : cells) {
    const cell::Hooks& hooks = u.prepared.prepared.spec.hooks;
    try {
      if (!hooks.empty()) u.hook_st = cell::state(reg, u.id);
      cell::run_hooks(hooks.start_container, "startContainer",
                      cell::hook_state(u.hook_st, "created", u.cell->pid()));
      u.cell->start();
      if (u.prepared.supervise) {
        const std::string name = u.decl->name;
        u.sup = std::make_unique<cell::Supervisor>(
            reg, u.id, *u.prepared.supervise,
            [name](const cell::OverrunEvent& e) { warn("cell " + name + ": " + supervisor_line(e)); });
      }
      cell::run_hooks(hooks.poststart, "poststart", cell::hook_state(u.hook_st, "running", u.cell->pid()));
    } catch (const Error& e) {
      std::cerr << "rtcell: up: cell " << u.decl->name << " (" << u.id << ") did not start: " << e.what()
                << "\n";
      give_back(u, reg);
      if (u.decl->required) return {true, e.exit_code()};
      continue;
    }
    u.running = true;
    std::cerr << "rtcell: up: started cell " << u.decl->name << " as " << u.id << " (pid " << u.cell->pid()
              << ")\n";
  }
  return {};
}

bool is_stop_signal(int sig) {
  return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
}

// Pass 5: until every cell has exited.
int wait_all(std::vector<UpCell>& cells, const cell::Registry& reg) {
  auto any_running = [&] {
    for (const auto& u : cells)
      if (u.running) return true;
    return false;
  };
  int stop_sig = 0;
  int code = 0;
  bool killed = false;
  while (any_running()) {
    const int sig = cell::next_cell_signal(stop_sig != 0 && !killed ? kStopGraceMs : -1);
    if (sig == SIGCHLD) {
      for (auto& u : cells) {
        if (!u.running) continue;
        if (auto c = u.cell->poll_exit()) {
          Outcome out = exited(u, *c, reg, stop_sig != 0 || code != 0);
          if (out.stop) {
            code = out.code;
            stop_all(cells, reg);
          }
        }
      }
    } else if (sig == 0 || (is_stop_signal(sig) && stop_sig != 0)) {
      // A second stop signal, or the grace period is over.
      killed = true;
      stop_all(cells, reg);
    } else if (is_stop_signal(sig)) {
      stop_sig = sig;
      std::cerr << "rtcell: up: SIG" << ::sigabbrev_np(sig) << ": stopping every cell\n";
      for (auto& u : cells)
        if (u.running) u.cell->signal(sig);
    } else {
      for (auto& u : cells)
        if (u.running) u.cell->signal(sig);
    }
  }
  if (code != 0) return code;
  return stop_sig != 0 ? 128 + stop_sig : 0;
}

Run setup_up(CLI::App& app) {
  auto o = std::make_shared<UpOptions>();
  app.add_option("file", o->file, "the cell manifest")->required();
  add_state_root(app, o->root);
  app.add_flag("--quiet,-q", o->quiet, "do not print notes (warnings still print)");
  app.add_flag("--no-admit", o->no_admit, "start the cells even if their tasks are not admitted");
  add_history_flags(app, o->history);
  app.add_flag("--strict", o->strict,
               "exit 6 when a task of a cell broke a promise (ran past its WCET, missed a deadline) and up "
               "would otherwise exit 0");
  return [o]() {
    if (!trailing_args().empty())
      usage_error("rtcell up takes no command: each cell runs its manifest command: [...]");
    const manifest::Manifest m = manifest::load(o->file);
    const cell::Registry reg(o->root);
    std::vector<UpCell> cells = plan(m, *o, reg);
    admit_and_create(cells, *o, reg);
    if (int sig = cell::pending_stop_signal(); sig != 0) {
      stop_all(cells, reg);
      return 128 + sig;
    }
    const Outcome failed = start_all(cells, reg);
    if (failed.stop) {
      stop_all(cells, reg);
      return failed.code;
    }
    const int code = wait_all(cells, reg);
    stop_all(cells, reg);
    const bool broke = std::any_of(cells.begin(), cells.end(), [](const UpCell& u) { return u.broke; });
    return code == 0 && broke && o->strict ? kExitBrokenPromise : code;
  };
}

// ---- down ----

struct DownOptions {
  std::string file;
  std::string root;
};

// Waits on a pidfd (no sleep) until the process is gone, `timeout_ms` at most.
bool wait_exit(const sys::PidFd& p, int timeout_ms) {
  pollfd pfd{p.get(), POLLIN, 0};
  for (;;) {
    int n = ::poll(&pfd, 1, timeout_ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

Run setup_down(CLI::App& app) {
  auto o = std::make_shared<DownOptions>();
  app.add_option("file", o->file, "the cell manifest rtcell up started")->required();
  add_state_root(app, o->root);
  return [o]() {
    const std::string key = front::manifest_key(o->file);
    const cell::Registry reg(o->root);
    auto ours = [&] {
      std::vector<cell::CellState> out;
      for (const auto& l : cell::list(reg)) {
        auto it = l.state.annotations.find(kManifestAnnotation);
        if (l.problem.empty() && it != l.state.annotations.end() && it->second == key) out.push_back(l.state);
      }
      return out;
    };
    std::vector<cell::CellState> found = ours();
    if (found.empty()) {
      std::cerr << "rtcell: down: no cell of " << o->file << " in " << reg.root() << "\n";
      return 0;
    }
    // Each up stops its own cells: SIGTERM, then wait for it to exit.
    std::map<pid_t, cell::ProcRef> ups;
    for (const auto& st : found) ups.emplace(st.creator.pid, st.creator);
    for (const auto& [pid, ref] : ups) {
      sys::PidFd p = cell::open_process(ref);
      if (!p.valid() || !p.send_signal(SIGTERM)) continue;
      if (!wait_exit(p, kDownWaitMs))
        warn("the rtcell up (pid " + std::to_string(pid) + ") of " + o->file +
             " did not finish within 30 s: deleting its cells here");
    }
    // What no up gave back (an up killed with SIGKILL, or too slow).
    int removed = 0;
    for (const auto& st : ours()) {
      cell::remove(reg, st.id, true);
      front::forget_running(st.id, reg.root());
      ++removed;
    }
    std::cerr << "rtcell: down: stopped " << found.size() << " cell(s) of " << o->file;
    if (removed != 0) std::cerr << " (" << removed << " deleted here)";
    std::cerr << "\n";
    return 0;
  };
}

const Registrar reg_up{Verb{"up",
                            "start every cell of a manifest, in depends_on order, and stay until they exit "
                            "(Ctrl-C stops them all)",
                            31, setup_up, false}};
const Registrar reg_down{
    Verb{"down", "stop and delete the cells that rtcell up started from a manifest", 32, setup_down, false}};

}  // namespace

}  // namespace rtcell::cli
