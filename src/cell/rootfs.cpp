// The cell's mount tree, built by its init inside the new mount namespace
// from spec.mounts, spec.devices and the masked and read-only paths.
//
// Like bubblewrap, the init first pivots into a small staging tmpfs (mounted
// over the host's /tmp in the private namespace, never visible to the host),
// so the host tree becomes /oldroot and every source is read from there; the
// cell's root is assembled at /newroot and a final pivot_root(".", ".") plus
// a lazy detach drops the stage and the whole host tree (pivot_root(2),
// NOTES). Everything here runs in the init after clone: it throws
// rtcell::Error, which the init reports on its status pipe.
#include "cell/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "rtcell/error.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"
#include "sys/mount.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::cell {

namespace {

constexpr const char* kStage = "/tmp";
constexpr const char* kOld = "/oldroot";
constexpr const char* kNew = "/newroot";
constexpr const char* kOldMountinfo = "/oldroot/proc/self/mountinfo";

// The device nodes every cell gets in a /dev of its own (the runtime-spec's
// default devices), bound from the host's.
constexpr const char* kDefaultDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

void make_dir(const std::string& p, mode_t mode = 0755) {
  if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) sys_error("cannot create " + p, errno);
}

void make_dirs(const std::string& p) {
  for (size_t i = 1; i < p.size(); ++i)
    if (p[i] == '/') make_dir(p.substr(0, i));
  make_dir(p);
}

void make_file(const std::string& p) {
  sys::Fd fd = sys::Fd::open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
}

void make_symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0 && errno != EEXIST)
    sys_error("cannot create symlink " + link, errno);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Creates the mount point for `source` (a file or a directory) when the
// destination is missing; prepare() allowed that only inside a filesystem
// the cell fills itself.
void ensure_target(const std::string& target, bool dir) {
  if (exists(target)) return;
  make_dirs(target.substr(0, target.rfind('/')));
  if (dir)
    make_dir(target);
  else
    make_file(target);
}

// A bundle's read-only root (Spec::root_mount_points): the mount points it
// lacks are made in it while it is still writable, those under an earlier
// mount excepted (prepare() refused those).
void make_root_mount_points(const Spec& s) {
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const Mount& m = s.mounts[i];
    const bool covered =
        std::any_of(s.mounts.begin(), s.mounts.begin() + static_cast<long>(i), [&](const Mount& e) {
          return m.destination == e.destination || m.destination.rfind(e.destination + "/", 0) == 0;
        });
    if (covered) continue;
    ensure_target(std::string(kNew) + m.destination, !m.is_bind() || is_dir(std::string(kOld) + m.source));
  }
}

struct MountOptions {
  unsigned long flags = 0;  // MS_RDONLY, MS_NOSUID, ...
  unsigned long propagation = 0;
  bool recursive = false;  // rbind
  std::string data;        // fs-specific "k=v,..."
};

MountOptions parse_options(const Mount& m) {
  struct Word {
    const char* name;
    unsigned long set;
    unsigned long clear;
  };
  static const Word kWords[] = {
      {"ro", MS_RDONLY, 0},
      {"rw", 0, MS_RDONLY},
      {"nosuid", MS_NOSUID, 0},
      {"suid", 0, MS_NOSUID},
      {"nodev", MS_NODEV, 0},
      {"dev", 0, MS_NODEV},
      {"noexec", MS_NOEXEC, 0},
      {"exec", 0, MS_NOEXEC},
      {"noatime", MS_NOATIME, 0},
      {"relatime", MS_RELATIME, 0},
      {"strictatime", MS_STRICTATIME, 0},
      {"nodiratime", MS_NODIRATIME, 0},
      {"sync", MS_SYNCHRONOUS, 0},
      {"defaults", 0, 0},
  };
  static const Word kPropagation[] = {
      {"private", MS_PRIVATE, 0},       {"rprivate", MS_PRIVATE | MS_REC, 0},
      {"slave", MS_SLAVE, 0},           {"rslave", MS_SLAVE | MS_REC, 0},
      {"shared", MS_SHARED, 0},         {"rshared", MS_SHARED | MS_REC, 0},
      {"unbindable", MS_UNBINDABLE, 0}, {"runbindable", MS_UNBINDABLE | MS_REC, 0},
  };
  MountOptions o;
  for (const auto& w : m.options) {
    if (w == "bind") continue;
    if (w == "rbind") {
      o.recursive = true;
      continue;
    }
    bool known = false;
    for (const auto& k : kWords)
      if (w == k.name) {
        o.flags = (o.flags | k.set) & ~k.clear;
        known = true;
      }
    for (const auto& k : kPropagation)
      if (w == k.name) {
        o.propagation = k.set;
        known = true;
      }
    if (known) continue;
    if (!o.data.empty()) o.data += ',';
    o.data += w;
  }
  return o;
}

