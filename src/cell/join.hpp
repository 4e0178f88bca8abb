// A second process in a running cell (runc exec): it joins the cell's
// cgroups and namespaces, takes the given process spec (user, capabilities,
// rlimits, scheduler, cwd, env) under the cell's own seccomp filter and
// no_new_privs, and execs.
//
//   caller --fork--> A: joins the cell's leaf cgroups (host paths), connects
//                       the console socket, setns(pidfd, the cell's
//                       namespaces) --fork--> B (in the cell's pid
//                       namespace): a pty from the cell's devpts when asked,
//                       the process set-up, seccomp, execve.
//   A sends B's host pid and exits; B's errors come back on a close-on-exec
//   pipe (EOF: execve succeeded). B is reparented to the caller's
//   subreaper (conmon, containerd's shim; the caller itself when it waits).
#pragma once

#include <sys/types.h>

#include <string>

#include "cell/prepare.hpp"
#include "cell/state.hpp"

namespace rtcell::cell {

struct JoinOptions {
  // With process.terminal: the pty master goes to this unix socket.
  std::string console_socket;
};

// `cell` is the cell's prepared spec (its namespaces and seccomp program);
// `process` what to run. Returns B's pid in the host's pid namespace once it
// execed. Throws rtcell::Error: the cell is not running, or B's own error.
pid_t join(const Registry& reg, const std::string& id, const Prepared& cell, const Process& process,
           const JoinOptions& o = {});

}  // namespace rtcell::cell
