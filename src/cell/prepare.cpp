#include "cell/prepare.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>

#include "rtcell/error.hpp"
#include "sys/fd.hpp"

namespace rtcell::cell {

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

// A destination that the root lacks is fine when an earlier mount of a
// filesystem rtcell fills itself (tmpfs, devpts, ...) covers it: the cell's
// builder creates it there. The root itself is read-only.
bool destination_ok(const Spec& s, size_t index) {
  const std::string& dst = s.mounts[index].destination;
  if (exists(in_root(s.root_path, dst))) return true;
  for (size_t i = 0; i < index; ++i) {
    const Mount& m = s.mounts[i];
    if (!m.is_bind() && (m.type == "tmpfs" || m.type == "devpts" || m.type == "mqueue") &&
        under(dst, m.destination))
      return true;
  }
  // A writable root, or a bundle's root that turns read-only only once
  // the mounts are in (not under an earlier mount): the builder creates the
  // mount point, as runc does.
  if (!s.root_readonly) return true;
  if (!s.root_mount_points) return false;
  for (size_t i = 0; i < index; ++i)
    if (dst == s.mounts[i].destination || under(dst, s.mounts[i].destination)) return false;
  return true;
}

// Where the cell path `path` lies on the host while the init builds the
// tree, given the mounts before `upto`: under a bind, in its host source;
// under a filesystem rtcell mounts fresh (tmpfs, proc, devpts, ...), nowhere
// (nullopt: only what rtcell itself creates there); else in the root.
std::optional<std::string> host_of(const Spec& s, size_t upto, const std::string& path) {
  const Mount* cover = nullptr;
  for (size_t i = 0; i < upto; ++i) {
    const Mount& m = s.mounts[i];
    if ((path == m.destination || under(path, m.destination)) &&
        (cover == nullptr || m.destination.size() >= cover->destination.size()))
      cover = &m;
  }
  if (cover == nullptr) return in_root(s.root_path, path);
  if (!cover->is_bind()) return std::nullopt;
  return cover->source + path.substr(cover->destination.size());
}

// Resolves `path` as the cell will see it once built, the way
// openat2(RESOLVE_IN_ROOT) would: a symlink is followed, but an absolute
// target counts from the cell's root and ".." stops there, so nothing leads
// out of the root. A missing tail is kept as given (rtcell creates it).
// Returns a clean absolute path; throws Usage naming `what` on a loop.
std::string resolve_path(const Spec& s, size_t upto, const std::string& path, const std::string& what) {
  std::vector<std::string> todo;  // components still to walk, last first
  auto push_path = [&todo](const std::string& p) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < p.size();) {
      size_t j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      if (j > i) parts.push_back(p.substr(i, j - i));
      i = j + 1;
    }
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  push_path(path);
  std::string cur;  // "" = the root
  int links = 0;
  bool missing = false;
  while (!todo.empty()) {
    std::string comp = std::move(todo.back());
    todo.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!missing)
        cur.resize(cur.rfind('/') == std::string::npos ? 0 : cur.rfind('/'));
      else
        cur += "/..";  // never reached: destinations hold no ".."
      continue;
    }
    std::string cand = cur;
    cand += '/';
    cand += comp;
    if (missing) {
      cur = cand;
      continue;
    }
    const std::optional<std::string> host = host_of(s, upto, cand);
    struct stat st {};
    if (!host || ::lstat(host->c_str(), &st) != 0) {
      missing = true;
      cur = cand;
      continue;
    }
    if (!S_ISLNK(st.st_mode)) {
      cur = cand;
      continue;
    }
    if (++links > 40) {
      std::string msg = what;
      msg += ' ';
      msg += path;
      msg += ": too many levels of symbolic links in the cell's root";
      usage_error(msg);
    }
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    const ssize_t n = ::readlink(host->c_str(), target.data(), target.size());
    if (n < 0) sys_error("cannot read the symlink " + cand + " in the cell's root", errno);
    target.resize(static_cast<size_t>(n));
    if (!target.empty() && target[0] == '/') cur.clear();
    push_path(target);
  }
  return cur.empty() ? "/" : cur;
}

