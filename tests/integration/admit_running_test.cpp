// Issue 15, part 3: a cell from a manifest is admitted against the cells
// already running on the host (the admission ledger), whichever front door
// starts it, and two admissions at once cannot both take room for one.
// Each test has a ledger of its own (RTCELL_LEDGER) and a state root of its
// own, so cells of other tests never count.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "integration/run_support.hpp"

using namespace rtcell::test;

namespace {

class AdmitRunning : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "cells need root (namespaces, cgroups)";
    char tmpl[] = "/tmp/rtcell-admit-running-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ledger_ = dir_ + "/ledger";
    root_ = dir_ + "/state";
    setenv("RTCELL_LEDGER", ledger_.c_str(), 1);
    // Two cells pinned to CPU 0, each admitted alone; on one CPU without
    // budgets neither is guaranteed any supply, so the second is refused.
    write("a.yaml", cell_yaml("a", 60, ""));
    write("b.yaml", cell_yaml("b", 50, ""));
  }
  void TearDown() override {
    unsetenv("RTCELL_LEDGER");
    if (dir_.empty()) return;
    for (const char* id : {"ra", "rb", "r1", "r2"}) run({"delete", "--force", "--root", root_, id});
    run_shell("rm -rf " + dir_);
  }
  static std::string cell_yaml(const std::string& name, int prio, const std::string& extra) {
    return "version: 1\ncells:\n  - name: " + name +
           "\n    cpus: \"0\"\n    sched: fifo:" + std::to_string(prio) + "\n" + extra +
           "    tasks:\n      - {name: t" + name + ", period: 100ms, wcet: 20ms}\n";
  }
  void write(const std::string& file, const std::string& text) { std::ofstream(dir_ + "/" + file) << text; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  // rtcell create; the cell keeps create's stdio, so it goes to files (a
  // pipe would stay open for the cell's life). err: create's stderr.
  std::string create_line(const std::string& id, const std::string& file, const std::string& cell) const {
    return kRtcell + " create --root " + root_ + " -q " + id + " -f " + path(file) + " " + cell +
           " -- /bin/sleep 1000 </dev/null >/dev/null 2>" + dir_ + "/" + id + ".err";
  }
  Result create(const std::string& id, const std::string& file, const std::string& cell) {
    Result r =
        run_shell(create_line(id, file, cell) + "; rc=$?; cat " + dir_ + "/" + id + ".err >&2; exit $rc");
    return r;
  }
  int entries() const {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(ledger_, ec))
      if (e.path().extension() == ".json") ++n;
    return n;
  }
  std::string dir_, ledger_, root_;
};

}  // namespace

TEST_F(AdmitRunning, SecondCellOnTheCpuIsRefusedUntilTheFirstGoes) {
  Result a = create("ra", "a.yaml", "a");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(entries(), 1);
  // Alone, b is admitted; against the running a it is not, by either door.
  EXPECT_EQ(run({"admit", "--root", "/", path("b.yaml")}).code, 0);
  Result adm = run({"admit", "--running", path("b.yaml")});
  EXPECT_EQ(adm.code, 1);
  EXPECT_NE(adm.out.find("cell a (running as ra)"), std::string::npos) << adm.out;
  // What still fits, per online CPU: CPU 0 carries a, and says so.
  EXPECT_NE(adm.out.find("room next to the 1 running cell"), std::string::npos) << adm.out;
  EXPECT_NE(adm.out.find("(a (running as ra)):"), std::string::npos) << adm.out;
  for (long cpu = 0; cpu < sysconf(_SC_NPROCESSORS_ONLN); ++cpu)
    EXPECT_NE(adm.out.find("  CPU " + std::to_string(cpu) + " "), std::string::npos) << adm.out;
  Result b = run({"run", "--root", root_, "-q", "-f", path("b.yaml"), "b", "--", "/bin/true"});
  EXPECT_EQ(b.code, 2);
  EXPECT_TRUE(only_line(b.err)) << b.err;
  EXPECT_NE(b.err.find("shares CPU 0 with cell a (running as ra)"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("rtcell admit --running"), std::string::npos) << b.err;
  EXPECT_EQ(entries(), 1) << "a refused cell leaves no entry";
  // The same cell again is a second instance and counts twice.
  EXPECT_EQ(create("r1", "a.yaml", "a").code, 2);
  // Once a goes, b fits, and its entry goes with it after the run.
  ASSERT_EQ(run({"delete", "--force", "--root", root_, "ra"}).code, 0);
  EXPECT_EQ(entries(), 0);
  Result b2 = run({"run", "--root", root_, "-q", "-f", path("b.yaml"), "b", "--", "/bin/true"});
  EXPECT_EQ(b2.code, 0) << b2.err;
  EXPECT_EQ(entries(), 0);
}

// A cell whose init is gone is no load, even when its entry was never
// removed (a creator killed, a delete from an older rtcell).
TEST_F(AdmitRunning, EntryOfADeadCellIsNoLoad) {
  ASSERT_EQ(create("ra", "a.yaml", "a").code, 0);
  ASSERT_EQ(entries(), 1);
  std::string name;
  for (const auto& e : std::filesystem::directory_iterator(ledger_))
    if (e.path().extension() == ".json") name = e.path().string();
  auto j = nlohmann::json::parse(slurp(name));
  // Kill the cell's init behind rtcell's back: the entry stays on disk.
  ASSERT_EQ(kill(j["init"]["pid"].get<pid_t>(), SIGKILL), 0);
  {
    // Gone once its pidfd polls readable (no sleep); the bound only ends a failure.
    int fd = static_cast<int>(syscall(SYS_pidfd_open, j["init"]["pid"].get<pid_t>(), 0));
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      ASSERT_EQ(poll(&p, 1, 10'000), 1);
      close(fd);
    }
  }
  EXPECT_EQ(entries(), 1);
  Result b = run({"run", "--root", root_, "-q", "-f", path("b.yaml"), "b", "--", "/bin/true"});
  EXPECT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(entries(), 0) << "the stale entry is removed by the next admission";
}

// Two cells that each fit alone but not together, started at the same time:
// the host-wide admission lock lets exactly one in.
TEST_F(AdmitRunning, TwoAdmissionsAtOnceNeverBothFit) {
  Spawned s1 = spawn({"/bin/sh", "-c", create_line("r1", "a.yaml", "a")});
  Spawned s2 = spawn({"/bin/sh", "-c", create_line("r2", "b.yaml", "b")});
  std::string o1, e1, o2, e2;
  drain(s1, o1, e1);
  drain(s2, o2, e2);
  const int c1 = wait_exit(s1.pid), c2 = wait_exit(s2.pid);
  EXPECT_EQ((c1 == 0) + (c2 == 0), 1)
      << "r1: " << c1 << " " << slurp(dir_ + "/r1.err") << "\nr2: " << c2 << " " << slurp(dir_ + "/r2.err");
  EXPECT_EQ(c1 == 0 ? c2 : c1, 2);
  EXPECT_EQ(entries(), 1);
}
