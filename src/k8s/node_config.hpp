// The node configuration of rtcell-device-plugin and `rtcell cdi generate`:
// which CPUs a node offers to pods as `rtcell.io/rt-cpu`, which device
// classes (`rtcell.io/video` = /dev/video*), where the kubelet's socket
// directory is, and how often health is re-evaluated. YAML, one file per
// node (the DaemonSet mounts it from a ConfigMap; docs/k8s.md):
//
//   rt_cpus: 2-3                  # default: isolated CPUs (isolated/isolcpus, nohz_full, cgroup isolated
//   partition) require_isolation: true       # an RT CPU not isolated is Unhealthy resource_prefix: rtcell.io
//   socket_dir: /var/lib/kubelet/device-plugins
//   health_interval: 10s
//   sched: fifo:80                # rtcell.io/sched of an allocated container (none: the pod's own)
//   devices:
//     - name: video
//       globs: [/dev/video*]
//       permissions: rw
//
// The parser is pure (text in, typed config out); every error is one line
// "FILE:LINE:COL: what is wrong" (Usage), like the manifest's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtcell/cpuset.hpp"

namespace rtcell::k8s {

struct DeviceClass {
  std::string name;                // DNS label: the resource is <prefix>/<name>
  std::vector<std::string> globs;  // absolute paths with * ? [...]
  std::string permissions = "rw";  // cgroup access of DeviceSpec: r, w, m
};

struct NodeConfig {
  std::optional<CpuSet> rt_cpus;  // unset: default_rt_cpus()
  bool require_isolation = true;
  std::string resource_prefix = "rtcell.io";
  std::string socket_dir = "/var/lib/kubelet/device-plugins";
  int64_t health_interval_ns = 10'000'000'000;
  std::string sched = "fifo:80";  // "none": no rtcell.io/sched annotation
  std::vector<DeviceClass> devices;
};

// The resource name of the RT CPUs and of a device class.
std::string cpu_resource(const NodeConfig& c);
std::string class_resource(const NodeConfig& c, const DeviceClass& d);

NodeConfig parse_node_config(std::string_view text, const std::string& file);
// Reads and parses FILE; an unreadable file is one Usage line.
NodeConfig load_node_config(const std::string& file);

// The RT CPUs a node offers when the configuration names none, read under
// `root`: /sys/devices/system/cpu/isolated (or isolcpus= on the command
// line), else nohz_full, else the cgroup v2 isolated partitions
// (/sys/fs/cgroup/cpuset.cpus.isolated). Empty when none.
struct DefaultCpus {
  CpuSet cpus;
  std::string source;  // the file it came from
};
DefaultCpus default_rt_cpus(const std::string& root);

}  // namespace rtcell::k8s