std::string field(const char* name, size_t i) {
  return std::string(name) + "[" + std::to_string(i) + "]";
}

// Resolves every mount the way the init will use it, before anything
// exists: a bind source on the host with realpath (the init reads it through
// the host's tree, where an absolute symlink would point elsewhere), a
// destination inside the root (resolve_in_cell), and the two kinds must
// agree (mount(2) binds a file only onto a file, a directory onto a
// directory). The spec keeps the resolved paths.
void resolve_mounts(Spec& s) {
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    Mount& m = s.mounts[i];
    if (!is_abs_clean(m.destination) || m.destination == "/")
      usage_error(field("mounts", i) + ".destination '" + m.destination +
                  "' must be an absolute path without '..', other than /");
    bool source_dir = true;
    if (m.is_bind()) {
      if (!is_abs_clean(m.source))
        usage_error(field("mounts", i) + ".source '" + m.source + "' must be an absolute path without '..'");
      char* real = ::realpath(m.source.c_str(), nullptr);
      if (real == nullptr) usage_error(field("mounts", i) + ".source " + m.source + " does not exist");
      m.source = real;
      std::free(real);  // NOLINT(cppcoreguidelines-no-malloc): realpath allocates with malloc
      source_dir = is_dir(m.source);
    } else if (m.type.empty()) {
      usage_error(field("mounts", i) + " (" + m.destination + ") has no type: give bind, tmpfs, proc, ...");
    }
    const std::string asked = m.destination;
    const std::string dst = resolve_path(s, i, asked, field("mounts", i) + ".destination");
    if (dst == "/")
      usage_error(field("mounts", i) + ".destination " + asked +
                  " is a symlink to / in the cell's root filesystem (" + s.root_path +
                  "): make it a directory");
    const std::optional<std::string> host = host_of(s, i, dst);
    struct stat st {};
    if (host && ::stat(host->c_str(), &st) == 0) {
      const bool dst_dir = S_ISDIR(st.st_mode);
      if (source_dir != dst_dir)
        usage_error(field("mounts", i) + ": " + (m.is_bind() ? "source " + m.source : m.type) + " is " +
                    (source_dir ? "a directory" : "a file") + " but destination " + asked + " is " +
                    (dst_dir ? "a directory" : "not a directory") +
                    " in the cell's root filesystem: the kinds must match");
    }
    m.destination = dst;
  }
}

void check_mounts(const Spec& s) {
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const Mount& m = s.mounts[i];
    if (!destination_ok(s, i))
      usage_error(field("mounts", i) + ".destination " + m.destination +
                  " does not exist in the cell's root filesystem (" + s.root_path +
                  (s.root_mount_points ? ") or under an earlier mount: create it first"
                                       : ", read-only): create it first"));
  }
}

// Namespaces given by path (the cell enters them at its clone): network,
// ipc, uts and pid, each a namespace file of that type (NS_GET_NSTYPE).
void check_entered_namespaces(const Spec& s) {
  for (const auto& ns : s.namespaces) {
    if (ns.path.empty()) continue;
    if (ns.type != NamespaceType::Network && ns.type != NamespaceType::Ipc && ns.type != NamespaceType::Uts &&
        ns.type != NamespaceType::Pid)
      unsupported_error(std::string("namespaces: entering an existing ") + to_string(ns.type) +
                        " namespace (path " + ns.path +
                        ") is not supported yet; only network, ipc, uts and pid");
    const std::string example = std::string("/proc/PID/ns/") + proc_ns_name(ns.type);
    sys::Fd fd = sys::Fd::try_open(ns.path, O_RDONLY | O_CLOEXEC);
    if (!fd)
      usage_error(std::string("namespaces: the ") + to_string(ns.type) + " namespace " + ns.path +
                  " cannot be opened (" + std::strerror(errno) + "): give the path of a live one, e.g. " +
                  example);
    if (::ioctl(fd.get(), NS_GET_NSTYPE) != clone_flag(ns.type))
      usage_error(std::string("namespaces: ") + ns.path + " is not a " + to_string(ns.type) +
                  " namespace: give " + example + " or a file bound to one");
  }
}