// The mount point `destination` inside the cell's root, opened without
// following any symlink (prepare() resolved every one; a component swapped
// for a symlink since then fails with ELOOP instead of sending the mount
// elsewhere). An invalid fd with errno ENOSYS before Linux 5.6.
sys::Fd open_in_root(const std::string& destination) {
  sys::Fd root = sys::Fd::open(kNew, O_PATH | O_DIRECTORY | O_CLOEXEC);
  sys::OpenHow how{O_PATH | O_CLOEXEC, 0,
                   sys::kResolveNoSymlinks | sys::kResolveNoMagiclinks | sys::kResolveBeneath};
  const std::string rel = destination.substr(destination.find_first_not_of('/'));
  int fd = sys::openat2(root.get(), rel.c_str(), &how);
  if (fd < 0 && errno == ELOOP)
    usage_error(destination +
                " in the cell's root passes through a symlink: it changed since it was checked");
  if (fd < 0 && errno != ENOSYS) sys_error("cannot open " + destination + " in the cell's root", errno);
  return sys::Fd(fd);
}

// What mount(2) gets for an opened mount point: its magic link, through the
// host's /proc (still at /oldroot/proc while the root is assembled).
std::string fd_path(const sys::Fd& fd) {
  return std::string(kOld) + "/proc/self/fd/" + std::to_string(fd.get());
}

// `owner`: "uid=N,gid=N" for a tmpfs the cell's uid 0 should own (with a
// user namespace the init, host root, makes it on the cell's behalf).
void mount_one(const Mount& m, const std::string& owner) {
  const std::string path = std::string(kNew) + m.destination;
  MountOptions o = parse_options(m);
  if (m.type == "tmpfs" && !owner.empty() && o.data.find("uid=") == std::string::npos)
    o.data += (o.data.empty() ? "" : ",") + owner;
  const bool bind = m.is_bind();
  const std::string source = bind ? std::string(kOld) + m.source : std::string();
  ensure_target(path, !bind || is_dir(source));
  sys::Fd at = open_in_root(m.destination);
  const std::string target = at ? fd_path(at) : path;
  try {
    if (bind) {
      sys::bind_mount(source, target, o.recursive || m.type == "bind", false);
    } else {
      sys::mount(m.source.empty() ? m.type : m.source, target, m.type, o.flags, o.data);
    }
  } catch (const Error& e) {
    // Name the mount point as the user gave it, not its /proc/self/fd link.
    std::string msg = e.what();
    for (size_t i = msg.find(target); i != std::string::npos; i = msg.find(target, i + path.size()))
      msg.replace(i, target.size(), path);
    throw Error(e.kind(), msg, e.err());
  }
  // The new mount, as the cell will see it, for its flags.
  sys::Fd top = at ? open_in_root(m.destination) : sys::Fd();
  const std::string here = top ? fd_path(top) : path;
  if (bind) {
    // A bind takes its flags only from a remount (mount(2), MS_BIND|MS_REMOUNT).
    const unsigned long extra = o.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (extra != 0 && ::mount("", here.c_str(), "", MS_BIND | MS_REMOUNT | extra, nullptr) != 0)
      sys_error("cannot remount " + m.destination + " with its options", errno);
    if (o.flags & MS_RDONLY) {
      sys::MountAttr attr{sys::kMountAttrRdonly, 0, 0, 0};
      if (!top || sys::mount_setattr(top.get(), "", sys::kAtEmptyPath | sys::kAtRecursive, &attr) != 0)
        sys::remount_tree_read_only(path, kOldMountinfo);
    }
  }
  if (o.propagation != 0 && ::mount("", here.c_str(), "", o.propagation, nullptr) != 0)
    sys_error("cannot set the propagation of " + m.destination, errno);
}

// Binds one host node onto a new empty file in the cell; a node the host
// lacks (an OCI spec may name one) is made with mknod.
void make_device(const DeviceNode& d) {
  const std::string target = std::string(kNew) + d.path;
  if (exists(target)) return;
  make_dirs(target.substr(0, target.rfind('/')));
  const std::string host = std::string(kOld) + (d.host_path.empty() ? d.path : d.host_path);
  struct stat st {};
  const mode_t kind = d.type == 'b' ? S_IFBLK : S_IFCHR;
  if (::stat(host.c_str(), &st) == 0 && (st.st_mode & S_IFMT) == kind &&
      st.st_rdev == makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) {
    make_file(target);
    sys::bind_mount(host, target, false, false);
    return;
  }
  if (::mknod(target.c_str(), kind | (d.file_mode & 0777),
              makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) != 0)
    sys_error("cannot create device " + d.path, errno);
  if (::chown(target.c_str(), d.uid, d.gid) != 0) sys_error("cannot chown device " + d.path, errno);
}

