#include "rtcell/rt/arena.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "rt/memlock.hpp"
#include "rtcell/error.hpp"

namespace rtcell::rt {

Arena::Arena(std::size_t bytes, ArenaOptions opts) {
  if (bytes == 0) usage_error("Arena of 0 bytes: reserve what the RT loop needs at start-up");
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  capacity_ = (bytes + page - 1) / page * page;
  // MAP_POPULATE faults every page in now, so the RT loop never takes the
  // first-touch fault; mlock below keeps them resident.
  void* p =
      mmap(nullptr, capacity_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) sys_error("Arena: cannot reserve " + detail::memlock_text(capacity_), errno);
  base_ = static_cast<unsigned char*>(p);
  // MAP_POPULATE is best effort: mmap(2) reports no failure to populate, and
  // qemu-user (the arm64 unit tests, docs/STATUS.md) drops the flag. Writing
  // one byte per page makes every page resident wherever the arena runs;
  // where MAP_POPULATE worked it costs no fault.
  for (std::size_t i = 0; i < capacity_; i += page) static_cast<volatile unsigned char*>(base_)[i] = 0;
  if (opts.lock) {
    if (mlock(base_, capacity_) != 0) {
      const int e = errno;
      munmap(base_, capacity_);
      base_ = nullptr;
      detail::memlock_error("Arena: mlock of " + detail::memlock_text(capacity_), e, capacity_);
    }
    locked_ = true;
  }
}

Arena::~Arena() {
  if (base_) munmap(base_, capacity_);  // munmap also unlocks
}

void* Arena::do_allocate(std::size_t bytes, std::size_t align) {
  void* p = try_allocate(bytes, align);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace rtcell::rt
