// rtcell's supervisor for cells no rtcell process stays with: a `create -f`
// cell and an OCI cell with rtcell.io/manifest. rtcell run and up watch
// their cells from a thread; here a process of its own does (the hidden
// verb __supervise), started at create and ending with the cell's init.
#pragma once

#include <string>

#include "cell/state.hpp"
#include "cell/supervisor.hpp"

namespace rtcell::cli {

// The file in the cell's state directory where a detached supervisor
// appends one line per overrun (also sent to the kernel log); `rtcell
// delete` prints it.
std::string supervisor_log(const cell::Registry& reg, const std::string& id);

// Starts the detached supervisor of cell `id` (double fork, setsid, stdio
// on /dev/null, the spec on a pipe); returns its pid. Throws rtcell::Error
// when it cannot be started.
pid_t start_detached_supervisor(const cell::Registry& reg, const std::string& id,
                                const cell::SuperviseSpec& spec);

}  // namespace rtcell::cli
