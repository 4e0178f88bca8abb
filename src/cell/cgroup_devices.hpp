// The device allow-list as a cgroup v2 eBPF program. The v2 cgroup has no
// devices.allow file; the kernel asks a BPF_PROG_TYPE_CGROUP_DEVICE program
// instead, once per open/mknod, with struct bpf_cgroup_dev_ctx (type, access,
// major, minor; include/uapi/linux/bpf.h). It returns 1 to allow, 0 to deny.
// rtcell generates the program from the rules, like crun's
// src/libcrun/ebpf.c: one block per rule, each falling through to the next
// on a mismatch, and a final "deny".
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "cell/cgroup.hpp"

namespace rtcell::cell {

// The minimal /dev every cell may use: null zero full random urandom tty ptmx
// and every pts (Documentation/admin-guide/devices.txt numbers).
const std::vector<DeviceRule>& minimal_devices();

// The filter allowing exactly `rules` (type 'a' = any type, -1 = any number,
// access a subset of "rwm"); everything else is denied.
std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules);

}  // namespace rtcell::cell
