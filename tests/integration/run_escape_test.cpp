// Escape attempts from inside a default cell (`rtcell run -- probe try X`),
// one test per attempt, on the real kernel. Each asserts the attempt fails;
// where the reason matters (seccomp vs. read-only vs. namespace), the errno.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "integration/run_support.hpp"

namespace rtcell::test {
namespace {

class RunEscape : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell run needs root (namespaces, cgroups)";
    if (!path_exists(kProbe)) GTEST_SKIP() << "probe not built: " << kProbe;
  }
  // Runs one attempt in a default cell plus `flags`; returns the probe's line.
  static std::string attempt(const std::vector<std::string>& probe_args,
                             std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), "-q");
    std::vector<std::string> a{"try"};
    a.insert(a.end(), probe_args.begin(), probe_args.end());
    Result r = run_probe(flags, a);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }
};

TEST_F(RunEscape, MountIsRefused) {
  EXPECT_EQ(attempt({"mount"}), "try=mount result=fail errno=EPERM\n");
}

TEST_F(RunEscape, WritingProcSysIsRefused) {
  EXPECT_NE(attempt({"proc_sys"}).find("result=fail"), std::string::npos);
}

TEST_F(RunEscape, WritingProcSysIsRefusedEvenForCellRoot) {
  // uid 0 is the host's nobody (a user namespace): the knobs are root's.
  EXPECT_EQ(attempt({"proc_sys"}, {"--user", "0:0"}), "try=proc_sys result=fail errno=EACCES\n");
  // The host's uid 0 without capabilities: /proc/sys is a read-only mount.
  EXPECT_EQ(attempt({"proc_sys"}, {"--user", "0:0", "--host-root"}),
            "try=proc_sys result=fail errno=EROFS\n");
}

TEST_F(RunEscape, WritingTheRootIsRefused) {
  EXPECT_EQ(attempt({"write_root", "/etc/rtcell-escape"}, {"--user", "0:0"}),
            "try=write_root result=fail errno=EROFS\n");
}

TEST_F(RunEscape, WritingUnderAnySubmountIsRefused) {
  // /sys/fs/cgroup is its own mount on the host (a tmpfs): the read-only
  // remount must reach it.
  if (!path_exists("/sys/fs/cgroup")) GTEST_SKIP() << "host has no /sys/fs/cgroup";
  EXPECT_EQ(attempt({"write_root", "/sys/fs/cgroup/rtcell-escape"}, {"--user", "0:0"}),
            "try=write_root result=fail errno=EROFS\n");
}

TEST_F(RunEscape, RunAndTmpAreTheCellsOwn) {
  // The host's /run and /tmp (sockets, other users' files) are hidden
  // behind private tmpfs mounts: a write lands there, never on the host.
  for (const char* dir : {"/run", "/tmp"}) {
    if (!path_exists(dir)) continue;
    const std::string path = std::string(dir) + "/rtcell-escape-" + std::to_string(getpid());
    Result r = run_probe({"-q", "--user", "0:0"}, {"try", "write_root", path});
    EXPECT_EQ(r.out, "try=write_root result=ok\n") << dir;
    EXPECT_FALSE(path_exists(path)) << path << " reached the host";
  }
}

TEST_F(RunEscape, SetnsIsRefused) {
  EXPECT_EQ(attempt({"setns"}), "try=setns result=fail errno=EPERM\n");
}

TEST_F(RunEscape, UnshareUserNamespaceIsRefused) {
  EXPECT_EQ(attempt({"unshare_user"}), "try=unshare_user result=fail errno=EPERM\n");
}

TEST_F(RunEscape, UnshareMountNamespaceIsRefused) {
  EXPECT_EQ(attempt({"unshare_mount"}), "try=unshare_mount result=fail errno=EPERM\n");
}

TEST_F(RunEscape, CloneWithNewUserNamespaceIsRefused) {
  EXPECT_EQ(attempt({"clone_newuser"}), "try=clone_newuser result=fail errno=EPERM\n");
}

