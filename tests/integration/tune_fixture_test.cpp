// `rtcell tune` on a COPY of a captured fixture tree (--root), so this host's
// real knobs are never touched (a Jetson sysfs tree cannot exist here: the
// tree stands in for it, see tests/fixtures/hosts/README.md). Asserts:
// --apply then --revert restores byte-identical files; --apply is idempotent
// and keeps the original values; a write failing part-way rolls back.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "integration/support.hpp"

namespace fs = std::filesystem;

namespace {

struct Out {
  int rc = -1;
  std::string text;
};

Out run(const std::string& args) {
  auto r = rtcell::test::run_shell(rtcell::test::rtcell_bin() + " " + args + " 2>&1");
  return {r.code, r.out};
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every regular file (not symlinks) under root, relative path -> contents.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> m;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && !e.is_symlink()) m[fs::relative(e.path(), root).string()] = slurp(e.path());
  return m;
}

class TuneFixture : public ::testing::Test {
 protected:
  void copy_tree(const std::string& name) {
    char tmpl[] = "/tmp/rtcell-tune-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ / "root";
    fs::copy(fs::path(RTCELL_FIXTURES) / "hosts" / name, root_, fs::copy_options::recursive);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string root_arg() const { return " --root " + root_.string(); }
  fs::path dir_, root_;
};

}  // namespace

