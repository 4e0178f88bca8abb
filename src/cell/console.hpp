// An interactive cell's terminal: a pty of the cell's own devpts, whose
// master rtcell run relays to its own terminal (the shape of `docker run
// -t` and of runc's console socket). The cell never gets the caller's
// terminal: it could push keystrokes into it (TIOCSTI) or signal its
// process group.
#pragma once

#include <signal.h>
#include <termios.h>

#include <string>

#include "sys/fd.hpp"
#include "sys/process.hpp"

namespace rtcell::cell {

// In the init, before the pivot: a new pty in the devpts mounted at
// `devpts` (the cell's /dev/pts). Returns the master; `slave` gets the
// slave's path as the cell will see it (/dev/pts/N). Throws rtcell::Error.
sys::Fd open_pty(const std::string& devpts, std::string& slave);

// In the command, before it drops root: a session of its own with the pty
// slave as its controlling terminal and stdin, stdout, stderr; the slave
// is handed to `uid`/`gid`. Throws rtcell::Error.
void take_pty(const std::string& slave, uid_t uid, gid_t gid);

// Copies this process's terminal size to the pty (no-op without a terminal).
void copy_window_size(int master);

// runc's console-socket protocol: connects to the unix socket at `path`
// and sends `master` with SCM_RIGHTS, the pty's name as the data (conmon
// and containerd's shim take the fd). Throws rtcell::Error naming the path.
void send_console(const std::string& path, int master, const std::string& name);
// The same in two steps, for a process that connects before it leaves the
// host's mount namespace: the connected socket, then the send on it.
int connect_console(const std::string& path);
void send_console_fd(int sock, int master, const std::string& name);

// In the creator: this process's stdin in raw mode for as long as the
// object lives (no-op when stdin is not a terminal), so that keystrokes,
// ^C included, reach the cell's pty as they are.
class RawTerminal {
 public:
  RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal();

 private:
  bool saved_ = false;
  termios old_{};
};

// Relays stdin -> master and master -> stdout, and the signals in `set`
// (blocked by the caller) to the init (SIGWINCH resizes the pty), until
// the init exits; returns its wait status. No sleep: poll on the fds and
// a signalfd.
int relay_until_exit(int master, sys::Process& init, const sigset_t& set);

}  // namespace rtcell::cell
