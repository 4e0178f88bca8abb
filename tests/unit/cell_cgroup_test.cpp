// Unit tests of the cgroup layer: the RT budget arithmetic (pure) and the v2
// backend against a fake root.
//
// Why a fake: cgroup v2 controllers cannot exist on the hybrid test host (every
// controller is bound to its v1 hierarchy; /sys/fs/cgroup/unified holds only
// hugetlb), so a temp dir stands in for a cgroup2 root. FakeV2Fs plays the
// kernel's part the way Documentation/admin-guide/cgroup-v2.rst describes it:
// mkdir creates the interface files of the controllers the parent enabled in
// cgroup.subtree_control, writing "+memory" there needs memory in the level's
// cgroup.controllers, a write to a missing control file fails, and rmdir of a
// group with processes or children is EBUSY. The real v1/hybrid backend is
// tested on the real kernel in tests/integration/cgroup_v1_test.cpp.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cell/cgroup.hpp"
#include "cell/cgroup_devices.hpp"
#include "rtcell/error.hpp"
#include "unit/error_helpers.hpp"

using namespace rtcell;
using namespace rtcell::cell;
namespace fs = std::filesystem;

namespace {

using rtcell::test::kind_of;
using rtcell::test::message_of;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void put(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::set<std::string> word_set(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

std::string join(const std::set<std::string>& ws) {
  std::string s;
  for (const auto& w : ws) s += (s.empty() ? "" : " ") + w;
  return s;
}

class FakeV2Fs : public CgroupFs {
 public:
  std::string fail_on;  // a control file name whose write fails (EIO)
  std::map<std::string, std::vector<DeviceRule>> device_filters;  // dir -> rules

  // Loading eBPF needs root and a real cgroup2 directory; the program itself
  // is tested below with an interpreter and on the real kernel in
  // tests/integration/cgroup_v2_device_test.cpp.
  void attach_device_filter(const std::string& dir, const std::vector<DeviceRule>& rules) override {
    if (!fs::exists(dir + "/cgroup.procs")) sys_error("cannot attach the device filter to " + dir, EBADF);
    device_filters[dir] = rules;
  }

  int make_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0) return errno;
    std::string parent = fs::path(path).parent_path().string();
    auto enabled = word_set(slurp(parent + "/cgroup.subtree_control"));
    put(path + "/cgroup.procs", "");
    put(path + "/cgroup.controllers", join(enabled));
    put(path + "/cgroup.subtree_control", "");
    if (enabled.count("cpuset")) {
      put(path + "/cpuset.cpus", "");
      put(path + "/cpuset.mems", "");
      put(path + "/cpuset.cpus.effective", slurp(parent + "/cpuset.cpus.effective"));
      put(path + "/cpuset.mems.effective", slurp(parent + "/cpuset.mems.effective"));
    }
    if (enabled.count("memory")) put(path + "/memory.max", "max");
    if (enabled.count("pids")) put(path + "/pids.max", "max");
    return 0;
  }

  int remove_dir(const std::string& path) override {
    if (!fs::exists(path)) return ENOENT;
    if (!slurp(path + "/cgroup.procs").empty()) return EBUSY;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_directory()) return EBUSY;
    for (const auto& e : fs::directory_iterator(path)) fs::remove(e.path());
    return ::rmdir(path.c_str()) == 0 ? 0 : errno;
  }

  void write(const std::string& path, const std::string& text) override {
    std::string name = fs::path(path).filename().string();
    if (name == fail_on) sys_error("cannot write '" + text + "' to " + path, EIO);
    if (!fs::exists(path)) sys_error("cannot open " + path, ENOENT);
    std::string dir = fs::path(path).parent_path().string();
    if (name == "cgroup.subtree_control") {
      auto on = word_set(slurp(path));
      auto avail = word_set(slurp(dir + "/cgroup.controllers"));
      for (const auto& tok : word_set(text)) {
        std::string c = tok.substr(1);
        if (!avail.count(c)) sys_error("cannot write '" + text + "' to " + path, ENOENT);
        if (tok[0] == '+') on.insert(c);
        if (tok[0] == '-') on.erase(c);
      }
      put(path, join(on));
      return;
    }
    if (name == "cgroup.procs") {
      std::ofstream(path, std::ios::app) << text << '\n';
      return;
    }
    put(path, text);
  }
};