TEST_F(RunEscape, PtraceIsRefused) {
  EXPECT_EQ(attempt({"ptrace", "1"}), "try=ptrace result=fail errno=EPERM\n");
}

TEST_F(RunEscape, KillOfAHostProcessFails) {
  // Our own pid is far above the cell's (1 and 2): the cell cannot name it.
  EXPECT_EQ(attempt({"kill", std::to_string(getpid())}), "try=kill result=fail errno=ESRCH\n");
}

TEST_F(RunEscape, HostPidsAreInvisible) {
  EXPECT_EQ(attempt({"see_pid", std::to_string(getpid())}), "try=see_pid result=fail errno=ENOENT\n");
}

TEST_F(RunEscape, DevMemIsAbsent) {
  EXPECT_EQ(attempt({"open", "/dev/mem"}, {"--user", "0:0"}), "try=open result=fail errno=ENOENT\n");
}

TEST_F(RunEscape, NonPassedDeviceIsAbsent) {
  // /dev/rtc0: what the QEMU guests (tests/guest/) have of a device outside
  // the cell's minimal /dev.
  std::string dev;
  for (const char* d : {"/dev/kvm", "/dev/rtc0"})
    if (dev.empty() && path_exists(d)) dev = d;
  if (dev.empty()) GTEST_SKIP() << "host has neither /dev/kvm nor /dev/rtc0";
  EXPECT_EQ(attempt({"open", dev}, {"--user", "0:0"}), "try=open result=fail errno=ENOENT\n");
}

TEST_F(RunEscape, MknodOfADeviceIsRefused) {
  EXPECT_EQ(attempt({"mknod", "/dev/shm/mem"}, {"--user", "0:0"}), "try=mknod result=fail errno=EPERM\n");
}

TEST_F(RunEscape, InitModuleIsRefused) {
  EXPECT_EQ(attempt({"init_module"}), "try=init_module result=fail errno=EPERM\n");
}

TEST_F(RunEscape, RebootIsRefused) {
  EXPECT_EQ(attempt({"reboot"}, {"--user", "0:0"}), "try=reboot result=fail errno=EPERM\n");
}

TEST_F(RunEscape, KeyctlIsRefused) {
  EXPECT_EQ(attempt({"keyctl"}), "try=keyctl result=fail errno=EPERM\n");
}

TEST_F(RunEscape, RaisingRlimitRtprioIsRefused) {
  EXPECT_EQ(attempt({"raise_rtprio"}, {"--user", "0:0"}), "try=raise_rtprio result=fail errno=EPERM\n");
}

TEST_F(RunEscape, WritingItsOwnCgroupFilesIsRefused) {
  // ENOENT would mean the probe found none of its group's files (v1 or v2):
  // refused by nothing, so it must not count.
  std::string r = attempt({"cgroup_write"}, {"--user", "0:0"});
  EXPECT_NE(r.find("try=cgroup_write result=fail"), std::string::npos) << r;
  EXPECT_EQ(r.find("ENOENT"), std::string::npos) << r;
}

TEST_F(RunEscape, SchedFifoWithoutAGrantIsRefused) {
  EXPECT_EQ(attempt({"sched_fifo", "10"}), "try=sched_fifo result=fail errno=EPERM\n");
}

TEST_F(RunEscape, RaisingAboveTheGrantedSchedPriorityIsRefused) {
  EXPECT_EQ(attempt({"sched_fifo", "50"}, {"--sched", "fifo:40"}),
            "try=sched_fifo result=fail errno=EPERM\n");
}

TEST_F(RunEscape, LoweringTheGrantedSchedPriorityWorks) {
  EXPECT_EQ(attempt({"sched_fifo", "30"}, {"--sched", "fifo:40"}), "try=sched_fifo result=ok\n");
}

TEST_F(RunEscape, ChrootIsRefused) {
  EXPECT_EQ(attempt({"chroot", "/tmp"}, {"--user", "0:0"}), "try=chroot result=fail errno=EPERM\n");
}

}  // namespace
}  // namespace rtcell::test
