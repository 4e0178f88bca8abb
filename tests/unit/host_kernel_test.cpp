// rtcell kernel's library: extlinux parsing, which entry is RT, and the
// use-rt / revert protocol on a COPY of a fake Jetson tree
// (tests/fixtures/kernel/README.md says what is fake about it); and the
// kernel-config rules of `check --kconfig` on literal configs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "error_helpers.hpp"
#include "host/check.hpp"
#include "host/kernel.hpp"
#include "host/parse.hpp"
#include "rtcell/error.hpp"

using namespace rtcell;
using namespace rtcell::host;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A private copy of the fake Jetson tree, removed at the end.
struct Tree {
  std::string root;
  Tree() {
    char tmpl[] = "/tmp/rtcell-kernel-XXXXXX";
    root = ::mkdtemp(tmpl);
    fs::copy(std::string(RTCELL_FIXTURES) + "/kernel/jetson-jp6-rt-pkg", root, fs::copy_options::recursive);
  }
  ~Tree() { fs::remove_all(root); }
  std::string conf() const { return root + kExtlinuxConf; }
};

std::map<std::string, std::string> severities(const std::vector<Finding>& fs) {
  std::map<std::string, std::string> m;
  for (const auto& f : fs) m[f.id] = to_string(f.severity);
  return m;
}

}  // namespace

TEST(HostKernel, ParsesStockExtlinux) {
  auto x = parse_extlinux(
      slurp(std::string(RTCELL_FIXTURES) + "/hosts/jetson-agx-orin-jp6-stock/boot/extlinux/extlinux.conf"));
  EXPECT_EQ(x.default_label, "primary");
  ASSERT_EQ(x.entries.size(), 1U);
  EXPECT_EQ(x.entries[0].kernel, "/boot/Image");
  EXPECT_EQ(x.entries[0].menu_label, "primary kernel");
  EXPECT_NE(x.entries[0].append.find("console=ttyTCU0"), std::string::npos);
  EXPECT_EQ(x.booted(), &x.entries[0]);
}

TEST(HostKernel, RtWordsAreWholeWords) {
  EXPECT_TRUE(names_rt("rt"));
  EXPECT_TRUE(names_rt("Image.rt"));
  EXPECT_TRUE(names_rt("real-time kernel") == false);  // "real" and "time": not one word
  EXPECT_TRUE(names_rt("realtime"));
  EXPECT_TRUE(names_rt("5.15.148-PREEMPT_RT"));
  EXPECT_FALSE(names_rt("primary"));
  EXPECT_FALSE(names_rt("start"));
  EXPECT_FALSE(names_rt("preempt"));
  EXPECT_FALSE(names_rt(""));
}

TEST(HostKernel, SetDefaultChangesOnlyThatLine) {
  std::string conf = "TIMEOUT 30\n  DEFAULT primary\n\nLABEL primary\n  LINUX /boot/Image\n";
  EXPECT_EQ(extlinux_set_default(conf, "rt"),
            "TIMEOUT 30\n  DEFAULT rt\n\nLABEL primary\n  LINUX /boot/Image\n");
  EXPECT_EQ(extlinux_set_default("LABEL a\n", "a"), "DEFAULT a\nLABEL a\n");
  EXPECT_EQ(extlinux_set_default("DEFAULT x", "y"), "DEFAULT y");  // no newline added
}

TEST(HostKernel, StatusFindsTheRtEntryByItsImage) {
  Tree t;
  auto s = kernel_status(t.root);
  ASSERT_EQ(s.conf.entries.size(), 2U);
  EXPECT_EQ(s.rt_evidence[0], "");
  EXPECT_NE(s.rt_evidence[1].find("PREEMPT_RT banner"), std::string::npos) << s.rt_evidence[1];
  EXPECT_EQ(s.l4t, "36.4.3");
  EXPECT_FALSE(s.running_rt);
  EXPECT_EQ(s.rt_installed,
            (std::vector<std::string>{"nvidia-l4t-rt-kernel", "nvidia-l4t-rt-kernel-oot-modules"}));
  ASSERT_TRUE(s.rt_available);
  EXPECT_EQ(s.rt_available->apt_line, "deb https://repo.download.nvidia.com/jetson/rt-kernel r36.4 main");
  // The banner, not the name: an image named like the stock one but RT inside still counts.
  spit(t.root + "/boot/Image", "Linux version 5.15.148 #1 SMP PREEMPT_RT x\n");
  EXPECT_NE(kernel_status(t.root).rt_evidence[0], "");
}

