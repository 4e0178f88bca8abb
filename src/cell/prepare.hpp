// prepare(): every check of a cell::Spec that can be made before anything
// exists (the id, the root holding the command, mount destinations, device
// nodes, CPUs online, the scheduler's limits, the seccomp profile compiled),
// so that a bad spec fails with one line naming the spec field and nothing
// to undo. The host's facts are passed in: cell/ never reads the host's /
// to decide.
#pragma once

#include <linux/filter.h>

#include <string>
#include <string_view>
#include <vector>

#include "cell/cgroup.hpp"
#include "cell/spec.hpp"
#include "host/facts.hpp"

namespace rtcell::cell {

// The default PATH inside a cell.
inline constexpr const char* kCellPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A cell id: 1-64 characters of [A-Za-z0-9_.-], not "." or "..". It names
// the state directory and the cgroups. Throws Usage.
void validate_cell_id(std::string_view id);

// Finds `command` inside `rootfs` ("/" = host) along `path_var`; returns its
// absolute path inside the cell or "" when not found / not executable.
std::string resolve_command(const std::string& rootfs, const std::string& command,
                            const std::string& path_var, const std::string& workdir = "/");

// A validated spec, ready for create().
struct Prepared {
  std::string id;
  Spec spec;
  std::string executable;                // process.args[0] resolved in the root
  std::vector<sock_filter> seccomp_bpf;  // spec.seccomp compiled (empty: unconfined)
  CgroupRequest cgroup;                  // resources as the cgroup backends take them
};

// Throws Usage (exit 2), Privilege or Unsupported (exit 3).
Prepared prepare(std::string id, Spec spec, const host::HostFacts& facts);

}  // namespace rtcell::cell
