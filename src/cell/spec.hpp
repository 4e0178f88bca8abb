// The one description of a cell. Three front doors build it and nothing
// else: `rtcell run` flags (front/flags.hpp), a manifest cell plus its
// admission verdict (front/manifest_cell.hpp) and, later, an OCI bundle's
// config.json. The vocabulary follows the OCI runtime-spec (config.md,
// config-linux.md) field by field, so that config.json maps onto it without
// a second model; rtcell's own fields (RT budget, priority-99 consent) sit
// where the runtime-spec has its nearest neighbour.
//
// cell/ validates a Spec (prepare.hpp) and runs it (lifecycle.hpp). Its
// error messages name the fields here ("resources.cpus", "mounts[2]"), never
// a flag: the front door that built the spec may add its own words.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cell/cgroup.hpp"
#include "cell/seccomp_profile.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/rt/sched.hpp"
#include "sys/caps.hpp"

namespace rtcell::cell {

// linux.namespaces[]: a new namespace of `type`, or (path set) the one at
// `path` joined with setns(2).
enum class NamespaceType { Pid, Mount, Ipc, Uts, Network, Cgroup, User };
const char* to_string(NamespaceType t);
// Its clone(2)/setns(2) flag (CLONE_NEW*) and its file under /proc/PID/ns.
int clone_flag(NamespaceType t);
const char* proc_ns_name(NamespaceType t);
struct Namespace {
  NamespaceType type = NamespaceType::Pid;
  std::string path;
};

// mounts[]: `type` "bind" (or any type with the bind/rbind option) binds
// `source` from the host; anything else is a filesystem mount of `source`.
// Options as in the runtime-spec: ro, rw, nosuid, nodev, noexec, bind, rbind,
// the propagation words, and "key=value" data for the filesystem.
struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  bool is_bind() const;
};

// process.rlimits[]: RLIMIT_* by number (RLIMIT_RTPRIO = 14).
struct Rlimit {
  int resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};
// "RLIMIT_RTPRIO" -> 14; -1 when unknown.
int rlimit_from_name(std::string_view name);
std::string rlimit_name(int resource);

// process.capabilities: the five sets of capabilities(7).
struct Capabilities {
  sys::CapSet bounding, effective, inheritable, permitted, ambient;
  // The same set everywhere (ambient only for a non-root user): what
  // `rtcell run --cap-add` means.
  static Capabilities uniform(sys::CapSet caps, bool ambient);
};

// process.user.
struct User {
  uid_t uid = 65534;
  gid_t gid = 65534;
  std::vector<gid_t> additional_gids;
};

// process.
struct Process {
  std::vector<std::string> args;
  std::vector<std::string> env;  // KEY=VALUE, complete (no host lookups later)
  std::string cwd = "/";
  User user;
  Capabilities capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = true;
  // process.scheduler: set on the command before exec, so its threads
  // inherit it and may lower it, never raise it.
  std::optional<rt::Policy> scheduler;
  bool allow_prio_99 = false;  // rtcell: consent to priority 99
  CpuSet exec_cpus;            // process.execCPUAffinity.initial (empty: resources.cpus)
  // process.terminal: the command gets a pty of the cell's own devpts as
  // its controlling terminal; its creator relays the master (rtcell run).
  bool terminal = false;
  std::optional<mode_t> umask;       // process.user.umask
  std::optional<int> oom_score_adj;  // process.oomScoreAdj
};

// hooks.<kind>[]: a program the runtime runs with the state on stdin.
struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout_s;
};
struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty();
  }
};

// linux.uidMappings[] / gidMappings[]: with a user namespace, the ids
// container_id.. of the cell are the host's host_id.. (size ids).
struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 1;
};

// The host's id for the cell's `id`; nullopt when no map holds it.
std::optional<uint32_t> map_to_host(const std::vector<IdMapping>& maps, uint32_t id);

// linux.devices[]: a node created in the cell's /dev ('c' or 'b').
struct DeviceNode {
  std::string path;
  // rtcell: the host's node bound at `path` when it lives elsewhere on the
  // host (a CDI deviceNode's hostPath); empty: the host's node at `path`.
  std::string host_path;
  char type = 'c';
  int64_t major = 0;
  int64_t minor = 0;
  mode_t file_mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

// linux.resources and linux.cgroupsPath.
struct Resources {
  std::string cgroup_parent = "rtcell";  // the cell's groups live at <parent>/<name>
  std::string cgroup_name;               // empty: the cell id (linux.cgroupsPath's last part)
  CpuSet cpus;                           // empty: the parent's
  std::string mems;
  std::optional<uint64_t> memory_bytes;
  std::optional<int64_t> pids_max;
  // cpu.realtimeRuntime / realtimePeriod (v1 RT group scheduling).
  std::optional<RtBudget> rt;
  // Device cgroup: the allow list beside the minimal /dev set. false: no
  // device cgroup at all.
  std::vector<DeviceRule> devices;
  bool restrict_devices = true;
};

struct Spec {
  Process process;
  std::string root_path = "/";  // root.path, absolute on the host
  bool root_readonly = true;    // root.readonly
  // An OCI bundle's rootfs is the engine's (containerd, Podman): the mount
  // points it lacks are made in it before it turns read-only, as runc does
  // (the CRI's /etc/resolv.conf, /etc/hostname on a read-only pause
  // root). rtcell's own roots are never written.
  bool root_mount_points = false;
  std::string hostname;  // empty: the cell id
  std::vector<Namespace> namespaces;
  std::vector<Mount> mounts;  // in order, after the root
  std::vector<DeviceNode> devices;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::optional<SeccompProfile> seccomp;  // nullopt: unconfined
  std::vector<std::pair<std::string, std::string>> sysctls;
  Resources resources;
  std::map<std::string, std::string> annotations;
  // rtcell: a /dev/cpu_dma_latency request (microseconds) that the cell's
  // init holds for the cell's lifetime, so the workload needs neither the
  // device nor uid 0 to keep the CPUs out of deep idle states.
  std::optional<int32_t> dma_latency_us;
  // With a user namespace: the command alone enters it, after the init
  // (host root) built the root, joined the cgroups and set the command's
  // scheduler and limits; the init writes these maps (docs/security.md).
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  // A "cgroup" mount at /sys/fs/cgroup: the cell's read-only view of its
  // own groups there, with or without a cgroup namespace.
  bool cgroup_mount = false;
  // linux.rootfsPropagation: "" (private) or a propagation word.
  std::string root_propagation;
  Hooks hooks;

  bool has_namespace(NamespaceType t) const;
  // A namespace given by path (an existing one the cell enters: a pod's
  // sandbox, a netns file), not a new one.
  bool joins_namespace(NamespaceType t) const;
  // process.user as the host sees it: through the maps with a user
  // namespace, else as is.
  uid_t host_uid() const;
  gid_t host_gid() const;
  // An RT policy, an RLIMIT_RTPRIO grant or CAP_SYS_NICE: the cell runs RT
  // work and needs an RT group budget where the host has one.
  bool wants_rt() const;
};

// The defaults of a cell that rtcell builds itself (run flags, manifests):
// new pid, mount, ipc and uts namespaces; /proc, a private /dev with the
// minimal devices, /dev/pts, /dev/shm; Docker's masked and read-only paths.
Spec default_spec();

}  // namespace rtcell::cell
