// The ways out that issue 11's review found, each as the payload would try
// it, on the real kernel as root: the caller's terminal (TIOCSTI, /dev/tty,
// driven through a real pty with script(1)), the caller's process group
// (kill(0, SIGKILL) as uid 0), the cell's own init as a ladder (pid 1 holds
// nothing the command does not), and the caller's session keyring.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "integration/run_support.hpp"

namespace rtcell::test {
namespace {

class RunHarden : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell run needs root (namespaces, cgroups)";
    if (!path_exists(kProbe)) GTEST_SKIP() << "probe not built: " << kProbe;
  }
};

bool have_script() {
  return path_exists("/usr/bin/script");
}

// After the cell, is a line waiting in the caller's terminal input queue
// (the probe injects "\n"; TIOCSTI is synchronous, FIONREAD counts it)?
std::string pending_after(const std::string& cell_line) {
  const std::string line = "bash -c '" + cell_line + " 2>/dev/null; " + kProbe + " pending'";
  return run_argv({"/usr/bin/script", "-qec", line, "/dev/null"}).out;
}

TEST_F(RunHarden, NoTiocstiIntoTheCallersTerminal) {
  if (!have_script()) GTEST_SKIP() << "script(1) (bsdutils) is needed for a real pty";
  // As uid 0 with every syscall allowed: interactive (the cell's own pty),
  // and with stdout redirected (no pty: stdin is the caller's terminal, but
  // not the cell's controlling one, so TIOCSTI needs CAP_SYS_ADMIN).
  const std::string cell = kRtcell + " run -q -u 0:0 --seccomp unconfined -- " + kProbe + " try tiocsti 0";
  // The check itself: the same probe outside a cell does inject.
  std::string control = pending_after(kProbe + " try tiocsti 0");
  if (control.find("pending=1") == std::string::npos)
    GTEST_SKIP() << "TIOCSTI injects nothing here even outside a cell (dev.tty.legacy_tiocsti=0?): "
                 << control;
  std::string a = pending_after(cell);
  EXPECT_NE(a.find("pending=0"), std::string::npos) << a;
  std::string b = pending_after(cell + " >/dev/null");
  EXPECT_NE(b.find("pending=0"), std::string::npos) << b;
  // Without a pty the caller's /dev/tty is out of reach too.
  Result t = run_argv({"/usr/bin/script", "-qec",
                       kRtcell + " run -q -- " + kProbe + " try open_tty 2>&1 | cat", "/dev/null"});
  EXPECT_NE(t.out.find("try=open_tty result=fail"), std::string::npos) << t.out << t.err;
}

TEST_F(RunHarden, AnInteractiveCellGetsAPtyOfItsOwn) {
  if (!have_script()) GTEST_SKIP() << "script(1) (bsdutils) is needed for a real pty";
  // The command's stdin is a terminal, its controlling one, in the cell's
  // own devpts (pts 0 of a fresh instance); ^C-style bytes reach it raw.
  Result r = run_argv({"/usr/bin/script", "-qec",
                       kRtcell + " run -q -- /bin/sh -c 'tty; test -t 0 && echo interactive'", "/dev/null"});
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("interactive"), std::string::npos) << r.out << r.err;
}