void check_devices(const Spec& s) {
  for (size_t i = 0; i < s.devices.size(); ++i) {
    const DeviceNode& d = s.devices[i];
    if (!is_abs_clean(d.path) || d.path.rfind("/dev/", 0) != 0)
      usage_error(field("linux.devices", i) + ".path '" + d.path + "' must be an absolute path under /dev");
    if (!d.host_path.empty() && !is_abs_clean(d.host_path))
      usage_error(field("linux.devices", i) + ".hostPath '" + d.host_path + "' must be an absolute path");
    if (d.type != 'c' && d.type != 'b')
      usage_error(field("linux.devices", i) + ".type of " + d.path + " must be c or b");
    // The cell's /dev holds these as symlinks into /proc (rtcell makes
    // them): a node there would be made through a link that leads out of
    // the tree being built.
    for (const char* link : {"/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"})
      if (d.path == link || under(d.path, link))
        usage_error(field("linux.devices", i) + ".path " + d.path + " is under " + link +
                    ", a symlink in the cell's /dev: name the device node itself");
  }
  for (size_t i = 0; i < s.resources.devices.size(); ++i) {
    const DeviceRule& r = s.resources.devices[i];
    if (r.access.empty() || r.access.find_first_not_of("rwm") != std::string::npos)
      usage_error(field("linux.resources.devices", i) + ".access '" + r.access +
                  "' must be a combination of r, w and m");
  }
}

// Only sysctls that the cell's own namespaces hold (as runc allows): the
// rest would change the host.
void check_sysctls(const Spec& s) {
  for (const auto& [key, value] : s.sysctls) {
    const bool ipc = key.rfind("kernel.msg", 0) == 0 || key.rfind("kernel.sem", 0) == 0 ||
                     key.rfind("kernel.shm", 0) == 0 || key.rfind("fs.mqueue.", 0) == 0;
    const bool net = key.rfind("net.", 0) == 0;
    const bool uts = key == "kernel.hostname" || key == "kernel.domainname";
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos)
      usage_error("sysctl '" + key + "' is not a sysctl name");
    if ((ipc && !s.has_namespace(NamespaceType::Ipc)) || (net && !s.has_namespace(NamespaceType::Network)) ||
        (uts && !s.has_namespace(NamespaceType::Uts)) || (!ipc && !net && !uts))
      usage_error(
          "sysctl " + key +
          " is not held by the cell's own namespaces (it would change the host): only "
          "kernel.msg*/sem*/shm*, fs.mqueue.* (ipc), net.* (network) and kernel.hostname/domainname (uts)");
    if (value.find('\n') != std::string::npos) usage_error("sysctl " + key + ": the value holds a newline");
  }
}

void check_process(const Spec& s) {
  const Process& p = s.process;
  if (p.args.empty()) usage_error("process.args is empty: the cell has no command");
  if (!is_abs_clean(p.cwd)) usage_error("process.cwd " + p.cwd + " must be an absolute path");
  for (const auto& e : p.env)
    if (e.empty() || e[0] == '=' || e.find('=') == std::string::npos)
      usage_error("process.env '" + e + "': use KEY=VALUE");
  for (const auto& r : p.rlimits) {
    if (r.resource < 0 || r.resource >= RLIM_NLIMITS)
      usage_error("process.rlimits: unknown resource " + std::to_string(r.resource));
    if (r.soft > r.hard)
      usage_error("process.rlimits " + rlimit_name(r.resource) + ": soft limit " + std::to_string(r.soft) +
                  " exceeds the hard limit " + std::to_string(r.hard));
  }
  if (p.scheduler) rt::validate_policy(*p.scheduler, {p.allow_prio_99});
  check_hostname(s.hostname, "hostname");
}

