// The engine's two small kernel-facing helpers, without root: the PM-QoS
// request (against a plain file standing in for /dev/cpu_dma_latency, which
// only root may open) and SIGINT/SIGTERM taken as events.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "measure/dma_latency.hpp"
#include "measure/signal_wait.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

using namespace rtcell;

TEST(MeasureDmaLatency, WritesOneBinaryS32AndHoldsUntilReleased) {
  char path[] = "/tmp/rtcell-dma-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    auto req = measure::DmaLatencyRequest::hold(7, path);
    EXPECT_TRUE(req.held());
    EXPECT_EQ(req.value_us(), 7);
    // The kernel reads exactly 4 bytes as a binary s32 (kernel/power/qos.c).
    std::string bytes = sys::read_file(path);
    ASSERT_EQ(bytes.size(), 4u);
    int32_t v = 0;
    std::memcpy(&v, bytes.data(), 4);
    EXPECT_EQ(v, 7);
    req.release();
    EXPECT_FALSE(req.held());
    EXPECT_FALSE(req.value_us().has_value());
  }
  unlink(path);
}

TEST(MeasureDmaLatency, MissingDeviceIsUnsupportedAndNegativeIsUsage) {
  try {
    measure::DmaLatencyRequest::hold(0, "/nonexistent/cpu_dma_latency");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("--default-system"), std::string::npos);
  }
  try {
    measure::DmaLatencyRequest::hold(-1, "/dev/null");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

TEST(MeasureStopSignals, TakesAPendingSigintAsAnEvent) {
  measure::StopSignals signals;
  EXPECT_EQ(signals.wait(0), 0);  // nothing pending
  // Blocked in this thread, so raise() leaves it pending instead of killing us.
  ASSERT_EQ(raise(SIGINT), 0);
  EXPECT_EQ(signals.wait(1'000'000'000), SIGINT);
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_EQ(signals.wait(1'000'000'000), SIGTERM);
}

TEST(MeasureStopSignals, RestoresTheMaskAndDropsLeftovers) {
  sigset_t before;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);
  {
    measure::StopSignals signals;
    ASSERT_EQ(raise(SIGTERM), 0);  // left pending: the destructor must drain it
  }
  sigset_t after;
  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  EXPECT_EQ(sigismember(&after, SIGINT), sigismember(&before, SIGINT));
  EXPECT_EQ(sigismember(&after, SIGTERM), sigismember(&before, SIGTERM));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGTERM));
}

TEST(MeasureStopSignals, SeesASignalEvenWhenItWasIgnored) {
  // A command started in the background by a script inherits SIG_IGN for
  // SIGINT; an ignored signal never becomes pending unless we take it over.
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old);
  {
    measure::StopSignals signals;
    ASSERT_EQ(raise(SIGINT), 0);
    EXPECT_EQ(signals.wait(1'000'000'000), SIGINT);
  }
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_IGN);  // restored
  sigaction(SIGINT, &old, nullptr);
}
