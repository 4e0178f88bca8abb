// Parsers of host text files, fed literal contents (no I/O).
#include <gtest/gtest.h>

#include "host/l4t.hpp"
#include "host/parse.hpp"

using namespace rtcell;
using namespace rtcell::host;

TEST(HostParse, Interrupts) {
  auto t = parse_interrupts(
      "           CPU0       CPU1       \n"
      "  24:          1          0  IO-APIC   5-edge      ACPI:Ged\n"
      " LOC:     123456      65432   Local timer interrupts\n"
      " ERR:          0\n"
      "garbage line\n");
  ASSERT_EQ(t.cpus, (std::vector<int>{0, 1}));
  ASSERT_EQ(t.rows.size(), 3U);
  EXPECT_EQ(t.rows[0].irq, "24");
  EXPECT_TRUE(t.rows[0].numeric);
  EXPECT_EQ(t.rows[0].counts, (std::vector<uint64_t>{1, 0}));
  EXPECT_EQ(t.rows[0].desc, "IO-APIC   5-edge      ACPI:Ged");
  EXPECT_FALSE(t.rows[1].numeric);
  EXPECT_EQ(t.rows[1].counts[1], 65432U);
  EXPECT_EQ(t.rows[2].counts.size(), 1U);
  EXPECT_TRUE(parse_interrupts("").rows.empty());
}

TEST(HostParse, CmdlineCpus) {
  const char* cmd =
      "root=/dev/sda1 isolcpus=managed_irq,domain,2-3 nohz_full=2-3 quiet irqaffinity=0-1 -- nohz_full=7";
  EXPECT_EQ(cmdline_cpus(cmd, "isolcpus")->to_string(), "2-3");
  EXPECT_EQ(cmdline_cpus(cmd, "nohz_full")->to_string(), "2-3");
  EXPECT_EQ(cmdline_cpus(cmd, "irqaffinity")->to_string(), "0-1");
  EXPECT_FALSE(cmdline_cpus(cmd, "rcu_nocbs"));
  EXPECT_FALSE(cmdline_cpus("isolcpus=domain", "isolcpus"));
  EXPECT_FALSE(cmdline_cpus("nohz_full=2-x", "nohz_full"));
  auto args = parse_cmdline("quiet a=b  c=");
  ASSERT_EQ(args.size(), 3U);
  EXPECT_FALSE(args[0].has_value);
  EXPECT_EQ(args[1].value, "b");
  EXPECT_TRUE(args[2].has_value);
}

TEST(HostParse, SetCmdlineArgs) {
  EXPECT_EQ(set_cmdline_args("quiet nohz_full=1 ro", {{"nohz_full", "2-3"}, {"isolcpus", "2-3"}}),
            "quiet nohz_full=2-3 ro isolcpus=2-3");
  EXPECT_EQ(set_cmdline_args("a nohz_full=1 nohz_full=4 -- init=x", {{"nohz_full", "2"}}),
            "a nohz_full=2 -- init=x");
  EXPECT_EQ(set_cmdline_args("", {{"k", "v"}}), "k=v");
}

TEST(HostParse, Kconfig) {
  auto c = parse_kconfig(
      "#\n# Automatically generated\nCONFIG_HZ=1000\nCONFIG_PREEMPT_RT=y\n# CONFIG_NO_HZ_FULL is not set\n"
      "CONFIG_LOCALVERSION=\"-tegra\"\nnot a line\n");
  EXPECT_EQ(c["CONFIG_HZ"], "1000");
  EXPECT_EQ(c["CONFIG_PREEMPT_RT"], "y");
  EXPECT_EQ(c["CONFIG_NO_HZ_FULL"], "n");
  EXPECT_EQ(c["CONFIG_LOCALVERSION"], "-tegra");
  EXPECT_EQ(c.size(), 4U);
}

