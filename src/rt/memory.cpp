#include "rtcell/rt/memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rt/memlock.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::rt {

namespace detail {

// One "Key:\tvalue" line of /proc/self/status (prefixed with "\n"), or "".
std::string status_field(const std::string& status, const char* key) {
  const std::string k = std::string("\n") + key + ":";
  size_t at = status.find(k);
  if (at == std::string::npos) return {};
  at += k.size();
  size_t end = status.find('\n', at);
  std::string v = status.substr(at, end == std::string::npos ? std::string::npos : end - at);
  size_t first = v.find_first_not_of(" \t");
  return first == std::string::npos ? std::string{} : v.substr(first);
}

namespace {

constexpr int kCapIpcLock = 14;  // include/uapi/linux/capability.h

}  // namespace

std::string memlock_text(unsigned long long v) {
  if (v == RLIM_INFINITY) return "unlimited";
  if (v % (1024 * 1024) == 0) return std::to_string(v / (1024 * 1024)) + " MiB";
  if (v % 1024 == 0) return std::to_string(v / 1024) + " KiB";
  return std::to_string(v) + " bytes";
}

void memlock_error(const std::string& what, int err, std::size_t bytes) {
  rlimit rl{};
  getrlimit(RLIMIT_MEMLOCK, &rl);
  // The kernel charges mlockall(MCL_CURRENT) with the whole mapped size
  // (mm->total_vm, VmSize), not just what is resident: mm/mlock.c
  // apply_mlockall_flags() and can_do_mlock().
  const std::string status = "\n" + sys::try_read_file("/proc/self/status").value_or("");
  std::string need = bytes ? memlock_text(bytes) : std::string{};
  if (!bytes) {
    // "VmSize:\t 6140 kB"
    const unsigned long long kib = std::strtoull(status_field(status, "VmSize").c_str(), nullptr, 10);
    if (kib >= 1024) {
      char b[32];
      std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(kib) / 1024.0);
      need = b;
    } else if (kib > 0) {
      need = std::to_string(kib) + " KiB";
    }
  }
  bool has_cap = false;
  const std::string cap_eff = status_field(status, "CapEff");
  if (!cap_eff.empty()) has_cap = (std::strtoull(cap_eff.c_str(), nullptr, 16) >> kCapIpcLock) & 1;
  const char* name = strerrorname_np(err);
  const std::string head = what + " failed (" + (name ? name : "error") + ")";
  if (err == ENOMEM || err == EPERM || err == EAGAIN) {
    std::string msg = head + ": RLIMIT_MEMLOCK is " + memlock_text(rl.rlim_cur);
    if (!need.empty())
      msg += " but " + std::string(bytes ? "it needs " : "the process maps ") + need + (bytes ? " more" : "");
    msg +=
        has_cap ? " (CAP_IPC_LOCK is present: the system may be out of memory)" : " and lacks CAP_IPC_LOCK";
    msg +=
        "; grant CAP_IPC_LOCK, raise the limit (ulimit -l unlimited, or rtcell run --memlock), "
        "or pass --no-mlock";
    privilege_error(msg, err);
  }
  sys_error(what, err);
}

}  // namespace detail

void lock_memory() {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0) {
    // Keep freed memory resident and stop malloc from using mmap for large
    // blocks, whose munmap would return locked pages to the kernel.
    mallopt(M_TRIM_THRESHOLD, -1);
    mallopt(M_MMAP_MAX, 0);
    return;
  }
  detail::memlock_error("mlockall", errno, 0);
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
  if (!p) {
    // After lock_memory() (MCL_FUTURE) every new heap page is locked on
    // arrival, so a low RLIMIT_MEMLOCK shows up here as a failed malloc.
    const std::string status = sys::try_read_file("/proc/self/status").value_or("");
    const std::string locked = detail::status_field("\n" + status, "VmLck");
    if (!locked.empty() && locked.rfind("0 ", 0) != 0)
      detail::memlock_error(
          "prefault_heap of " + detail::memlock_text(bytes) + " (memory is locked, " + locked + ")", ENOMEM,
          bytes);
    sys_error("cannot prefault " + std::to_string(bytes) + " bytes of heap", ENOMEM);
  }
  const long page = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < bytes; i += static_cast<size_t>(page)) p[i] = 0;
  std::free(p);
}

}  // namespace rtcell::rt
