// The v1/hybrid cgroup backend on the real kernel (root, this host is hybrid):
// a forked child that waits on a pipe is attached to a cell, its
// /proc/<pid>/cgroup and the cell's control files are checked, and it tries
// SCHED_FIFO inside a budgeted group (works) and inside a group with
// rt_runtime_us = 0 (EPERM: the bug users hit with docker/podman, moby #22380).
// Every test uses its own parent "rtcell-it-<pid>-<n>" so that it neither
// meets nor disturbs other rtcell users on the host, and checks that nothing
// is left in any controller afterwards. The journal tests hand a cell from
// the process that made it to another one (adopt), kill the creator at every
// step of create, and run 20 cells at once, checking that every RT budget
// comes back to the microsecond.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cell/cgroup.hpp"
#include "integration/support.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

using namespace rtcell;
using namespace rtcell::cell;

namespace {

const char* const kRoot = "/sys/fs/cgroup";
const char* const kControllers[] = {"cpu", "cpuset", "memory", "pids", "devices"};

std::string slurp(const std::string& path) {
  return rtcell::test::slurp_value(path);
}

bool exists(const std::string& path) {
  return rtcell::test::path_exists(path);
}

std::string unique_parent() {
  static int n = 0;
  return "rtcell-it-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

int try_fifo_self() {
  sched_param sp{};
  sp.sched_priority = 10;
  return ::sched_setscheduler(0, SCHED_FIFO, &sp) == 0 ? 0 : errno;
}

int try_open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// A child that blocks until told to go, runs `act` (by default: SCHED_FIFO 10
// on itself), reports its errno (0 = it worked) and exits. No sleeps: pipes.
class Child {
 public:
  explicit Child(std::function<int()> act = try_fifo_self) {
    if (::pipe(go_) != 0 || ::pipe(result_) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      char c;
      if (::read(go_[0], &c, 1) != 1) _exit(2);
      int err = act();
      if (::write(result_[1], &err, sizeof err) != sizeof err) _exit(3);
      _exit(0);
    }
    ::close(go_[0]);
    ::close(result_[1]);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    ::close(go_[1]);
    ::close(result_[0]);
  }
  pid_t pid() const { return pid_; }
  // Lets the child act; returns its errno and reaps it.
  int result() {
    char c = 'g';
    EXPECT_EQ(::write(go_[1], &c, 1), 1);
    int err = -1;
    EXPECT_EQ(::read(result_[0], &err, sizeof err), static_cast<ssize_t>(sizeof err));
    wait();
    return err;
  }
  int try_fifo() { return result(); }

 private:
  void wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int go_[2] = {-1, -1};
  int result_[2] = {-1, -1};
  pid_t pid_ = -1;
};

class CgroupV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    if (detect_layout(kRoot) == CgroupLayout::V2) GTEST_SKIP() << "host has unified cgroup v2, not v1/hybrid";
    for (const char* c : kControllers) {
      if (!exists(std::string(kRoot) + "/" + c + "/cgroup.procs")) {
        GTEST_SKIP() << "v1 controller " << c << " is not mounted at " << kRoot;
      }
    }
    if (!exists(std::string(kRoot) + "/cpu/cpu.rt_runtime_us")) {
      GTEST_SKIP() << "kernel without CONFIG_RT_GROUP_SCHED (no cpu.rt_runtime_us)";
    }
    parent_ = unique_parent();
    root_rt_before_ = slurp(std::string(kRoot) + "/cpu/cpu.rt_runtime_us");
  }
  void TearDown() override {
    if (parent_.empty()) return;
    for (const char* c : kControllers) {
      std::string p = std::string(kRoot) + "/" + c + "/" + parent_;
      EXPECT_FALSE(exists(p)) << p << " was left behind";
    }
    EXPECT_EQ(slurp(std::string(kRoot) + "/cpu/cpu.rt_runtime_us"), root_rt_before_);
  }

  CgroupRequest request(const std::string& id) {
    CgroupRequest r;
    r.id = id;
    r.parent = parent_;
    return r;
  }
  std::string path(const char* controller, const std::string& rel = "") {
    return std::string(kRoot) + "/" + controller + "/" + parent_ + (rel.empty() ? "" : "/" + rel);
  }

