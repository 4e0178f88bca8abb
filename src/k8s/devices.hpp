// What rtcell-device-plugin offers and hands out, without gRPC: the RT
// CPUs' health, their topology and packing, the devices of a class, the
// contents of an Allocate answer, and the CDI spec of `rtcell cdi generate`.
// Everything reads under a root prefix (host::Probe), so tests and
// `--root` use a fixture tree of /proc and /sys.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "front/cdi.hpp"
#include "k8s/node_config.hpp"

namespace rtcell::k8s {

// One RT CPU's fitness: the per-CPU form of `rtcell check`'s rules
// runtime.irq_affinity (an IRQ may fire on it), boot.isolcpus (isolation
// promised and missing), runtime.rt_throttling (off: a runaway RT task owns
// the CPU) and CPU online. `reason` names the rule and the evidence.
struct CpuHealth {
  int cpu = 0;
  bool healthy = true;
  std::string reason;  // "" when healthy
};
std::vector<CpuHealth> cpu_health(const std::string& root, const CpuSet& cpus, bool require_isolation);

// /sys/devices/system/cpu/cpuN/topology: package, cluster (-1 when the
// kernel has none), core, and the NUMA node (-1 when unknown).
struct CpuTopology {
  int cpu = 0;
  int package = 0;
  int cluster = -1;
  int core = -1;
  int numa = -1;
};
std::vector<CpuTopology> cpu_topology(const std::string& root, const CpuSet& cpus);

// GetPreferredAllocation for CPUs: `size` CPUs of `available` holding
// `must`, packed: core siblings first, then the cluster, then the package;
// the first CPU goes to the smallest group that still fits the request
// (best fit, so that whole clusters stay free for larger requests). Pure.
std::vector<int> preferred_cpus(const std::vector<CpuTopology>& topo, const std::vector<int>& available,
                                const std::vector<int>& must, int size);

// Device IDs of the RT CPUs: "cpu2".
std::string cpu_device_id(int cpu);
std::optional<int> parse_cpu_device_id(const std::string& id);

// The device nodes of a class: every path under `root` matching a glob,
// sorted; `id` is the file name ("video0"), `path` the path in the tree.
struct ClassDevice {
  std::string id;
  std::string path;
};
std::vector<ClassDevice> find_devices(const std::string& root, const DeviceClass& d);

// What Allocate gives one container.
struct DeviceNodeSpec {
  std::string container_path, host_path, permissions;
};
struct Allocation {
  std::map<std::string, std::string> envs;
  std::map<std::string, std::string> annotations;
  std::vector<DeviceNodeSpec> devices;
  std::vector<std::string> cdi_devices;  // "rtcell.io/video=video0"
};
// RT CPUs: RTCELL_CPUS and the annotations rtcell-runtime reads
// (rtcell.io/cpus, rtcell.io/sched).
Allocation allocate_cpus(const NodeConfig& c, const std::vector<int>& cpus);
// A class's devices: their nodes, and their CDI names where `cdi` resolves
// them (a spec for the class's kind exists in the CDI directories).
Allocation allocate_devices(const NodeConfig& c, const DeviceClass& d, const std::vector<ClassDevice>& chosen,
                            const front::cdi::Registry* cdi);

// `rtcell cdi generate`: one CDI spec (cdiVersion 0.6.0; kind, devices[].name,
// containerEdits.deviceNodes and env only) per device class with devices.
nlohmann::json cdi_spec(const NodeConfig& c, const DeviceClass& d, const std::vector<ClassDevice>& devices);

}  // namespace rtcell::k8s
