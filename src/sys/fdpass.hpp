// One byte and a few file descriptors over a Unix socket (SCM_RIGHTS,
// unix(7)): how a cell's creator hands its init the cgroup files to join
// once the groups exist, while the init built its root in the meantime.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rtcell::sys {

// Sends `data` (1 to kMaxMessage bytes, one datagram-like message on a
// SOCK_SEQPACKET or a short one on a stream socket) with `fds` attached
// (MSG_NOSIGNAL: a peer that died gives EPIPE, not SIGPIPE). Returns false
// with errno set.
inline constexpr size_t kMaxMessage = 8192;
bool send_with_fds(int sock, const std::string& data, const std::vector<int>& fds) noexcept;
// Receives one message and up to `max_fds` descriptors (close-on-exec).
// Returns false on EOF or error (errno set; 0 on EOF).
bool recv_with_fds(int sock, std::string& data, std::vector<int>& fds, int max_fds) noexcept;

}  // namespace rtcell::sys
