#include <gtest/gtest.h>

#include "host/facts.hpp"

using namespace rtcell::host;

TEST(HostFacts, PreemptFromDebugfs) {
  EXPECT_EQ(parse_preempt_debugfs("none voluntary (full) lazy\n"), "full");
  EXPECT_EQ(parse_preempt_debugfs("none (voluntary) full"), "voluntary");
  EXPECT_EQ(parse_preempt_debugfs("garbage"), "unknown");
}

TEST(HostFacts, PreemptFromUname) {
  EXPECT_EQ(parse_preempt_uname("#1 SMP PREEMPT_RT Fri Jun 14 2024"), "PREEMPT_RT");
  EXPECT_EQ(parse_preempt_uname("#1 SMP PREEMPT_DYNAMIC @0"), "dynamic");
  EXPECT_EQ(parse_preempt_uname("#1 SMP PREEMPT Tue"), "full");
  EXPECT_EQ(parse_preempt_uname("#1 SMP Tue"), "unknown");
}

TEST(HostFacts, CmdlineArgs) {
  const char* cmd = "root=/dev/sda1 isolcpus=managed_irq,domain,2-3 nohz_full=2-3 quiet -- isolcpus=7";
  EXPECT_EQ(cmdline_arg(cmd, "nohz_full"), "2-3");
  EXPECT_EQ(cmdline_arg(cmd, "root"), "/dev/sda1");
  EXPECT_EQ(cmdline_arg(cmd, "missing"), "");
  EXPECT_EQ(parse_isolcpus(cmd).to_string(), "2-3");  // args after -- are init's
  EXPECT_EQ(parse_isolcpus("isolcpus=4,5").to_string(), "4-5");
  EXPECT_TRUE(parse_isolcpus("quiet").empty());
}

TEST(HostFacts, CpuModel) {
  EXPECT_EQ(parse_cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n"), "AMD EPYC 7B13");
  EXPECT_EQ(parse_cpu_model("processor\t: 0\nCPU part\t: 0xd42\n"), "CPU part 0xd42");
}

TEST(HostFacts, JoinRoot) {
  EXPECT_EQ(join_root("/", "/proc/cmdline"), "/proc/cmdline");
  EXPECT_EQ(join_root("fx/", "/proc/cmdline"), "fx/proc/cmdline");
}
