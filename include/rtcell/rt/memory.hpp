// Memory start-up for RT code: lock, then touch, so the loop never faults.
#pragma once

#include <cstddef>

namespace rtcell::rt {

// mlockall(MCL_CURRENT | MCL_FUTURE). On failure throws rtcell::Error
// (Privilege) that says why: RLIMIT_MEMLOCK too low (with the limit) and the
// fix (CAP_IPC_LOCK, ulimit -l, or rtcell run --memlock).
void lock_memory();
// munlockall(); for tests and tools that locked only for a measurement.
void unlock_memory() noexcept;
// Touches `bytes` of stack below the caller so those pages are resident.
void prefault_stack(size_t bytes);
// Allocates, touches and frees `bytes` of heap so that with mlockall and
// M_TRIM_THRESHOLD/M_MMAP_MAX tuned, later malloc()s reuse resident pages.
void prefault_heap(size_t bytes);

}  // namespace rtcell::rt
