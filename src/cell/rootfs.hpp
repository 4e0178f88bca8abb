// Builds the cell's mount tree in its init (cell/rootfs.cpp has the why).
#pragma once

#include "cell/spec.hpp"

namespace rtcell::cell {

// In the init, in its new mount namespace: assembles the root from
// spec.root_path, spec.mounts, spec.devices and the masked and read-only
// paths, pivots into it and drops the host's tree. Throws rtcell::Error.
void build_root(const Spec& spec);

}  // namespace rtcell::cell
