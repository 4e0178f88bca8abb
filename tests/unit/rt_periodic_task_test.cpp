// PeriodicTask on the real clock, as an ordinary (SCHED_OTHER) thread: no
// privilege needed. Nothing here asserts a time: overruns are injected by
// making the callback run until a later release has certainly passed, and
// every wait is on an event.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "rtcell/error.hpp"
#include "rtcell/rt/hot_path_guard.hpp"
#include "rtcell/rt/periodic_task.hpp"
#include "rtcell/rt/time.hpp"

namespace rt = rtcell::rt;

namespace {

constexpr int64_t kPeriod = 200'000;  // 200 us

rt::PeriodicTaskConfig config(rt::OverrunPolicy policy = rt::OverrunPolicy::CatchUp) {
  rt::PeriodicTaskConfig c;
  c.period_ns = kPeriod;
  c.overrun = policy;
  return c;
}

// Calls operator new through a volatile pointer: a plain new/delete pair may
// legally be elided by the compiler.
void* (*volatile g_new)(std::size_t) = static_cast<void* (*)(std::size_t)>(&::operator new);

// The injected fault: keep the CPU until `until_ns` has passed.
void spin_until(int64_t until_ns) {
  while (rt::now_ns() <= until_ns) {
  }
}

}  // namespace

TEST(RtPeriodicTask, RejectsBadConfiguration) {
  auto noop = [](const rt::Cycle&) {};
  auto bad = [&](rt::PeriodicTaskConfig c) {
    try {
      rt::PeriodicTask t(c, noop);
      ADD_FAILURE() << "accepted";
    } catch (const rtcell::Error& e) {
      EXPECT_EQ(e.kind(), rtcell::ErrorKind::Usage) << e.what();
    }
  };
  auto c = config();
  c.period_ns = 0;
  bad(c);
  c = config();
  c.deadline_ns = -1;
  bad(c);
  c = config(rt::OverrunPolicy::Handler);  // no handler
  bad(c);
  c = config();
  c.histogram_buckets = 0;
  bad(c);
  EXPECT_THROW(rt::PeriodicTask(config(), nullptr), rtcell::Error);
}

TEST(RtPeriodicTask, CountsCyclesAndStopsFromTheCallback) {
  std::vector<uint64_t> seen;
  seen.reserve(64);
  rt::PeriodicTask* self = nullptr;
  rt::PeriodicTask task(config(), [&](const rt::Cycle& c) {
    seen.push_back(c.index);
    EXPECT_GE(c.wake_ns, c.release_ns);
    EXPECT_EQ(c.deadline_ns, c.release_ns + kPeriod);
    if (seen.size() == 20) self->request_stop();
  });
  self = &task;
  task.run();
  EXPECT_FALSE(task.running());
  ASSERT_EQ(seen.size(), 20u);
  for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(seen[i], i);  // CatchUp never skips an index
  auto s = task.stats();
  EXPECT_EQ(s.cycles, 20u);
  EXPECT_EQ(s.skipped_releases, 0u);
  auto snap = task.snapshot();
  EXPECT_EQ(snap.latency.count(), 20u);
  EXPECT_EQ(snap.exec.count(), 20u);
  EXPECT_EQ(snap.latency.max_ns(), s.latency_max_ns);
}

TEST(RtPeriodicTask, RunsAGivenNumberOfCyclesAndContinuesTheIndex) {
  uint64_t calls = 0, last = 0;
  rt::PeriodicTask task(config(), [&](const rt::Cycle& c) {
    ++calls;
    last = c.index;
  });
  task.run(5);
  EXPECT_EQ(calls, 5u);
  task.run(3);
  EXPECT_EQ(calls, 8u);
  EXPECT_EQ(last, 7u);
  EXPECT_EQ(task.stats().cycles, 8u);
}

TEST(RtPeriodicTask, InjectedOverrunIsAMissAndSkipDropsTheDueReleases) {
  std::vector<uint64_t> seen;
  seen.reserve(64);
  std::vector<rt::Overrun> overruns;
  overruns.reserve(64);
  uint64_t injected = ~0ULL;
  rt::PeriodicTask* self = nullptr;
  auto c = config(rt::OverrunPolicy::Handler);
  c.on_overrun = [&](const rt::Overrun& o) {
    overruns.push_back(o);
    return rt::OverrunAction::Skip;
  };
  rt::PeriodicTask task(c, [&](const rt::Cycle& cy) {
    seen.push_back(cy.index);
    // The 4th cycle to run (whatever its index: a slow machine may already
    // have skipped some) ends past at least two more releases.
    if (seen.size() == 4) {
      injected = cy.index;
      spin_until(cy.release_ns + 2 * kPeriod);
    }
    if (seen.size() == 8) self->request_stop();
  });
  self = &task;
  task.run();
  ASSERT_EQ(seen.size(), 8u);
  auto s = task.stats();
  EXPECT_GE(s.deadline_misses, 1u);
  EXPECT_GE(s.overruns, 1u);
  EXPECT_GE(s.skipped_releases, 2u);
  // The handler heard about the injected cycle, which ran past >= 2 releases.
  bool heard = false;
  for (const auto& o : overruns)
    if (o.cycle == injected) {
      heard = true;
      EXPECT_GE(o.releases_passed, 2u);
      EXPECT_GT(o.end_ns, o.next_release_ns);
    }
  EXPECT_TRUE(heard);
  // Skip: the cycle after the injected one is a later release, not the next index.
  EXPECT_GE(seen[4], injected + 3);
}