TEST_F(TuneFixture, ApplyThenRevertIsByteIdentical) {
  copy_tree("jetson-agx-orin-jp6-stock");
  auto before = snapshot(root_);
  Out dry = run("tune --cpus 4-11 --dry-run" + root_arg());
  ASSERT_EQ(dry.rc, 0) << dry.text;
  EXPECT_EQ(snapshot(root_), before);  // a dry run writes nothing

  Out a = run("tune --cpus 4-11 --apply" + root_arg());
  ASSERT_EQ(a.rc, 0) << a.text;
  EXPECT_EQ(slurp(root_ / "sys/devices/system/cpu/cpu4/cpufreq/scaling_governor"), "performance\n");
  EXPECT_EQ(slurp(root_ / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            "schedutil\n");  // not an RT CPU
  EXPECT_EQ(slurp(root_ / "proc/irq/62/smp_affinity_list"), "0-3\n");
  EXPECT_EQ(slurp(root_ / "proc/sys/kernel/timer_migration"), "0\n");
  EXPECT_EQ(slurp(root_ / "proc/sys/vm/stat_interval"), "10\n");
  EXPECT_EQ(slurp(root_ / "proc/sys/kernel/watchdog_cpumask"), "0-3\n");
  EXPECT_EQ(slurp(root_ / "proc/sys/kernel/sched_rt_runtime_us"),
            "950000\n");  // only with --no-rt-throttling
  EXPECT_TRUE(fs::exists(root_ / "var/lib/rtcell/tune.json"));
  EXPECT_EQ(slurp(root_ / "boot/extlinux/extlinux.conf"),
            before["boot/extlinux/extlinux.conf"]);  // no --write-bootargs

  // The check now sees the runtime knobs tuned.
  Out chk = run("check --json --cpus 4-11" + root_arg());
  EXPECT_NE(chk.text.find("\"runtime.timer_migration\""), std::string::npos);

  Out r = run("tune --revert" + root_arg());
  ASSERT_EQ(r.rc, 0) << r.text;
  EXPECT_EQ(snapshot(root_), before);
  EXPECT_FALSE(fs::exists(root_ / "var/lib/rtcell"));

  Out again = run("tune --revert" + root_arg());
  EXPECT_EQ(again.rc, 0) << again.text;
  EXPECT_NE(again.text.find("nothing to revert"), std::string::npos);
}

TEST_F(TuneFixture, ApplyIsIdempotentAndKeepsOriginals) {
  copy_tree("jetson-orin-nx-jp5");
  auto before = snapshot(root_);
  ASSERT_EQ(run("tune --cpus 2-7 --apply" + root_arg()).rc, 0);
  auto tuned = snapshot(root_);
  std::string journal = slurp(root_ / "var/lib/rtcell/tune.json");
  Out second = run("tune --cpus 2-7 --apply" + root_arg());
  ASSERT_EQ(second.rc, 0) << second.text;
  EXPECT_NE(second.text.find("nothing to change"), std::string::npos) << second.text;
  EXPECT_EQ(snapshot(root_), tuned);
  EXPECT_EQ(slurp(root_ / "var/lib/rtcell/tune.json"), journal);  // originals, not tuned values
  Out dry = run("tune --cpus 2-7" + root_arg());
  EXPECT_NE(dry.text.find(": 0 change(s)"), std::string::npos) << dry.text;
  ASSERT_EQ(run("tune --revert" + root_arg()).rc, 0);
  EXPECT_EQ(snapshot(root_), before);
}

TEST_F(TuneFixture, PartialFailureRollsBack) {
  copy_tree("jetson-agx-orin-jp6-stock");
  // timer_migration is written after the governors and IRQs. Point it at a
  // real read-only sysfs attribute: the kernel refuses the write (EACCES,
  // even for root: kernfs has no store for it), so tune fails part-way.
  fs::path knob = root_ / "proc/sys/kernel/timer_migration";
  fs::remove(knob);
  fs::create_symlink("/sys/devices/system/cpu/online", knob);
  auto before = snapshot(root_);
  Out a = run("tune --cpus 4-11 --apply" + root_arg());
  EXPECT_NE(a.rc, 0) << a.text;
  // Writes happened before the failure (governors, IRQs), and were undone.
  EXPECT_NE(a.text.find("rolled back 14 change(s)"), std::string::npos) << a.text;
  EXPECT_EQ(std::count(a.text.begin(), a.text.end(), '\n'), 1) << a.text;
  EXPECT_EQ(snapshot(root_), before);                  // governors and IRQs restored
  EXPECT_FALSE(fs::exists(root_ / "var/lib/rtcell"));  // no state left behind
}

TEST_F(TuneFixture, WriteBootargsKeepsBackupAndReverts) {
  copy_tree("jetson-agx-orin-jp6-stock");
  std::string conf = slurp(root_ / "boot/extlinux/extlinux.conf");
  Out a = run("tune --cpus 4-11 --apply --write-bootargs" + root_arg());
  ASSERT_EQ(a.rc, 0) << a.text;
  std::string now = slurp(root_ / "boot/extlinux/extlinux.conf");
  EXPECT_NE(
      now.find(
          "isolcpus=managed_irq,domain,4-11 nohz_full=4-11 rcu_nocbs=4-11 irqaffinity=0-3 kthread_cpus=0-3"),
      std::string::npos)
      << now;
  EXPECT_NE(now.find("APPEND ${cbootargs} root=/dev/mmcblk0p1"), std::string::npos);
  EXPECT_EQ(slurp(root_ / "boot/extlinux/extlinux.conf.rtcell.bak"), conf);
  ASSERT_EQ(run("tune --revert" + root_arg()).rc, 0);
  EXPECT_EQ(slurp(root_ / "boot/extlinux/extlinux.conf"), conf);
}

TEST_F(TuneFixture, GrubAndIrqbalanceOnX86) {
  copy_tree("x86-preempt-rt-server");
  auto before = snapshot(root_);
  Out a = run("tune --cpus 2-7 --apply --write-bootargs --no-rt-throttling" + root_arg());
  ASSERT_EQ(a.rc, 0) << a.text;
  std::string grub = slurp(root_ / "etc/default/grub");
  EXPECT_NE(grub.find("GRUB_CMDLINE_LINUX=\"isolcpus=managed_irq,domain,2-7 nohz_full=2-7 rcu_nocbs=2-7 "
                      "irqaffinity=0-1,8-15 kthread_cpus=0-1,8-15\""),
            std::string::npos)
      << grub;
  EXPECT_EQ(slurp(root_ / "proc/irq/130/smp_affinity_list"), "0-1,8-15\n");
  EXPECT_EQ(slurp(root_ / "proc/sys/kernel/sched_rt_runtime_us"), "-1\n");
  ASSERT_EQ(run("tune --revert" + root_arg()).rc, 0);
  auto after = snapshot(root_);
  after.erase("etc/default/grub.rtcell.bak");  // the backup is kept on purpose
  EXPECT_EQ(after, before);
}

TEST_F(TuneFixture, BadInputs) {
  copy_tree("this-vm");
  Out a = run("tune --apply" + root_arg());
  EXPECT_EQ(a.rc, 2) << a.text;
  Out b = run("tune --cpus 0-1 --apply" + root_arg());  // nothing left for housekeeping
  EXPECT_EQ(b.rc, 2) << b.text;
  EXPECT_NE(b.text.find("housekeeping"), std::string::npos);
  Out c = run("tune --cpus 1 --apply --revert" + root_arg());
  EXPECT_EQ(c.rc, 2) << c.text;
  EXPECT_FALSE(fs::exists(root_ / "var/lib/rtcell"));
}

// --persist: a systemd unit enabled for sysinit.target runs the same
// --apply at every boot; --revert removes it with the rest, the tree byte
// for byte as before. Without systemd in the root, one line saying what to
// do instead, and nothing applied.
TEST_F(TuneFixture, PersistInstallsABootUnitAndRevertRemovesIt) {
  copy_tree("jetson-agx-orin-jp6-stock");
  fs::create_directories(root_ / "etc/systemd/system");
  auto before = snapshot(root_);
  Out a = run("tune --cpus 4-11 --apply --persist" + root_arg());
  ASSERT_EQ(a.rc, 0) << a.text;
  const std::string unit = slurp(root_ / "etc/systemd/system/rtcell-tune.service");
  EXPECT_NE(unit.find("ExecStart="), std::string::npos) << unit;
  EXPECT_NE(unit.find(" tune --cpus 4-11 --apply"), std::string::npos) << unit;
  EXPECT_NE(unit.find("WantedBy=sysinit.target"), std::string::npos) << unit;
  const fs::path link = root_ / "etc/systemd/system/sysinit.target.wants/rtcell-tune.service";
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), "/etc/systemd/system/rtcell-tune.service");
  EXPECT_EQ(slurp(root_ / "proc/sys/kernel/timer_migration"), "0\n");  // applied now too

  Out r = run("tune --revert" + root_arg());
  ASSERT_EQ(r.rc, 0) << r.text;
  EXPECT_NE(r.text.find("removed /etc/systemd/system/rtcell-tune.service"), std::string::npos) << r.text;
  EXPECT_FALSE(fs::exists(link));
  EXPECT_FALSE(fs::exists(root_ / "etc/systemd/system/sysinit.target.wants"));
  EXPECT_EQ(snapshot(root_), before);

  Out noapply = run("tune --cpus 4-11 --persist" + root_arg());
  EXPECT_EQ(noapply.rc, 2) << noapply.text;
  EXPECT_NE(noapply.text.find("--persist goes with --apply"), std::string::npos) << noapply.text;

  fs::remove_all(root_ / "etc/systemd");
  auto bare = snapshot(root_);
  Out nosd = run("tune --cpus 4-11 --apply --persist" + root_arg());
  EXPECT_EQ(nosd.rc, 2) << nosd.text;
  EXPECT_NE(nosd.text.find("no systemd"), std::string::npos) << nosd.text;
  EXPECT_NE(nosd.text.find("from your init's boot script"), std::string::npos) << nosd.text;
  EXPECT_EQ(snapshot(root_), bare) << "a refused --persist applied something";
}

