// Pausing a cell: every process in it frozen and thawed again, as
// `docker pause`, `podman pause` and containerd-shim-runc-v2 ask of an OCI
// runtime (rtcell-runtime pause/resume, rtcell pause/resume).
//
// v2: the cell's group's cgroup.freeze; the group is frozen once
// cgroup.events says "frozen 1" (Documentation/admin-guide/cgroup-v2.rst,
// "Core Interface Files"), which poll(2) reports as POLLPRI.
// v1 and hybrid: the freezer hierarchy (Documentation/admin-guide/cgroup-v1/
// freezer-subsystem.rst). rtcell does not make a freezer group with every
// cell: most cells are never paused and each group costs a mkdir, an
// attach and an rmdir on every launch. The first pause makes
// <root>/freezer/<parent>/<id>, recording it in the journal ahead of the
// mkdir (so that delete and gc remove it), moves the cell's processes in
// and freezes the group. A process that joins a FROZEN group is frozen as
// it joins, so a fork racing the move is caught by a pass after the freeze.
#pragma once

#include <functional>

#include "cell/cgroup.hpp"

namespace rtcell::cell {

// Freezes every process of the cell whose cgroups `j` records. `save` is
// called with the journal before each directory is made (write-ahead). On
// failure the cell is thawed again and the error thrown: Unsupported when
// the host has no freezer, System when the processes do not freeze in time.
void freeze(CgroupJournal& j, const std::function<void(const CgroupJournal&)>& save);
// Thaws the cell; a cell that was never frozen is left as it is. Throws
// System naming the file on a failed write.
void thaw(const CgroupJournal& j);

}  // namespace rtcell::cell
