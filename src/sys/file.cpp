#include "sys/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "rtcell/error.hpp"
#include "sys/fd.hpp"

namespace rtcell::sys {

namespace {

bool read_all(int fd, std::string& out) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::string read_file(const std::string& path) {
  Fd fd = Fd::open(path, O_RDONLY);
  std::string out;
  if (!read_all(fd.get(), out)) sys_error("cannot read " + path, errno);
  return out;
}

std::optional<std::string> try_read_file(const std::string& path) {
  Fd fd = Fd::try_open(path, O_RDONLY);
  if (!fd) return std::nullopt;
  std::string out;
  if (!read_all(fd.get(), out)) return std::nullopt;
  return out;
}

std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes) {
  Fd fd = Fd::try_open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) usage_error(what + ": cannot open it (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) sys_error("cannot stat " + path, errno);
  const std::string bound = std::to_string(max_bytes >> 20) + " MiB";
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    usage_error(what + " is " + kind + ": give a regular file (at most " + bound + ")");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    usage_error(what + " is " + std::to_string(st.st_size) + " bytes: the limit is " + bound);
  // The size may change under us: read at most one byte past the bound.
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) usage_error(what + ": cannot read it (" + std::strerror(errno) + ")");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      std::string msg = what;
      msg += " grew past the limit of ";
      msg += bound;
      usage_error(msg);
    }
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  Fd fd = Fd::open(path, O_WRONLY);
  ssize_t n;
  do {
    n = ::write(fd.get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) sys_error("cannot write '" + trim(text) + "' to " + path, errno);
  if (static_cast<size_t>(n) != text.size()) sys_error("short write of '" + trim(text) + "' to " + path, EIO);
}

void write_file_atomic(const std::string& path, const std::string& text, int mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd fd = Fd::open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        sys_error("cannot write " + tmp, e);
      }
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      sys_error("cannot sync " + tmp, e);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    sys_error("cannot rename " + tmp + " to " + path, e);
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace rtcell::sys
