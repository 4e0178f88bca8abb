// Nothing of a cell outlives it: after a normal exit, a failure inside the
// cell before exec, SIGKILL of the command, SIGTERM to rtcell, and SIGKILL of
// rtcell followed by `rtcell gc`, no rtcell cgroup or host mount remains.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "host/facts.hpp"
#include "integration/run_support.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::test {
namespace {

class RunCleanup : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell run needs root (namespaces, cgroups)";
    if (!path_exists(kProbe)) GTEST_SKIP() << "probe not built: " << kProbe;
  }
  void expect_clean(const std::string& name) {
    EXPECT_TRUE(leftover_cgroups(name).empty()) << leftover_cgroups(name).front();
    EXPECT_TRUE(leaked_mounts().empty()) << leaked_mounts().front();
  }
};

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

TEST_F(RunCleanup, AfterNormalExit) {
  const std::string name = unique_name("exit");
  Result r = run_probe({"-q", "--name", name}, {"exit", "0"});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_clean(name);
}

TEST_F(RunCleanup, AfterTheCommandFails) {
  const std::string name = unique_name("fail");
  Result r = run_probe({"-q", "--name", name}, {"exit", "3"});
  EXPECT_EQ(r.code, 3) << r.err;
  expect_clean(name);
}

TEST_F(RunCleanup, AfterAnErrorInsideTheCellBeforeExec) {
  // The kernel refuses SCHED_DEADLINE on a partial affinity (EBUSY): this
  // fails in the cell process, after the cgroup and namespaces exist.
  auto facts = host::read_host_facts("/");
  if (facts.online_cpus.size() < 2) GTEST_SKIP() << "needs two CPUs for a partial affinity";
  const std::string name = unique_name("err");
  Result r = run({"run", "--name", name, "--cpus", std::to_string(facts.online_cpus.cpus().front()),
                  "--sched", "deadline:1ms/10ms/10ms", "--", "/bin/true"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("SCHED_DEADLINE"), std::string::npos) << r.err;
  expect_clean(name);
}

TEST_F(RunCleanup, AfterSigkillOfTheCommand) {
  const std::string name = unique_name("kill");
  Result r = run_probe({"-q", "--name", name}, {"kill-self", "9"});
  EXPECT_EQ(r.code, 137) << r.err;
  expect_clean(name);
}

TEST_F(RunCleanup, SigtermToRtcellIsForwardedAndCleansUp) {
  const std::string name = unique_name("term");
  Spawned s = spawn({kRtcell, "run", "-q", "--name", name, "--", kProbe, "wait"});
  ASSERT_EQ(read_line(s.out), "ready");
  EXPECT_FALSE(leftover_cgroups(name).empty());  // the cell exists while it runs
  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(s.pid), 128 + SIGTERM);
  close(s.out);
  close(s.err);
  expect_clean(name);
}

TEST_F(RunCleanup, SigkillOfRtcellThenGc) {
  const std::string name = unique_name("gc");
  Spawned s = spawn({kRtcell, "run", "-q", "--name", name, "--", kProbe, "wait"});
  ASSERT_EQ(read_line(s.out), "ready");
  // The cell's init is rtcell's only child; the command is the init's.
  auto inits = children_of(s.pid);
  ASSERT_EQ(inits.size(), 1U);
  auto cmds = children_of(inits[0]);
  ASSERT_EQ(cmds.size(), 1U);
  int fds[2] = {sys::pidfd_open(inits[0]), sys::pidfd_open(cmds[0])};
  ASSERT_GE(fds[0], 0);
  ASSERT_GE(fds[1], 0);
  ASSERT_EQ(kill(s.pid, SIGKILL), 0);
  EXPECT_EQ(wait_exit(s.pid), 128 + SIGKILL);
  // The cell dies with its supervisor (PR_SET_PDEATHSIG): a pidfd turns
  // readable when its process exits. The timeout only bounds a failure.
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 10'000), 1) << "cell process outlived rtcell";
    close(fd);
  }
  close(s.out);
  close(s.err);
  EXPECT_FALSE(leftover_cgroups(name).empty()) << "nothing for gc to do: the test proves nothing";
  Result gc = run({"gc"});
  EXPECT_EQ(gc.code, 0) << gc.err;
  expect_clean(name);
}

}  // namespace
}  // namespace rtcell::test
