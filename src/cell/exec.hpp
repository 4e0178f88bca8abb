// The cell's command process (pid 2 of the cell, forked by its init):
// everything spec.process asks for, split at the start handshake.
#pragma once

#include <string>

#include "cell/prepare.hpp"
#include "rtcell/error.hpp"

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

// The status pipe between a process in the cell and the one that made it:
// EOF after execve (the pipe is close-on-exec), or "E<kind>\n<message>".
// report_and_exit() writes the failure (on stderr when nobody listens any
// more) and exits with `code`; read_all() reads the pipe to EOF;
// throw_cell_failure() rethrows a non-empty failure as the rtcell::Error it
// was.
[[noreturn]] void report_and_exit(int status_fd, ErrorKind kind, const std::string& msg, int code) noexcept;
std::string read_all(int fd);
void throw_cell_failure(const std::string& failure);

}  // namespace rtcell::cell
