// Builds the cell's mount tree in its init (cell/rootfs.cpp has the why).
#pragma once

#include <string>
#include <vector>

#include "cell/spec.hpp"
#include "sys/fd.hpp"

namespace rtcell::cell {

// In the init, in its new mount namespace: assembles the root from
// spec.root_path, spec.mounts, spec.devices, the sysctls and the masked and
// read-only paths, with the host's tree still at /oldroot. Throws
// rtcell::Error.
void build_root(const Spec& spec);

// The cell's own cgroups, to show at /sys/fs/cgroup once it joined them.
struct CgroupView {
  std::string root;                 // the host's cgroup mount, e.g. /sys/fs/cgroup
  std::vector<std::string> leaves;  // the cell's groups (one per v1 hierarchy; v2: one)
  bool per_hierarchy = true;        // v1/hybrid: a directory per hierarchy; v2: one tree
};

// Before the cell joins its cgroups (its device cgroup would refuse it):
// the /dev/cpu_dma_latency request of spec.dma_latency_us, opened from the
// host's /dev. Returns it (invalid when none): the init keeps it open.
sys::Fd hold_dma_latency(const Spec& spec);

// Then, once the cell joined its cgroups: with a cgroup namespace,
// /sys/fs/cgroup becomes a read-only view of the cell's own groups only (no
// other cell's, no host path); the init pivots into the root and drops the
// host's tree. Throws rtcell::Error.
void enter_root(const Spec& spec, const CgroupView& view);

}  // namespace rtcell::cell
