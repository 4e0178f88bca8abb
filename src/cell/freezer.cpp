#include "cell/freezer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <sstream>
#include <thread>

#include "cell/cgroup_internal.hpp"
#include "rtcell/error.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"

namespace rtcell::cell {

namespace {

using detail::path_exists;
using Clock = std::chrono::steady_clock;

// Tasks in uninterruptible sleep (NFS, a stuck driver) may take a while to
// freeze; runc gives up after about the same time.
constexpr auto kFreezeTimeout = std::chrono::seconds(10);

std::string not_frozen() {
  return "the cell's processes did not freeze within " + std::to_string(kFreezeTimeout.count()) +
         " s (a task in uninterruptible sleep?); it was thawed again";
}

std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  auto text = sys::try_read_file(dir + "/cgroup.procs");
  if (!text) return out;
  std::istringstream in(*text);
  for (pid_t p = 0; in >> p;) out.push_back(p);
  std::sort(out.begin(), out.end());
  return out;
}

// 0 or errno: moving a process that has just exited gives ESRCH.
int write_errno(const std::string& path, const std::string& text) {
  sys::Fd fd = sys::Fd::try_open(path, O_WRONLY | O_CLOEXEC);
  if (!fd) return errno;
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  return n == static_cast<ssize_t>(text.size()) ? 0 : errno;
}

// ---- v2 ---------------------------------------------------------------

const std::string& v2_leaf(const CgroupJournal& j) {
  for (const auto& m : j.made)
    if (m.leaf) return m.path;
  unsupported_error("the cell has no cgroup of its own: it cannot be paused");
}

bool v2_frozen(const std::string& leaf) {
  auto events = sys::try_read_file(leaf + "/cgroup.events");
  return events && events->find("frozen 1") != std::string::npos;
}

void v2_freeze(const CgroupJournal& j) {
  const std::string& leaf = v2_leaf(j);
  if (!path_exists(leaf + "/cgroup.freeze"))
    unsupported_error("no cgroup.freeze in " + leaf + ": the cgroup v2 freezer needs Linux 5.2 or newer");
  // Opened before the write, so that the change it reports is not missed.
  sys::Fd events = sys::Fd::try_open(leaf + "/cgroup.events", O_RDONLY | O_CLOEXEC);
  sys::write_file(leaf + "/cgroup.freeze", "1");
  const auto deadline = Clock::now() + kFreezeTimeout;
  while (!v2_frozen(leaf)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !events) {
      sys::write_file(leaf + "/cgroup.freeze", "0");
      throw Error(ErrorKind::System, not_frozen());
    }
    pollfd p{events.get(), POLLPRI, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      sys_error("poll cgroup.events", errno);
  }
}

// ---- v1 and hybrid ------------------------------------------------------

struct V1Freezer {
  std::string ref;   // one of the cell's leaves: where its processes are listed
  std::string rel;   // the cell's path below a controller root: parent/id
  std::string base;  // <root>/freezer
  std::string leaf() const { return base + "/" + rel; }
};

V1Freezer v1_freezer(const CgroupJournal& j) {
  V1Freezer f;
  f.base = j.root + "/freezer";
  for (const auto& m : j.made) {
    if (!m.leaf || m.path.compare(0, f.base.size() + 1, f.base + "/") == 0) continue;
    const std::string below = m.path.substr(j.root.size() + 1);  // cpu/<parent>/<id>
    const size_t slash = below.find('/');
    if (slash == std::string::npos) continue;
    f.ref = m.path;
    f.rel = below.substr(slash + 1);
    break;
  }
  if (f.ref.empty()) unsupported_error("the cell has no cgroup of its own: it cannot be paused");
  if (!path_exists(f.base + "/cgroup.procs"))
    unsupported_error("no v1 freezer hierarchy at " + f.base +
                      ": mount it (mount -t cgroup -o freezer freezer " + f.base + ") to pause cells");
  return f;
}

// Makes the freezer group and its missing parents, each journaled first.
void v1_make(CgroupJournal& j, const V1Freezer& f, const std::function<void(const CgroupJournal&)>& save) {
  std::string path = f.base;
  std::istringstream parts(f.rel);
  std::vector<std::string> levels;
  for (std::string c; std::getline(parts, c, '/');)
    if (!c.empty()) levels.push_back(c);
  for (size_t i = 0; i < levels.size(); ++i) {
    path += "/" + levels[i];
    const bool leaf = i + 1 == levels.size();
    const bool known =
        std::any_of(j.made.begin(), j.made.end(), [&](const auto& m) { return m.path == path; });
    if (path_exists(path)) {
      if (leaf && !known)
        usage_error("freezer group " + path + " exists and is not this cell's: remove it first");
      // An rtcell-named parent another cell made is every pausing cell's to
      // give back once empty, as make_group does for the other controllers:
      // otherwise the cell that made it may go first (EBUSY) and the last
      // one, not having made it, leaves it behind.
      if (!leaf && !known && detail::is_rtcell_name(levels[i])) {
        j.made.push_back({path, true, false});
        if (save) save(j);
      }
      continue;
    }
    j.made.push_back({path, true, leaf});
    if (save) save(j);
    const int rc = CgroupFs::kernel().make_dir(path);
    if (rc != 0 && rc != EEXIST) sys_error("cannot make cgroup " + path, rc);
  }
}

// Moves every process of the cell into the freezer group; returns how many
// moved. Repeats until a pass moves none (a fork during a pass).
size_t v1_move(const V1Freezer& f) {
  size_t moved = 0;
  for (;;) {
    const std::vector<pid_t> in = procs_of(f.leaf());
    size_t pass = 0;
    for (pid_t p : procs_of(f.ref)) {
      if (std::binary_search(in.begin(), in.end(), p)) continue;
      const int rc = write_errno(f.leaf() + "/cgroup.procs", std::to_string(p));
      if (rc != 0 && rc != ESRCH)
        sys_error("cannot move process " + std::to_string(p) + " into " + f.leaf(), rc);
      if (rc == 0) ++pass;
    }
    moved += pass;
    if (pass == 0) return moved;
  }
}

// freezer.state has no notification: read it again with a short, growing
// pause (as runc does) until FROZEN.
bool v1_wait_frozen(const std::string& leaf, Clock::time_point deadline) {
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    auto st = sys::try_read_file(leaf + "/freezer.state");
    if (st && sys::trim(*st) == "FROZEN") return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10'000));
  }
}