  std::string parent_;
  std::string root_rt_before_;
};

}  // namespace

TEST_F(CgroupV1, CellWithBudgetRunsSchedFifoAndLeavesNothing) {
  CgroupRequest req = request("c1");
  req.cpus = CpuSet::parse("0");
  req.memory_bytes = 64u << 20;
  req.pids_max = 16;
  req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 50000};
  req.wants_rt = true;
  Cgroup cg = Cgroup::create(req, kRoot);
  bool hybrid = rtcell::cell::detect_layout(kRoot) == CgroupLayout::Hybrid;
  EXPECT_EQ(cg.layout(), hybrid ? CgroupLayout::Hybrid : CgroupLayout::V1);
  if (hybrid) {
    std::ifstream mi("/proc/self/mountinfo");
    std::string all((std::istreambuf_iterator<char>(mi)), std::istreambuf_iterator<char>());
    EXPECT_NE(all.find(" /sys/fs/cgroup/unified "), std::string::npos) << "hybrid without a unified mount?";
  }

  EXPECT_EQ(slurp(path("cpuset", "c1/cpuset.cpus")), "0");
  EXPECT_EQ(slurp(path("memory", "c1/memory.limit_in_bytes")), std::to_string(64u << 20));
  EXPECT_EQ(slurp(path("pids", "c1/pids.max")), "16");
  EXPECT_EQ(slurp(path("cpu", "c1/cpu.rt_runtime_us")), "50000");
  EXPECT_EQ(slurp(path("cpu", "c1/cpu.rt_period_us")), "1000000");
  EXPECT_EQ(slurp(path("cpu", "cpu.rt_runtime_us")), "50000");  // the parent covers exactly its one child
  std::string devices = slurp(path("devices", "c1/devices.list"));
  EXPECT_NE(devices.find("c 1:3 rwm"), std::string::npos) << devices;
  EXPECT_NE(devices.find("c 136:* rwm"), std::string::npos) << devices;
  EXPECT_EQ(devices.find("a *:* rwm"), std::string::npos) << devices;
  bool budget_note = false;
  for (const auto& n : cg.notes())
    budget_note |= n.find("RT budget 50000 us per 1000000 us") != std::string::npos;
  EXPECT_TRUE(budget_note);

  Child child;
  cg.attach(child.pid());
  std::string self = slurp("/proc/" + std::to_string(child.pid()) + "/cgroup");
  for (const char* c : kControllers) {
    std::string line = std::string(":") + c + ":/" + parent_ + "/c1\n";
    EXPECT_NE((self + "\n").find(line), std::string::npos) << "no '" << line << "' in\n" << self;
  }
  EXPECT_EQ(slurp(path("cpu", "c1/cgroup.procs")), std::to_string(child.pid()));
  EXPECT_EQ(child.try_fifo(), 0) << "SCHED_FIFO refused inside a budgeted group";

  cg.destroy_checked();
  // TearDown checks that no controller holds the parent and the root's
  // rt_runtime_us is unchanged.
}

TEST_F(CgroupV1, GroupWithoutBudgetRefusesSchedFifoWithEperm) {
  // The bug users hit: a fresh v1 group has rt_runtime_us = 0
  // (Documentation/scheduler/sched-rt-group.rst), so even root gets EPERM.
  Cgroup cg = Cgroup::create(request("nobudget"), kRoot);
  EXPECT_EQ(slurp(path("cpu", "nobudget/cpu.rt_runtime_us")), "0");
  Child child;
  cg.attach(child.pid());
  EXPECT_EQ(child.try_fifo(), EPERM);
  cg.destroy_checked();
}

