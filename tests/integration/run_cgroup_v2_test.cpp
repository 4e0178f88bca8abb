// `rtcell run` on a unified cgroup v2 host with real controllers: JetPack 6's
// shape, which the QEMU guests of tests/guest/ boot (a Debian PREEMPT_RT
// kernel without CONFIG_RT_GROUP_SCHED, cgroup2 at /sys/fs/cgroup, every
// controller switched on at the root as systemd does). The development host
// is hybrid, where these skip: its cgroup2 mount holds no controller.
//
// Each limit is checked where the kernel applies it (the group's files as
// the kernel reports them, a fork refused, an allocation OOM-killed), and an
// RT policy in a non-root group is checked for real: without RT group
// scheduling v2 needs no budget (Documentation/scheduler/sched-rt-group.rst
// applies to CONFIG_RT_GROUP_SCHED only), and rtcell must say that none is
// applied.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "integration/run_support.hpp"

using namespace rtcell::test;

namespace {

class RunCgroupV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell run needs root (namespaces, cgroups)";
    if (!unified_cgroup())
      GTEST_SKIP() << "needs unified cgroup v2 at /sys/fs/cgroup (make test's guests have it)";
    for (const char* c : {"cpuset", "memory", "pids"})
      if (slurp_value("/sys/fs/cgroup/cgroup.controllers").find(c) == std::string::npos)
        GTEST_SKIP() << "cgroup v2 controller " << c << " is not available at the root";
  }
};

std::string cpu_count_minus_one() {
  return std::to_string(sysconf(_SC_NPROCESSORS_ONLN) - 1);
}

}  // namespace

TEST_F(RunCgroupV2, LimitsAreWhatTheKernelReportsInTheCellsGroup) {
  // The cell sees its own group as /sys/fs/cgroup (cgroup namespace, bound
  // read-only): the values there are the kernel's, after subtree_control
  // was switched on along rtcell/.
  const std::string cpu = cpu_count_minus_one();
  Result r =
      run({"run", "-q", "--cpus", cpu, "--memory", "48M", "--pids-max", "32", "--", "/bin/sh", "-c",
           "cat /sys/fs/cgroup/cpuset.cpus.effective /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max "
           "/proc/self/cgroup"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, cpu + "\n50331648\n32\n0::/\n");
}

TEST_F(RunCgroupV2, PidsMaxRefusesTheForkOverTheLimit) {
  // init + sh + 2 readers fill pids.max 4; the other readers cannot fork.
  // They block on a FIFO that the shell opens and closes once they are
  // started, so nothing depends on timing.
  Result r =
      run({"run", "-q", "--pids-max", "4", "--", "/bin/sh", "-c",
           "mkfifo /tmp/f; for i in 1 2 3 4 5 6; do cat /tmp/f & done; exec 3>/tmp/f; exec 3>&-; wait"});
  EXPECT_NE(r.err.find("fork"), std::string::npos) << r.code << " " << r.err;
}

TEST_F(RunCgroupV2, MemoryMaxOomKillsTheCommand) {
  // 48 MB into a shell variable against memory.max 16M (no swap in the
  // guests): the kernel's OOM killer ends the command, and its status is
  // rtcell's.
  Result r = run({"run", "-q", "--memory", "16M", "--", "/bin/sh", "-c",
                  "x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo survived ${#x}"});
  EXPECT_EQ(r.out.find("survived"), std::string::npos) << r.out;
  EXPECT_EQ(r.code, 128 + 9) << r.err;
}

TEST_F(RunCgroupV2, SchedFifoInANonRootGroupWithoutRtGroupScheduling) {
  // The command runs SCHED_FIFO in rtcell/<id>, not in the root group, and
  // rtcell says that no group budget bounds it.
  if (path_exists("/sys/fs/cgroup/cpu.rt_runtime_us")) GTEST_SKIP() << "kernel with CONFIG_RT_GROUP_SCHED";
  TempDir tmp;
  const std::string root = tmp.path + "/state";
  const std::string id = unique_name("v2fifo");
  Spawned s = spawn({kRtcell, "create", "--root", root, id, "--sched", "fifo:50", "--", kProbe, "wait"});
  ASSERT_EQ(wait_exit(s.pid), 0);
  const std::string group = "/sys/fs/cgroup/rtcell/" + id;
  std::istringstream procs(slurp(group + "/cgroup.procs"));
  int fifo = 0, n = 0;
  for (pid_t pid = 0; procs >> pid; ++n) {
    if (sched_getscheduler(pid) == SCHED_FIFO) {
      sched_param sp{};
      ASSERT_EQ(sched_getparam(pid, &sp), 0);
      EXPECT_EQ(sp.sched_priority, 50);
      ++fifo;
    }
  }
  EXPECT_EQ(n, 2) << "the cell's init and its command live in " << group;
  EXPECT_EQ(fifo, 1) << "the command, not the init, runs SCHED_FIFO";
  EXPECT_EQ(run({"delete", "--root", root, id}).code, 0);
  std::string out, err;
  drain(s, out, err);
  EXPECT_NE(err.find("RT group budget not available on cgroup v2"), std::string::npos) << err;
  EXPECT_FALSE(path_exists(group));
}

TEST_F(RunCgroupV2, ManifestCellSaysItsBudgetIsNotApplied) {
  // rtcell run -f on a host without RT group scheduling: admitted, started,
  // and the derived guard budget named as not applied (not as applied and
  // then refused by the cgroup backend).
  char tmpl[] = "/tmp/rtcell-v2-manifest-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << "version: 1\nhz: 250\ncells:\n  - name: ctl\n    cpus: \"" << cpu_count_minus_one()
                      << "\"\n    sched: fifo:45\n    command: [\"" << kProbe
                      << "\", report]\n    tasks:\n      - {name: loop, period: 1ms, wcet: 150us}\n";
  Result r = run({"run", "-f", tmpl, "ctl"});
  Result a = run({"admit", "--root", "/", tmpl});
  std::remove(tmpl);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.get("sched"), "fifo:45");
  EXPECT_NE(r.err.find("not applied: this host has no cgroup RT group scheduling"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("RT budget from the admission analysis: "), std::string::npos) << r.err;
  EXPECT_EQ(a.code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("not applied: no cgroup RT group scheduling on the target)"), std::string::npos)
      << a.out;
}
