// Latest-value passing between one writer and one reader, neither of which
// ever waits for the other: a triple buffer.
//
// Use it where only the newest value matters and a queue would be wrong
// (a queue makes the reader work through stale values, and a full queue makes
// the writer choose what to drop): a setpoint written by a non-RT thread and
// read by the RT loop every cycle, or the RT loop's latest state read by a UI.
//
// Three slots: the writer owns one ("back"), the reader owns one ("front"),
// and the third ("middle") is exchanged atomically together with a "new value"
// bit. publish() fills back and swaps it with middle; a read that sees the bit
// swaps front with middle. Each call is a copy plus one atomic exchange: no
// lock, no syscall, no allocation, bounded time on both sides. T must be
// nothrow copy-assignable; a large T costs one copy per publish and per fresh read.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "rtcell/rt/spsc_queue.hpp"  // kCacheLine

namespace rtcell::rt {

template <typename T>
class Mailbox {
  static_assert(std::is_nothrow_copy_assignable_v<T>, "Mailbox values must be nothrow copy-assignable");

 public:
  // All three slots start as `initial`; the reader sees it until the first publish.
  explicit Mailbox(const T& initial = T{}) : slots_{{initial}, {initial}, {initial}} {}
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Writer side.
  void publish(const T& value) noexcept {
    slots_[back_].value = value;
    const uint8_t prev = middle_.exchange(static_cast<uint8_t>(back_ | kFresh), std::memory_order_acq_rel);
    back_ = prev & kIndex;
  }

  // Reader side: copies the newest value into `out` and returns true if one
  // was published since the last read; otherwise returns false and leaves
  // `out` alone.
  bool fetch(T& out) noexcept {
    if (!take()) return false;
    out = slots_[front_].value;
    return true;
  }

  // Reader side: the newest value. The reference stays valid until this
  // reader's next call.
  const T& latest() noexcept {
    take();
    return slots_[front_].value;
  }

  // Reader side, no swap: whether a value newer than the last read is waiting.
  bool has_new() const noexcept { return (middle_.load(std::memory_order_acquire) & kFresh) != 0; }

 private:
  static constexpr uint8_t kIndex = 0x3;
  static constexpr uint8_t kFresh = 0x4;

  bool take() noexcept {
    if ((middle_.load(std::memory_order_relaxed) & kFresh) == 0) return false;
    const uint8_t prev = middle_.exchange(front_, std::memory_order_acq_rel);
    front_ = prev & kIndex;
    return true;
  }

  struct alignas(kCacheLine) Slot {
    T value;
  };
  Slot slots_[3];
  alignas(kCacheLine) std::atomic<uint8_t> middle_{1};
  alignas(kCacheLine) uint8_t back_ = 0;   // writer-owned
  alignas(kCacheLine) uint8_t front_ = 2;  // reader-owned
};

}  // namespace rtcell::rt