TEST_F(CgroupV1, DefaultBudgetWhenRtIsWanted) {
  CgroupRequest req = request("dflt");
  req.wants_rt = true;
  Cgroup cg = Cgroup::create(req, kRoot);
  int64_t period = std::stoll(slurp("/proc/sys/kernel/sched_rt_period_us"));
  ASSERT_TRUE(cg.rt_budget().has_value());
  EXPECT_EQ(cg.rt_budget()->runtime_us, period / 10);
  EXPECT_EQ(slurp(path("cpu", "dflt/cpu.rt_runtime_us")), std::to_string(period / 10));
  bool said = false;
  for (const auto& n : cg.notes()) said |= n.find("default: 10 %") != std::string::npos;
  EXPECT_TRUE(said);
  Child child;
  cg.attach(child.pid());
  EXPECT_EQ(child.try_fifo(), 0);
}

TEST_F(CgroupV1, SharedParentShrinksByWhatEachCellAdded) {
  CgroupRequest a = request("a");
  a.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 100000};
  CgroupRequest b = request("b");
  b.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 200000};
  Cgroup ca = Cgroup::create(a, kRoot);
  Cgroup cb = Cgroup::create(b, kRoot);
  EXPECT_EQ(slurp(path("cpu", "cpu.rt_runtime_us")), "300000");
  ca.destroy_checked();
  EXPECT_FALSE(exists(path("cpu", "a")));
  EXPECT_TRUE(exists(path("cpu", "b")));
  EXPECT_EQ(slurp(path("cpu", "cpu.rt_runtime_us")), "200000");
  cb.destroy_checked();
}

TEST_F(CgroupV1, BudgetOverSchedRtRuntimeIsRefusedBeforeAnythingExists) {
  int64_t global = std::stoll(slurp("/proc/sys/kernel/sched_rt_runtime_us"));
  int64_t period = std::stoll(slurp("/proc/sys/kernel/sched_rt_period_us"));
  if (global < 0 || global >= period) GTEST_SKIP() << "sched_rt_runtime_us is unlimited here";
  CgroupRequest req = request("big");
  req.rt_budget = RtBudget{.period_us = period, .runtime_us = global + 1};
  try {
    Cgroup::create(req, kRoot);
    ADD_FAILURE() << "a budget over sched_rt_runtime_us was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("sched_rt_runtime_us"), std::string::npos) << e.what();
  }
}

TEST_F(CgroupV1, BudgetOverTheFreeShareIsRefusedAndTheLiveCellKeepsItsBudget) {
  CgroupRequest a = request("a");
  a.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 500000};
  Cgroup ca;
  try {
    ca = Cgroup::create(a, kRoot);
  } catch (const Error& e) {
    GTEST_SKIP() << "other RT groups on this host already hold more than 450 ms/s: " << e.what();
  }
  CgroupRequest b = request("b");
  b.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 500000};  // 500 + 500 > 950 ms per second
  try {
    Cgroup::create(b, kRoot);
    ADD_FAILURE() << "a budget over the free share was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("free RT share"), std::string::npos) << e.what();
  }
  for (const char* c : kControllers) EXPECT_FALSE(exists(path(c, "b"))) << c;
  EXPECT_EQ(slurp(path("cpu", "cpu.rt_runtime_us")), "500000");
  EXPECT_EQ(slurp(path("cpu", "a/cpu.rt_runtime_us")), "500000");
}

TEST_F(CgroupV1, UnknownCpuIsRefusedNamingIt) {
  CgroupRequest req = request("cpu");
  req.cpus = CpuSet::parse("0,4000");
  try {
    Cgroup::validate(req, kRoot);
    ADD_FAILURE() << "CPU 4000 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("CPU 4000"), std::string::npos) << e.what();
  }
}

namespace {
// The real kernel, except that one control file's write fails: the only way
// to make creation fail late on purpose. Everything else (mkdir, rmdir, the
// RT budget writes and their undo) is the kernel's.
class FailingFs : public CgroupFs {
 public:
  explicit FailingFs(std::string name) : name_(std::move(name)) {}
  int make_dir(const std::string& p) override { return CgroupFs::kernel().make_dir(p); }
  int remove_dir(const std::string& p) override { return CgroupFs::kernel().remove_dir(p); }
  void write(const std::string& p, const std::string& text) override {
    if (p.size() >= name_.size() && p.compare(p.size() - name_.size(), name_.size(), name_) == 0) {
      sys_error("cannot write '" + text + "' to " + p, EIO);
    }
    CgroupFs::write(p, text);
  }

