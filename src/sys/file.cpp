#include "sys/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

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

void write_file(const std::string& path, const std::string& text) {
  Fd fd = Fd::open(path, O_WRONLY);
  ssize_t n;
  do {
    n = ::write(fd.get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) sys_error("cannot write '" + trim(text) + "' to " + path, errno);
  if (static_cast<size_t>(n) != text.size()) sys_error("short write of '" + trim(text) + "' to " + path, EIO);
}

void write_file_atomic(const std::string& path, const std::string& text, int mode, bool durable) {
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
    if (durable && ::fsync(fd.get()) != 0) {
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
