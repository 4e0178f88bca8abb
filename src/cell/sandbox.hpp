// Launching and supervising one cell (`rtcell run`).
//
// Process tree and hand-shakes:
//
//   rtcell (supervisor, host namespaces)
//     creates the cgroup, then clone3(NEWPID|NEWNS|NEWIPC|NEWUTS[|NEWNET])
//     -> cell init (pid 1 in the cell): waits on the go pipe (the supervisor
//        attached it to the cgroup first), builds the mount tree and
//        pivot_roots, sets the hostname, forks
//        -> the command (pid 2): rlimits, affinity, scheduling policy,
//           bounding set, user, capabilities, no_new_privs, seccomp, execve.
//
// An error in the cell before execve travels back on a close-on-exec error
// pipe as "<kind>\n<message>", so the supervisor reports it with the right
// exit code; EOF on that pipe means execve succeeded. No step sleeps.
// The init reaps every zombie, forwards signals the supervisor relays, and
// exits with the command's status (128+signal when killed); it dies with the
// supervisor (PR_SET_PDEATHSIG), which takes the whole pid namespace along.
#pragma once

#include <functional>
#include <string>

#include "cell/run_spec.hpp"

namespace rtcell::cell {

struct RunHooks {
  // Lines to show the user once, after every check passed (so bad input
  // prints only its error line); the library never prints.
  std::function<void(const std::string&)> warn;  // PreparedRun::warnings
  std::function<void(const std::string&)> note;  // PreparedRun::notes, cgroup notes
};

// Creates the cell, runs the command, tears everything down and returns the
// command's exit code. Throws rtcell::Error when the cell cannot be built.
int run_cell(const PreparedRun& run, const RunHooks& hooks = {});

}  // namespace rtcell::cell
