#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "rtcell/rt/mailbox.hpp"

namespace rt = rtcell::rt;

TEST(RtMailbox, ReaderSeesOnlyTheLatestValue) {
  rt::Mailbox<int> box(5);
  int v = 0;
  EXPECT_FALSE(box.has_new());
  EXPECT_FALSE(box.fetch(v));
  EXPECT_EQ(v, 0);
  EXPECT_EQ(box.latest(), 5);
  box.publish(1);
  box.publish(2);
  box.publish(3);
  EXPECT_TRUE(box.has_new());
  EXPECT_TRUE(box.fetch(v));
  EXPECT_EQ(v, 3);  // 1 and 2 were overwritten, not queued
  EXPECT_FALSE(box.fetch(v));
  EXPECT_EQ(box.latest(), 3);
  box.publish(4);
  EXPECT_EQ(box.latest(), 4);
}

// The writer never waits, the reader never sees a torn value and never goes
// back in time.
TEST(RtMailbox, ConcurrentReadsAreWholeAndMonotonic) {
  struct State {
    uint64_t seq = 0;
    uint64_t twice = 0;
    uint64_t inverted = ~0ULL;
  };
  constexpr uint64_t kLast = 200'000;
  rt::Mailbox<State> box;
  std::thread writer([&] {
    for (uint64_t s = 1; s <= kLast; ++s) box.publish(State{s, 2 * s, ~s});
  });
  uint64_t last = 0, torn = 0, backwards = 0, reads = 0;
  while (last != kLast) {
    const State& st = box.latest();
    ++reads;
    if (st.twice != 2 * st.seq || st.inverted != ~st.seq) ++torn;
    if (st.seq < last) ++backwards;
    last = st.seq;
    if (last != kLast) std::this_thread::yield();
  }
  writer.join();
  EXPECT_EQ(torn, 0u);
  EXPECT_EQ(backwards, 0u);
  EXPECT_GT(reads, 0u);
}