class FakeV2Root : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtcell-fake-cgroup2-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    put(root_ + "/cgroup.controllers", "cpuset cpu io memory pids");
    put(root_ + "/cgroup.subtree_control", "");
    put(root_ + "/cgroup.procs", "1\n");
    put(root_ + "/cpuset.cpus.effective", "0-3");
    put(root_ + "/cpuset.mems.effective", "0");
  }
  void TearDown() override { fs::remove_all(root_); }

  CgroupRequest request(const std::string& id) {
    CgroupRequest r;
    r.id = id;
    r.cpus = CpuSet::parse("1-2");
    r.mems = "0";
    r.memory_bytes = 64u << 20;
    r.pids_max = 32;
    return r;
  }

  std::string root_;
  FakeV2Fs fs_;
};

bool any_note_has(const std::vector<std::string>& notes, const std::string& text) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

}  // namespace

// ---- RT budget arithmetic -------------------------------------------------

TEST(CellCgroupRt, RatioMatchesKernelToRatio) {
  // kernel/sched/core.c to_ratio(): (runtime << 20) / period, floored.
  EXPECT_EQ(rt_ratio(950000, 1000000), 996147u);
  EXPECT_EQ(rt_ratio(100000, 1000000), 104857u);
  EXPECT_EQ(rt_ratio(0, 1000000), 0u);
  EXPECT_EQ(rt_ratio(-1, 1000000), 1u << 20);  // RUNTIME_INF
  EXPECT_EQ(rt_runtime_for_ratio(104857, 1000000), 100000);
  // The smallest runtime whose ratio covers the target, for awkward numbers too.
  for (int64_t p : {1000, 33333, 1000000, 2000000}) {
    for (int64_t r : {int64_t{1}, p / 7, p / 2, p}) {
      int64_t back = rt_runtime_for_ratio(rt_ratio(r, p), p);
      EXPECT_GE(rt_ratio(back, p), rt_ratio(r, p)) << r << "/" << p;
      EXPECT_LE(back, r) << r << "/" << p;
      if (back > 0) {
        EXPECT_LT(rt_ratio(back - 1, p), rt_ratio(r, p)) << r << "/" << p;
      }
    }
  }
}

TEST(CellCgroupRt, DefaultIsTenPercentOfThePeriod) {
  RtBudget b = default_rt_budget(1000000);
  EXPECT_EQ(b.runtime_us, 100000);
  EXPECT_EQ(b.period_us, 1000000);
}

namespace {
const RtBudget kGlobal{950000, 1000000};
RtLevel level(const std::string& path, bool exists, int64_t rt, int64_t period, uint64_t others = 0) {
  return RtLevel{path, exists, rt, period, others};
}
}  // namespace

TEST(CellCgroupRt, NewParentGrowsToCoverTheCell) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000), level("cpu/rtcell", false, 0, 1000000)};
  auto out = plan_rt_budget(chain, {100000, 1000000}, kGlobal);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], 950000);  // the root is never changed
  EXPECT_EQ(out[1], 100000);
}

TEST(CellCgroupRt, ParentWithSlackIsLeftAlone) {
  // rtcell/ holds 300 ms and another cell uses 100 ms of it: a second 100 ms fits.
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000, rt_ratio(300000, 1000000)),
                                level("cpu/rtcell", true, 300000, 1000000, rt_ratio(100000, 1000000))};
  auto out = plan_rt_budget(chain, {100000, 1000000}, kGlobal);
  EXPECT_EQ(out[1], 300000);
}

TEST(CellCgroupRt, ParentGrowsBySiblingsPlusCell) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000, 0),
                                level("cpu/rtcell", true, 100000, 1000000, rt_ratio(100000, 1000000))};
  auto out = plan_rt_budget(chain, {200000, 1000000}, kGlobal);
  EXPECT_EQ(out[1], 300000);
}

TEST(CellCgroupRt, DifferentPeriodsCompareAsRatios) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000), level("cpu/rtcell", false, 0, 1000000)};
  auto out = plan_rt_budget(chain, {5000, 10000}, kGlobal);  // 50 %
  EXPECT_EQ(out[1], 500000);
}