TEST_F(RunHarden, KillOfProcessGroupZeroStaysInTheCell) {
  // The shell after rtcell must survive, and rtcell must report the
  // command's death (137) and clean up.
  const std::string name = unique_name("kgrp");
  Result r = run_shell(kRtcell + " run -q --name " + name + " -u 0:0 -- " + kProbe +
                       " try kill_group; echo rtcell=$?; echo shell-survived");
  EXPECT_NE(r.out.find("shell-survived"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("rtcell=137"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(leftover_cgroups(name).empty());
}

TEST_F(RunHarden, TheInitHoldsNothingTheCommandDoesNot) {
  // Even with a capability granted to the payload, pid 1 has none, no
  // bounding set, no_new_privs and the seccomp filter.
  Result r = run({"run", "-q", "--cap-add", "SYS_PTRACE", "--", "/bin/grep", "-E",
                  "^(Uid|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):", "/proc/1/status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Uid:\t65534\t65534\t65534\t65534"), std::string::npos) << r.out;
  for (const char* set : {"CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_NE(r.out.find(std::string(set) + ":\t0000000000000000"), std::string::npos) << set << "\n"
                                                                                       << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
  // And the payload's ptrace of pid 1 gains nothing: attach works only
  // where both are equals (same uid, same empty set), and pid 1 could not
  // remount anything anyway. What must fail is a write to the host root.
  Result w = run_probe({"-q", "--cap-add", "SYS_PTRACE"}, {"try", "write_root", "/etc/rtcell-harden"});
  EXPECT_NE(w.out.find("result=fail"), std::string::npos) << w.out;
}

TEST_F(RunHarden, ASessionKeyringOfItsOwn) {
  const long mine = syscall(SYS_keyctl, 0, -3, 0);
  Result r = run_probe({"-q", "--seccomp", "unconfined"}, {"keyring"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string cell = r.get("keyring");
  EXPECT_NE(cell, std::to_string(mine)) << "the cell sees its caller's session keyring";
  EXPECT_NE(cell.rfind("<missing", 0), 0U) << r.out;
}

TEST_F(RunHarden, TheCellHasASessionOfItsOwn) {
  // Field 6 of /proc/self/stat is the session, 7 the controlling tty (0:
  // none), read by a shell of the host's root inside the cell; stdout is a
  // pipe here, so the cell gets no pty and no terminal at all.
  if (!have_script()) GTEST_SKIP() << "script(1) (bsdutils) is needed for a real pty";
  Result r =
      run_argv({"/usr/bin/script", "-qec",
                kRtcell + " run -q -- /bin/sh -c 'cut -d\" \" -f6,7 /proc/self/stat' | cat", "/dev/null"});
  EXPECT_NE(r.out.find("1 0"), std::string::npos) << r.out << r.err;
}

// A TCP listener on 127.0.0.1 (a host-only service), closed with the object.
struct LoopbackListener {
  int fd = -1;
  int port = 0;
  LoopbackListener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4) != 0) return;
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~LoopbackListener() { close(fd); }
};

TEST_F(RunHarden, NoNetworkByDefaultHostOnlyWhenAskedAndSaid) {
  LoopbackListener l;
  ASSERT_GT(l.port, 0);
  Result r = run_probe({"-q"}, {"try", "connect", std::to_string(l.port)});
  EXPECT_NE(r.out.find("try=connect result=fail"), std::string::npos) << r.out << r.err;
  Result h = run_probe({"-q", "--net", "host"}, {"try", "connect", std::to_string(l.port)});
  EXPECT_EQ(h.out, "try=connect result=ok\n") << h.err;
  EXPECT_NE(h.err.find("warning: --net host"), std::string::npos) << h.err;
}

TEST_F(RunHarden, DefaultBoundsAndTheNoteWithoutAMemoryLimit) {
  // pids: a default limit; --tmpfs: sized; no --memory: said.
  TempDir tmp;
  const std::string root = tmp.path + "/state";
  const std::string id = unique_name("bounds");
  Spawned s = spawn({kRtcell, "create", "--root", root, id, "--tmpfs", "/mnt", "--", kProbe, "wait"});
  EXPECT_EQ(wait_exit(s.pid), 0);
  EXPECT_EQ(slurp_value(cell_group("pids", id) + "/pids.max"), "1024");
  Result d = run({"delete", "--root", root, id});
  EXPECT_EQ(d.code, 0) << d.err;
  std::string out, err;
  drain(s, out, err);
  EXPECT_NE(err.find("no --memory"), std::string::npos) << err;
  Result m = run({"run", "-q", "--tmpfs", "/mnt", "--", "/bin/grep", " /mnt ", "/proc/self/mountinfo"});
  EXPECT_NE(m.out.find("size=65536k"), std::string::npos) << m.out << m.err;
}

TEST_F(RunHarden, TheInitHoldsTheDmaLatencyRequest) {
  if (!path_exists("/dev/cpu_dma_latency"))
    GTEST_SKIP() << "no /dev/cpu_dma_latency (CONFIG_CPU_IDLE PM QoS)";
  auto current = [] {
    int32_t v = -1;
    int fd = open("/dev/cpu_dma_latency", O_RDONLY);
    if (fd >= 0) {
      if (read(fd, &v, sizeof v) != sizeof v) v = -1;
      close(fd);
    }
    return v;
  };
  const int32_t before = current();
  if (before <= 7) GTEST_SKIP() << "another request holds the latency at " << before << " us already";
  TempDir tmp;
  const std::string root = tmp.path + "/state";
  const std::string id = unique_name("dma");
  Spawned s =
      spawn({kRtcell, "create", "-q", "--root", root, id, "--dma-latency", "7", "--", kProbe, "wait"});
  EXPECT_EQ(wait_exit(s.pid), 0);
  EXPECT_EQ(current(), 7) << "the cell's init holds the request while the cell lives";
  EXPECT_EQ(run({"delete", "--root", root, id}).code, 0);
  EXPECT_EQ(current(), before);
  std::string out, err;
  drain(s, out, err);
}

TEST_F(RunHarden, OtherCellsGroupsAndHostPathsAreOutOfSight) {
  // Another cell lives; a second one must see neither its group nor any
  // host cgroup path, and its own groups read-only.
  TempDir tmp;
  const std::string root = tmp.path + "/state";
  const std::string other = unique_name("other");
  Spawned s = spawn({kRtcell, "create", "-q", "--root", root, other, "--", kProbe, "wait"});
  ASSERT_EQ(wait_exit(s.pid), 0);
  ASSERT_FALSE(leftover_cgroups(other).empty());
  // The cell's own pids group: /sys/fs/cgroup/pids on v1, the whole view on v2.
  const std::string own = unified_cgroup() ? "/sys/fs/cgroup" : "/sys/fs/cgroup/pids";
  Result r = run({"run", "-q", "--", "/bin/sh", "-c",
                  "cat /proc/self/cgroup; find /sys/fs/cgroup -maxdepth 3 -type d; "
                  "touch " +
                      own + "/x 2>&1 || true"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find(other), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("rtcell"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_EQ(run({"delete", "--root", root, other}).code, 0);
  std::string out, err;
  drain(s, out, err);
}

TEST_F(RunHarden, UidZeroInTheCellIsNobodyOnTheHost) {
  // uid 0 by default: a user namespace maps it to the host's 65534, so the
  // host's root-only files stay closed and what it writes is nobody's.
  TempDir vol;
  chmod(vol.path.c_str(), 0777);
  Result r = run({"run", "-q", "-u", "0", "-v", vol.path + ":/mnt", "--", "/bin/sh", "-c",
                  "id -u; cat /proc/self/uid_map; touch /mnt/made; cat /etc/shadow >/dev/null 2>&1 || "
                  "echo shadow-closed"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("0\n", 0), 0U) << r.out;
  EXPECT_NE(r.out.find("0      65534          1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shadow-closed"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(stat((vol.path + "/made").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534U);
  EXPECT_EQ(st.st_gid, 65534U);
  // The init stays in the host's namespace as that same nobody.
  Result i = run({"run", "-q", "-u", "0", "--", "/bin/cat", "/proc/1/uid_map"});
  EXPECT_NE(i.out.find("4294967295"), std::string::npos)
      << "pid 1 is in the host's user namespace: " << i.out;
  // The host's uid 0 is an explicit, printed choice; alone it is an error.
  Result h =
      run({"run", "-q", "-u", "0", "--host-root", "--", "/bin/sh", "-c", "cat /etc/shadow >/dev/null"});
  EXPECT_EQ(h.code, 0) << h.err;
  EXPECT_NE(h.err.find("warning: --host-root"), std::string::npos) << h.err;
  Result bad = run({"run", "--host-root", "--", "/bin/true"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(only_line(bad.err)) << bad.err;
}

TEST_F(RunHarden, UidZeroKeepsItsSchedulerAndGainsNoHostPower) {
  // The scheduler is set as host root before the command enters its user
  // namespace; a capability granted there is the namespace's only: pid 1
  // (outside it) cannot be traced, the host's root not remounted.
  Result r = run({"run", "-q", "-u", "0", "--sched", "fifo:80", "--rt-runtime", "50000", "--", "/bin/sh",
                  "-c", "cut -d' ' -f41 /proc/self/stat"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n") << "policy 1 is SCHED_FIFO: " << r.out;
  Result p = run_probe({"-q", "-u", "0", "--cap-add", "SYS_PTRACE", "--cap-add", "SYS_ADMIN"},
                       {"try", "ptrace", "1"});
  EXPECT_NE(p.out.find("try=ptrace result=fail"), std::string::npos) << p.out << p.err;
  Result m = run_probe({"-q", "-u", "0", "--cap-add", "SYS_ADMIN"}, {"try", "mount"});
  EXPECT_NE(m.out.find("try=mount result=fail"), std::string::npos) << m.out << m.err;
  Result w =
      run_probe({"-q", "-u", "0", "--cap-add", "SYS_ADMIN"}, {"try", "write_root", "/etc/rtcell-harden"});
  EXPECT_NE(w.out.find("result=fail"), std::string::npos) << w.out << w.err;
  EXPECT_FALSE(path_exists("/etc/rtcell-harden"));
}

}  // namespace
}  // namespace rtcell::test