TEST(HostKernel, UseRtThenRevertIsByteIdentical) {
  Tree t;
  const std::string before = slurp(t.conf());
  auto lines = kernel_use_rt(t.root);
  ASSERT_FALSE(lines.empty());
  std::string after = slurp(t.conf());
  auto x = parse_extlinux(after);
  EXPECT_EQ(x.default_label, "realtime");
  ASSERT_EQ(x.entries.size(), 2U);
  EXPECT_EQ(x.entries[0].label, "primary");  // the fallback entry stays
  EXPECT_EQ(slurp(t.root + kKernelBackup), before);
  // Only the DEFAULT line differs.
  EXPECT_EQ(extlinux_set_default(after, "primary"), before);
  // A second use-rt refuses: the first one's backup must not be overwritten.
  EXPECT_EQ(test::kind_of([&] { kernel_use_rt(t.root); }), ErrorKind::Usage);
  EXPECT_TRUE(kernel_status(t.root).journaled);
  kernel_revert(t.root);
  EXPECT_EQ(slurp(t.conf()), before);
  EXPECT_FALSE(fs::exists(t.root + kKernelBackup));
  EXPECT_FALSE(fs::exists(t.root + kKernelJournal));
  // Nothing left to revert: says so, changes nothing.
  auto again = kernel_revert(t.root);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_NE(again[0].find("nothing to revert"), std::string::npos);
  EXPECT_EQ(slurp(t.conf()), before);
}

TEST(HostKernel, RevertRefusesAFileEditedSinceUseRt) {
  Tree t;
  const std::string before = slurp(t.conf());
  kernel_use_rt(t.root);
  spit(t.conf(), slurp(t.conf()) + "# edited by hand\n");
  EXPECT_EQ(test::kind_of([&] { kernel_revert(t.root); }), ErrorKind::Usage);
  EXPECT_EQ(slurp(t.root + kKernelBackup), before);  // the way back is kept
}