void check_resources(const Spec& s) {
  // The cell's init is one of the group's pids (it forks the command).
  if (s.resources.pids_max && *s.resources.pids_max < 2)
    usage_error("resources.pids.limit " + std::to_string(*s.resources.pids_max) +
                " leaves no pid for the command: the cell's init takes one; give at least 2");
  if (!s.resources.mems.empty()) {
    bool ok = true;
    try {
      ok = !CpuSet::parse(s.resources.mems).empty();
    } catch (const Error&) {
      ok = false;
    }
    if (!ok)
      usage_error("resources.cpuset.mems '" + s.resources.mems +
                  "' is not a list of memory node numbers (use e.g. 0 or 0-1)");
  }
}

CgroupRequest cgroup_request(const std::string& id, const Spec& s) {
  CgroupRequest req;
  req.id = s.resources.cgroup_name.empty() ? id : s.resources.cgroup_name;
  req.parent = s.resources.cgroup_parent;
  req.cpus = s.resources.cpus;
  req.mems = s.resources.mems;
  req.memory_bytes = s.resources.memory_bytes;
  req.pids_max = s.resources.pids_max;
  req.rt_budget = s.resources.rt;
  req.wants_rt = s.wants_rt();
  req.devices = s.resources.devices;
  req.restrict_devices = s.resources.restrict_devices;
  return req;
}

// linux.uidMappings/gidMappings: only with a user namespace, and mapping
// every id the command runs as (an unmapped id would be the overflow id).
void check_id_maps(const std::vector<IdMapping>& maps, const char* field, const std::vector<uint32_t>& ids) {
  if (maps.empty()) usage_error(std::string("linux.") + field + " is empty: a user namespace needs a map");
  if (maps.size() > 340)
    usage_error(std::string("linux.") + field + " has more than 340 ranges (the kernel's limit)");
  for (size_t i = 0; i < maps.size(); ++i) {
    const IdMapping& m = maps[i];
    const std::string what = std::string("linux.") + field + "[" + std::to_string(i) + "]";
    if (m.size == 0) usage_error(what + " has size 0");
    if (m.container_id > UINT32_MAX - m.size || m.host_id > UINT32_MAX - m.size)
      usage_error(what + " runs past the largest id (4294967294)");
    for (size_t j = 0; j < i; ++j) {
      const IdMapping& o = maps[j];
      const bool inner = m.container_id < o.container_id + o.size && o.container_id < m.container_id + m.size;
      const bool outer = m.host_id < o.host_id + o.size && o.host_id < m.host_id + m.size;
      if (inner || outer) usage_error(what + " overlaps " + field + "[" + std::to_string(j) + "]");
    }
  }
  for (uint32_t id : ids) {
    const bool mapped = std::any_of(maps.begin(), maps.end(), [id](const IdMapping& m) {
      return id >= m.container_id && id - m.container_id < m.size;
    });
    if (!mapped) usage_error("process.user id " + std::to_string(id) + " is not in linux." + field);
  }
}

void check_user_namespace(const Spec& s) {
  if (!s.has_namespace(NamespaceType::User)) {
    if (!s.uid_mappings.empty() || !s.gid_mappings.empty())
      usage_error("linux.uidMappings/gidMappings need a user namespace in linux.namespaces");
    return;
  }
  check_id_maps(s.uid_mappings, "uidMappings", {s.process.user.uid});
  std::vector<uint32_t> gids{s.process.user.gid};
  gids.insert(gids.end(), s.process.user.additional_gids.begin(), s.process.user.additional_gids.end());
  check_id_maps(s.gid_mappings, "gidMappings", gids);
}

}  // namespace

void check_hostname(std::string_view name, const std::string& what) {
  if (name.size() > 64) usage_error(what + " is longer than 64 characters");
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      usage_error(what + " holds a control character (newline, tab, ...): use letters, digits, '-' and '.'");
}

bool is_abs_clean(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i + 1);
    std::string_view part = p.substr(i + 1, j == std::string_view::npos ? std::string_view::npos : j - i - 1);
    if (part == "..") return false;
    if (j == std::string_view::npos) break;
    i = j;
  }
  return true;
}

std::string in_root(const std::string& rootfs, const std::string& path) {
  if (rootfs == "/") return path;
  return rootfs + path;
}