// The /dev rtcell fills when the spec mounts a tmpfs there.
void fill_dev() {
  const std::string dev = std::string(kNew) + "/dev";
  for (const char* n : kDefaultDevices) {
    const std::string target = dev + "/" + n;
    if (exists(target)) continue;
    make_file(target);
    sys::bind_mount(std::string(kOld) + "/dev/" + n, target, false, false);
  }
  if (is_dir(dev + "/pts")) make_symlink("pts/ptmx", dev + "/ptmx");
  make_symlink("/proc/self/fd", dev + "/fd");
  make_symlink("/proc/self/fd/0", dev + "/stdin");
  make_symlink("/proc/self/fd/1", dev + "/stdout");
  make_symlink("/proc/self/fd/2", dev + "/stderr");
}

// A masked or read-only path, opened like a mount destination (no symlink
// anywhere on the way: a masked path that is a symlink would hide nothing
// or mount elsewhere). Invalid with `missing` set when the root has none;
// invalid without it before Linux 5.6 (no openat2: by path then).
sys::Fd open_listed(const std::string& path, bool& missing) {
  sys::Fd root = sys::Fd::open(kNew, O_PATH | O_DIRECTORY | O_CLOEXEC);
  sys::OpenHow how{O_PATH | O_CLOEXEC, 0,
                   sys::kResolveNoSymlinks | sys::kResolveNoMagiclinks | sys::kResolveBeneath};
  int fd = sys::openat2(root.get(), path.substr(path.find_first_not_of('/')).c_str(), &how);
  missing = fd < 0 && errno == ENOENT;
  if (fd < 0 && errno == ELOOP)
    usage_error(path +
                " (a masked or read-only path) passes through a symlink in the cell's root: "
                "masking it would hide nothing");
  if (fd < 0 && errno != ENOENT && errno != ENOSYS)
    sys_error("cannot open " + path + " in the cell's root", errno);
  return sys::Fd(fd);
}

// Turns the mount just made on `path` read-only, through a fresh fd of it.
void seal(const std::string& path) {
  bool missing = false;
  sys::Fd top = open_listed(path, missing);
  sys::MountAttr attr{sys::kMountAttrRdonly, 0, 0, 0};
  if (!top || sys::mount_setattr(top.get(), "", sys::kAtEmptyPath, &attr) != 0)
    sys::remount_tree_read_only(std::string(kNew) + path, kOldMountinfo, false);
}

void mask(const std::string& path) {
  bool missing = false;
  sys::Fd at = open_listed(path, missing);
  if (missing) return;  // nothing to hide
  const std::string target = at ? fd_path(at) : std::string(kNew) + path;
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode))
    sys::mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
  else
    sys::bind_mount(std::string(kOld) + "/dev/null", target, false, false);
  seal(path);
}

void read_only(const std::string& path) {
  bool missing = false;
  sys::Fd at = open_listed(path, missing);
  if (missing) return;
  const std::string target = at ? fd_path(at) : std::string(kNew) + path;
  if (!at && !exists(target)) return;
  sys::bind_mount(target, target, false, false);
  seal(path);
}

// The cell's words for a path in a message built during the build: the
// stage's /newroot/x is the cell's /x and /oldroot/x is the host's /x (the
// user gave both without the prefix).
std::string cell_words(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool stripped = false;
    for (const std::string_view prefix : {std::string_view(kNew), std::string_view(kOld)}) {
      if (text.compare(i, prefix.size(), prefix) != 0) continue;
      const size_t end = i + prefix.size();
      const char next = end < text.size() ? text[end] : ' ';
      if (next != '/' && next != ' ' && next != ':' && next != ',' && next != ')' && next != '\'') continue;
      if (next != '/') out += '/';  // the stage's /newroot alone is the cell's /
      i = end;
      stripped = true;
      break;
    }
    if (!stripped) out += text[i++];
  }
  return out;
}

void build(const Spec& s);

}  // namespace

void build_root(const Spec& s) {
  try {
    build(s);
  } catch (const Error& e) {
    throw Error(e.kind(), cell_words(e.what()), e.err());
  }
}