 private:
  std::string name_;
};
}  // namespace

TEST_F(CgroupV1, FailurePartWayLeavesNothing) {
  // devices is the last controller set up: by then every group exists and the
  // parent's RT budget has grown. All of it must be undone (TearDown checks).
  CgroupRequest req = request("half");
  req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 10000};
  req.cpus = CpuSet::parse("0");
  FailingFs fs("devices.allow");
  EXPECT_THROW(Cgroup::create(req, kRoot, fs), Error);
}

TEST_F(CgroupV1, ConcurrentCreationOfTheSharedParent) {
  // Two creators race for the shared parent; EEXIST is fine for both.
  pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 0;
    try {
      Cgroup cg = Cgroup::create(request("child"), kRoot);
      cg.destroy_checked();
    } catch (...) {
      rc = 1;
    }
    _exit(rc);
  }
  Cgroup mine = Cgroup::create(request("parent"), kRoot);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(exists(path("cpu", "parent")));
  mine.destroy_checked();
}

TEST_F(CgroupV1, UnfinishedParentLeftByAnOldRunIsRepaired) {
  // An earlier rtcell killed between mkdir and the cpuset writes leaves a
  // parent with empty cpuset.cpus/mems, which would refuse every task.
  ASSERT_EQ(::mkdir(path("cpuset").c_str(), 0755), 0);
  ASSERT_EQ(slurp(path("cpuset", "cpuset.cpus")), "");
  CgroupRequest req = request("fix");
  req.cpus = CpuSet::parse("0");
  Cgroup cg = Cgroup::create(req, kRoot);
  EXPECT_NE(slurp(path("cpuset", "cpuset.cpus")), "");
  EXPECT_NE(slurp(path("cpuset", "cpuset.mems")), "");
  Child child;
  cg.attach(child.pid());  // would fail with ENOSPC in an empty cpuset
  EXPECT_EQ(slurp(path("cpuset", "fix/cgroup.procs")), std::to_string(child.pid()));
  EXPECT_EQ(child.try_fifo(), EPERM);  // and no budget was asked for
  cg.destroy_checked();                // removes the rtcell-named parent too
}

TEST_F(CgroupV1, DeviceAllowListIsEnforcedByTheKernel) {
  // A /dev/mem node (c 1:1) made outside the cell: the device cgroup must
  // refuse opening it from inside, even to root; /dev/null stays usable, and
  // a device passed with a rule is usable too.
  std::string dir = std::filesystem::temp_directory_path() / ("rtcell-dev-" + std::to_string(::getpid()));
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() { std::filesystem::remove_all(dir); }
  } remove_dir{dir};
  std::string mem = dir + "/mem", port = dir + "/port";
  ASSERT_EQ(::mknod(mem.c_str(), S_IFCHR | 0600, makedev(1, 1)), 0);
  ASSERT_EQ(::mknod(port.c_str(), S_IFCHR | 0600, makedev(1, 4)), 0);  // /dev/port
  CgroupRequest req = request("dev");
  req.devices.push_back(DeviceRule{'c', 1, 4, "r"});
  Cgroup cg = Cgroup::create(req, kRoot);
  {
    Child child([&] { return try_open(mem); });
    cg.attach(child.pid());
    EXPECT_EQ(child.result(), EPERM);
  }
  {
    Child child([] { return try_open("/dev/null"); });
    cg.attach(child.pid());
    EXPECT_EQ(child.result(), 0);
  }
  {
    // Allowed for reading only: O_RDWR needs "w" too.
    // The cgroup check comes before the driver's open, so any answer but
    // EPERM (ENXIO where the kernel lacks /dev/port) means it let us through.
    Child child([&] {
      int fd = ::open(port.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno == EPERM) return EPERM;
      if (fd >= 0) ::close(fd);
      return try_open(port) == EPERM ? 0 : -1;
    });
    cg.attach(child.pid());
    EXPECT_EQ(child.result(), 0) << "want read allowed (0) and read-write refused";
  }
  cg.destroy_checked();
}

// ---- the journal: a cell given back by another process --------------------

