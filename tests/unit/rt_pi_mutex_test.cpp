// PiMutex behaviour that needs no privilege: locking, robustness. Priority
// inheritance itself is shown on the real scheduler in
// tests/integration/rt_priority_inversion_test.cpp (needs SCHED_FIFO).
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <thread>

#include "rtcell/error.hpp"
#include "rtcell/rt/pi_mutex.hpp"

namespace rt = rtcell::rt;

namespace {

// Robustness is the kernel's: at a thread's exit it walks the thread's
// robust list and marks the held futexes OWNER_DIED. qemu-user (the arm64
// unit tests) answers set/get_robust_list with ENOSYS, as a guest list is
// no list the host kernel could walk, and glibc then aborts on the dead
// owner's futex (ESRCH). Asked of the kernel, not guessed from the machine.
bool kernel_walks_robust_lists() {
  robust_list_head* head = nullptr;
  size_t len = 0;
  return ::syscall(SYS_get_robust_list, 0, &head, &len) == 0 || errno != ENOSYS;
}

constexpr const char* kNoRobustFutexes =
    "get_robust_list: ENOSYS (qemu-user does not pass robust futex lists to the kernel, so a dead owner is "
    "never marked); the arm64 guest runs this test on a real kernel";

}  // namespace

TEST(RtPiMutex, LocksExclusivelyAndWorksWithLockGuard) {
  rt::PiMutex m;
  {
    std::lock_guard<rt::PiMutex> g(m);
    bool other_got_it = true;
    std::thread t([&] { other_got_it = m.try_lock(); });
    t.join();
    EXPECT_FALSE(other_got_it);
  }
  bool other_got_it = false;
  std::thread t([&] {
    other_got_it = m.try_lock();
    if (other_got_it) m.unlock();
  });
  t.join();
  EXPECT_TRUE(other_got_it);
}

TEST(RtPiMutex, NextOwnerLearnsThatTheOwnerDied) {
  if (!kernel_walks_robust_lists()) GTEST_SKIP() << kNoRobustFutexes;
  rt::PiMutex m;
  std::thread dies_holding([&] { m.lock(); });  // exits without unlock
  dies_holding.join();
  EXPECT_EQ(m.lock_robust(), rt::PiMutex::LockStatus::OwnerDied);
  m.mark_consistent();
  m.unlock();
  EXPECT_EQ(m.lock_robust(), rt::PiMutex::LockStatus::Ok);
  m.unlock();
}

TEST(RtPiMutex, LockRecoversAndCountsADeadOwner) {
  if (!kernel_walks_robust_lists()) GTEST_SKIP() << kNoRobustFutexes;
  rt::PiMutex m;
  std::thread([&] { m.lock(); }).join();
  EXPECT_EQ(m.owner_died_count(), 0u);
  m.lock();
  EXPECT_EQ(m.owner_died_count(), 1u);
  m.unlock();
  EXPECT_EQ(m.lock_robust(), rt::PiMutex::LockStatus::Ok);
  m.unlock();
}

TEST(RtPiMutex, UnrepairedDeathMakesItUnrecoverable) {
  if (!kernel_walks_robust_lists()) GTEST_SKIP() << kNoRobustFutexes;
  rt::PiMutex m;
  std::thread([&] { m.lock(); }).join();
  ASSERT_EQ(m.lock_robust(), rt::PiMutex::LockStatus::OwnerDied);
  m.unlock();  // without mark_consistent()
  EXPECT_EQ(m.lock_robust(), rt::PiMutex::LockStatus::NotRecoverable);
  try {
    m.lock();
    FAIL() << "lock() on an unrecoverable mutex must throw";
  } catch (const rtcell::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unrecoverable"), std::string::npos) << e.what();
  }
}
