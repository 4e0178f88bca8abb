#include "rtcell/rt/memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rtcell/error.hpp"

namespace rtcell::rt {

namespace {

std::string limit_text(rlim_t v) {
  if (v == RLIM_INFINITY) return "unlimited";
  if (v % (1024 * 1024) == 0) return std::to_string(v / (1024 * 1024)) + " MiB";
  return std::to_string(v / 1024) + " KiB";
}

}  // namespace

void lock_memory() {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0) {
    // Keep freed memory resident and stop malloc from using mmap for large
    // blocks, whose munmap would return locked pages to the kernel.
    mallopt(M_TRIM_THRESHOLD, -1);
    mallopt(M_MMAP_MAX, 0);
    return;
  }
  int e = errno;
  rlimit rl{};
  getrlimit(RLIMIT_MEMLOCK, &rl);
  if (e == ENOMEM || e == EPERM || e == EAGAIN)
    privilege_error("mlockall failed (" + std::string(strerrorname_np(e) ? strerrorname_np(e) : "error") +
                        "): RLIMIT_MEMLOCK is " + limit_text(rl.rlim_cur) +
                        "; grant CAP_IPC_LOCK, raise it (ulimit -l unlimited, or rtcell run --memlock), "
                        "or pass --no-mlock",
                    e);
  sys_error("mlockall", e);
}

void unlock_memory() noexcept {
  munlockall();
}

void prefault_stack(size_t bytes) {
  // A VLA is not C++, so touch one 64 KiB frame per recursion. The touch
  // after the call keeps it from becoming a tail call that reuses the frame.
  constexpr size_t kChunk = 64 * 1024;
  if (bytes == 0) return;
  unsigned char buf[kChunk];
  std::memset(buf, 0, kChunk);
  // Tell the compiler the buffer escapes, so the memset stays.
  __asm__ __volatile__("" : : "r"(buf) : "memory");
  if (bytes > kChunk) prefault_stack(bytes - kChunk);
  __asm__ __volatile__("" : : "r"(buf) : "memory");
}

void prefault_heap(size_t bytes) {
  if (bytes == 0) return;
  auto* p = static_cast<unsigned char*>(std::malloc(bytes));
  if (!p) sys_error("cannot prefault " + std::to_string(bytes) + " bytes of heap", ENOMEM);
  const long page = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < bytes; i += static_cast<size_t>(page)) p[i] = 0;
  std::free(p);
}

}  // namespace rtcell::rt