namespace {

void build(const Spec& s) {
  sys::make_rprivate();
  sys::mount("tmpfs", kStage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64k");
  make_dir(std::string(kStage) + kOld);
  make_dir(std::string(kStage) + kNew);
  if (sys::pivot_root(kStage, (std::string(kStage) + kOld).c_str()) != 0)
    sys_error("pivot_root to the stage", errno);
  if (::chdir("/") != 0) sys_error("chdir /", errno);

  const std::string src = s.root_path == "/" ? std::string(kOld) : std::string(kOld) + s.root_path;
  sys::bind_mount(src, kNew, true, false);
  if (s.root_readonly && s.root_mount_points) make_root_mount_points(s);
  if (s.root_readonly) sys::remount_tree_read_only(kNew, kOldMountinfo);
  if (!s.root_propagation.empty()) {
    Mount prop;
    prop.options = {s.root_propagation};
    const MountOptions o = parse_options(prop);
    if (o.propagation == 0)
      usage_error("linux.rootfsPropagation '" + s.root_propagation + "' is not a propagation");
    if (::mount("", kNew, "", o.propagation, nullptr) != 0)
      sys_error("cannot set linux.rootfsPropagation " + s.root_propagation, errno);
  }
  // With a user namespace mapping the cell's uid 0, its tmpfs mounts (/run,
  // /tmp, /dev/shm, ...) are that uid's, as if it had made them itself.
  std::string owner;
  const auto root_uid = map_to_host(s.uid_mappings, 0);
  const auto root_gid = map_to_host(s.gid_mappings, 0);
  if (s.has_namespace(NamespaceType::User) && root_uid && root_gid)
    owner = "uid=" + std::to_string(*root_uid) + ",gid=" + std::to_string(*root_gid);
  bool own_dev = false;
  for (const auto& m : s.mounts) {
    mount_one(m, owner);
    own_dev = own_dev || (m.destination == "/dev" && !m.is_bind());
  }
  if (own_dev) fill_dev();
  for (const auto& d : s.devices) make_device(d);
  // Through the cell's own /proc (prepare() allowed only sysctls its
  // namespaces hold), before /proc/sys turns read-only.
  for (const auto& [key, value] : s.sysctls) {
    std::string path = std::string(kNew) + "/proc/sys/" + key;
    std::replace(path.begin() + static_cast<std::ptrdiff_t>(std::strlen(kNew) + 10), path.end(), '.', '/');
    sys::write_file(path, value);
  }
  for (const auto& p : s.masked_paths) mask(p);
  for (const auto& p : s.readonly_paths) read_only(p);
}

// /sys/fs/cgroup in the cell: v1, a read-only tmpfs holding one read-only
// bind of each of the cell's own groups under its hierarchy's name; v2, the
// cell's one group bound read-only as the whole tree, with no tmpfs under it
// (one would stay writable below the bind, as the first unified-v2 guest
// showed). With the cgroup namespace the init unshared after joining them,
// /proc/self/cgroup shows "/" for each: no host path, no other cell.
void cgroup_view(const CgroupView& view) {
  const std::string mnt = std::string(kNew) + "/sys/fs/cgroup";
  if (view.leaves.empty() || !is_dir(mnt)) return;
  if (view.per_hierarchy)
    sys::mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k");
  for (const auto& leaf : view.leaves) {
    if (leaf.rfind(view.root + "/", 0) != 0) continue;
    const std::string rel = leaf.substr(view.root.size() + 1);
    const size_t slash = rel.find('/');
    // v1/hybrid: <root>/<hierarchy>/<parent>/<id>; v2: <root>/<parent>/<id>.
    const std::string target =
        view.per_hierarchy && slash != std::string::npos ? mnt + "/" + rel.substr(0, slash) : mnt;
    make_dir(target);
    sys::bind_mount(std::string(kOld) + leaf, target, false, false);
    sys::remount_tree_read_only(target, kOldMountinfo, false);
  }
  if (view.per_hierarchy) sys::remount_tree_read_only(mnt, kOldMountinfo, false);
}

}  // namespace

sys::Fd hold_dma_latency(const Spec& s) {
  // The PM QoS request lasts as long as the file stays open
  // (Documentation/power/pm_qos_interface.rst): the init holds it.
  sys::Fd dma;
  if (s.dma_latency_us) {
    dma = sys::Fd::open(std::string(kOld) + "/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
    const int32_t us = *s.dma_latency_us;
    if (::write(dma.get(), &us, sizeof us) != static_cast<ssize_t>(sizeof us))
      sys_error("cannot write the /dev/cpu_dma_latency request", errno);
  }

  return dma;
}

void enter_root(const Spec& s, const CgroupView& view) {
  if (s.has_namespace(NamespaceType::Cgroup) || s.cgroup_mount) cgroup_view(view);

  if (::chdir(kNew) != 0) sys_error(std::string("chdir ") + kNew, errno);
  if (sys::pivot_root(".", ".") != 0) sys_error("pivot_root into the cell's root", errno);
  if (::umount2(".", MNT_DETACH) != 0) sys_error("cannot detach the host's root", errno);
  if (::chdir("/") != 0) sys_error("chdir /", errno);
}

}  // namespace rtcell::cell
