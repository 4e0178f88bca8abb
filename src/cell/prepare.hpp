// prepare(): every check of a cell::Spec that can be made before anything
// exists (the id, the root holding the command, mount destinations, device
// nodes, CPUs online, the scheduler's limits, the seccomp profile compiled),
// so that a bad spec fails with one line naming the spec field and nothing
// to undo. The host's facts are passed in: cell/ never reads the host's /
// to decide.
#pragma once

#include <linux/filter.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell/cgroup.hpp"
#include "cell/spec.hpp"
#include "host/facts.hpp"

namespace rtcell::cell {

// The default PATH inside a cell.
inline constexpr const char* kCellPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// An absolute path with no ".." component.
bool is_abs_clean(std::string_view p);
// `path` (absolute, as the cell sees it) on the host, under `rootfs` ("/":
// the host's own root).
std::string in_root(const std::string& rootfs, const std::string& path);

// A cell id: 1-64 characters of [A-Za-z0-9_.-], not "." or "..". It names
// the state directory and the cgroups. Throws Usage.
void validate_cell_id(std::string_view id);

// A hostname: at most 64 bytes, no control character (a newline would
// forge lines in whatever prints it). Throws Usage naming `what`.
void check_hostname(std::string_view name, const std::string& what);

// Finds `command` inside `rootfs` ("/" = host) along `path_var`; returns its
// absolute path inside the cell or "" when not found / not executable.
// The Spec form looks through the spec's mounts too (a command on a bind
// mount), resolving symlinks as the cell will.
std::string resolve_command(const Spec& s, const std::string& command, const std::string& path_var,
                            const std::string& workdir);
std::string resolve_command(const std::string& rootfs, const std::string& command,
                            const std::string& path_var, const std::string& workdir = "/");

// A path of the cell resolved the way the cell will see it once its first
// `upto` mounts are made: symlinks followed inside the root only (an
// absolute target counts from the cell's root, ".." stops there), as
// openat2(RESOLVE_IN_ROOT) does. `host`: where it lies on the host while the
// cell is built (nullopt: inside a filesystem rtcell mounts fresh). Throws
// Usage naming `what` on a symlink loop.
struct CellPath {
  std::string path;
  std::optional<std::string> host;
};
CellPath resolve_in_cell(const Spec& s, size_t upto, const std::string& path, const std::string& what);

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
