// The cell's command process (pid 2 of the cell, forked by its init):
// everything spec.process asks for, split at the start handshake.
#pragma once

#include "cell/prepare.hpp"

namespace rtcell::cell {

// Before the handshake, as host root: rlimits, CPU affinity, the scheduler
// (set before dropping root, so threads inherit it and can only lower it;
// sched(7)) and the working directory. Throws rtcell::Error.
void setup_process(const Prepared& p);

// Then, inside the cell's user namespace when it has one: the bounding set,
// groups, uid/gid (the cell's ids), the capability sets and no_new_privs.
// Without no_new_privs the seccomp filter is loaded first (it needs
// CAP_SYS_ADMIN then); with it, exec_process() loads it last.
// Throws rtcell::Error.
void take_identity(const Prepared& p);

// After the handshake: loads the seccomp program, clears the signal mask and
// execs. Returns only by throwing (the errno of execve in the Error).
[[noreturn]] void exec_process(const Prepared& p);

// The cell's init, once it forked the command: it keeps nothing the command
// does not have (the command's uid, gid and groups as the host sees them, no capability in any
// set, the bounding set empty, no_new_privs, the same seccomp program), so
// that a payload that can reach pid 1 (ptrace with --cap-add SYS_PTRACE,
// a signal) gains nothing by it. Reaping and relaying signals to the
// command need no privilege. Throws rtcell::Error.
void drop_init_privileges(const Prepared& p);

}  // namespace rtcell::cell
