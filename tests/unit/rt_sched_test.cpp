#include <gtest/gtest.h>

#include "rtcell/error.hpp"
#include "rtcell/rt/sched.hpp"

namespace rt = rtcell::rt;

TEST(RtPolicy, ParsesAndPrints) {
  EXPECT_EQ(rt::to_string(rt::parse_policy("fifo:50")), "fifo:50");
  EXPECT_EQ(rt::to_string(rt::parse_policy("fifo")), "fifo:80");
  EXPECT_EQ(rt::to_string(rt::parse_policy("rr:10")), "rr:10");
  EXPECT_EQ(rt::to_string(rt::parse_policy("other:5")), "other:5");
  EXPECT_EQ(rt::to_string(rt::parse_policy("deadline:200us/1ms/1ms")), "deadline:200us/1000us/1000us");
  auto d = std::get<rt::Deadline>(rt::parse_policy("deadline:100/500/1000"));
  EXPECT_EQ(d.runtime_ns, 100'000u);
  EXPECT_EQ(d.deadline_ns, 500'000u);
  EXPECT_EQ(d.period_ns, 1'000'000u);
  for (const char* bad : {"batch", "fifo:0", "fifo:100", "fifo:x", "deadline:1ms", "other:30"})
    EXPECT_THROW(rt::parse_policy(bad), rtcell::Error) << bad;
}

TEST(RtPolicy, Refuses99UnlessAllowed) {
  EXPECT_THROW(rt::validate_policy(rt::Fifo{99}), rtcell::Error);
  EXPECT_NO_THROW(rt::validate_policy(rt::Fifo{99}, {.allow_prio_99 = true}));
  EXPECT_NO_THROW(rt::validate_policy(rt::Rr{98}));
}

TEST(RtPolicy, EnforcesKernelDeadlineLimits) {
  auto bad = [](uint64_t r, uint64_t d, uint64_t p) {
    EXPECT_THROW(rt::validate_policy(rt::Deadline{r, d, p}), rtcell::Error) << r << "/" << d << "/" << p;
  };
  bad(1000, 100'000, 100'000);                // runtime < 1024 ns
  bad(200'000, 100'000, 1'000'000);           // runtime > deadline
  bad(100'000, 2'000'000, 1'000'000);         // deadline > period
  bad(10'000, 50'000, 50'000);                // period < 100 us
  bad(10'000, 5'000'000'000, 5'000'000'000);  // period > 4.19 s
  EXPECT_NO_THROW(rt::validate_policy(rt::Deadline{1024, 100'000, 100'000}));
}
