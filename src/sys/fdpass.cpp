#include "sys/fdpass.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace rtcell::sys {

namespace {
constexpr int kMaxFds = 16;
}

bool send_with_fds(int sock, const std::string& data, const std::vector<int>& fds) noexcept {
  if (fds.size() > kMaxFds || data.empty() || data.size() > kMaxMessage) {
    errno = EINVAL;
    return false;
  }
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  if (!fds.empty()) {
    msg.msg_control = buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(data.size());
}

bool recv_with_fds(int sock, std::string& data, std::vector<int>& fds, int max_fds) noexcept {
  if (max_fds > kMaxFds) max_fds = kMaxFds;
  data.assign(kMaxMessage, '\0');
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  msg.msg_control = buf;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * static_cast<size_t>(max_fds));
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n == 0) errno = 0;
    data.clear();
    return false;
  }
  data.resize(static_cast<size_t>(n));
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const auto* data = reinterpret_cast<const int*>(CMSG_DATA(c));
    for (size_t i = 0; i < count; ++i) fds.push_back(data[i]);
  }
  return true;
}

}  // namespace rtcell::sys