void v1_freeze(CgroupJournal& j, const std::function<void(const CgroupJournal&)>& save) {
  const V1Freezer f = v1_freezer(j);
  v1_make(j, f, save);
  const auto deadline = Clock::now() + kFreezeTimeout;
  v1_move(f);
  sys::write_file(f.leaf() + "/freezer.state", "FROZEN");
  bool ok = v1_wait_frozen(f.leaf(), deadline);
  // A process forked between the last move and the freeze is still outside.
  while (ok && v1_move(f) > 0) ok = v1_wait_frozen(f.leaf(), deadline);
  if (!ok) {
    sys::write_file(f.leaf() + "/freezer.state", "THAWED");
    throw Error(ErrorKind::System, not_frozen());
  }
}

}  // namespace

void freeze(CgroupJournal& j, const std::function<void(const CgroupJournal&)>& save) {
  if (j.layout == CgroupLayout::V2)
    v2_freeze(j);
  else
    v1_freeze(j, save);
}

void thaw(const CgroupJournal& j) {
  if (j.layout == CgroupLayout::V2) {
    for (const auto& m : j.made)
      if (m.leaf && path_exists(m.path + "/cgroup.freeze")) sys::write_file(m.path + "/cgroup.freeze", "0");
    return;
  }
  const std::string base = j.root + "/freezer/";
  for (const auto& m : j.made)
    if (m.leaf && m.path.compare(0, base.size(), base) == 0 && path_exists(m.path + "/freezer.state"))
      sys::write_file(m.path + "/freezer.state", "THAWED");
}

}  // namespace rtcell::cell