namespace {

std::string journal_text(const CgroupJournal& j) {
  return journal_to_json(j).dump();
}

CgroupJournal parse_journal(const std::string& text) {
  return journal_from_json(nlohmann::json::parse(text));
}

// The groups under the test's parent in one controller.
std::vector<std::string> children_of(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

int exit_status(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

TEST_F(CgroupV1, ReleasedCellIsGivenBackByAnotherProcessToTheMicrosecond) {
  // A live cell keeps the parent, so its budget is there before and after.
  CgroupRequest keep_req = request("keep");
  keep_req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 30000};
  Cgroup keep = Cgroup::create(keep_req, kRoot);
  const std::string parent_before = slurp(path("cpu", "cpu.rt_runtime_us"));

  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    int rc = 0;
    try {
      CgroupRequest req = request("x");
      req.cpus = CpuSet::parse("0");
      req.memory_bytes = 64u << 20;
      req.pids_max = 16;
      req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 50000};
      Cgroup cg = Cgroup::create(req, kRoot);
      std::string text = journal_text(cg.journal());
      if (::write(p[1], text.data(), text.size()) != static_cast<ssize_t>(text.size())) rc = 2;
      cg.release();  // the creator exits; the cell stays
    } catch (...) {
      rc = 1;
    }
    _exit(rc);
  }
  ::close(p[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ASSERT_EQ(exit_status(pid), 0);

  for (const char* c : kControllers) EXPECT_TRUE(exists(path(c, "x"))) << c << ": released, not removed";
  EXPECT_EQ(slurp(path("cpu", "x/cpu.rt_runtime_us")), "50000");
  EXPECT_NE(slurp(path("cpu", "cpu.rt_runtime_us")), parent_before);

  Cgroup cg = Cgroup::adopt(parse_journal(text));
  EXPECT_EQ(cg.paths().size(), 5u);
  ASSERT_TRUE(cg.rt_budget().has_value());
  EXPECT_EQ(cg.rt_budget()->runtime_us, 50000);
  Child child;  // an adopted cell takes processes like a created one
  cg.attach(child.pid());
  EXPECT_EQ(child.try_fifo(), 0);
  cg.destroy_checked();
  for (const char* c : kControllers) EXPECT_FALSE(exists(path(c, "x"))) << c;
  EXPECT_EQ(slurp(path("cpu", "cpu.rt_runtime_us")), parent_before);
  EXPECT_EQ(slurp(path("cpu", "keep/cpu.rt_runtime_us")), "30000");
  keep.destroy_checked();
}

TEST_F(CgroupV1, CreatorKilledAtEveryStepIsUndoneFromItsJournal) {
  // SIGKILL at each journal write of create(), once right after the journal
  // is saved (the step it announces never happens) and once right before
  // (the step before it happened, unannounced by anything later). Another
  // process then gives back what the saved journal says.
  const std::string file =
      std::filesystem::temp_directory_path() / ("rtcell-journal-" + std::to_string(::getpid()));
  auto run = [&](const CgroupRequest& base) {
    int steps = 0;
    {
      CgroupRequest counted = base;
      counted.on_journal = [&](const CgroupJournal&) { ++steps; };
      Cgroup::create(counted, kRoot).destroy_checked();
    }
    ASSERT_GE(steps, 2);
    const bool shared = exists(path("cpu"));
    const std::string parent_before = shared ? slurp(path("cpu", "cpu.rt_runtime_us")) : "";
    for (bool save_first : {true, false}) {
      for (int k = 0; k <= steps; ++k) {
        SCOPED_TRACE("killed at step " + std::to_string(k) + (save_first ? " after" : " before") + " saving");
        std::filesystem::remove(file);
        pid_t pid = ::fork();
        if (pid == 0) {
          int n = 0;
          CgroupRequest req = base;
          req.on_journal = [&](const CgroupJournal& j) {
            if (n == k && !save_first) ::raise(SIGKILL);
            sys::write_file_atomic(file, journal_text(j), 0600);
            if (n++ == k) ::raise(SIGKILL);
          };
          try {
            Cgroup cg = Cgroup::create(req, kRoot);
            sys::write_file_atomic(file, journal_text(cg.journal()), 0600);
            cg.release();
          } catch (...) {
            _exit(1);
          }
          _exit(0);
        }
        int rc = exit_status(pid);
        EXPECT_EQ(rc, k < steps ? 128 + SIGKILL : 0);
        if (std::filesystem::exists(file)) {
          Cgroup::adopt(parse_journal(slurp(file))).destroy_checked();
        }
        for (const char* c : kControllers) {
          if (shared) {
            EXPECT_EQ(children_of(path(c)), std::vector<std::string>{"keep"}) << c;
          } else {
            EXPECT_FALSE(exists(path(c))) << c;
          }
        }
        if (shared) {
          EXPECT_EQ(slurp(path("cpu", "cpu.rt_runtime_us")), parent_before);
        }
      }
    }
  };
  CgroupRequest req = request("k");
  req.cpus = CpuSet::parse("0");
  req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 20000};
  {
    SCOPED_TRACE("alone");
    run(req);
  }
  CgroupRequest keep_req = request("keep");
  keep_req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 30000};
  Cgroup keep = Cgroup::create(keep_req, kRoot);
  {
    SCOPED_TRACE("beside a live cell");
    run(req);
  }
  keep.destroy_checked();
  std::filesystem::remove(file);
}

