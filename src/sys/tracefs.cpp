#include "sys/tracefs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "rtcell/error.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"

namespace rtcell::sys {

namespace {
// include/uapi/linux/magic.h
constexpr long kTracefsMagic = 0x74726163;

void write_quiet(const std::string& path, const char* text) noexcept {
  Fd fd = Fd::try_open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (!fd) return;
  const std::string_view v(text);
  [[maybe_unused]] ssize_t n = ::write(fd.get(), v.data(), v.size());
}
}  // namespace

bool is_tracefs(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == kTracefsMagic;
}

TracefsMount TracefsMount::ensure(const std::string& path) {
  TracefsMount m;
  m.path_ = path;
  if (!is_tracefs(path)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      unsupported_error("no " + path + " to mount tracefs on: this kernel has no tracefs (CONFIG_TRACING)");
    try {
      m.mount_ = MountPoint::mount("nodev", path, "tracefs", 0);
    } catch (const Error& e) {
      privilege_error(std::string(e.what()) + ": tracing needs root", e.err());
    }
  }
  if (::access((path + "/instances").c_str(), W_OK) != 0)
    privilege_error("cannot create tracefs instances under " + path +
                        "/instances: tracing needs root (or a kernel with instances, 3.13 or newer)",
                    errno);
  return m;
}

TraceInstance& TraceInstance::operator=(TraceInstance&& o) noexcept {
  if (this != &o) {
    reset();
    dir_ = std::exchange(o.dir_, {});
  }
  return *this;
}

TraceInstance TraceInstance::create(const std::string& tracefs, const std::string& name) {
  TraceInstance t;
  const std::string dir = tracefs + "/instances/" + name;
  if (::mkdir(dir.c_str(), 0700) != 0) {
    const int e = errno;
    if (e == EACCES || e == EPERM) privilege_error("cannot create tracefs instance " + dir, e);
    sys_error("cannot create tracefs instance " + dir, e);
  }
  t.dir_ = dir;
  return t;
}

int try_write(const std::string& path, const std::string& text) noexcept {
  Fd fd = Fd::try_open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (!fd) return errno != 0 ? errno : EIO;
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return errno;
  return static_cast<size_t>(n) == text.size() ? 0 : EIO;
}

TracefsSetting& TracefsSetting::operator=(TracefsSetting&& o) noexcept {
  if (this != &o) {
    reset();
    path_ = std::exchange(o.path_, {});
    old_ = std::exchange(o.old_, {});
    journal_ = std::exchange(o.journal_, {});
  }
  return *this;
}

namespace {
// Writes text to path through a temporary and a rename: a journal is whole or absent.
int write_whole(const std::string& path, const std::string& text) noexcept {
  const std::string tmp = path + ".tmp";
  Fd fd = Fd::try_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (!fd) return errno != 0 ? errno : EIO;
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  const int e = n < 0 ? errno : (static_cast<size_t>(n) == text.size() ? 0 : EIO);
  if (e != 0 || ::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = e != 0 ? e : errno;
    ::unlink(tmp.c_str());
    return err;
  }
  return 0;
}

bool pid_is_gone(const std::string& name, const std::string& prefix) noexcept {
  if (name.rfind(prefix, 0) != 0) return false;
  char* end = nullptr;
  const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
  if (end == name.c_str() + prefix.size() || *end != '\0' || pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}
}  // namespace

int TracefsSetting::set(const std::string& path, const std::string& value, const std::string& journal) {
  reset();
  std::string old;
  {
    Fd fd = Fd::try_open(path, O_RDONLY | O_CLOEXEC);
    if (!fd) return errno != 0 ? errno : EIO;
    char buf[512];
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0) return errno;
      if (n == 0) break;
      old.append(buf, static_cast<size_t>(n));
    }
  }
  while (!old.empty() && (old.back() == '\n' || old.back() == ' ')) old.pop_back();
  if (!journal.empty()) {
    const std::string dir = journal.substr(0, journal.rfind('/'));
    if (!dir.empty() && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno;
    if (const int e = write_whole(journal, path + "\n" + old); e != 0) return e;
  }
  if (const int e = try_write(path, value); e != 0) {
    if (!journal.empty()) ::unlink(journal.c_str());
    return e;
  }
  path_ = path;
  old_ = old;
  journal_ = journal;
  return 0;
}

void TracefsSetting::reset() noexcept {
  if (path_.empty()) return;
  // An empty osnoise/cpus reads back as "" and means "every CPU"; the
  // kernel takes an empty write as that too.
  write_quiet(path_, old_.empty() ? "\n" : old_.c_str());
  if (!journal_.empty()) ::unlink(journal_.c_str());
  path_.clear();
  old_.clear();
  journal_.clear();
}

void TraceInstance::reset() noexcept {
  if (dir_.empty()) return;
  // Stop recording first so rmdir does not race a writer; rmdir then frees
  // the buffers and every event enable of the instance. A tracer (timerlat)
  // goes back to nop first: its kernel threads stop before the instance goes.
  write_quiet(dir_ + "/tracing_on", "0");
  write_quiet(dir_ + "/current_tracer", "nop");
  if (::rmdir(dir_.c_str()) != 0) {
    write_quiet(dir_ + "/events/enable", "0");
    ::rmdir(dir_.c_str());
  }
  dir_.clear();
}

std::vector<std::string> remove_stale_instances(const std::string& tracefs, const std::string& prefix) {
  std::vector<std::string> removed;
  const std::string base = tracefs + "/instances";
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return removed;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (!pid_is_gone(name, prefix)) continue;
    std::string dir = base;
    dir += '/';
    dir += name;
    write_quiet(dir + "/tracing_on", "0");
    write_quiet(dir + "/current_tracer", "nop");
    if (::rmdir(dir.c_str()) == 0) removed.push_back(name);
  }
  ::closedir(d);
  return removed;
}

std::vector<std::string> restore_stale_settings(const std::string& journal_dir) {
  std::vector<std::string> restored;
  DIR* d = ::opendir(journal_dir.c_str());
  if (d == nullptr) return restored;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (!pid_is_gone(name, "")) continue;
    std::string journal = journal_dir;
    journal += '/';
    journal += name;
    const auto text = try_read_file(journal);
    if (!text) continue;
    const size_t nl = text->find('\n');
    if (nl == std::string::npos || nl == 0) {
      ::unlink(journal.c_str());  // not one of ours, or torn: nothing to put back
      continue;
    }
    const std::string path = text->substr(0, nl);
    const std::string old = text->substr(nl + 1);
    write_quiet(path, old.empty() ? "\n" : old.c_str());
    ::unlink(journal.c_str());
    restored.push_back(path);
  }
  ::closedir(d);
  return restored;
}

}  // namespace rtcell::sys
