#include "cell/spec.hpp"

#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>

namespace rtcell::cell {

namespace {

// RLIMIT_* in number order (asm-generic/resource.h), as the runtime-spec
// names them.
constexpr std::array<const char*, 16> kRlimitNames = {
    "RLIMIT_CPU",      "RLIMIT_FSIZE",  "RLIMIT_DATA",    "RLIMIT_STACK", "RLIMIT_CORE",  "RLIMIT_RSS",
    "RLIMIT_NPROC",    "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",    "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_RTPRIO",  "RLIMIT_RTTIME"};

}  // namespace

const char* to_string(NamespaceType t) {
  switch (t) {
    case NamespaceType::Pid:
      return "pid";
    case NamespaceType::Mount:
      return "mount";
    case NamespaceType::Ipc:
      return "ipc";
    case NamespaceType::Uts:
      return "uts";
    case NamespaceType::Network:
      return "network";
    case NamespaceType::Cgroup:
      return "cgroup";
    case NamespaceType::User:
      return "user";
  }
  return "?";
}

int clone_flag(NamespaceType t) {
  switch (t) {
    case NamespaceType::Pid:
      return CLONE_NEWPID;
    case NamespaceType::Mount:
      return CLONE_NEWNS;
    case NamespaceType::Ipc:
      return CLONE_NEWIPC;
    case NamespaceType::Uts:
      return CLONE_NEWUTS;
    case NamespaceType::Network:
      return CLONE_NEWNET;
    case NamespaceType::Cgroup:
      return CLONE_NEWCGROUP;
    case NamespaceType::User:
      return CLONE_NEWUSER;
  }
  return 0;
}

const char* proc_ns_name(NamespaceType t) {
  switch (t) {
    case NamespaceType::Mount:
      return "mnt";
    case NamespaceType::Network:
      return "net";
    default:
      return to_string(t);  // pid, ipc, uts, cgroup, user
  }
}

bool Mount::is_bind() const {
  return type == "bind" || std::any_of(options.begin(), options.end(),
                                       [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

int rlimit_from_name(std::string_view name) {
  for (size_t i = 0; i < kRlimitNames.size(); ++i)
    if (name == kRlimitNames[i]) return static_cast<int>(i);
  return -1;
}

std::string rlimit_name(int resource) {
  if (resource >= 0 && static_cast<size_t>(resource) < kRlimitNames.size()) return kRlimitNames[resource];
  return "RLIMIT_" + std::to_string(resource);
}

Capabilities Capabilities::uniform(sys::CapSet caps, bool ambient) {
  Capabilities c;
  c.bounding = c.effective = c.inheritable = c.permitted = caps;
  if (ambient) c.ambient = caps;
  return c;
}

bool Spec::has_namespace(NamespaceType t) const {
  return std::any_of(namespaces.begin(), namespaces.end(), [t](const Namespace& n) { return n.type == t; });
}

bool Spec::joins_namespace(NamespaceType t) const {
  return std::any_of(namespaces.begin(), namespaces.end(),
                     [t](const Namespace& n) { return n.type == t && !n.path.empty(); });
}

std::optional<uint32_t> map_to_host(const std::vector<IdMapping>& maps, uint32_t id) {
  for (const auto& m : maps)
    if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
  return std::nullopt;
}

// An unmapped id is the kernel's overflow id (65534), which owns nothing.
uid_t Spec::host_uid() const {
  if (!has_namespace(NamespaceType::User)) return process.user.uid;
  return map_to_host(uid_mappings, process.user.uid).value_or(65534);
}

gid_t Spec::host_gid() const {
  if (!has_namespace(NamespaceType::User)) return process.user.gid;
  return map_to_host(gid_mappings, process.user.gid).value_or(65534);
}

bool Spec::wants_rt() const {
  if (process.scheduler && !std::holds_alternative<rt::Other>(*process.scheduler)) return true;
  for (const auto& r : process.rlimits)
    if (r.resource == RLIMIT_RTPRIO && r.hard > 0) return true;
  return process.capabilities.permitted.has(CAP_SYS_NICE) || process.capabilities.ambient.has(CAP_SYS_NICE);
}

Spec default_spec() {
  Spec s;
  for (auto t : {NamespaceType::Pid, NamespaceType::Mount, NamespaceType::Ipc, NamespaceType::Uts,
                 NamespaceType::Cgroup})
    s.namespaces.push_back({t, ""});
  s.mounts = {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "noexec", "mode=0755", "size=64k"}},
      {"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "nodev", "mode=1777", "size=65536k"}},
  };
  // Docker's read-only and masked paths: kernel knobs read-only, kernel
  // memory and keys hidden.
  s.readonly_paths = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"};
  s.masked_paths = {"/proc/asound",
                    "/proc/acpi",
                    "/proc/kcore",
                    "/proc/keys",
                    "/proc/latency_stats",
                    "/proc/timer_list",
                    "/proc/timer_stats",
                    "/proc/sched_debug",
                    "/proc/scsi",
                    "/sys/firmware",
                    "/sys/devices/virtual/powercap"};
  return s;
}

}  // namespace rtcell::cell
