#include "cell/run_spec.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <random>

#include "host/facts.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::cell {

namespace {

constexpr int kCapSysNice = 23;
constexpr int kCapSysResource = 24;
constexpr int kCapIpcLock = 14;

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

void check_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || id == "." || id == "..")
    usage_error("cell name '" + id + "' is invalid: use 1-64 characters [A-Za-z0-9_.-]");
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      usage_error("cell name '" + id + "' is invalid: use 1-64 characters [A-Za-z0-9_.-]");
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

}  // namespace

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
  size_t c = s.find(':');
  d.path = s.substr(0, c);
  if (c != std::string::npos) d.access = s.substr(c + 1);
  if (!is_abs_clean(d.path) || d.path.rfind("/dev/", 0) != 0)
    usage_error("--device '" + s + "': use /dev/NAME[:rwm]");
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

std::string resolve_command(const std::string& rootfs, const std::string& command,
                            const std::string& path_var, const std::string& workdir) {
  auto executable = [&](const std::string& inside) {
    std::string host = in_root(rootfs, inside);
    struct stat st {};
    return ::stat(host.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
  };
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

PreparedRun prepare(const RunSpec& spec) {
  PreparedRun p;
  p.spec = spec;
  if (spec.command.empty()) usage_error("no command given: use rtcell run [options] -- CMD [ARGS...]");
  p.id = spec.name.empty() ? generate_id() : spec.name;
  check_id(p.id);
  if (spec.hostname.size() > 64) usage_error("--hostname is longer than 64 characters");

  // Root filesystem and everything that must exist in it.
  if (spec.rootfs.empty()) {
    p.rootfs = "/";
  } else {
    char* real = ::realpath(spec.rootfs.c_str(), nullptr);
    if (real == nullptr) usage_error("--rootfs " + spec.rootfs + ": no such directory");
    p.rootfs = real;
    std::free(real);  // NOLINT: realpath allocates with malloc
    if (!is_dir(p.rootfs)) usage_error("--rootfs " + spec.rootfs + " is not a directory");
    for (const char* d : {"/proc", "/dev"})
      if (!is_dir(in_root(p.rootfs, d)))
        usage_error("--rootfs " + spec.rootfs + " has no " + d +
                    " directory: create it (empty) as a mount point");
  }
  std::string path_var = kCellPath;
  for (const auto& e : spec.env) {
    if (e.empty() || e[0] == '=') usage_error("--env '" + e + "': use KEY=VALUE or KEY");
    if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
  }
  p.executable = resolve_command(p.rootfs, spec.command[0], path_var, spec.workdir);
  if (p.executable.empty())
    usage_error("command '" + spec.command[0] +
                "' is not an executable file in the cell's root filesystem (" + p.rootfs +
                (spec.command[0].find('/') == std::string::npos ? ", PATH " + path_var : "") +
                "; a relative path counts from --workdir " + spec.workdir +
                "): use an absolute path, --rootfs DIR holding it, or --volume to bring it in");
  if (!is_abs_clean(spec.workdir)) usage_error("--workdir " + spec.workdir + " must be an absolute path");
  for (const auto& v : spec.volumes) {
    struct stat st {};
    if (::stat(v.source.c_str(), &st) != 0) usage_error("--volume source " + v.source + " does not exist");
    if (::stat(in_root(p.rootfs, v.target).c_str(), &st) != 0)
      usage_error("--volume target " + v.target +
                  " does not exist in the cell's root filesystem: create it first");
  }
  for (const auto& t : spec.tmpfs) {
    if (!is_abs_clean(t)) usage_error("--tmpfs " + t + " must be an absolute path");
    if (!is_dir(in_root(p.rootfs, t)))
      usage_error("--tmpfs " + t + " is not a directory in the cell's root filesystem: create it first");
  }
  bool workdir_ok = is_dir(in_root(p.rootfs, spec.workdir));
  for (const auto& v : spec.volumes) workdir_ok = workdir_ok || spec.workdir.rfind(v.target, 0) == 0;
  for (const auto& t : spec.tmpfs) workdir_ok = workdir_ok || spec.workdir.rfind(t, 0) == 0;
  if (!workdir_ok)
    usage_error("--workdir " + spec.workdir + " is not a directory in the cell's root filesystem");
  for (auto& d : p.spec.devices) {
    struct stat st {};
    if (::stat(d.path.c_str(), &st) != 0) usage_error("--device " + d.path + ": no such device on this host");
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      usage_error("--device " + d.path + " is not a character or block device");
    d.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
    d.major = static_cast<int>(major(st.st_rdev));
    d.minor = static_cast<int>(minor(st.st_rdev));
  }

  // Placement.
  if (!spec.cpus.empty()) {
    auto facts = host::read_host_facts("/");
    CpuSet off = spec.cpus.minus(facts.online_cpus);
    if (!off.empty())
      usage_error("--cpus " + spec.cpus.to_string() + ": CPU " + off.to_string() +
                  " is not online (online: " + facts.online_cpus.to_string() + ")");
    for (auto& w : cpuset_warnings(spec.cpus, facts.isolated_cpus)) p.warnings.push_back(w);
  }
  if (spec.pids_max && *spec.pids_max < 1) usage_error("--pids-max must be at least 1");
  // Below a few MiB the kernel's OOM killer ends the command before it runs
  // (Docker's minimum is 6 MiB).
  if (spec.memory_bytes && *spec.memory_bytes < (4U << 20))
    usage_error("--memory " + std::to_string(*spec.memory_bytes) +
                " bytes cannot hold a process: give at least 4M");

  // Capabilities.
  p.caps = resolve_caps(spec.cap_add, spec.cap_drop);
  const sys::CapSet eff = sys::effective_caps();

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
  if (p.caps.has(kCapSysNice)) {
    p.warnings.push_back(
        "--cap-add SYS_NICE lifts every priority ceiling in the cell, including 99 and "
        "SCHED_DEADLINE; prefer --sched or --rtprio");
    rt_paths.push_back("CAP_SYS_NICE (no ceiling)");
  }
  if (p.caps.has(kCapIpcLock) && spec.memlock_bytes)
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
  if (!rt_paths.empty()) {
    std::string n = "RT rights: ";
    for (size_t i = 0; i < rt_paths.size(); ++i) n += (i ? "; " : "") + rt_paths[i];
    p.notes.push_back(n);
  }

  // Seccomp.
  if (spec.seccomp == SeccompMode::Default) {
    p.seccomp = default_profile(p.caps);
  } else if (spec.seccomp == SeccompMode::File) {
    auto text = sys::try_read_file(spec.seccomp_file);
    if (!text) usage_error("--seccomp " + spec.seccomp_file + ": cannot read the file");
    p.seccomp = parse_docker_profile(*text, host_profile_context(p.caps));
  } else {
    p.warnings.push_back("--seccomp unconfined: the cell may call every syscall its capabilities allow");
  }
  // Compile here, once: a profile libseccomp refuses fails before anything
  // exists, and the cell installs the finished program with one prctl().
  if (p.seccomp) p.seccomp_bpf = build_filter(*p.seccomp).export_bpf();

  // Environment.
  p.env.push_back(std::string("PATH=") + kCellPath);
  p.env.push_back("HOSTNAME=" + (spec.hostname.empty() ? p.id : spec.hostname));
  p.env.push_back("HOME=/");
  if (const char* term = std::getenv("TERM")) p.env.push_back(std::string("TERM=") + term);
  for (const auto& e : spec.env) {
    std::string kv = e;
    if (kv.find('=') == std::string::npos) {
      const char* v = std::getenv(kv.c_str());
      if (v == nullptr) continue;
      kv += "=" + std::string(v);
    }
    std::string key = kv.substr(0, kv.find('='));
    for (auto it = p.env.begin(); it != p.env.end();) {
      if (it->rfind(key + "=", 0) == 0)
        it = p.env.erase(it);
      else
        ++it;
    }
    p.env.push_back(kv);
  }
  return p;
}

}  // namespace rtcell::cell
