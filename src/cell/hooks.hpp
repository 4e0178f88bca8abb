// The OCI lifecycle hooks (runtime-spec config.md, "POSIX-platform Hooks"):
// each hook is a program run with the container's state JSON on its stdin;
// a hook that fails or outlives its timeout fails the step it belongs to.
#pragma once

#include <string>
#include <vector>

#include "cell/spec.hpp"

namespace rtcell::cell {

// Runs `hooks` one after the other, in this process's namespaces, with
// `state_json` on each one's stdin and this process's stdout/stderr. A
// hook with a timeout is killed (SIGKILL) when it runs past it. Throws
// rtcell::Error naming `kind` ("prestart", ...), the hook's index and path
// and how it failed.
void run_hooks(const std::vector<Hook>& hooks, const char* kind, const std::string& state_json);

}  // namespace rtcell::cell
