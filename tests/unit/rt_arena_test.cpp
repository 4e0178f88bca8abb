#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory_resource>
#include <vector>

#include "rtcell/rt/arena.hpp"
#include "rtcell/rt/hot_path_guard.hpp"

namespace rt = rtcell::rt;

TEST(RtArena, HandsOutAlignedPiecesUntilExhausted) {
  // lock=false: unit tests must not depend on RLIMIT_MEMLOCK (the locked
  // path is covered by rt_memory_test's low-limit diagnosis).
  rt::Arena a(4096, {.lock = false});
  EXPECT_EQ(a.capacity() % static_cast<size_t>(sysconf(_SC_PAGESIZE)), 0u);
  void* p1 = a.try_allocate(3, 1);
  void* p2 = a.try_allocate(8, 64);
  ASSERT_NE(p1, nullptr);
  ASSERT_NE(p2, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p2) % 64, 0u);
  EXPECT_GE(static_cast<char*>(p2) - static_cast<char*>(p1), 3);
  EXPECT_EQ(a.try_allocate(a.capacity(), 1), nullptr);  // more than is left
  EXPECT_NE(a.try_allocate(a.remaining(), 1), nullptr);
  EXPECT_EQ(a.remaining(), 0u);
  EXPECT_EQ(a.try_allocate(1, 1), nullptr);
  EXPECT_EQ(a.create<int>(1), nullptr);
}

TEST(RtArena, CreatesObjectsAndArrays) {
  rt::Arena a(64 * 1024, {.lock = false});
  struct P {
    int x, y;
  };
  P* p = a.create<P>(P{1, 2});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->y, 2);
  double* d = a.create_array<double>(100);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d[99], 0.0);
  EXPECT_EQ(a.create_array<double>(1'000'000), nullptr);
}

TEST(RtArena, BacksPmrContainersAndThrowsWhenFull) {
  rt::Arena a(4096, {.lock = false});
  std::pmr::vector<int> v(&a);
  v.reserve(100);
  for (int i = 0; i < 100; ++i) v.push_back(i);
  EXPECT_EQ(v[99], 99);
  EXPECT_GE(a.used(), 100 * sizeof(int));
  std::pmr::vector<char> big(&a);
  EXPECT_THROW(big.resize(a.capacity()), std::bad_alloc);
}

// The point of the arena: its pages are resident before the RT loop touches
// them, so writing all of it takes no page fault.
TEST(RtArena, PagesAreResidentSoTouchingThemDoesNotFault) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "sanitizer build: the first touch of the sanitizer's shadow pages faults";
#endif
  // Under qemu-user (the arm64 unit tests of make test) the process's fault
  // count is the emulator's too: translating the loop's code for the first
  // time faults in qemu's own memory. qemu-user answers get_robust_list
  // with ENOSYS; a kernel never does.
  {
    robust_list_head* head = nullptr;
    size_t len = 0;
    if (::syscall(SYS_get_robust_list, 0, &head, &len) != 0 && errno == ENOSYS)
      GTEST_SKIP() << "qemu-user (get_robust_list: ENOSYS): the fault count includes the emulator's own";
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  rt::Arena a(64 * page, {.lock = false});
  auto* p = static_cast<unsigned char*>(a.try_allocate(a.capacity(), page));
  ASSERT_NE(p, nullptr);
  std::vector<unsigned char> vec(64);
  ASSERT_EQ(mincore(p, a.capacity(), vec.data()), 0);
  for (unsigned char c : vec) EXPECT_TRUE(c & 1);
  rt::HotPathGuard g;
  for (size_t i = 0; i < a.capacity(); i += page) p[i] = 1;
  EXPECT_EQ(g.report().minor_faults, 0u);
}