TEST(CellCgroupRt, RefusesOverTheFreeShareAndSaysHowMuchIsFree) {
  // Another group (say podman's libpod_parent) holds 900 ms of the root's 950.
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000, rt_ratio(900000, 1000000)),
                                level("cpu/rtcell", false, 0, 1000000)};
  // 50 ms, plus 1 us that the kernel's floored 2^-20 ratios still let through.
  EXPECT_EQ(rt_max_leaf_runtime(chain, 1000000, kGlobal), 50001);
  EXPECT_NO_THROW(plan_rt_budget(chain, {50001, 1000000}, kGlobal));
  EXPECT_THROW(plan_rt_budget(chain, {50002, 1000000}, kGlobal), Error);
  auto f = [&] { plan_rt_budget(chain, {100000, 1000000}, kGlobal); };
  EXPECT_EQ(kind_of(f), ErrorKind::Usage);
  EXPECT_NE(message_of(f).find("free RT share is 50001 us per 1000000 us"), std::string::npos)
      << message_of(f);
}

TEST(CellCgroupRt, RefusesOverSchedRtRuntime) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000), level("cpu/rtcell", false, 0, 1000000)};
  auto f = [&] { plan_rt_budget(chain, {960000, 1000000}, kGlobal); };
  EXPECT_EQ(kind_of(f), ErrorKind::Usage);
  EXPECT_NE(message_of(f).find("sched_rt_runtime_us"), std::string::npos);
}

TEST(CellCgroupRt, ShrinkGivesBackOnlyWhatTheCellAdded) {
  const int64_t p = 1000000;
  EXPECT_EQ(rt_shrunk_runtime(300000, 100000, rt_ratio(150000, p), p), 200000);
  EXPECT_EQ(rt_shrunk_runtime(300000, 200000, rt_ratio(150000, p), p), 150000);  // children still need 150
  EXPECT_EQ(rt_shrunk_runtime(100000, 100000, 0, p), 0);
  EXPECT_EQ(rt_shrunk_runtime(-1, 100000, 0, p), -1);  // unlimited is not ours
}