void validate_cell_id(std::string_view id) {
  auto bad = [&](const std::string& why) {
    std::string shown(id.substr(0, 80));
    if (id.size() > 80) shown += "...";
    usage_error("cell id '" + shown + "' " + why + ": use 1-64 characters of [A-Za-z0-9_.-]");
  };
  if (id.empty()) bad("is empty");
  if (id.size() > 64) bad("is " + std::to_string(id.size()) + " bytes long");
  if (id == "." || id == "..") bad("is not a name");
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      bad(c == '/' ? "contains '/'" : "contains a character outside the set");
}

namespace {

std::string search_command(const std::function<bool(const std::string&)>& executable,
                           const std::string& command, const std::string& path_var,
                           const std::string& workdir) {
  if (command.find('/') != std::string::npos) {
    // A relative path is relative to the cell's working directory, as execve sees it.
    std::string inside = command[0] == '/' ? command : (workdir == "/" ? "" : workdir) + "/" + command;
    return executable(inside) ? inside : "";
  }
  size_t i = 0;
  while (i <= path_var.size()) {
    size_t j = path_var.find(':', i);
    std::string dir = path_var.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!dir.empty() && dir[0] == '/') {
      std::string cand = dir;
      cand += '/';
      cand += command;
      if (executable(cand)) return cand;
    }
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return "";
}

bool executable_file(const std::string& host) {
  struct stat st {};
  return ::stat(host.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

}  // namespace

std::string resolve_command(const std::string& rootfs, const std::string& command,
                            const std::string& path_var, const std::string& workdir) {
  return search_command([&](const std::string& inside) { return executable_file(in_root(rootfs, inside)); },
                        command, path_var, workdir);
}

std::string resolve_command(const Spec& s, const std::string& command, const std::string& path_var,
                            const std::string& workdir) {
  auto executable = [&](const std::string& inside) {
    const CellPath c = resolve_in_cell(s, s.mounts.size(), inside, "the command");
    return c.host && executable_file(*c.host);
  };
  return search_command(executable, command, path_var, workdir);
}

CellPath resolve_in_cell(const Spec& s, size_t upto, const std::string& path, const std::string& what) {
  CellPath p;
  p.path = resolve_path(s, upto, path, what);
  p.host = host_of(s, upto, p.path);
  return p;
}

Prepared prepare(std::string id, Spec spec, const host::HostFacts& facts) {
  validate_cell_id(id);
  check_process(spec);
  check_resources(spec);
  if (!is_abs_clean(spec.root_path) || !is_dir(spec.root_path))
    usage_error("root.path " + spec.root_path + " is not a directory");
  resolve_mounts(spec);
  check_mounts(spec);
  check_devices(spec);
  check_sysctls(spec);
  check_user_namespace(spec);
  if (!spec.resources.cpus.empty()) {
    CpuSet off = spec.resources.cpus.minus(facts.online_cpus);
    if (!off.empty())
      usage_error("resources.cpus " + spec.resources.cpus.to_string() + ": CPU " + off.to_string() +
                  " is not online (online: " + facts.online_cpus.to_string() + ")");
  }
  check_entered_namespaces(spec);

  Prepared p;
  p.id = std::move(id);
  std::string path_var = kCellPath;
  for (const auto& e : spec.process.env)
    if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
  p.executable = resolve_command(spec, spec.process.args[0], path_var, spec.process.cwd);
  if (p.executable.empty())
    usage_error("command '" + spec.process.args[0] +
                "' is not an executable file in the cell's root filesystem (" + spec.root_path +
                (spec.process.args[0].find('/') == std::string::npos ? ", PATH " + path_var : "") +
                "; a relative path counts from the working directory " + spec.process.cwd +
                "): use an absolute path, a root filesystem holding it, or a bind mount to bring it in");
  // Compiled here, once: a profile libseccomp refuses fails before anything
  // exists, and the cell installs the finished program with one prctl().
  if (spec.seccomp) p.seccomp_bpf = compiled_filter(*spec.seccomp);
  p.cgroup = cgroup_request(p.id, spec);
  p.spec = std::move(spec);
  return p;
}

}  // namespace rtcell::cell
