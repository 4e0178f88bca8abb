#include "front/flags.hpp"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

#include "cell/prepare.hpp"
#include "front/cdi.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::front {

namespace {

constexpr int kCapSysNice = CAP_SYS_NICE;
constexpr int kCapSysResource = CAP_SYS_RESOURCE;
constexpr int kCapIpcLock = CAP_IPC_LOCK;

using cell::in_root;
using cell::is_abs_clean;

// realpath(3) as a string; "" when the path does not resolve.
std::string host_realpath(const std::string& p) {
  char* real = ::realpath(p.c_str(), nullptr);
  if (real == nullptr) return "";
  std::string out = real;
  std::free(real);  // NOLINT(cppcoreguidelines-no-malloc): realpath allocates with malloc
  return out;
}

std::string link_target(const std::string& p) {
  char buf[4096];
  const ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  return n < 0 ? std::string("?") : std::string(buf, static_cast<size_t>(n));
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string generate_id() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", rd());
  return "run-" + std::to_string(::getpid()) + "-" + buf;
}

int policy_priority(const rt::Policy& p) {
  if (auto* f = std::get_if<rt::Fifo>(&p)) return f->priority;
  if (auto* r = std::get_if<rt::Rr>(&p)) return r->priority;
  return 0;
}

// Can this process set a hard rlimit to `value`? Raising a hard limit needs
// CAP_SYS_RESOURCE (kernel/sys.c do_prlimit); lowering never does.
void check_rlimit_grant(int resource, uint64_t value, const sys::CapSet& eff, const std::string& flag,
                        const std::string& what, const std::string& instead) {
  rlimit rl{};
  if (::getrlimit(resource, &rl) != 0) sys_error("getrlimit", errno);
  if (rl.rlim_max == RLIM_INFINITY || value <= rl.rlim_max) return;
  if (eff.has(kCapSysResource)) return;
  privilege_error(
      flag + " needs " + what + " raised to " + std::to_string(value) + " but its hard limit is " +
      std::to_string(rl.rlim_max) +
      " and rtcell lacks CAP_SYS_RESOURCE to raise it: raise the hard limit (limits.conf, systemd Limit*=), "
      "give rtcell CAP_SYS_RESOURCE, or " +
      instead);
}

// Host directories that hold sockets and other users' files: connect()
// ignores a read-only mount, so a world-connectable socket under /run (D-Bus,
// container engines) or /tmp (X11) would be reachable from any cell. The
// cell gets private, sized tmpfs mounts there instead. A link (/var/run ->
// /run) is covered by its target.
struct HiddenDir {
  const char* path;
  const char* mode;
  const char* size;
};
constexpr HiddenDir kHiddenDirs[] = {
    {"/run", "mode=0755", "size=16m"},
    {"/var/run", "mode=0755", "size=16m"},
    {"/tmp", "mode=1777", "size=64m"},
    {"/var/tmp", "mode=1777", "size=64m"},
};

// Adds the tmpfs mounts; the command itself may live under one of them (a
// build tree in /tmp): that one file comes back, read-only, with a note.
// Returns the hidden directories.
std::vector<std::string> hide_host_dirs(const std::string& rootfs, const std::string& exe, cell::Spec& s,
                                        std::vector<std::string>& notes) {
  std::vector<std::string> hidden;
  const size_t before = s.mounts.size();
  for (const auto& h : kHiddenDirs) {
    struct stat st {};
    if (::lstat(in_root(rootfs, h.path).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    s.mounts.push_back({h.path, "tmpfs", "tmpfs", {"nosuid", "nodev", h.mode, h.size}});
    hidden.emplace_back(h.path);
  }
  for (const auto& h : hidden) {
    if (exe.rfind(h + "/", 0) != 0) continue;
    // The file the cell would have run, resolved in its root as it was
    // before the tmpfs (a symlink there points into the cell's root, not
    // the host's): bound alone at the path the command names.
    const cell::CellPath real = cell::resolve_in_cell(s, before, exe, "the command");
    if (!real.host) usage_error("the command " + exe + " is not in the cell's root filesystem");
    s.mounts.push_back({exe, "bind", *real.host, {"bind", "ro", "nosuid", "nodev"}});
    std::string n = exe;
    n += " lives under ";
    n += h;
    n += ", which the cell hides behind a private tmpfs: it is bound in read-only, alone";
    notes.push_back(std::move(n));
    break;
  }
  return hidden;
}

// Capabilities that give away (nearly) as much as root, and what each one
// gives: printed once per grant, as Docker's docs list them
// (capabilities(7); the open_by_handle_at escape is the "shocker" exploit).
struct Dangerous {
  int cap;
  const char* gives;
  bool only_non_root;  // harmless when the command is uid 0 anyway
};
constexpr Dangerous kDangerous[] = {
    {CAP_SYS_ADMIN, "mount filesystems, make namespaces and use most of root's other powers", false},
    {CAP_SYS_MODULE, "load kernel modules, i.e. take over the host's kernel", false},
    {CAP_SYS_PTRACE, "trace any process in the cell and read or change its memory", false},
    {CAP_DAC_READ_SEARCH,
     "read every file it sees whatever the permissions, and through open_by_handle_at any file of those "
     "filesystems beyond the cell's own tree",
     false},
    {CAP_DAC_OVERRIDE, "read and write every file it sees, whatever the permissions", false},
    {CAP_FOWNER, "change the mode of any file it sees", false},
    {CAP_SYS_RAWIO, "use raw I/O ports and device memory, i.e. the host's hardware", false},
    {CAP_SYS_BOOT, "reboot the host", false},
    {CAP_SYS_TIME, "set the host's clock", false},
    {CAP_MKNOD, "create device nodes, the host's disks included", false},
    {CAP_NET_ADMIN, "configure its network (with --net host: the host's interfaces and firewall)", false},
    {CAP_BPF, "load BPF programs that read kernel memory", false},
    {CAP_PERFMON, "trace the whole system with perf and BPF", false},
    {CAP_SYS_RESOURCE, "override every resource limit and quota", false},
    {CAP_MAC_ADMIN, "change the host's LSM policy", false},
    {CAP_MAC_OVERRIDE, "bypass the host's LSM policy", false},
    {CAP_AUDIT_CONTROL, "change the host's audit rules", false},
    {CAP_LINUX_IMMUTABLE, "change immutable and append-only files", false},
    {CAP_SETUID, "become any user, root included", true},
    {CAP_SETGID, "join any group, root's included", true},
};

// A bind of host `source_in` at `target_in` in the cell, as --volume makes
// it; `options` are the mount's own (ro, rw, nosuid, nodev, noexec).
// `what` names the request in errors.
void add_bind(cell::Spec& s, const std::string& source_in, const std::string& target_in,
              const std::vector<std::string>& options, const std::string& what) {
  // The source lives on the host: resolved here, as the init reads it
  // through the host's tree where an absolute symlink would lead
  // elsewhere. The target is resolved inside the cell's root.
  const std::string source = host_realpath(source_in);
  if (source.empty()) usage_error(what + " source " + source_in + " does not exist");
  const cell::CellPath target = cell::resolve_in_cell(s, s.mounts.size(), target_in, what + " target");
  if (target.path == "/")
    usage_error(what + " target " + target_in + " is a symlink to / in the cell's root filesystem");
  struct stat st {};
  // Inside a filesystem rtcell mounts fresh (the cell's /dev, /dev/shm, a
  // --tmpfs) the cell's builder makes a mount point of the source's kind.
  if (target.host) {
    if (::stat(target.host->c_str(), &st) != 0)
      usage_error(what + " target " + target_in +
                  " does not exist in the cell's root filesystem: create it first");
    if (is_dir(source) != S_ISDIR(st.st_mode))
      usage_error(what + " " + source_in + ":" + target_in + ": the source is " +
                  (is_dir(source) ? "a directory" : "a file") + " but the target is " +
                  (S_ISDIR(st.st_mode) ? "a directory" : "not a directory") +
                  ": bind a file onto a file, a directory onto a directory");
  }
  std::vector<std::string> opts{"rbind"};
  for (const auto& o : options)
    if (o != "rw") opts.push_back(o);
  s.mounts.push_back({target.path, "bind", source, std::move(opts)});
}

// The host's node `host_in` at `cell_path` (empty: where the host has it)
// with cgroup `access`; returns the host's stat of it.
struct stat add_device(cell::Spec& s, const std::string& host_in, const std::string& cell_path,
                       const std::string& access, const std::string& what) {
  struct stat st {};
  if (::stat(host_in.c_str(), &st) != 0) usage_error(what + ": no such device on this host");
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
    usage_error(what + ": " + host_in + " is not a character or block device");
  // The node is bound from the host's /dev after the pivot, where an
  // absolute symlink (/dev/fd -> /proc/self/fd) no longer resolves: the
  // cell gets the node the link names, at that name.
  const std::string real = host_realpath(host_in);
  if (real.rfind("/dev/", 0) != 0)
    usage_error(what + ": " + host_in + " resolves to " + real + ", outside /dev: name the device node");
  cell::DeviceNode n;
  n.path = cell_path.empty() ? real : cell_path;
  if (n.path != real) n.host_path = real;
  n.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
  n.major = major(st.st_rdev);
  n.minor = minor(st.st_rdev);
  n.file_mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  s.devices.push_back(n);
  s.resources.devices.push_back(
      cell::DeviceRule{n.type, static_cast<int>(n.major), static_cast<int>(n.minor), access});
  return st;
}

// The CDI devices asked for, resolved from the spec directories; what they
// brought goes into `notes`.
cdi::Resolved resolve_cdi(const RunFlags& flags, std::vector<std::string>& notes) {
  std::vector<std::string> names;
  for (const auto& d : flags.devices)
    if (!d.cdi.empty()) names.push_back(d.cdi);
  if (names.empty()) return {};
  const cdi::Registry reg = cdi::load(cdi::spec_dirs(flags.cdi_spec_dirs, std::getenv(cdi::kSpecDirsEnv)));
  cdi::Resolved r = cdi::resolve(reg, names);
  std::string n = "CDI: ";
  for (size_t i = 0; i < r.from.size(); ++i) n += (i ? ", " : "") + r.from[i];
  n += ": " + std::to_string(r.edits.device_nodes.size()) + " device nodes, " +
       std::to_string(r.edits.mounts.size()) + " mounts, " + std::to_string(r.edits.env.size()) + " env, " +
       std::to_string(r.edits.hooks.size()) + " hooks";
  notes.push_back(std::move(n));
  return r;
}

// A CDI device node: the host's node bound (as --device does), its spec's
// numbers checked against the host's, never used to make another node.
void add_cdi_node(cell::Spec& s, const cdi::DeviceNode& d) {
  const std::string what =
      "CDI device node " + d.path + (d.host_path.empty() ? "" : " (host " + d.host_path + ")");
  if (!is_abs_clean(d.path) || d.path.rfind("/dev/", 0) != 0)
    usage_error(what + ": rtcell puts device nodes under /dev in the cell; fix the CDI spec");
  const struct stat st = add_device(s, d.host(), d.path, d.permissions.empty() ? "rwm" : d.permissions, what);
  const cell::DeviceNode& n = s.devices.back();
  auto differs = [&](const char* field, bool bad, const std::string& spec_v, const std::string& host_v) {
    if (bad)
      usage_error(what + ": the spec's " + field + " " + spec_v + " is not the host node's (" + host_v +
                  "): rtcell binds the host's node; regenerate the CDI spec for this host");
  };
  differs("type", d.type && *d.type != n.type, std::string(1, d.type.value_or('?')), std::string(1, n.type));
  differs("major", d.major && *d.major != n.major, std::to_string(d.major.value_or(0)),
          std::to_string(n.major));
  differs("minor", d.minor && *d.minor != n.minor, std::to_string(d.minor.value_or(0)),
          std::to_string(n.minor));
  auto octal = [](mode_t m) {
    char b[8];
    std::snprintf(b, sizeof b, "0%o", static_cast<unsigned>(m));
    return std::string(b);
  };
  differs("fileMode", d.file_mode && (*d.file_mode & 07777) != (st.st_mode & 07777),
          octal(d.file_mode.value_or(0)), octal(st.st_mode & 07777));
  differs("uid", d.uid && *d.uid != st.st_uid, std::to_string(d.uid.value_or(0)), std::to_string(st.st_uid));
  differs("gid", d.gid && *d.gid != st.st_gid, std::to_string(d.gid.value_or(0)), std::to_string(st.st_gid));
}

// A CDI mount: a bind, read-only unless its options say rw.
void add_cdi_mount(cell::Spec& s, const cdi::Mount& m) {
  const std::string what = "CDI mount " + m.host_path + ":" + m.container_path;
  if (!m.type.empty() && m.type != "bind")
    usage_error(what + ": type " + m.type + " is not a bind mount, the only kind rtcell takes from CDI");
  if (m.container_path == "/") usage_error(what + ": cannot mount over the cell's /");
  std::vector<std::string> opts;
  bool rw = false;
  for (const auto& o : m.options) {
    if (o == "rw") {
      rw = true;
    } else if (o == "nosuid" || o == "nodev" || o == "noexec") {
      opts.push_back(o);
    } else if (o != "ro" && o != "bind" && o != "rbind" && o != "private" && o != "rprivate") {
      std::string m = what + ": option ";
      m += o;
      m += " is not one rtcell takes (ro, rw, bind, rbind, nosuid, nodev, noexec, rprivate)";
      usage_error(m);
    }
  }
  if (!rw) opts.emplace_back("ro");
  add_bind(s, m.host_path, m.container_path, opts, what);
}

void add_cdi_hook(cell::Hooks& hooks, const cdi::Hook& h) {
  cell::Hook c{h.path, h.args, h.env, h.timeout_s};
  if (h.hook_name == "prestart")
    hooks.prestart.push_back(std::move(c));
  else if (h.hook_name == "createRuntime")
    hooks.create_runtime.push_back(std::move(c));
  else if (h.hook_name == "createContainer")
    hooks.create_container.push_back(std::move(c));
  else if (h.hook_name == "startContainer")
    hooks.start_container.push_back(std::move(c));
  else if (h.hook_name == "poststart")
    hooks.poststart.push_back(std::move(c));
  else
    hooks.poststop.push_back(std::move(c));
}

}  // namespace

std::vector<std::string> capability_warnings(const sys::CapSet& caps, bool as_root) {
  std::vector<std::string> w;
  for (const auto& d : kDangerous) {
    if (!caps.has(d.cap) || (d.only_non_root && as_root)) continue;
    w.push_back("--cap-add " + sys::cap_name(d.cap) + " lets the cell " + d.gives +
                ": root-equivalent; grant it only to a command you trust");
  }
  return w;
}

void check_caps_held(sys::CapSet& caps, const sys::CapSet& held, int last_cap, bool all_asked) {
  std::vector<std::string> missing;
  for (int c = 0; c < 64; ++c) {
    if (!caps.has(c) || held.has(c)) continue;
    if (c > last_cap && all_asked) {
      caps = sys::CapSet(caps.bits() & ~(uint64_t{1} << c));  // ALL: only what this kernel knows
      continue;
    }
    missing.push_back("CAP_" + sys::cap_name(c));
  }
  if (missing.empty()) return;
  std::string names;
  for (size_t i = 0; i < missing.size() && i < 5; ++i) names += (i ? ", " : "") + missing[i];
  if (missing.size() > 5) names += " and " + std::to_string(missing.size() - 5) + " more";
  privilege_error(
      "--cap-add: rtcell itself does not hold " + names +
      " (effective and bounding set), so it cannot give it to the cell: run rtcell as root with that "
      "capability in its bounding set");
}

Volume parse_volume(std::string_view text) {
  Volume v;
  std::string s(text);
  size_t a = s.find(':');
  if (a == std::string::npos) usage_error("--volume '" + s + "': use SRC:DST[:ro]");
  v.source = s.substr(0, a);
  std::string rest = s.substr(a + 1);
  size_t b = rest.find(':');
  v.target = rest.substr(0, b);
  if (b != std::string::npos) {
    std::string mode = rest.substr(b + 1);
    if (mode == "ro")
      v.read_only = true;
    else if (mode != "rw")
      usage_error("--volume '" + s + "': mode '" + mode + "' is not ro or rw");
  }
  if (!is_abs_clean(v.source) || !is_abs_clean(v.target))
    usage_error("--volume '" + s + "': SRC and DST must be absolute paths without '..'");
  if (v.target == "/") usage_error("--volume '" + s + "': cannot mount over the cell's /; use --rootfs");
  return v;
}

Device parse_device(std::string_view text) {
  Device d;
  std::string s(text);
  // A CDI name: no leading '/', a '=' after the kind.
  if (!s.empty() && s[0] != '/' && s.find('=') != std::string::npos) {
    std::string kind, name;
    cdi::split_name(s, kind, name);
    d.cdi = s;
    return d;
  }
  size_t c = s.find(':');
  d.path = s.substr(0, c);
  if (c != std::string::npos) d.access = s.substr(c + 1);
  if (!is_abs_clean(d.path) || d.path.rfind("/dev/", 0) != 0)
    usage_error("--device '" + s + "': use /dev/NAME[:rwm] or a CDI name vendor.com/class=name");
  if (d.access.empty() || d.access.find_first_not_of("rwm") != std::string::npos)
    usage_error("--device '" + s + "': access must be a combination of r, w and m");
  return d;
}

void parse_user(std::string_view text, uid_t& uid, gid_t& gid) {
  size_t c = text.find(':');
  auto u = util::parse_int(text.substr(0, c), 0, 0xfffffffe, "--user UID");
  uid = static_cast<uid_t>(u);
  gid = static_cast<gid_t>(u);
  if (c != std::string_view::npos)
    gid = static_cast<gid_t>(util::parse_int(text.substr(c + 1), 0, 0xfffffffe, "--user GID"));
}

sys::CapSet resolve_caps(const std::vector<std::string>& add, const std::vector<std::string>& drop) {
  auto to_set = [](const std::vector<std::string>& names, const char* flag) {
    sys::CapSet s;
    for (const auto& n : names) {
      if (n == "ALL" || n == "all") {
        s = sys::CapSet::all();
        continue;
      }
      auto c = sys::cap_from_name(n);
      if (!c)
        usage_error(std::string(flag) + " " + n +
                    ": unknown capability (names as in capabilities(7), e.g. SYS_NICE or CAP_IPC_LOCK)");
      s.add(*c);
    }
    return s;
  };
  sys::CapSet a = to_set(add, "--cap-add");
  sys::CapSet d = to_set(drop, "--cap-drop");
  for (const auto& n : add) {
    auto c = sys::cap_from_name(n);
    if (c && d.has(*c) && d != sys::CapSet::all())
      usage_error("--cap-add and --cap-drop both name " + sys::cap_name(*c) + ": keep one");
  }
  return sys::CapSet(a.bits() & ~d.bits());
}

std::vector<std::string> cpuset_warnings(const CpuSet& cpus, const CpuSet& isolated) {
  std::vector<std::string> w;
  if (cpus.empty() || isolated.empty()) return w;
  CpuSet iso = cpus.intersect(isolated);
  CpuSet housekeeping = cpus.minus(isolated);
  if (!iso.empty() && !housekeeping.empty())
    w.push_back("--cpus " + cpus.to_string() + " mixes isolated CPUs (" + iso.to_string() +
                ") with housekeeping CPUs (" + housekeeping.to_string() +
                "): threads land on the housekeeping ones and share them with the rest of the system (moby "
                "#31086); give the cell only isolated CPUs");
  else if (iso.size() > 1)
    w.push_back(
        "--cpus " + cpus.to_string() +
        " spans several isolated CPUs: the kernel does not balance tasks across isolated CPUs, so all "
        "threads stay on the first one unless each thread pins itself (moby #31086)");
  return w;
}

Built build_spec(const RunFlags& spec, const host::HostFacts& facts) {
  Built p;
  cell::Spec& s = p.spec;
  s = cell::default_spec();
  if (spec.command.empty()) usage_error("no command given: use rtcell run [options] -- CMD [ARGS...]");
  p.id = spec.name.empty() ? generate_id() : spec.name;
  cell::validate_cell_id(p.id);
  cell::check_hostname(spec.hostname, "--hostname");

  // Root filesystem and everything that must exist in it.
  std::string rootfs = "/";
  if (!spec.rootfs.empty()) {
    char* real = ::realpath(spec.rootfs.c_str(), nullptr);
    if (real == nullptr) usage_error("--rootfs " + spec.rootfs + ": no such directory");
    rootfs = real;
    std::free(real);  // NOLINT: realpath allocates with malloc
    if (!is_dir(rootfs)) usage_error("--rootfs " + spec.rootfs + " is not a directory");
    for (const char* d : {"/proc", "/dev"}) {
      // A symlink there (proc -> /) would make the cell's /proc land
      // elsewhere in the root, or nowhere, and the masks miss it.
      struct stat st {};
      const std::string at = in_root(rootfs, d);
      if (::lstat(at.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        usage_error("--rootfs " + spec.rootfs + ": " + (d + 1) + " is a symlink (to " + link_target(at) +
                    "): rtcell mounts the cell's " + d + " there; make it an empty directory");
      if (!is_dir(at))
        usage_error("--rootfs " + spec.rootfs + " has no " + d +
                    " directory: create it (empty) as a mount point");
    }
  }
  s.root_path = rootfs;
  std::string path_var = cell::kCellPath;
  for (const auto& e : spec.env) {
    if (e.empty() || e[0] == '=') usage_error("--env '" + e + "': use KEY=VALUE or KEY");
    if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
  }
  const std::string exe = cell::resolve_command(rootfs, spec.command[0], path_var, spec.workdir);
  if (exe.empty())
    usage_error("command '" + spec.command[0] +
                "' is not an executable file in the cell's root filesystem (" + rootfs +
                (spec.command[0].find('/') == std::string::npos ? ", PATH " + path_var : "") +
                "; a relative path counts from --workdir " + spec.workdir +
                "): use an absolute path, --rootfs DIR holding it, or --volume to bring it in");
  if (!is_abs_clean(spec.workdir)) usage_error("--workdir " + spec.workdir + " must be an absolute path");
  const std::vector<std::string> hidden = hide_host_dirs(rootfs, exe, s, p.notes);
  for (const auto& v : spec.volumes) add_bind(s, v.source, v.target, {v.read_only ? "ro" : "rw"}, "--volume");
  const cdi::Resolved cdi_edits = resolve_cdi(spec, p.notes);
  for (const auto& m : cdi_edits.edits.mounts) add_cdi_mount(s, m);
  std::vector<std::string> tmpfs_dirs;
  for (const auto& entry : spec.tmpfs) {
    // DST[:OPTIONS], options as mount(8) takes them for tmpfs (size=64M,mode=0700).
    const std::string t = entry.substr(0, entry.find(':'));
    if (!is_abs_clean(t)) usage_error("--tmpfs " + entry + " must be an absolute path");
    if (!is_dir(in_root(rootfs, t)))
      usage_error("--tmpfs " + t + " is not a directory in the cell's root filesystem: create it first");
    // Sized by default (an unsized tmpfs may take half of the host's RAM).
    std::vector<std::string> opts{"nosuid", "nodev", "mode=1777"};
    if (entry.find("size=") == std::string::npos) opts.emplace_back(kDefaultTmpfsSize);
    if (size_t c = entry.find(':'); c != std::string::npos) {
      std::string rest = entry.substr(c + 1);
      for (size_t i = 0; i <= rest.size();) {
        size_t j = rest.find(',', i);
        if (j == std::string::npos) j = rest.size();
        if (j > i) opts.push_back(rest.substr(i, j - i));
        i = j + 1;
      }
    }
    s.mounts.push_back({t, "tmpfs", "tmpfs", std::move(opts)});
    tmpfs_dirs.push_back(t);
  }
  bool workdir_ok = is_dir(in_root(rootfs, spec.workdir));
  std::string hidden_by;
  for (const auto& h : hidden)
    if (spec.workdir.rfind(h + "/", 0) == 0) hidden_by = h;
  if (!hidden_by.empty()) workdir_ok = false;
  for (const auto& v : spec.volumes) workdir_ok = workdir_ok || spec.workdir.rfind(v.target, 0) == 0;
  for (const auto& t : tmpfs_dirs) workdir_ok = workdir_ok || spec.workdir.rfind(t, 0) == 0;
  if (!workdir_ok && !hidden_by.empty())
    usage_error("--workdir " + spec.workdir + " is under " + hidden_by +
                ", which the cell hides behind a private tmpfs: bring it in with --volume " + spec.workdir +
                ":" + spec.workdir);
  if (!workdir_ok)
    usage_error("--workdir " + spec.workdir + " is not a directory in the cell's root filesystem");
  s.process.cwd = spec.workdir;
  for (const auto& d : spec.devices)
    if (d.cdi.empty()) add_device(s, d.path, "", d.access, "--device " + d.path);
  for (const auto& n : cdi_edits.edits.device_nodes) add_cdi_node(s, n);
  for (const auto& h : cdi_edits.edits.hooks) add_cdi_hook(s.hooks, h);

  // Placement.
  if (!spec.cpus.empty()) {
    CpuSet off = spec.cpus.minus(facts.online_cpus);
    if (!off.empty())
      usage_error("--cpus " + spec.cpus.to_string() + ": CPU " + off.to_string() +
                  " is not online (online: " + facts.online_cpus.to_string() + ")");
    for (auto& w : cpuset_warnings(spec.cpus, facts.isolated_cpus)) p.warnings.push_back(w);
  }
  s.resources.cgroup_parent = spec.cgroup_root;
  s.resources.cpus = spec.cpus;
  s.resources.mems = spec.mems;
  if (spec.dma_latency_us) {
    if (*spec.dma_latency_us < 0) usage_error("--dma-latency must be 0 or more microseconds");
    if (::access("/dev/cpu_dma_latency", W_OK) != 0)
      unsupported_error("--dma-latency: this host has no writable /dev/cpu_dma_latency (" +
                        std::string(std::strerror(errno)) + "; CONFIG_CPU_IDLE with PM QoS provides it)");
    s.dma_latency_us = spec.dma_latency_us;
  }
  s.resources.memory_bytes = spec.memory_bytes;
  s.resources.pids_max = spec.pids_max.value_or(kDefaultPidsMax);
  if (!spec.memory_bytes)
    p.notes.push_back(
        "no --memory: the cell may use all of the host's memory (the OOM killer is its only bound)");
  if (spec.rt_runtime_us) {
    cell::RtBudget b;
    b.runtime_us = *spec.rt_runtime_us;
    b.period_us = spec.rt_period_us.value_or(1'000'000);
    s.resources.rt = b;
  }
  if (spec.pids_max && *spec.pids_max < 2)
    usage_error("--pids-max " + std::to_string(*spec.pids_max) +
                " leaves no pid for the command: the cell's init takes one; give at least 2");
  // Below a few MiB the kernel's OOM killer ends the command before it runs
  // (Docker's minimum is 6 MiB).
  if (spec.memory_bytes && *spec.memory_bytes < (4U << 20))
    usage_error("--memory " + std::to_string(*spec.memory_bytes) +
                " bytes cannot hold a process: give at least 4M");

  // Capabilities.
  sys::CapSet caps = resolve_caps(spec.cap_add, spec.cap_drop);
  const sys::CapSet eff = sys::effective_caps();
  // Refused before anything exists: capset() in the cell would fail late.
  const bool all_asked = std::any_of(spec.cap_add.begin(), spec.cap_add.end(),
                                     [](const std::string& n) { return n == "ALL" || n == "all"; });
  // Held means effective and in the bounding set: the cell's capset() and
  // its exec can give nothing outside either.
  check_caps_held(caps, sys::CapSet(eff.bits() & sys::bounding_caps().bits()), sys::kernel_last_cap(),
                  all_asked);
  s.process.capabilities = cell::Capabilities::uniform(caps, spec.uid != 0);
  for (auto& w : capability_warnings(caps, spec.uid == 0)) p.warnings.push_back(std::move(w));

  // RT rights: validate each path, then say which one the cell gets.
  std::vector<std::string> rt_paths;
  if (spec.sched) {
    rt::validate_policy(*spec.sched, {spec.allow_prio_99});
    int prio = policy_priority(*spec.sched);
    bool needs_nice =
        std::holds_alternative<rt::Deadline>(*spec.sched) || prio > 0 ||
        (std::holds_alternative<rt::Other>(*spec.sched) && std::get<rt::Other>(*spec.sched).nice < 0);
    if (needs_nice && !eff.has(kCapSysNice)) {
      rlimit rl{};
      ::getrlimit(RLIMIT_RTPRIO, &rl);
      if (std::holds_alternative<rt::Deadline>(*spec.sched) || rl.rlim_cur < static_cast<rlim_t>(prio))
        privilege_error("--sched " + rt::to_string(*spec.sched) +
                        " needs CAP_SYS_NICE in rtcell (it sets the policy before dropping privileges): run "
                        "rtcell run as root");
    }
    if (prio > 0)
      rt_paths.push_back("rtcell sets " + rt::to_string(*spec.sched) +
                         " on the command before exec; its threads inherit it and may lower it, never raise "
                         "it (no capability in the cell)");
    else if (std::holds_alternative<rt::Deadline>(*spec.sched))
      rt_paths.push_back(
          "rtcell sets " + rt::to_string(*spec.sched) +
          " on the command before exec (no capability in the cell; SCHED_DEADLINE tasks cannot "
          "fork)");
  }
  if (spec.rtprio) {
    if (*spec.rtprio < 1 || *spec.rtprio > 99) usage_error("--rtprio must be 1-98 (default priority 80)");
    if (*spec.rtprio == 99 && !spec.allow_prio_99)
      usage_error(
          "--rtprio 99 refused: priority 99 competes with kernel watchdog and migration threads; use "
          "1-98 or pass --allow-prio-99");
    check_rlimit_grant(RLIMIT_RTPRIO, static_cast<uint64_t>(*spec.rtprio), eff, "--rtprio", "RLIMIT_RTPRIO",
                       "use --sched fifo:N, which needs no limit in the cell");
    rt_paths.push_back("RLIMIT_RTPRIO " + std::to_string(*spec.rtprio) +
                       " (soft = hard): the cell picks SCHED_FIFO/RR priorities up to " +
                       std::to_string(*spec.rtprio));
  }
  if (spec.memlock_bytes)
    check_rlimit_grant(RLIMIT_MEMLOCK, *spec.memlock_bytes, eff, "--memlock", "RLIMIT_MEMLOCK",
                       "use --cap-add IPC_LOCK");
  if (caps.has(kCapSysNice)) {
    p.warnings.push_back(
        "--cap-add SYS_NICE lifts every priority ceiling in the cell, including 99 and "
        "SCHED_DEADLINE; prefer --sched or --rtprio");
    rt_paths.push_back("CAP_SYS_NICE (no ceiling)");
  }
  if (caps.has(kCapIpcLock) && spec.memlock_bytes)
    p.warnings.push_back("--memlock is redundant with --cap-add IPC_LOCK (the capability ignores the limit)");
  if ((spec.rt_runtime_us || spec.rt_period_us) && rt_paths.empty())
    p.warnings.push_back(
        "--rt-runtime/--rt-period give an RT budget but nothing in the cell may use SCHED_FIFO: "
        "add --sched or --rtprio");
  if (spec.rt_period_us && !spec.rt_runtime_us) usage_error("--rt-period needs --rt-runtime");
  if (spec.rt_runtime_us && *spec.rt_runtime_us < 1)
    usage_error("--rt-runtime must be positive (microseconds)");
  if (spec.rt_period_us && *spec.rt_period_us < 1) usage_error("--rt-period must be positive (microseconds)");
  if (spec.rt_runtime_us && *spec.rt_runtime_us > spec.rt_period_us.value_or(1'000'000))
    usage_error("--rt-runtime exceeds the period (" + std::to_string(spec.rt_period_us.value_or(1'000'000)) +
                " us)");
  s.process.scheduler = spec.sched;
  s.process.allow_prio_99 = spec.allow_prio_99;
  // Least privilege: no RT priority of its own unless --rtprio.
  const auto rtprio = static_cast<uint64_t>(spec.rtprio.value_or(0));
  s.process.rlimits.push_back({RLIMIT_RTPRIO, rtprio, rtprio});
  if (spec.memlock_bytes)
    s.process.rlimits.push_back({RLIMIT_MEMLOCK, *spec.memlock_bytes, *spec.memlock_bytes});
  if (!rt_paths.empty()) {
    std::string n = "RT rights: ";
    for (size_t i = 0; i < rt_paths.size(); ++i) n += (i ? "; " : "") + rt_paths[i];
    p.notes.push_back(n);
  }

  // Seccomp.
  if (spec.seccomp == SeccompMode::Default) {
    s.seccomp = cell::default_profile(caps);
  } else if (spec.seccomp == SeccompMode::File) {
    const std::string text = sys::read_input_file(spec.seccomp_file, "--seccomp " + spec.seccomp_file);
    s.seccomp = cell::parse_docker_profile(text, cell::host_profile_context(caps));
    if (s.seccomp->default_action == cell::SeccompAction::Allow ||
        s.seccomp->default_action == cell::SeccompAction::Log)
      p.warnings.push_back("--seccomp " + spec.seccomp_file +
                           ": its defaultAction allows every syscall the profile does not name (a deny list; "
                           "new syscalls pass too): prefer a profile whose default is SCMP_ACT_ERRNO");
  } else {
    p.warnings.push_back("--seccomp unconfined: the cell may call every syscall its capabilities allow");
  }

  // Identity and namespaces.
  const bool as_root = spec.uid == 0 || spec.gid == 0;
  if (spec.host_root && !as_root) usage_error("--host-root needs --user 0 (it keeps the host's uid 0)");
  if (spec.host_root)
    p.warnings.push_back(
        "--host-root: uid 0 in the cell is the host's uid 0 (no capabilities, but it owns the host's "
        "root-owned files: it reads /etc/shadow and any root-only file or socket it can see)");
  else if (as_root) {
    // uid 0 in the cell is nobody on the host: a user namespace holding
    // the command alone, mapped by the init (docs/security.md).
    s.namespaces.push_back({cell::NamespaceType::User, ""});
    s.uid_mappings = {{spec.uid, kHostNobody, 1}};
    s.gid_mappings = {{spec.gid, kHostNobody, 1}};
    p.notes.push_back("--user " + std::to_string(spec.uid) + ":" + std::to_string(spec.gid) +
                      " is the host's 65534:65534 (a user namespace; --host-root for the host's uid 0)");
    if (!caps.empty())
      p.notes.push_back(
          "--cap-add with --user 0: the capabilities hold in the cell's user namespace only, which owns none "
          "of "
          "its mount, network or uts namespaces: no mount, interface or hostname change, no RT policy");
  }
  s.process.user.uid = spec.uid;
  s.process.user.gid = spec.gid;
  s.process.args = spec.command;
  s.hostname = spec.hostname.empty() ? p.id : spec.hostname;
  if (spec.net_none) {
    s.namespaces.push_back({cell::NamespaceType::Network, ""});
  } else {
    p.warnings.push_back(
        "--net host: the cell shares the host's network: it reaches services bound to 127.0.0.1, binds host "
        "ports, connects to the host's abstract unix sockets and reads /proc/net (the default, none, gives "
        "it "
        "only its own loopback)");
  }

  // Environment: complete here, so the cell never looks at rtcell's own.
  auto& env = s.process.env;
  env.push_back(std::string("PATH=") + cell::kCellPath);
  env.push_back("HOSTNAME=" + s.hostname);
  env.push_back("HOME=/");
  if (const char* term = std::getenv("TERM")) env.push_back(std::string("TERM=") + term);
  // CDI's env, then --env: a flag overrides what a device spec sets.
  std::vector<std::string> wanted = cdi_edits.edits.env;
  wanted.insert(wanted.end(), spec.env.begin(), spec.env.end());
  for (const auto& e : wanted) {
    std::string kv = e;
    if (kv.find('=') == std::string::npos) {
      const char* v = std::getenv(kv.c_str());
      if (v == nullptr) continue;
      kv += "=" + std::string(v);
    }
    std::string key = kv.substr(0, kv.find('='));
    for (auto it = env.begin(); it != env.end();) {
      if (it->rfind(key + "=", 0) == 0)
        it = env.erase(it);
      else
        ++it;
    }
    env.push_back(kv);
  }
  return p;
}

}  // namespace rtcell::front
