// The target host's scheduler limits for `rtcell admit --root` (issue 12,
// item 6), from literal sysctl text and the captured host trees.
#include <gtest/gtest.h>

#include "host/sched_limits.hpp"

using namespace rtcell::host;

namespace {

SchedLimits of(const char* tree) {
  return read_sched_limits(Probe(std::string(RTCELL_FIXTURES) + "/hosts/" + tree));
}

}  // namespace

TEST(HostSchedLimits, ParsesOneInteger) {
  EXPECT_EQ(parse_sysctl_int("950000\n"), std::optional<int64_t>(950'000));
  EXPECT_EQ(parse_sysctl_int("-1\n"), std::optional<int64_t>(-1));
  EXPECT_EQ(parse_sysctl_int(" 100 "), std::optional<int64_t>(100));
  EXPECT_FALSE(parse_sysctl_int(""));
  EXPECT_FALSE(parse_sysctl_int("95x"));
  EXPECT_FALSE(parse_sysctl_int("1 2"));
  EXPECT_FALSE(parse_sysctl_int("99999999999999999999"));
}

// JetPack 5 (cgroup v1, CONFIG_RT_GROUP_SCHED): budgets are checked; JetPack
// 6 (cgroup v2): none. The trees hold no sched_deadline_period_min_us
// (kernel default 100 us used, and said).
TEST(HostSchedLimits, CapturedTrees) {
  auto jp5 = of("jetson-orin-nx-jp5");
  EXPECT_TRUE(jp5.rt_groups);
  EXPECT_EQ(jp5.rt_runtime_us, 950'000);
  EXPECT_EQ(jp5.rt_period_us, 1'000'000);
  EXPECT_EQ(jp5.dl_period_max_us, 4'194'304);
  EXPECT_EQ(jp5.dl_period_min_us, 100);
  EXPECT_EQ(jp5.defaulted, std::vector<std::string>{"/proc/sys/kernel/sched_deadline_period_min_us"});
  EXPECT_FALSE(of("jetson-agx-orin-jp6-stock").rt_groups);
  EXPECT_TRUE(of("this-vm").rt_groups);
  // Nothing readable: a default kernel, RT groups not found.
  auto none = read_sched_limits(Probe("/nonexistent-root"));
  EXPECT_EQ(none.rt_runtime_us, 950'000);
  EXPECT_FALSE(none.rt_groups);
  EXPECT_EQ(none.defaulted.size(), 4u);
}
