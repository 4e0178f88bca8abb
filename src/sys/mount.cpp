#include "sys/mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <utility>
#include <vector>

#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::sys {

void mount(const std::string& source, const std::string& target, const std::string& fstype,
           unsigned long flags, const std::string& data) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
              fstype.empty() ? nullptr : fstype.c_str(), flags, data.empty() ? nullptr : data.c_str()) == 0)
    return;
  int e = errno;
  std::string what = "cannot mount ";
  what += fstype.empty() ? source : fstype;
  what += " on " + target;
  sys_error(what, e);
}

namespace {

// The per-mount flags a bind remount must repeat: the kernel would clear
// nosuid/nodev/noexec otherwise (and refuses to clear locked ones). Taken
// from mountinfo, not statvfs(), which would trigger automounts.
unsigned long parse_mount_opts(const std::string& opts) {
  unsigned long f = 0;
  std::istringstream in(opts);
  std::string o;
  while (std::getline(in, o, ',')) {
    if (o == "nosuid") f |= MS_NOSUID;
    if (o == "nodev") f |= MS_NODEV;
    if (o == "noexec") f |= MS_NOEXEC;
    if (o == "noatime") f |= MS_NOATIME;
    if (o == "nodiratime") f |= MS_NODIRATIME;
    if (o == "relatime") f |= MS_RELATIME;
    if (o == "strictatime") f |= MS_STRICTATIME;
  }
  return f;
}

void remount_read_only(const std::string& target, unsigned long keep) {
  if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, nullptr) != 0)
    sys_error("cannot remount " + target + " read-only", errno);
}

}  // namespace

void bind_mount(const std::string& source, const std::string& target, bool recursive, bool read_only) {
  unsigned long flags = MS_BIND;
  if (recursive) flags |= MS_REC;
  mount(source, target, "", flags);
  if (read_only) remount_tree_read_only(target, "/proc/self/mountinfo", false);
}

std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      auto oct = field.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

void remount_tree_read_only(const std::string& prefix, const std::string& mountinfo, bool recursive) {
  // Linux 5.12+: the whole tree in one syscall (a recursive bind of the
  // host's / holds a mount per filesystem; one remount each cost most of a
  // cell's mount work). Older kernels: the mountinfo walk below.
  MountAttr attr{kMountAttrRdonly, 0, 0, 0};
  if (mount_setattr(AT_FDCWD, prefix.c_str(), recursive ? kAtRecursive : 0, &attr) == 0) return;
  if (errno != ENOSYS) sys_error("cannot remount " + prefix + " read-only", errno);
  if (!recursive) {
    // One mount: its flags from statvfs(2), no need to read and parse
    // mountinfo (a cell's init makes a dozen of these at every launch).
    struct statvfs st {};
    if (::statvfs(prefix.c_str(), &st) != 0) sys_error("cannot remount " + prefix + " read-only", errno);
    unsigned long keep = 0;
    if (st.f_flag & ST_NOSUID) keep |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) keep |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) keep |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) keep |= MS_RELATIME;
    remount_read_only(prefix, keep);
    return;
  }
  struct Entry {
    std::string id, parent, point, fstype;
    unsigned long keep;
  };
  std::vector<Entry> mounts;
  std::istringstream in(read_file(mountinfo));
  std::string line;
  while (std::getline(in, line)) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw" (proc(5)).
    std::istringstream f(line);
    Entry e;
    std::string dev, root, opts, field;
    f >> e.id >> e.parent >> dev >> root >> e.point >> opts;
    while (f >> field && field != "-") {
    }
    f >> e.fstype;
    e.point = unescape_mountinfo(e.point);
    e.keep = parse_mount_opts(opts);
    mounts.push_back(std::move(e));
  }
  // The mount path lookup reaches at `prefix` is the last one listed there
  // (mounts stack); below it, only its descendants are reachable; mounts of
  // the same paths that it covers are not (ENOENT if touched).
  const Entry* top = nullptr;
  for (const auto& m : mounts)
    if (m.point == prefix) top = &m;
  if (top == nullptr) sys_error("no mount at " + prefix + " to remount read-only", EINVAL);
  std::vector<const Entry*> todo{top};
  for (size_t i = 0; i < todo.size(); ++i) {
    const Entry* m = todo[i];
    // An autofs trigger point is not data; touching it would start a mount.
    if (m->fstype != "autofs") remount_read_only(m->point, m->keep);
    if (!recursive) continue;
    for (const auto& c : mounts)
      if (c.parent == m->id && &c != m) todo.push_back(&c);
  }
}

void make_rprivate() {
  mount("", "/", "", MS_REC | MS_PRIVATE);
}

MountPoint& MountPoint::operator=(MountPoint&& o) noexcept {
  if (this != &o) {
    reset();
    target_ = std::exchange(o.target_, {});
  }
  return *this;
}

MountPoint MountPoint::mount(const std::string& source, const std::string& target, const std::string& fstype,
                             unsigned long flags, const std::string& data) {
  sys::mount(source, target, fstype, flags, data);
  return MountPoint(target);
}

void MountPoint::reset() noexcept {
  if (target_.empty()) return;
  ::umount2(target_.c_str(), MNT_DETACH);
  target_.clear();
}

}  // namespace rtcell::sys
