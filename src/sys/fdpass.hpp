// One byte and a few file descriptors over a Unix socket (SCM_RIGHTS,
// unix(7)): how a cell's creator hands its init the cgroup files to join
// once the groups exist, while the init built its root in the meantime.
#pragma once

#include <vector>

namespace rtcell::sys {

// Sends `byte` with `fds` attached (MSG_NOSIGNAL: a peer that died gives
// EPIPE, not SIGPIPE). Returns false with errno set.
bool send_byte_with_fds(int sock, char byte, const std::vector<int>& fds) noexcept;
// Receives one byte and up to `max_fds` descriptors (close-on-exec).
// Returns false on EOF or error (errno set; 0 on EOF).
bool recv_byte_with_fds(int sock, char& byte, std::vector<int>& fds, int max_fds) noexcept;

}  // namespace rtcell::sys