namespace {

// A stand-in for one of the board's tools (a Jetson's nvpmodel,
// jetson_clocks, apt-mark cannot run here): it records its argv in `log`
// and exits `code`.
void stand_in(const fs::path& root, const std::string& name, const fs::path& log, int code = 0) {
  fs::create_directories(root / "usr/bin");
  const fs::path p = root / "usr/bin" / name;
  std::ofstream(p) << "#!/bin/sh\necho \"" << name << " $*\" >> " << log.string() << "\nexit " << code
                   << "\n";
  fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream f(p);
  for (std::string l; std::getline(f, l);) out.push_back(l);
  return out;
}

}  // namespace

// Issue 19: on a Jetson, tune applies what it used to only print (nvpmodel
// -m 0, jetson_clocks with --store, apt-mark hold of the L4T kernel
// packages), each with its exact undo journaled; --revert runs the undos in
// reverse, and the tree is as before.
TEST_F(TuneFixture, JetsonToolsRunWithTheirUndoJournaled) {
  copy_tree("jetson-agx-orin-jp6-stock");
  const fs::path log = dir_ / "calls.log";
  for (const char* t : {"nvpmodel", "jetson_clocks", "apt-mark"}) stand_in(root_, t, log);
  auto before = snapshot(root_);
  Out dry = run("tune --cpus 4-11" + root_arg());
  ASSERT_EQ(dry.rc, 0) << dry.text;
  EXPECT_NE(
      dry.text.find("run: " + (root_ / "usr/bin/nvpmodel").string() + " -m 0  [jetson.nvpmodel] (undo: "),
      std::string::npos)
      << dry.text;
  EXPECT_FALSE(fs::exists(log)) << "a dry run ran a tool";

  Out a = run("tune --cpus 4-11 --apply" + root_arg());
  ASSERT_EQ(a.rc, 0) << a.text;
  const std::string store = (root_ / "var/lib/rtcell/jetson_clocks.conf").string();
  const std::vector<std::string> applied{
      "nvpmodel -m 0", "jetson_clocks --store " + store, "jetson_clocks ",
      "apt-mark hold nvidia-l4t-kernel nvidia-l4t-kernel-dtbs nvidia-l4t-kernel-headers"};
  EXPECT_EQ(lines_of(log), applied) << a.text;

  Out again = run("tune --cpus 4-11 --apply" + root_arg());
  ASSERT_EQ(again.rc, 0) << again.text;
  EXPECT_EQ(lines_of(log).size(), applied.size()) << "a second --apply ran the tools again";

  Out r = run("tune --revert" + root_arg());
  ASSERT_EQ(r.rc, 0) << r.text;
  auto calls = lines_of(log);
  ASSERT_EQ(calls.size(), applied.size() + 3) << r.text;
  EXPECT_EQ(calls[4], "apt-mark unhold nvidia-l4t-kernel nvidia-l4t-kernel-dtbs nvidia-l4t-kernel-headers");
  EXPECT_EQ(calls[5], "jetson_clocks --restore " + store);
  EXPECT_EQ(calls[6], "nvpmodel -m 3");  // the mode the board was in
  EXPECT_EQ(snapshot(root_), before);
}

// A tool that fails rolls back everything of the run: the knobs, and the
// tools that ran before it (their undo).
TEST_F(TuneFixture, AFailingJetsonToolRollsBackEverything) {
  copy_tree("jetson-agx-orin-jp6-stock");
  const fs::path log = dir_ / "calls.log";
  stand_in(root_, "nvpmodel", log);
  stand_in(root_, "jetson_clocks", log);
  stand_in(root_, "apt-mark", log, 1);
  auto before = snapshot(root_);
  Out a = run("tune --cpus 4-11 --apply" + root_arg());
  EXPECT_NE(a.rc, 0) << a.text;
  EXPECT_NE(a.text.find("apt-mark hold nvidia-l4t-kernel"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("failed (exit status 1); rolled back"), std::string::npos) << a.text;
  auto calls = lines_of(log);
  ASSERT_GE(calls.size(), 3u) << a.text;
  EXPECT_EQ(calls.back(), "nvpmodel -m 3") << "the undo of what ran, newest first";
  EXPECT_EQ(snapshot(root_), before);
}