TEST_F(CgroupV1, TwentyCellsCreatedAndDeletedConcurrentlyGiveEveryBudgetBack) {
  // 20 creators start at once (a closed pipe is the starting gun), each hands
  // its journal on and exits; then 20 other processes delete them at once.
  // The shared parent's budget must end exactly where it was.
  constexpr int kCells = 20;
  CgroupRequest keep_req = request("keep");
  keep_req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 30000};
  Cgroup keep = Cgroup::create(keep_req, kRoot);
  const std::string parent_before = slurp(path("cpu", "cpu.rt_runtime_us"));
  const std::string dir =
      std::filesystem::temp_directory_path() / ("rtcell-journals-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto journal_file = [&](int i) { return dir + "/" + std::to_string(i); };

  auto all_at_once = [&](const std::function<int(int)>& work) {
    int gun[2];
    if (::pipe(gun) != 0) return false;
    std::vector<pid_t> pids;
    for (int i = 0; i < kCells; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(gun[1]);
        char c;
        (void)::read(gun[0], &c, 1);  // EOF when the parent closes its end
        _exit(work(i));
      }
      pids.push_back(pid);
    }
    ::close(gun[0]);
    ::close(gun[1]);
    bool ok = true;
    for (size_t i = 0; i < pids.size(); ++i) {
      int rc = exit_status(pids[i]);
      EXPECT_EQ(rc, 0) << "cell " << i;
      ok = ok && rc == 0;
    }
    return ok;
  };

  bool created = all_at_once([&](int i) {
    try {
      CgroupRequest req = request("c" + std::to_string(i));
      req.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = 10000 + 1234 * i};
      Cgroup cg = Cgroup::create(req, kRoot);
      sys::write_file_atomic(journal_file(i), journal_text(cg.journal()), 0600);
      cg.release();
      return 0;
    } catch (...) {
      return 1;
    }
  });
  EXPECT_TRUE(created);
  EXPECT_EQ(children_of(path("cpu")).size(), static_cast<size_t>(kCells + 1));
  bool deleted = all_at_once([&](int i) {
    try {
      if (!std::filesystem::exists(journal_file(i))) return 0;
      Cgroup::adopt(parse_journal(slurp(journal_file(i)))).destroy_checked();
      return 0;
    } catch (...) {
      return 1;
    }
  });
  EXPECT_TRUE(deleted);
  for (const char* c : kControllers) EXPECT_EQ(children_of(path(c)), std::vector<std::string>{"keep"}) << c;
  EXPECT_EQ(slurp(path("cpu", "cpu.rt_runtime_us")), parent_before);
  EXPECT_EQ(slurp(path("cpu", "keep/cpu.rt_runtime_us")), "30000");
  keep.destroy_checked();
  std::filesystem::remove_all(dir);
}
