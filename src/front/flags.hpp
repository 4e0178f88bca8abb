// The `rtcell run` front door: what the flags asked for (RunFlags, typed),
// the parsers for their values, and build_spec(), which turns them into the
// one cell::Spec after every check that speaks of a flag (policy, priority
// 99, rlimits the launcher can grant, capability names, seccomp JSON,
// devices, volumes). A bad request fails here with one line naming the flag
// and nothing to undo; cell::prepare() then checks the spec itself.
//
// A manifest cell reaches the same RunFlags typed (front/manifest_cell.hpp),
// never as flag strings.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell/spec.hpp"
#include "host/facts.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/rt/sched.hpp"
#include "sys/caps.hpp"

namespace rtcell::front {

struct Volume {
  std::string source;
  std::string target;
  bool read_only = false;
};

// --device /dev/X[:rwm]: build_spec() makes it a cell::DeviceNode (type and
// numbers from the host's node) and a cell::DeviceRule with `access`.
// --device vendor.com/class=name: `cdi` holds the name, resolved from the
// CDI specs (front/cdi.hpp) into nodes, mounts, env and hooks.
struct Device {
  std::string path;
  std::string access = "rwm";
  std::string cdi;
};

enum class SeccompMode { Default, Unconfined, File };

// Default bounds of a cell (docs/run.md): a pids limit and a size for
// every --tmpfs; flags change them.
inline constexpr int64_t kDefaultPidsMax = 1024;
// The host ids a cell's uid or gid 0 maps to (nobody, nogroup).
inline constexpr uint32_t kHostNobody = 65534;
inline constexpr const char* kDefaultTmpfsSize = "size=64m";

struct RunFlags {
  std::vector<std::string> command;
  std::string name;  // cell id; empty = generated
  std::string cgroup_root = "rtcell";
  // Placement.
  CpuSet cpus;
  std::string mems;
  std::optional<uint64_t> memory_bytes;
  std::optional<int64_t> pids_max;
  // RT rights.
  std::optional<rt::Policy> sched;
  std::optional<int> rtprio;
  std::optional<uint64_t> memlock_bytes;
  std::optional<int32_t> dma_latency_us;  // --dma-latency: held by the cell's init
  std::optional<int64_t> rt_runtime_us;
  std::optional<int64_t> rt_period_us;
  bool allow_prio_99 = false;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  // Sandbox.
  bool net_none = true;  // least privilege: only a loopback of its own; --net host is the explicit choice
  std::string rootfs;    // empty = the host's / read-only
  std::vector<Device> devices;
  // Where CDI specs are searched (--cdi-spec-dir); empty: RTCELL_CDI_SPEC_DIRS
  // or /etc/cdi and /var/run/cdi.
  std::vector<std::string> cdi_spec_dirs;
  std::vector<Volume> volumes;
  std::vector<std::string> tmpfs;
  std::string workdir = "/";
  std::vector<std::string> env;  // KEY=VALUE or KEY (copied from rtcell's environment)
  std::string hostname;          // empty = the cell id
  uid_t uid = 65534;
  gid_t gid = 65534;
  // uid or gid 0 runs in a user namespace as the host's 65534 unless this
  // asks for the host's real uid 0 (printed).
  bool host_root = false;
  SeccompMode seccomp = SeccompMode::Default;
  std::string seccomp_file;
};

// A spec built from flags, with what to tell the user once it starts.
struct Built {
  std::string id;
  cell::Spec spec;
  std::vector<std::string> warnings;  // print once, before the command starts
  std::vector<std::string> notes;     // e.g. which path gave RT rights
};

// ---- flag value parsers (pure; throw rtcell::Error Usage) ----
// "SRC:DST[:ro|rw]", both absolute.
Volume parse_volume(std::string_view text);
// "/dev/X[:rwm]" or a CDI name "vendor.com/class=name".
Device parse_device(std::string_view text);
// "UID[:GID]" numeric; GID defaults to UID.
void parse_user(std::string_view text, uid_t& uid, gid_t& gid);
// Default set (empty) + added - dropped; "ALL" allowed in either. Unknown
// names and a name both added and dropped are Usage errors.
sys::CapSet resolve_caps(const std::vector<std::string>& add, const std::vector<std::string>& drop);
// One warning per granted capability that gives away as much as root
// (SYS_ADMIN, SYS_PTRACE, DAC_READ_SEARCH, ...), saying what it gives;
// SETUID/SETGID only when the command is not uid 0 already.
std::vector<std::string> capability_warnings(const sys::CapSet& caps, bool as_root);
// Refuses (Privilege, exit 3) a capability in `caps` that `held` (rtcell's
// effective set) lacks, naming it: capset() in the cell would fail late.
// With ALL asked, capabilities past the kernel's last (`last_cap`) are
// dropped from `caps` instead.
void check_caps_held(sys::CapSet& caps, const sys::CapSet& held, int last_cap, bool all_asked);
// The moby #31086 trap: warnings for a cpuset that mixes isolated and
// housekeeping CPUs or spans several isolated CPUs (the scheduler does not
// balance across isolated CPUs, so threads pile up on the first one).
std::vector<std::string> cpuset_warnings(const CpuSet& cpus, const CpuSet& isolated);
// All flag checks, then the spec; throws Usage (exit 2) or
// Privilege/Unsupported (exit 3). `facts` are the host's (online and
// isolated CPUs); nothing here reads the host's / itself.
Built build_spec(const RunFlags& flags, const host::HostFacts& facts);

}  // namespace rtcell::front
