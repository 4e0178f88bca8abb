// The v2 backend on the real kernel: on a unified host (the QEMU guests of
// tests/guest/) at /sys/fs/cgroup, on a hybrid one at /sys/fs/cgroup/unified,
// a real cgroup2 hierarchy that holds no controller rtcell uses, but enough
// to run the v2 backend's mkdir/attach/rmdir and its eBPF device filter for
// real. The v2 controller writes (cpuset, memory, pids) are in
// cgroup_v2_test.cpp, which needs a unified host.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cell/cgroup.hpp"
#include "integration/support.hpp"
#include "sys/cgroup_dir.hpp"

using namespace rtcell;
using namespace rtcell::cell;

namespace {

// The host's cgroup2 hierarchy: the root on a unified host, else hybrid's.
const std::string kUnified =
    sys::fs_kind("/sys/fs/cgroup") == sys::FsKind::Cgroup2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";

std::string slurp(const std::string& path) {
  return rtcell::test::slurp_value(path);
}

int open_errno(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// Forks a child that waits for "go", runs `act` and reports its int result.
int in_child(Cgroup& cg, const std::function<int()>& act) {
  int go[2], res[2];
  if (::pipe(go) != 0 || ::pipe(res) != 0) return -100;
  pid_t pid = ::fork();
  if (pid == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) _exit(2);
    int v = act();
    if (::write(res[1], &v, sizeof v) != sizeof v) _exit(3);
    _exit(0);
  }
  ::close(go[0]);
  ::close(res[1]);
  int v = -101;
  try {
    cg.attach(pid);
    char c = 'g';
    if (::write(go[1], &c, 1) != 1 || ::read(res[0], &v, sizeof v) != sizeof v) v = -102;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    ::kill(pid, SIGKILL);
  }
  ::close(go[1]);
  ::close(res[0]);
  int status;
  ::waitpid(pid, &status, 0);
  return v;
}

class CgroupV2Real : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups and load BPF";
    if (sys::fs_kind(kUnified) != sys::FsKind::Cgroup2) GTEST_SKIP() << kUnified << " is not a cgroup2 mount";
    parent_ = "rtcell-v2-" + std::to_string(::getpid());
    dir_ = std::filesystem::temp_directory_path() / ("rtcell-v2dev-" + std::to_string(::getpid()));
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
    ASSERT_EQ(::mknod((dir_ + "/mem").c_str(), S_IFCHR | 0600, makedev(1, 1)), 0);
    ASSERT_EQ(::mknod((dir_ + "/port").c_str(), S_IFCHR | 0600, makedev(1, 4)), 0);
  }
  void TearDown() override {
    if (parent_.empty()) return;
    std::filesystem::remove_all(dir_);
    EXPECT_FALSE(std::filesystem::exists(kUnified + "/" + parent_)) << "left behind";
  }
  std::string parent_, dir_;
};

}  // namespace

TEST_F(CgroupV2Real, EbpfDeviceFilterIsEnforced) {
  CgroupRequest req;
  req.id = "dev";
  req.parent = parent_;
  req.devices.push_back(DeviceRule{'c', 1, 4, "r"});
  req.wants_rt = true;
  Cgroup cg = Cgroup::create(req, kUnified);
  EXPECT_EQ(cg.layout(), CgroupLayout::V2);
  std::string leaf = kUnified + "/" + parent_ + "/dev";
  ASSERT_EQ(cg.paths(), std::vector<std::string>{leaf});
  bool rt_note = false;
  for (const auto& n : cg.notes()) rt_note |= n.find("RT group budget not available on cgroup v2") == 0;
  EXPECT_TRUE(rt_note);

  // As root, and still refused: the filter, not file permissions, decides.
  EXPECT_EQ(in_child(cg, [&] { return open_errno(dir_ + "/mem", O_RDONLY); }), EPERM);
  EXPECT_EQ(in_child(cg, [] { return open_errno("/dev/null", O_RDWR); }), 0);
  // c 1:4 is allowed for reading only; ENXIO (no /dev/port driver) still
  // means the filter let the open through.
  EXPECT_NE(in_child(cg, [&] { return open_errno(dir_ + "/port", O_RDONLY); }), EPERM);
  EXPECT_EQ(in_child(cg, [&] { return open_errno(dir_ + "/port", O_RDWR); }), EPERM);
  // Outside the cell the same node opens (the filter is the cell's only).
  EXPECT_NE(open_errno(dir_ + "/mem", O_RDONLY), EPERM);
  EXPECT_EQ(slurp(leaf + "/cgroup.procs"), "");  // every child was reaped
  cg.destroy_checked();
}

TEST_F(CgroupV2Real, ReleasedCellIsGivenBackFromItsJournal) {
  // The v2 journal on the real cgroup2 tree: the cell outlives its handle,
  // and a handle adopted from the JSON journal removes it, filter and all.
  CgroupRequest req;
  req.id = "j";
  req.parent = parent_;
  std::vector<CgroupJournal> seen;
  req.on_journal = [&](const CgroupJournal& j) { seen.push_back(j); };
  std::string leaf = kUnified + "/" + parent_ + "/j";
  std::string text;
  {
    Cgroup cg = Cgroup::create(req, kUnified);
    EXPECT_EQ(seen.size(), 2u);  // the parent, then the cell's group
    text = journal_to_json(cg.journal()).dump();
    cg.release();
  }
  EXPECT_TRUE(std::filesystem::exists(leaf));
  Cgroup cg = Cgroup::adopt(journal_from_json(nlohmann::json::parse(text)));
  EXPECT_EQ(cg.layout(), CgroupLayout::V2);
  EXPECT_EQ(in_child(cg, [&] { return open_errno(dir_ + "/mem", O_RDONLY); }), EPERM);  // the filter stayed
  cg.destroy_checked();
  EXPECT_FALSE(std::filesystem::exists(leaf));
}