TEST(HostParse, NvTegraRelease) {
  auto r = parse_nv_tegra_release(
      "# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 "
      "19:57:35 UTC "
      "2023\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->to_string(), "35.4.1");
  EXPECT_EQ(r->board, "t186ref");
  EXPECT_EQ(parse_nv_tegra_release("# R36 (release), REVISION: 3.0, GCID: 1")->to_string(), "36.3.0");
  EXPECT_FALSE(parse_nv_tegra_release("R36"));
  EXPECT_FALSE(parse_nv_tegra_release("# R36 (release)"));
  EXPECT_FALSE(parse_nv_tegra_release(""));
}

TEST(HostParse, Nvpmodel) {
  EXPECT_EQ(parse_nvpmodel_status("pmode:0000 fmode:quiet\n"), 0);
  EXPECT_EQ(parse_nvpmodel_status("pmode:0003"), 3);
  EXPECT_FALSE(parse_nvpmodel_status("fmode:quiet"));
  auto c = parse_nvpmodel_conf(
      "< POWER_MODEL ID=0 NAME=MAXN >\nCORE_0 1\n< PM_CONFIG DEFAULT=2 >\n< POWER_MODEL ID=x >");
  EXPECT_EQ(c.modes.at(0), "MAXN");
  EXPECT_EQ(c.modes.size(), 1U);
  EXPECT_EQ(c.default_mode, 2);
}

TEST(HostParse, DpkgStatus) {
  auto s = parse_dpkg_status(
      "Package: nvidia-l4t-kernel\nStatus: hold ok installed\nVersion: 1\n\nPackage: bash\nStatus: install "
      "ok "
      "installed\n");
  EXPECT_EQ(s["nvidia-l4t-kernel"], "hold ok installed");
  EXPECT_EQ(s["bash"], "install ok installed");
}

TEST(HostParse, CgroupLayout) {
  EXPECT_EQ(parse_cgroup_layout("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"), "v2");
  EXPECT_EQ(parse_cgroup_layout("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
                                "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"),
            "hybrid");
  EXPECT_EQ(parse_cgroup_layout("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"), "v1");
  EXPECT_EQ(parse_cgroup_layout("proc /proc proc rw 0 0\n"), "none");
  EXPECT_EQ(mount_point_of("tracefs /sys/kernel/tracing tracefs rw 0 0\n", "tracefs"), "/sys/kernel/tracing");
}

TEST(HostParse, ChoiceAndMask) {
  EXPECT_EQ(parse_sysfs_choice("always [madvise] never"), "madvise");
  EXPECT_EQ(parse_sysfs_choice("always madvise never"), "");
  EXPECT_EQ(cpus_to_mask(CpuSet::parse("0-3")), "f");
  EXPECT_EQ(cpus_to_mask(CpuSet::parse("0,33")), "2,00000001");
  EXPECT_EQ(cpus_to_mask(CpuSet{}), "0");
  EXPECT_EQ(CpuSet::parse_mask(cpus_to_mask(CpuSet::parse("0-1,8-15,40"))).to_string(), "0-1,8-15,40");
}

TEST(HostParse, Extlinux) {
  const char* conf =
      "TIMEOUT 30\nDEFAULT primary\n\nLABEL backup\n  APPEND old=1\nLABEL primary\n      LINUX /boot/Image\n"
      "      APPEND ${cbootargs} root=/dev/mmcblk0p1 isolcpus=1\n";
  EXPECT_EQ(extlinux_append(conf), "${cbootargs} root=/dev/mmcblk0p1 isolcpus=1");
  std::string next = extlinux_set_args(conf, {{"isolcpus", "2-3"}, {"nohz_full", "2-3"}});
  EXPECT_EQ(extlinux_append(next), "${cbootargs} root=/dev/mmcblk0p1 isolcpus=2-3 nohz_full=2-3");
  EXPECT_NE(next.find("  APPEND old=1\n"), std::string::npos);  // other labels untouched
  EXPECT_FALSE(extlinux_append("TIMEOUT 1\n"));
}

TEST(HostParse, Grub) {
  const char* conf = "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"quiet\"\n";
  EXPECT_EQ(grub_cmdline(conf), "quiet");
  std::string next = grub_set_args(conf, {{"nohz_full", "1"}});
  EXPECT_EQ(next, "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"quiet nohz_full=1\"\n");
  EXPECT_EQ(grub_set_args("A=1\n", {{"k", "v"}}), "A=1\nGRUB_CMDLINE_LINUX=\"k=v\"\n");
}

TEST(HostParse, L4tTable) {
  auto r = find_l4t("36.3.0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->jetpack, "6.0");
  EXPECT_EQ(r->kernel, "5.15.136");
  EXPECT_FALSE(find_l4t("1.2.3"));
  EXPECT_EQ(kernel_base_version("5.15.136-rt-tegra"), "5.15.136");
  EXPECT_EQ(kernel_base_version("6.1.0-18-rt-amd64"), "6.1.0");
}
