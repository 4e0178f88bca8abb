#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "rtcell/rt/hot_path_guard.hpp"

namespace rt = rtcell::rt;

namespace {
// Through a volatile pointer so the compiler cannot elide the pair.
void* (*volatile g_malloc)(size_t) = &std::malloc;
void* (*volatile g_new)(std::size_t) = static_cast<void* (*)(std::size_t)>(&::operator new);
}  // namespace

TEST(RtHotPathGuard, CountsOperatorNew) {
  rt::HotPathGuard g;
  void* p = g_new(8);
  auto r = g.report();
  ::operator delete(p);
  EXPECT_GE(r.allocations, 1u);
  EXPECT_FALSE(r.clean());
}

TEST(RtHotPathGuard, CountsMallocWhereItCan) {
  if (!rt::malloc_counting_enabled()) GTEST_SKIP() << "sanitizer or static build: malloc is not wrapped";
  rt::HotPathGuard g;
  void* p = g_malloc(32);
  EXPECT_EQ(g.report().allocations, 1u);
  std::free(p);
}

TEST(RtHotPathGuard, QuietSectionIsClean) {
  volatile int x = 0;
  rt::HotPathGuard g;
  for (int i = 0; i < 1000; ++i) x = x + i;
  auto r = g.report();
  EXPECT_EQ(r.allocations, 0u);
}

TEST(RtHotPathGuard, CountsAFirstTouchPageFault) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // Not populated: the first write to each page is a minor fault (unless the
  // process runs under mlockall(MCL_FUTURE), which this test binary does not).
  void* m = mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  auto* p = static_cast<volatile unsigned char*>(m);
  rt::HotPathGuard g;
  for (size_t i = 0; i < 4; ++i) p[i * page] = 1;
  EXPECT_GE(g.report().minor_faults, 4u);
  munmap(m, 4 * page);
}
