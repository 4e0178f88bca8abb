// A wait-free single-producer/single-consumer ring buffer for handing data
// from an RT thread to a non-RT one (or back) without locks or allocation.
//
// Why it is shaped like this:
// - Indices grow monotonically (64-bit, never wrap in practice) and are masked
//   on use, so "full" and "empty" need no spare slot: all N slots are usable.
// - The producer's index, the consumer's index and each side's cached copy of
//   the other's index live on separate cache lines. Each side re-reads the
//   other's index (an acquire load of a line the other side writes) only when
//   its cached copy says full/empty, so in steady state a push or pop touches
//   one shared line: the slot itself.
// - try_push/try_pop finish in a bounded number of steps whatever the other
//   thread does (wait-free); they never block, allocate or make a syscall, so
//   both are safe on the RT side. Waiting when full/empty is the caller's
//   choice (drop, count, or retry later).
// Exactly one thread may push and exactly one thread may pop at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace rtcell::rt {

// 64 bytes on x86-64 and on the Cortex-A78AE of Jetson Orin. (We do not use
// std::hardware_destructive_interference_size: GCC warns that its value may
// change between compiler versions, which matters for a public header.)
inline constexpr std::size_t kCacheLine = 64;

template <typename T, std::size_t N>
class SpscQueue {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "SpscQueue capacity must be a power of two >= 2");
  static_assert(std::is_nothrow_move_constructible_v<T> || std::is_nothrow_copy_constructible_v<T>,
                "SpscQueue elements must be nothrow move- or copy-constructible (RT paths never throw)");

 public:
  SpscQueue() = default;
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;
  ~SpscQueue() {
    if constexpr (!std::is_trivially_destructible_v<T>) {
      const uint64_t tail = tail_.load(std::memory_order_relaxed);
      for (uint64_t i = head_.load(std::memory_order_relaxed); i != tail; ++i) slot(i)->~T();
    }
  }

  static constexpr std::size_t capacity() noexcept { return N; }

  // Producer side. Returns false (and leaves `value` untouched) when full.
  bool try_push(const T& value) noexcept { return try_emplace(value); }
  bool try_push(T&& value) noexcept { return try_emplace(std::move(value)); }

  template <typename... Args>
  bool try_emplace(Args&&... args) noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ == N) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ == N) return false;
    }
    ::new (static_cast<void*>(slot(tail))) T(std::forward<Args>(args)...);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer side. Returns false when empty.
  bool try_pop(T& out) noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    T* p = slot(head);
    out = std::move(*p);
    p->~T();
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  std::optional<T> try_pop() noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return std::nullopt;
    }
    T* p = slot(head);
    std::optional<T> out(std::move(*p));
    p->~T();
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  // Approximate from any thread (exact from either side when the other is idle).
  std::size_t size_approx() const noexcept {
    const uint64_t head = head_.load(std::memory_order_acquire);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(tail - head);
  }
  bool empty_approx() const noexcept { return size_approx() == 0; }

 private:
  T* slot(uint64_t i) noexcept {
    return std::launder(reinterpret_cast<T*>(&storage_[(i & (N - 1)) * sizeof(T)]));
  }

  // Consumer-owned line: where it pops, and its cached view of tail_.
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};
  uint64_t tail_cache_ = 0;
  // Producer-owned line: where it pushes, and its cached view of head_.
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};
  uint64_t head_cache_ = 0;
  // Slots start on their own line so that neither index shares one with data.
  alignas(kCacheLine > alignof(T) ? kCacheLine : alignof(T)) unsigned char storage_[N * sizeof(T)];
};

}  // namespace rtcell::rt
