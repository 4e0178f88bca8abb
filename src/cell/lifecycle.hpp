// A cell's life by id: create -> start -> (kill) -> delete, with its state
// in the registry (cell/state.hpp) so that each step may run in another
// process, as an OCI caller (conmon, containerd-shim) runs them.
//
// Process tree and hand-shakes of create():
//
//   creator (rtcell create / run)
//     validates, claims /run/rtcell/<id>, creates the cgroups (journal
//     written ahead), makes the start FIFO, clone3(NEWPID|NEWNS|...)
//     -> init (pid 1 in the cell): PDEATHSIG while the creator has not
//        recorded it; joins its cgroups by writing 0 to each leaf's `tasks`
//        (v1: moving oneself skips the threadgroup rwsem's RCU grace period,
//        kernel/cgroup/cgroup.c cgroup_procs_write_start), builds the root,
//        waits for "recorded", forks
//        -> the command (pid 2): rlimits, affinity, scheduler, user, caps,
//           no_new_privs; says "ready"; blocks reading the start FIFO;
//           then seccomp and execve.
//
// Errors in the cell travel back on a close-on-exec status pipe as
// "E<kind>\n<message>", so the creator reports them with the right exit
// code; EOF after "ready" and the start byte means execve succeeded. No
// step sleeps. start() (any process) writes one byte into the FIFO. The init
// reaps every zombie, relays the signals kill() sends it, and exits with the
// command's status (128+signal when killed); killing the init takes the
// whole pid namespace along.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell/prepare.hpp"
#include "cell/state.hpp"

namespace rtcell::cell {

struct CreateOptions {
  std::string bundle;  // shown by state and ps
  // true (rtcell run): the cell dies with the process that created it.
  // false (rtcell create, OCI): it outlives it, and waits for start().
  bool die_with_creator = false;
  // Each step of create as it completes ("claim", "cgroup" per journal
  // write, "cgroups", "clone", "recorded", "ready", "created"): for
  // RTCELL_DEBUG=timing and for tests that kill the creator at each step.
  std::function<void(std::string_view phase)> on_phase;
  // Lines to show once (cgroup layout, RT budget given).
  std::function<void(const std::string&)> note;
  // An interactive cell (process.terminal) that outlives its creator: its
  // pty master goes to this unix socket (runc's --console-socket) instead
  // of being relayed by wait().
  std::string console_socket;
  // Run once the init is recorded and its namespaces exist, before the
  // command is ready (the OCI prestart/createRuntime/createContainer
  // hooks); an exception aborts create and undoes it.
  std::function<void(const CellState&)> on_created_namespaces;
};

// A cell this process created. Destroying the handle without detach()
// gives back everything create took.
class Cell {
 public:
  Cell(Cell&&) noexcept;
  Cell& operator=(Cell&&) noexcept;
  Cell(const Cell&) = delete;
  Cell& operator=(const Cell&) = delete;
  ~Cell();

  // Throws rtcell::Error; on failure nothing is left (state, cgroups,
  // processes).
  static Cell create(const Registry& reg, const Prepared& p, const CreateOptions& o = {});

  const std::string& id() const;
  pid_t pid() const;  // the init's, in the host's pid namespace

  // Releases the command. Throws the cell's own error when execve failed.
  void start();
  // Relays the signals block_cell_signals() blocks to the cell until its
  // init exits; returns the command's exit code (128+signal when killed).
  int wait();
  // For a process that supervises several cells (rtcell up), which waits
  // with next_cell_signal() instead of wait(): the command's exit code
  // (128+signal when killed) once the init has exited, reaping it; nullopt
  // while it runs. Never blocks. An interactive cell's pty is not relayed.
  std::optional<int> poll_exit();
  // Sends `sig` to the init, which relays it to the command; nothing once
  // the init is gone.
  void signal(int sig);
  // Kills what is left and gives everything back; idempotent.
  void destroy();
  // Leaves the cell to the registry (rtcell create): the handle forgets it.
  void detach() noexcept;

 private:
  struct Impl;
  explicit Cell(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

// Blocks the signals a cell's creator relays (SIGINT, SIGTERM, SIGHUP,
// SIGQUIT, SIGUSR1/2, SIGWINCH) and SIGCHLD for the rest of the process, so
// that one arriving while the cell is made is neither fatal nor lost. Call
// it just before the cell is made, after every check (cell::prepare): until
// then nothing exists and a signal may simply end the process.
void block_cell_signals();
// A relayed signal already pending (0: none): rtcell run checks it before
// start, and tears down instead of starting.
int pending_stop_signal();
// The next signal block_cell_signals() holds (SIGCHLD: a child may have
// exited), waiting at most `timeout_ms` (-1: no limit); 0 on timeout. For a
// process that waits on several cells at once (rtcell up).
int next_cell_signal(int timeout_ms = -1);

// ---- by id, from any process ----
void start(const Registry& reg, const std::string& id);
// `all`: every process in the cell's cgroups, not only its init.
void kill(const Registry& reg, const std::string& id, int signal, bool all = false);
// Freezes every process of a running cell / thaws a paused one
// (cell/freezer.hpp); the status becomes paused / running.
void pause(const Registry& reg, const std::string& id);
void resume(const Registry& reg, const std::string& id);
// The record with `status` replaced by the live status.
CellState state(const Registry& reg, const std::string& id);
// A created or stopped cell goes; a running one only with `force` (it is
// killed first). Every cgroup and RT budget it took is given back.
void remove(const Registry& reg, const std::string& id, bool force = false);

struct Listed {
  CellState state;      // status = live status
  std::string problem;  // a state file that could not be read
};
std::vector<Listed> list(const Registry& reg);

// Removes every cell whose init is gone, and every cell whose creator died
// before it was created, giving back what its journal records. Never takes
// a live or still-starting cell. Returns the ids removed.
std::vector<std::string> collect_stopped(const Registry& reg);

// Signal names and numbers for kill: "TERM", "SIGTERM", "15".
int parse_signal(std::string_view text);

}  // namespace rtcell::cell