TEST(RtPeriodicTask, CatchUpRunsEveryRelease) {
  std::vector<uint64_t> seen;
  seen.reserve(64);
  rt::PeriodicTask* self = nullptr;
  rt::PeriodicTask task(config(rt::OverrunPolicy::CatchUp), [&](const rt::Cycle& cy) {
    seen.push_back(cy.index);
    if (cy.index == 1) spin_until(cy.release_ns + 3 * kPeriod);
    if (seen.size() == 6) self->request_stop();
  });
  self = &task;
  task.run();
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
  auto s = task.stats();
  EXPECT_GE(s.overruns, 1u);
  EXPECT_GE(s.deadline_misses, 1u);
  EXPECT_EQ(s.skipped_releases, 0u);
}

TEST(RtPeriodicTask, HandlerCanStopTheLoop) {
  auto c = config(rt::OverrunPolicy::Handler);
  uint64_t handler_calls = 0;
  c.on_overrun = [&](const rt::Overrun&) {
    ++handler_calls;
    return rt::OverrunAction::Stop;
  };
  uint64_t calls = 0;
  rt::PeriodicTask task(c, [&](const rt::Cycle& cy) {
    ++calls;
    spin_until(cy.release_ns + 2 * kPeriod);
  });
  task.run();  // returns only because the handler said Stop
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(handler_calls, 1u);
  EXPECT_EQ(task.stats().overruns, 1u);
}

TEST(RtPeriodicTask, StartsOnItsOwnThreadAndStopsOnRequest) {
  std::atomic<uint64_t> calls{0};
  rt::PeriodicTask task(config(), [&](const rt::Cycle&) {
    calls.fetch_add(1);
    calls.notify_all();
  });
  task.start();
  EXPECT_TRUE(task.running());
  for (uint64_t v = calls.load(); v < 5; v = calls.load()) calls.wait(v);
  task.stop();
  EXPECT_FALSE(task.running());
  const uint64_t after_stop = calls.load();
  EXPECT_EQ(task.stats().cycles, after_stop);
  EXPECT_GE(after_stop, 5u);
}

TEST(RtPeriodicTask, StartReportsASetupFailureAndLeavesNoThread) {
  rt::PeriodicTask task(config(), [](const rt::Cycle&) {});
  rt::TaskThreadConfig tc;
  tc.policy = rt::Fifo{99};  // refused without allow_prio_99
  try {
    task.start(tc);
    FAIL() << "priority 99 accepted";
  } catch (const rtcell::Error& e) {
    EXPECT_EQ(e.kind(), rtcell::ErrorKind::Usage);
  }
  EXPECT_FALSE(task.running());
  rtcell::CpuSet none;
  tc.policy.reset();
  tc.cpus = none;  // empty affinity: refused on the new thread, reported here
  EXPECT_THROW(task.start(tc), rtcell::Error);
  EXPECT_FALSE(task.running());
}

// The loop itself must not allocate: the allocation count of the RT thread
// is the same at the last cycle as at the first, across the loop's own
// bookkeeping (histograms, seqlock, overrun handling).
TEST(RtPeriodicTask, LoopDoesNotAllocate) {
  uint64_t first = 0, last = 0;
  rt::PeriodicTask* self = nullptr;
  auto c = config();
  c.guard_hot_path = true;
  rt::PeriodicTask task(c, [&](const rt::Cycle& cy) {
    if (cy.index == 1) first = rt::thread_allocations();
    if (cy.index == 50) {
      last = rt::thread_allocations();
      self->request_stop();
    }
  });
  self = &task;
  task.run();
  EXPECT_EQ(last, first);
  EXPECT_EQ(task.stats().guard_allocations, 0u);
}

TEST(RtPeriodicTask, GuardReportsAllocationsAndFaultsInTheCallback) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* m = mmap(nullptr, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  auto* fresh = static_cast<volatile unsigned char*>(m);
  rt::PeriodicTask* self = nullptr;
  auto c = config();
  c.guard_hot_path = true;
  rt::PeriodicTask task(c, [&](const rt::Cycle& cy) {
    if (cy.index == 2) {
      void* p = g_new(16);  // an allocation on the hot path
      ::operator delete(p);
    }
    if (cy.index == 4)
      for (size_t i = 0; i < 8; ++i) fresh[i * page] = 1;  // first touch: page faults
    if (cy.index == 6) self->request_stop();
  });
  self = &task;
  task.run();
  auto s = task.stats();
  EXPECT_GE(s.guard_allocations, 1u);
  EXPECT_GE(s.guard_page_faults, 8u);
  EXPECT_GE(s.guard_violation_cycles, 2u);
  // <= rather than ==: the very first cycle may fault too (first run of the
  // callback's code and stack pages; this test process is not mlock'ed).
  EXPECT_LE(s.first_violation_cycle, 2u);
  munmap(m, 8 * page);
}

// A reader hammering stats() and snapshot() while the loop runs always sees
// a consistent state: the histograms hold exactly `cycles` samples.
TEST(RtPeriodicTask, ReaderSeesConsistentSnapshotsWhileItRuns) {
  std::atomic<uint64_t> calls{0};
  rt::PeriodicTask task(config(), [&](const rt::Cycle&) { calls.fetch_add(1); });
  task.start();
  uint64_t inconsistent = 0, reads = 0, last_cycles = 0, backwards = 0;
  while (task.stats().cycles < 200) {
    auto snap = task.snapshot();
    ++reads;
    uint64_t in_buckets = snap.latency.overflow_count();
    for (uint64_t b : snap.latency.buckets()) in_buckets += b;
    if (in_buckets != snap.stats.cycles || snap.exec.count() != snap.stats.cycles) ++inconsistent;
    if (snap.stats.cycles < last_cycles) ++backwards;
    last_cycles = snap.stats.cycles;
    std::this_thread::yield();
  }
  task.stop();
  EXPECT_EQ(inconsistent, 0u);
  EXPECT_EQ(backwards, 0u);
  EXPECT_GT(reads, 0u);
}