TEST(CellCgroupIds, IdsAndParents) {
  EXPECT_NO_THROW(validate_id("cell-1.x_Y", "id"));
  for (const char* bad : {"", ".", "..", "a/b", "a b", "x\n"}) {
    EXPECT_EQ(kind_of([&] { validate_id(bad, "id"); }), ErrorKind::Usage) << bad;
  }
  EXPECT_EQ(kind_of([] { validate_id(std::string(65, 'a'), "id"); }), ErrorKind::Usage);
  EXPECT_EQ(split_parent("a/b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_parent("/rtcell/"), (std::vector<std::string>{"rtcell"}));
  EXPECT_EQ(kind_of([] { split_parent("a/../b"); }), ErrorKind::Usage);
  EXPECT_EQ(kind_of([] { split_parent(""); }), ErrorKind::Usage);
}

// ---- v2 backend on a fake root -------------------------------------------

TEST_F(FakeV2Root, DetectsV2) {
  EXPECT_EQ(detect_layout(root_), CgroupLayout::V2);
}

TEST_F(FakeV2Root, CreateEnablesControllersAlongThePathAndWritesLimits) {
  CgroupRequest req = request("c1");
  req.wants_rt = true;
  {
    Cgroup cg = Cgroup::create(req, root_, fs_);
    EXPECT_EQ(cg.layout(), CgroupLayout::V2);
    std::string leaf = root_ + "/rtcell/c1";
    ASSERT_EQ(cg.paths(), std::vector<std::string>{leaf});
    EXPECT_EQ(word_set(slurp(root_ + "/cgroup.subtree_control")),
              (std::set<std::string>{"cpuset", "memory", "pids"}));
    EXPECT_EQ(word_set(slurp(root_ + "/rtcell/cgroup.subtree_control")),
              (std::set<std::string>{"cpuset", "memory", "pids"}));
    EXPECT_EQ(slurp(leaf + "/cpuset.cpus"), "1-2");
    EXPECT_EQ(slurp(leaf + "/cpuset.mems"), "0");
    EXPECT_EQ(slurp(leaf + "/memory.max"), std::to_string(64u << 20));
    EXPECT_EQ(slurp(leaf + "/pids.max"), "32");
    EXPECT_TRUE(any_note_has(cg.notes(), "device cgroup on v2: an eBPF filter"));
    ASSERT_EQ(fs_.device_filters.count(leaf), 1u);
    EXPECT_EQ(fs_.device_filters[leaf].size(), minimal_devices().size());
    EXPECT_TRUE(any_note_has(cg.notes(), "RT group budget not available on cgroup v2"));
    EXPECT_FALSE(cg.rt_budget().has_value());

    cg.attach(4242);
    EXPECT_EQ(slurp(leaf + "/cgroup.procs"), "4242");
    put(leaf + "/cgroup.procs", "");  // the process exited
  }                                   // the destructor removes the cell
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
  EXPECT_EQ(slurp(root_ + "/cgroup.subtree_control"), "");  // what rtcell enabled is disabled again
}

TEST_F(FakeV2Root, CpuOutsideTheParentIsRefusedBeforeAnythingExists) {
  CgroupRequest req = request("c1");
  req.cpus = CpuSet::parse("2,7");
  auto f = [&] { Cgroup::create(req, root_, fs_); };
  EXPECT_EQ(kind_of(f), ErrorKind::Usage);
  EXPECT_NE(message_of(f).find("CPU 7"), std::string::npos) << message_of(f);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
  EXPECT_EQ(slurp(root_ + "/cgroup.subtree_control"), "");
}

TEST_F(FakeV2Root, MissingControllerIsUnsupported) {
  put(root_ + "/cgroup.controllers", "cpuset pids");
  auto f = [&] { Cgroup::create(request("c1"), root_, fs_); };
  EXPECT_EQ(kind_of(f), ErrorKind::Unsupported);
  EXPECT_NE(message_of(f).find("'memory'"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

TEST_F(FakeV2Root, BadRequestsAreUsageErrors) {
  CgroupRequest req = request("c1");
  req.memory_bytes = 0;
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  req = request("c1");
  req.rt_budget = RtBudget{2000, 1000};
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  req = request("../x");
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  req = request("c1");
  req.devices.push_back(DeviceRule{'c', 1, 3, "rwx"});
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

TEST_F(FakeV2Root, FailurePartWayUndoesEverything) {
  fs_.fail_on = "pids.max";  // the last write of create()
  EXPECT_EQ(kind_of([&] { Cgroup::create(request("c1"), root_, fs_); }), ErrorKind::System);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
  EXPECT_EQ(slurp(root_ + "/cgroup.subtree_control"), "");
}

TEST_F(FakeV2Root, SharedParentStaysWhileAnotherCellLives) {
  Cgroup a = Cgroup::create(request("a"), root_, fs_);
  Cgroup b = Cgroup::create(request("b"), root_, fs_);
  a.destroy();
  a.destroy();  // idempotent
  EXPECT_FALSE(fs::exists(root_ + "/rtcell/a"));
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/b/memory.max"));
  EXPECT_NE(slurp(root_ + "/cgroup.subtree_control"), "");  // b still needs its controllers
  b.destroy_checked();
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
  // a enabled the root's controllers but could not disable them while b lived;
  // b did not enable them, so they stay on (harmless: no group uses them).
  EXPECT_EQ(word_set(slurp(root_ + "/cgroup.subtree_control")),
            (std::set<std::string>{"cpuset", "memory", "pids"}));
}

TEST_F(FakeV2Root, IdInUseIsUsageError) {
  Cgroup a = Cgroup::create(request("a"), root_, fs_);
  auto f = [&] { Cgroup::create(request("a"), root_, fs_); };
  EXPECT_EQ(kind_of(f), ErrorKind::Usage);
  EXPECT_NE(message_of(f).find("rtcell gc"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/a"));  // the refusal did not touch the live cell
}

TEST_F(FakeV2Root, MovedFromHandleOwnsNothing) {
  Cgroup a = Cgroup::create(request("a"), root_, fs_);
  Cgroup b = std::move(a);
  a.destroy();  // NOLINT(bugprone-use-after-move): a moved-from handle is empty by contract
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/a"));
  b.destroy();
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

TEST_F(FakeV2Root, GcRemovesOnlyGroupsWithoutProcesses) {
  // Leftovers as a SIGKILLed rtcell leaves them: groups made, never removed.
  put(root_ + "/cgroup.subtree_control", "memory");
  ASSERT_EQ(fs_.make_dir(root_ + "/rtcell"), 0);
  ASSERT_EQ(fs_.make_dir(root_ + "/rtcell/dead"), 0);
  ASSERT_EQ(fs_.make_dir(root_ + "/rtcell/live"), 0);
  put(root_ + "/rtcell/live/cgroup.procs", "4242\n");
  EXPECT_EQ(collect_garbage("rtcell", root_, fs_), std::vector<std::string>{"rtcell/dead"});
  EXPECT_FALSE(fs::exists(root_ + "/rtcell/dead"));
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/live"));
  put(root_ + "/rtcell/live/cgroup.procs", "");
  EXPECT_EQ(collect_garbage("rtcell", root_, fs_), std::vector<std::string>{"rtcell/live"});
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
  EXPECT_TRUE(collect_garbage("rtcell", root_, fs_).empty());
}

TEST_F(FakeV2Root, ForkedChildCannotDestroyItsParentsCell) {
  Cgroup cg = Cgroup::create(request("a"), root_, fs_);
  pid_t pid = ::fork();
  if (pid == 0) {
    cg.destroy();  // as a child's exit path would
    _exit(fs::exists(root_ + "/rtcell/a") ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/a"));
  cg.destroy();
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

// ---- the v2 device filter program ----------------------------------------

namespace {

// Runs the subset of eBPF that device_filter_program() emits on one
// bpf_cgroup_dev_ctx, as the kernel would. Anything else fails the test.
int run_filter(const std::vector<bpf_insn>& prog, uint32_t type, uint32_t access, uint32_t major,
               uint32_t minor) {
  uint64_t r[11] = {};
  const uint32_t ctx[3] = {(access << 16) | type, major, minor};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        EXPECT_EQ(i.src_reg, 1);
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU64 | BPF_MOV | BPF_X:
        r[i.dst_reg] = r[i.src_reg];
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        r[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        break;
      case BPF_ALU64 | BPF_AND | BPF_K:
        r[i.dst_reg] &= static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        break;
      case BPF_ALU64 | BPF_RSH | BPF_K:
        r[i.dst_reg] >>= i.imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int>(r[0]);
      default:
        ADD_FAILURE() << "unexpected opcode " << int(i.code) << " at " << pc;
        return -1;
    }
  }
  ADD_FAILURE() << "fell off the end of the program";
  return -1;
}

constexpr uint32_t kChr = BPF_DEVCG_DEV_CHAR, kBlk = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t kR = BPF_DEVCG_ACC_READ, kW = BPF_DEVCG_ACC_WRITE, kM = BPF_DEVCG_ACC_MKNOD;

}  // namespace

TEST(CellCgroupDevices, FilterAllowsExactlyTheRules) {
  std::vector<DeviceRule> rules = minimal_devices();
  rules.push_back(DeviceRule{'c', 10, 232, "rw"});  // /dev/kvm, no mknod
  rules.push_back(DeviceRule{'b', 8, -1, "r"});     // any sd disk, read-only
  auto prog = device_filter_program(rules);
  EXPECT_EQ(run_filter(prog, kChr, kR | kW, 1, 3), 1);    // /dev/null
  EXPECT_EQ(run_filter(prog, kChr, kR | kW, 136, 7), 1);  // a pts
  EXPECT_EQ(run_filter(prog, kChr, kR, 1, 1), 0);         // /dev/mem
  EXPECT_EQ(run_filter(prog, kBlk, kR, 1, 3), 0);         // right numbers, wrong type
  EXPECT_EQ(run_filter(prog, kChr, kR | kW, 10, 232), 1);
  EXPECT_EQ(run_filter(prog, kChr, kM, 10, 232), 0);  // mknod not granted
  EXPECT_EQ(run_filter(prog, kBlk, kR, 8, 16), 1);
  EXPECT_EQ(run_filter(prog, kBlk, kR | kW, 8, 16), 0);  // write not granted
  EXPECT_EQ(run_filter(prog, kBlk, kR, 9, 0), 0);
}

TEST(CellCgroupDevices, EmptyListDeniesEverythingAndAllAllowsAll) {
  EXPECT_EQ(run_filter(device_filter_program({}), kChr, kR, 1, 3), 0);
  auto all = device_filter_program({DeviceRule{'a', -1, -1, "rwm"}});
  EXPECT_EQ(run_filter(all, kBlk, kR | kW | kM, 8, 0), 1);
  EXPECT_EQ(run_filter(all, kChr, kR, 1, 1), 1);
}

TEST_F(FakeV2Root, GcKeepsAStartingCellWhoseRtcellIsAlive) {
  // Between create() and attach() the group has no process; the creator's
  // shared flock on it is what tells gc that it is not a leftover.
  Cgroup starting = Cgroup::create(request("starting"), root_, fs_);
  EXPECT_TRUE(collect_garbage("rtcell", root_, fs_).empty());
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/starting"));
  starting.destroy();
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}
