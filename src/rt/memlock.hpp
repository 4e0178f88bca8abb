// Shared diagnosis for mlock/mlockall refusals (lock_memory, Arena).
#pragma once

#include <cstddef>
#include <string>

namespace rtcell::rt::detail {

// Throws rtcell::Error for an mlock-family failure with errno `err` while
// locking `what` (`bytes` of it, 0 = the whole process): Privilege for the
// RLIMIT_MEMLOCK cases, naming the limit, the amount needed, whether the
// process has CAP_IPC_LOCK, and the fixes; System otherwise.
[[noreturn]] void memlock_error(const std::string& what, int err, std::size_t bytes);

// The value of "Key:" in /proc/self/status text that starts with "\n".
std::string status_field(const std::string& status, const char* key);

// "64 KiB", "8 MiB", "unlimited".
std::string memlock_text(unsigned long long bytes);

}  // namespace rtcell::rt::detail
