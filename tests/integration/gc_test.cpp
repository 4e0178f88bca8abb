// `rtcell gc` on the real kernel: a process makes a cell, attaches itself and
// is SIGKILLed before it can clean up (as when rtcell itself is killed); the
// leftover groups and their RT budget must go with `rtcell gc`, and a group
// with a live process must stay. Each test uses its own parent
// "rtcell-gc-<pid>-<n>": gc removes an rtcell-named parent left empty, and
// only under an rtcell-named parent does it take groups the state registry
// does not know (issue 11, item 10). On v1/hybrid the cell has a group per
// controller and an RT budget to give back; on unified v2 (the QEMU guests
// of tests/guest/) one group with pids and cpuset switched on through
// cgroup.subtree_control, which gc must switch off again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cell/cgroup.hpp"
#include "integration/support.hpp"

using namespace rtcell;
using namespace rtcell::cell;

namespace {

const char* const kRoot = "/sys/fs/cgroup";
const char* const kControllers[] = {"cpu", "cpuset", "memory", "pids", "devices"};

bool unified() {
  return detect_layout(kRoot) == CgroupLayout::V2;
}

std::string slurp(const std::string& path) {
  return rtcell::test::slurp_value(path);
}

bool exists(const std::string& path) {
  return rtcell::test::path_exists(path);
}

struct Cmd {
  int status = -1;
  std::string out;
};

Cmd run_cmd(const std::string& cmd) {
  auto r = rtcell::test::run_shell(cmd + " 2>&1");
  return {r.code, r.out};
}

// A process that makes a cell with an RT budget, moves itself in, says so on
// a pipe and then blocks until killed. Its Cgroup destructor never runs.
class CellHolder {
 public:
  CellHolder(const std::string& parent, const std::string& id) {
    int ready[2];
    if (::pipe(ready) != 0 || ::pipe(block_) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(block_[1]);
      char ok = 'n';
      try {
        CgroupRequest req;
        req.id = id;
        req.parent = parent;
        req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 20000};
        req.pids_max = 64;
        static Cgroup cg;  // static: never destroyed before SIGKILL
        cg = Cgroup::create(req, kRoot);
        cg.attach(::getpid());
        ok = 'y';
      } catch (...) {
      }
      if (::write(ready[1], &ok, 1) != 1) _exit(2);
      char c;
      while (::read(block_[0], &c, 1) > 0) {
      }
      _exit(0);
    }
    ::close(ready[1]);
    ::close(block_[0]);
    char ok = 'n';
    if (::read(ready[0], &ok, 1) != 1) ok = 'n';
    ::close(ready[0]);
    ok_ = ok == 'y';
  }
  ~CellHolder() { kill(); }
  bool ok() const { return ok_; }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::close(block_[1]);
  }

 private:
  int block_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool ok_ = false;
};

class Gc : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    if (unified()) {
      groups_ = {""};  // one tree: path("", rel) is <root>/<parent>/<rel>
    } else {
      for (const char* c : kControllers) {
        if (!exists(std::string(kRoot) + "/" + c + "/cgroup.procs")) {
          GTEST_SKIP() << "v1 controller " << c << " is not mounted at " << kRoot;
        }
        groups_.emplace_back(c);
      }
      if (!exists(std::string(kRoot) + "/cpu/cpu.rt_runtime_us")) {
        GTEST_SKIP() << "kernel without CONFIG_RT_GROUP_SCHED (no cpu.rt_runtime_us)";
      }
    }
    static int n = 0;
    parent_ = "rtcell-gc-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
  }
  void TearDown() override {
    if (parent_.empty()) return;
    (void)collect_garbage(parent_, kRoot);  // never leave anything, even after a failure
    for (const auto& c : groups_) EXPECT_FALSE(exists(path(c))) << path(c) << " was left behind";
    if (unified()) {
      EXPECT_EQ(slurp(std::string(kRoot) + "/cgroup.subtree_control"), root_controllers_);
    }
  }
  std::string path(const std::string& controller, const std::string& rel = "") const {
    // v2: one tree, whichever controller is named.
    std::string p =
        std::string(kRoot) + (controller.empty() || unified() ? "" : "/" + controller) + "/" + parent_;
    return rel.empty() ? p : p + "/" + rel;
  }
  // The RT budget of a v1 group; on v2 there is none to check.
  void expect_budget(const std::string& rel, const std::string& want) {
    if (!unified()) {
      EXPECT_EQ(slurp(path("cpu", rel.empty() ? "cpu.rt_runtime_us" : rel + "/cpu.rt_runtime_us")), want);
    }
  }
  std::string parent_;
  std::vector<std::string> groups_;
  std::string root_controllers_ = slurp(std::string(kRoot) + "/cgroup.subtree_control");
};

}  // namespace