TEST(HostKernel, UseRtRefusesWithoutARtEntryAndLeavesNothing) {
  Tree t;
  std::string conf =
      slurp(std::string(RTCELL_FIXTURES) + "/hosts/jetson-agx-orin-jp6-stock/boot/extlinux/extlinux.conf");
  spit(t.conf(), conf);
  auto msg = test::message_of([&] { kernel_use_rt(t.root); });
  EXPECT_NE(msg.find("no RT entry"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rt-kernel r36.4"), std::string::npos) << msg;  // says how to get one on R36
  EXPECT_EQ(slurp(t.conf()), conf);
  EXPECT_FALSE(fs::exists(t.root + kKernelBackup));
  EXPECT_FALSE(fs::exists(t.root + kKernelJournal));
}

TEST(HostKernel, UseRtRefusesAnEntryWhoseImageIsMissing) {
  Tree t;
  std::string before = slurp(t.conf());
  std::string conf = before;
  conf.replace(conf.find("/boot/Image.rt"), 14, "/boot/Image-rt");  // still named RT, but absent
  spit(t.conf(), conf);
  auto msg = test::message_of([&] { kernel_use_rt(t.root); });
  EXPECT_NE(msg.find("not there"), std::string::npos) << msg;
  EXPECT_EQ(slurp(t.conf()), conf);
  EXPECT_FALSE(fs::exists(t.root + kKernelJournal));
}

TEST(HostKernel, AFailedWriteOfTheConfigLeavesNothingBehind) {
  Tree t;
  const std::string before = slurp(t.conf());
  // write_file_atomic's temp file beside the config is a directory: its open fails.
  fs::create_directory(t.conf() + ".tmp." + std::to_string(::getpid()));
  EXPECT_THROW(kernel_use_rt(t.root), Error);
  EXPECT_EQ(slurp(t.conf()), before);
  EXPECT_FALSE(fs::exists(t.root + kKernelBackup));
  EXPECT_FALSE(fs::exists(t.root + kKernelJournal));
}

TEST(HostKernel, NoExtlinuxIsAUsageError) {
  EXPECT_EQ(test::kind_of([] { kernel_status(std::string(RTCELL_FIXTURES) + "/hosts/this-vm"); }),
            ErrorKind::Usage);
}

TEST(HostKernel, RtPackagesOnlyForR36) {
  ASSERT_TRUE(l4t_rt_packages(36, 3));
  EXPECT_EQ(l4t_rt_packages(36, 3)->packages.front(), "nvidia-l4t-rt-kernel");
  EXPECT_FALSE(l4t_rt_packages(35, 4));
}

TEST(HostKernel, StockJetsonCheckNamesTheRtPackages) {
  CheckOptions o;
  o.root = std::string(RTCELL_FIXTURES) + "/hosts/jetson-agx-orin-jp6-stock";
  for (const auto& f : run_checks(o))
    if (f.id == "kernel.preempt_rt") {
      EXPECT_EQ(f.severity, Severity::Fail);
      EXPECT_NE(f.fix.find("nvidia-l4t-rt-kernel nvidia-l4t-rt-kernel-headers"), std::string::npos) << f.fix;
      EXPECT_NE(f.fix.find("rt-kernel r36.3 main"), std::string::npos) << f.fix;
    }
}

TEST(HostKconfig, VersionFromTheHeader) {
  EXPECT_EQ(kconfig_version("#\n# Automatically generated file; DO NOT EDIT.\n# Linux/arm64 6.1.192 Kernel "
                            "Configuration\n#\nCONFIG_X=y\n"),
            "6.1.192");
  EXPECT_EQ(kconfig_version("CONFIG_X=y\n# Linux/arm64 6.1 Kernel Configuration\n"), "");
  EXPECT_EQ(kconfig_version(""), "");
}

TEST(HostKconfig, RulesOnAnRtConfig) {
  auto fs = run_kconfig_checks("rt.config",
                               parse_kconfig("CONFIG_PREEMPT_RT=y\nCONFIG_HZ_1000=y\nCONFIG_HZ=1000\n"
                                             "CONFIG_NO_HZ_FULL=y\n# CONFIG_RT_GROUP_SCHED is not set\n"));
  auto m = severities(fs);
  EXPECT_EQ(m["kernel.preempt_rt"], "pass");
  EXPECT_EQ(m["kernel.config"], "pass");
  EXPECT_EQ(m["kernel.hz"], "pass");
  EXPECT_EQ(m["kernel.nohz_full"], "pass");
  EXPECT_EQ(m["kernel.rt_group_sched"], "pass");
  EXPECT_EQ(m.size(), 5U);
  for (const auto& f : fs) EXPECT_EQ(f.file, "rt.config");
}

TEST(HostKconfig, RulesOnAStockConfig) {
  auto m = severities(run_kconfig_checks(
      "stock", parse_kconfig("CONFIG_PREEMPT_VOLUNTARY=y\nCONFIG_HZ=250\nCONFIG_RT_GROUP_SCHED=y\n")));
  EXPECT_EQ(m["kernel.preempt_rt"], "fail");
  EXPECT_EQ(m["kernel.hz"], "warn");
  EXPECT_EQ(m["kernel.nohz_full"], "warn");
  EXPECT_EQ(m["kernel.rt_group_sched"], "info");
}

TEST(HostKernel, SetDefaultRewritesEveryDefaultLine) {
  // parse_extlinux takes the last DEFAULT line, so each one must name the label.
  std::string two = "DEFAULT a\nLABEL a\nLABEL b\ndefault b\n";
  EXPECT_EQ(extlinux_set_default(two, "rt"), "DEFAULT rt\nLABEL a\nLABEL b\nDEFAULT rt\n");
  EXPECT_EQ(parse_extlinux(extlinux_set_default(two, "rt")).default_label, "rt");
}
