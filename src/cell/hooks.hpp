// The OCI lifecycle hooks (runtime-spec config.md, "POSIX-platform Hooks"):
// each hook is a program run with the container's state JSON on its stdin;
// a hook that fails or outlives its timeout fails the step it belongs to.
#pragma once

#include <string>
#include <vector>

#include "cell/spec.hpp"
#include "cell/state.hpp"

namespace rtcell::cell {

// The runtime-spec version rtcell speaks (state JSON, `features`).
inline constexpr const char* kOciVersion = "1.0.2";

// The state a hook reads on its stdin (runtime-spec runtime.md "State"):
// `status` as the hook's kind sees it, `pid` the cell's init (0 once gone).
std::string hook_state(const CellState& st, const char* status, pid_t pid);

// Runs `hooks` one after the other, in this process's namespaces, with
// `state_json` on each one's stdin and this process's stdout/stderr. A
// hook with a timeout is killed (SIGKILL) when it runs past it. Throws
// rtcell::Error naming `kind` ("prestart", ...), the hook's index and path
// and how it failed.
void run_hooks(const std::vector<Hook>& hooks, const char* kind, const std::string& state_json);

}  // namespace rtcell::cell
