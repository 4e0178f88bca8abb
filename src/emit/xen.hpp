// rtcell emit xen: the Xen configuration of a manifest's admitted VMs
// (docs/hypervisor.md). Pure: the manifest and its VM verdict in, file
// contents out; the CLI writes them (sys::write_dir_atomic).
//
// Per VM an xl.cfg (xl.cfg(5)): name, type, memory, vcpus, a hard affinity
// per vCPU (cpus = ["P0", "P1", ...]: vCPU i on exactly the pCPU the
// analysis placed it on) and pool. Per cpupool a file for `xl
// cpupool-create` (xlcpupool.cfg(5)): name, sched = "rtds", cpus. And
// apply.sh: the pools' CPUs out of Pool-0, the pools, each domain created
// paused, its RTDS server per vCPU (`xl sched-rtds -d DOM -v N -p PERIOD_US
// -b BUDGET_US -e 0`: xl.cfg has no RTDS keys), then unpaused.
#pragma once

#include <vector>

#include "manifest/manifest.hpp"
#include "rtcell/analysis/vm.hpp"
#include "sys/dir_write.hpp"

namespace rtcell::emit {

// Xen's RTDS limits (xen/common/sched/rt.c: RTDS_MIN_BUDGET and
// RTDS_MIN_PERIOD are MICROSECS(10); rt_dom_cntl refuses smaller values
// with -EINVAL).
inline constexpr analysis::Time kXenMinBudgetNs = 10'000;
inline constexpr analysis::Time kXenMinPeriodNs = 10'000;

// The files, or rtcell::Error (Usage) with one line naming the VM and what
// Xen cannot do: a VM the analysis did not admit, a budget or period under
// 10 µs, more vCPUs than physical CPUs in its pool, two pools sharing a CPU.
// `source` names the manifest in the files' header comments.
std::vector<sys::FileEntry> emit_xen(const manifest::Manifest& m, const analysis::VmAdmitResult& r);

}  // namespace rtcell::emit
