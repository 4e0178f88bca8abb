// Reserve-then-never-free memory for RT code.
//
// The RT rule "allocate at start-up" (seeds/002) is easy to state and easy to
// break: a std::vector that grows, a std::string built in a log call. An Arena
// reserves one block at start-up (mmap + MAP_POPULATE, optionally mlock'ed, so
// every page is resident before the loop starts) and then hands out pieces of
// it by bumping a pointer: no syscall, no lock, no page fault, bounded time.
// Nothing is ever freed individually; the whole block goes when the Arena is
// destroyed (after the RT threads stopped).
//
// It is also a std::pmr::memory_resource, so start-up code can build
// std::pmr::vector / std::pmr::string whose storage comes from resident,
// locked memory. deallocate() is a no-op; an exhausted arena makes allocate()
// throw std::bad_alloc (pmr's contract), while try_allocate() returns nullptr.
// One thread at a time (typically: fill at start-up, then the RT thread alone).
#pragma once

#include <cstddef>
#include <memory_resource>
#include <new>
#include <utility>

namespace rtcell::rt {

struct ArenaOptions {
  // mlock() the block, so it stays resident even without mlockall(). A refusal
  // (RLIMIT_MEMLOCK without CAP_IPC_LOCK) throws rtcell::Error (Privilege)
  // with the same diagnosis as lock_memory().
  bool lock = true;
};

class Arena final : public std::pmr::memory_resource {
 public:
  // Reserves `bytes` (rounded up to whole pages) and makes them resident.
  // Throws rtcell::Error on failure; everything after construction is noexcept.
  explicit Arena(std::size_t bytes, ArenaOptions opts = {});
  ~Arena() override;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `bytes` aligned to `align` (a power of two), or nullptr when exhausted.
  void* try_allocate(std::size_t bytes, std::size_t align = alignof(std::max_align_t)) noexcept {
    const std::size_t start = (used_ + (align - 1)) & ~(align - 1);
    if (start < used_ || start > capacity_ || bytes > capacity_ - start) return nullptr;
    used_ = start + bytes;
    return base_ + start;
  }

  // Constructs a T in the arena; nullptr when exhausted. The destructor is
  // never run by the arena: use it for objects that live as long as it does.
  template <typename T, typename... Args>
  T* create(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
    void* p = try_allocate(sizeof(T), alignof(T));
    return p ? ::new (p) T(std::forward<Args>(args)...) : nullptr;
  }

  // `n` value-initialised Ts; nullptr when exhausted.
  template <typename T>
  T* create_array(std::size_t n) noexcept {
    static_assert(std::is_nothrow_default_constructible_v<T>);
    if (n > capacity_ / sizeof(T)) return nullptr;
    void* p = try_allocate(n * sizeof(T), alignof(T));
    if (!p) return nullptr;
    T* first = static_cast<T*>(p);
    for (std::size_t i = 0; i < n; ++i) ::new (static_cast<void*>(first + i)) T();
    return first;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t used() const noexcept { return used_; }
  std::size_t remaining() const noexcept { return capacity_ - used_; }
  bool locked() const noexcept { return locked_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override;
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  unsigned char* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  bool locked_ = false;
};

}  // namespace rtcell::rt
