#include "cell/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rtcell/error.hpp"
#include "sys/fdpass.hpp"

namespace rtcell::cell {

namespace {

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Copies what `from` has now; false on EOF or error (EIO: the pty's
// other side is gone).
bool pump(int from, int to) {
  char buf[4096];
  ssize_t n;
  do {
    n = ::read(from, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n < 0 && errno == EAGAIN;
  write_all(to, buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

sys::Fd open_pty(const std::string& devpts, std::string& slave) {
  sys::Fd master = sys::Fd::open(devpts + "/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) sys_error("cannot unlock the cell's pty", errno);
  int n = -1;
  if (::ioctl(master.get(), TIOCGPTN, &n) != 0) sys_error("cannot name the cell's pty", errno);
  slave = "/dev/pts/" + std::to_string(n);
  return master;
}

void take_pty(const std::string& slave, uid_t uid, gid_t gid) {
  if (::setsid() < 0) sys_error("setsid", errno);
  sys::Fd fd = sys::Fd::open(slave, O_RDWR);
  if (::ioctl(fd.get(), TIOCSCTTY, 0) != 0)
    sys_error("cannot make " + slave + " the controlling terminal", errno);
  if (::fchown(fd.get(), uid, gid) != 0) sys_error("cannot hand " + slave + " to the cell's user", errno);
  for (int std_fd = 0; std_fd < 3; ++std_fd)
    if (::dup2(fd.get(), std_fd) < 0) sys_error("dup2 of the cell's pty", errno);
}

int connect_console(const std::string& path) {
  sys::Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) sys_error("socket", errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    usage_error("--console-socket " + path + " is too long for a unix socket");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    sys_error("cannot connect to --console-socket " + path, errno);
  return sock.release();
}

void send_console_fd(int sock, int master, const std::string& name) {
  if (!sys::send_with_fds(sock, name, {master}))
    sys_error("cannot send the terminal to the console socket", errno);
}

void send_console(const std::string& path, int master, const std::string& name) {
  sys::Fd sock(connect_console(path));
  send_console_fd(sock.get(), master, name);
}

void copy_window_size(int master) {
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

RawTerminal::RawTerminal() {
  if (::isatty(STDIN_FILENO) != 1 || ::tcgetattr(STDIN_FILENO, &old_) != 0) return;
  termios raw = old_;
  ::cfmakeraw(&raw);
  saved_ = ::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (saved_) ::tcsetattr(STDIN_FILENO, TCSADRAIN, &old_);
}

int relay_until_exit(int master, sys::Process& init, const sigset_t& set) {
  sys::Fd sig(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sig) sys_error("signalfd", errno);
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  bool in_open = true, out_open = true;
  for (;;) {
    pollfd p[3] = {
        {sig.get(), POLLIN, 0}, {out_open ? master : -1, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      sys_error("poll", errno);
    }
    if (p[1].revents != 0) out_open = pump(master, STDOUT_FILENO);
    if (p[2].revents != 0) in_open = pump(STDIN_FILENO, master);
    if (p[0].revents == 0) continue;
    signalfd_siginfo si{};
    if (::read(sig.get(), &si, sizeof si) != static_cast<ssize_t>(sizeof si)) continue;
    if (si.ssi_signo == SIGWINCH) {
      copy_window_size(master);
      continue;
    }
    if (si.ssi_signo != SIGCHLD) {
      init.signal(static_cast<int>(si.ssi_signo));
      continue;
    }
    if (auto st = init.wait(true)) {
      // What the command wrote last (non-blocking: EAGAIN or EIO ends it).
      char buf[4096];
      ssize_t n;
      while (out_open && (n = ::read(master, buf, sizeof buf)) > 0)
        write_all(STDOUT_FILENO, buf, static_cast<size_t>(n));
      return *st;
    }
  }
}

}  // namespace rtcell::cell
