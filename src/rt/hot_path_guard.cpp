// The counting allocator behind HotPathGuard and PeriodicTask's allocation
// check.
//
// This file replaces the global operator new family and, outside sanitizer
// builds, wraps the malloc family. Because every C++ object file refers to
// operator new, the linker pulls this member out of librtcell_rt.a into every
// program that links the library: the cost is one thread-local increment per
// allocation. The malloc wrappers are weak, so a static link against libc.a
// (whose malloc.o is strong) silently keeps glibc's malloc, and
// malloc_counting_enabled() then reports false instead of lying.
// The wrappers forward to glibc's exported __libc_* functions, so memory from
// either path can be freed by the other (glibc's free stays in place).
#include "rtcell/rt/hot_path_guard.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_MEMORY__)
#define RTCELL_SANITIZER_OWNS_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define RTCELL_SANITIZER_OWNS_MALLOC 1
#endif
#endif
#ifndef RTCELL_SANITIZER_OWNS_MALLOC
#define RTCELL_SANITIZER_OWNS_MALLOC 0
#endif

namespace {

// initial-exec: no __tls_get_addr (which may itself call malloc) even if this
// code ends up in a shared object.
thread_local uint64_t t_allocs __attribute__((tls_model("initial-exec"))) = 0;

inline void count() noexcept {
  ++t_allocs;
}

// operator new counts itself only when malloc is not counted, else every
// `new` would count twice.
inline void* counted_malloc(std::size_t n) noexcept {
  if constexpr (RTCELL_SANITIZER_OWNS_MALLOC) count();
  return std::malloc(n == 0 ? 1 : n);
}

inline void* counted_aligned(std::size_t n, std::size_t align) noexcept {
  if constexpr (RTCELL_SANITIZER_OWNS_MALLOC) count();
  if (align < sizeof(void*)) align = sizeof(void*);
  void* p = nullptr;
  if (posix_memalign(&p, align, n == 0 ? 1 : n) != 0) return nullptr;
  return p;
}

}  // namespace

#if !RTCELL_SANITIZER_OWNS_MALLOC
extern "C" {
// NOLINTBEGIN(bugprone-reserved-identifier): glibc's own entry points
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;

__attribute__((weak)) void* malloc(std::size_t n) noexcept {
  count();
  return __libc_malloc(n);
}
__attribute__((weak)) void* calloc(std::size_t n, std::size_t size) noexcept {
  count();
  return __libc_calloc(n, size);
}
__attribute__((weak)) void* realloc(void* p, std::size_t n) noexcept {
  count();
  return __libc_realloc(p, n);
}
__attribute__((weak)) void* memalign(std::size_t align, std::size_t n) noexcept {
  count();
  return __libc_memalign(align, n);
}
__attribute__((weak)) void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  count();
  return __libc_memalign(align, n);
}
__attribute__((weak)) int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  count();
  void* p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
// NOLINTEND(bugprone-reserved-identifier)
}
#endif

void* operator new(std::size_t n) {
  void* p = counted_malloc(n);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) {
  void* p = counted_malloc(n);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  void* p = counted_aligned(n, static_cast<std::size_t>(a));
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) {
  void* p = counted_aligned(n, static_cast<std::size_t>(a));
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace rtcell::rt {

uint64_t thread_allocations() noexcept {
  return t_allocs;
}

bool malloc_counting_enabled() noexcept {
  // Measured, not assumed: a static link may have kept glibc's malloc. The
  // volatile pointer stops the compiler from eliding the malloc/free pair.
  static const bool enabled = [] {
    void* (*volatile m)(std::size_t) = &std::malloc;
    const uint64_t before = t_allocs;
    void* p = m(16);
    const bool counted = t_allocs != before;
    std::free(p);
    return counted;
  }();
  return enabled;
}

void HotPathGuard::restart() noexcept {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  minflt_ = static_cast<uint64_t>(ru.ru_minflt);
  majflt_ = static_cast<uint64_t>(ru.ru_majflt);
  allocs_ = t_allocs;
}

GuardReport HotPathGuard::report() const noexcept {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  GuardReport r;
  r.allocations = t_allocs - allocs_;
  r.minor_faults = static_cast<uint64_t>(ru.ru_minflt) - minflt_;
  r.major_faults = static_cast<uint64_t>(ru.ru_majflt) - majflt_;
  return r;
}

}  // namespace rtcell::rt
