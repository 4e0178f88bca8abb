// Builds the cell's mount tree in its init (cell/rootfs.cpp has the why).
#pragma once

#include "cell/spec.hpp"
#include "sys/fd.hpp"

namespace rtcell::cell {

// In the init, in its new mount namespace: assembles the root from
// spec.root_path, spec.mounts, spec.devices and the masked and read-only
// paths, pivots into it and drops the host's tree. Throws rtcell::Error.
// Returns the /dev/cpu_dma_latency request it opened from the host's /dev
// for spec.dma_latency_us (invalid when none): the init keeps it open.
sys::Fd build_root(const Spec& spec);

}  // namespace rtcell::cell