TEST_F(Gc, RemovesTheLeftoverOfAKilledProcessAndReturnsItsBudget) {
  CellHolder holder(parent_, "killed");
  ASSERT_TRUE(holder.ok());
  holder.kill();
  // The leftover: groups in every controller, budget still held.
  for (const auto& c : groups_) EXPECT_TRUE(exists(path(c, "killed"))) << c;
  expect_budget("killed", "20000");
  expect_budget("", "20000");
  if (unified()) {
    EXPECT_EQ(slurp(path("pids", "killed/pids.max")), "64");
  }

  Cmd r = run_cmd(rtcell::test::rtcell_bin() + " gc --cgroup-root " + parent_);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("removed " + parent_ + "/killed"), std::string::npos) << r.out;
  for (const auto& c : groups_) EXPECT_FALSE(exists(path(c))) << c;

  r = run_cmd(rtcell::test::rtcell_bin() + " gc --cgroup-root " + parent_);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("nothing to remove"), std::string::npos) << r.out;
}

TEST_F(Gc, KeepsACellWithALiveProcess) {
  CellHolder live(parent_, "live");
  ASSERT_TRUE(live.ok());
  CellHolder dead(parent_, "dead");
  ASSERT_TRUE(dead.ok());
  dead.kill();
  Cmd r = run_cmd(rtcell::test::rtcell_bin() + " gc --cgroup-root " + parent_);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("removed " + parent_ + "/dead"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("/live"), std::string::npos) << r.out;
  for (const auto& c : groups_) {
    EXPECT_TRUE(exists(path(c, "live"))) << c;
    EXPECT_FALSE(exists(path(c, "dead"))) << c;
  }
  expect_budget("", "20000");  // only the live cell's share stays
  live.kill();
  EXPECT_EQ(collect_garbage(parent_, kRoot), std::vector<std::string>{parent_ + "/live"});
}

TEST_F(Gc, KeepsACellThatIsStillStarting) {
  // Created but nothing attached yet (as between create() and attach() in
  // rtcell run): a gc from another process must not take it.
  CgroupRequest req;
  req.id = "starting";
  req.parent = parent_;
  Cgroup cg = Cgroup::create(req, kRoot);
  EXPECT_EQ(slurp(path(groups_.front(), "starting/cgroup.procs")), "");
  Cmd r = run_cmd(rtcell::test::rtcell_bin() + " gc --cgroup-root " + parent_);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("nothing to remove"), std::string::npos) << r.out;
  for (const auto& c : groups_) EXPECT_TRUE(exists(path(c, "starting"))) << c;
  cg.destroy_checked();
}

TEST_F(Gc, LeavesAnotherToolsEmptyGroups) {
  // As docker or kubepods leave them: empty groups under a parent rtcell
  // did not make and whose name is not rtcell's. gc must not take them.
  const std::string other = "othertool-gc-" + std::to_string(::getpid());
  std::vector<std::string> made;
  for (const auto& c : groups_) {
    const std::string dir = std::string(kRoot) + (c.empty() ? "" : "/" + c) + "/" + other;
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    made.push_back(dir);
    ASSERT_EQ(::mkdir((dir + "/idle").c_str(), 0755), 0) << dir;
    made.push_back(dir + "/idle");
  }
  Cmd r = run_cmd(rtcell::test::rtcell_bin() + " gc --root /tmp/rtcell-gc-no-state --cgroup-root " + other);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("removed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("left 1 group under " + other), std::string::npos) << r.out;
  for (const auto& d : made) EXPECT_TRUE(exists(d)) << d << " was removed";
  for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
  for (const auto& d : made) EXPECT_FALSE(exists(d)) << d;
}

TEST(GcCli, BadParentIsAUsageError) {
  Cmd r = run_cmd(rtcell::test::rtcell_bin() + " gc --cgroup-root '../etc'");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "want one line: " << r.out;
}
