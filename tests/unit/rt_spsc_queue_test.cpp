#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "rtcell/rt/spsc_queue.hpp"

namespace rt = rtcell::rt;

TEST(RtSpscQueue, FillsToCapacityAndKeepsOrderAcrossWraparound) {
  rt::SpscQueue<int, 4> q;
  EXPECT_EQ(q.capacity(), 4u);
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 10; ++round) {  // 10 rounds wrap the 4 slots several times
    while (q.try_push(next_in)) ++next_in;
    EXPECT_EQ(q.size_approx(), 4u);
    int v = -1;
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, next_out++);
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, next_out++);
  }
  while (auto v = q.try_pop()) EXPECT_EQ(*v, next_out++);
  EXPECT_EQ(next_out, next_in);
  EXPECT_TRUE(q.empty_approx());
  int v = 7;
  EXPECT_FALSE(q.try_pop(v));
  EXPECT_EQ(v, 7);
}

TEST(RtSpscQueue, DestroysElementsItStillHolds) {
  static int live = 0;
  struct Counted {
    Counted() noexcept { ++live; }
    Counted(const Counted&) noexcept { ++live; }
    Counted(Counted&&) noexcept { ++live; }
    Counted& operator=(const Counted&) noexcept = default;
    Counted& operator=(Counted&&) noexcept = default;
    ~Counted() { --live; }
  };
  {
    rt::SpscQueue<Counted, 8> q;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.try_emplace());
    EXPECT_EQ(live, 5);
    Counted out;
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(live, 5);  // 4 queued + out
  }
  EXPECT_EQ(live, 0);
}

TEST(RtSpscQueue, MovesOnlyTypes) {
  rt::SpscQueue<std::unique_ptr<int>, 2> q;
  ASSERT_TRUE(q.try_push(std::make_unique<int>(42)));
  auto p = q.try_pop();
  ASSERT_TRUE(p && *p);
  EXPECT_EQ(**p, 42);
}

// One producer, one consumer, a small ring so that both "full" and "empty"
// happen constantly. Every element carries its sequence number and a
// checksum: a lost, duplicated, reordered or torn element fails the test.
// Waiting is by yielding, never sleeping. Also run under -DRTCELL_TSAN=ON.
TEST(RtSpscQueue, ConcurrentStressKeepsSequence) {
  struct Item {
    uint64_t seq;
    uint64_t check;
    uint64_t pad[2];
  };
  constexpr uint64_t kItems = 300'000;
  static rt::SpscQueue<Item, 64> q;
  auto checksum = [](uint64_t s) { return s * 0x9E3779B97F4A7C15ULL ^ 0xDEADBEEF; };
  std::atomic<uint64_t> full_hits{0};
  std::thread producer([&] {
    uint64_t full = 0;
    for (uint64_t s = 0; s < kItems; ++s) {
      Item it{s, checksum(s), {s, ~s}};
      while (!q.try_push(it)) {
        ++full;
        std::this_thread::yield();
      }
    }
    full_hits = full;
  });
  uint64_t expect = 0, bad = 0;
  while (expect < kItems) {
    Item it;
    if (!q.try_pop(it)) {
      std::this_thread::yield();
      continue;
    }
    if (it.seq != expect || it.check != checksum(expect) || it.pad[0] != expect || it.pad[1] != ~expect)
      ++bad;
    expect = it.seq + 1;
  }
  producer.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(expect, kItems);
  EXPECT_TRUE(q.empty_approx());
}
