// Unit tests of the cgroup layer: the RT budget arithmetic (pure), both
// backends against a fake root, and the undo journal (JSON, adopt, a creator
// killed at every step).
//
// Why a fake: cgroup v2 controllers cannot exist on the hybrid test host (every
// controller is bound to its v1 hierarchy; /sys/fs/cgroup/unified holds only
// hugetlb), so a temp dir stands in for a cgroup2 root. FakeV2Fs plays the
// kernel's part the way Documentation/admin-guide/cgroup-v2.rst describes it:
// mkdir creates the interface files of the controllers the parent enabled in
// cgroup.subtree_control, writing "+memory" there needs memory in the level's
// cgroup.controllers, a write to a missing control file fails, and rmdir of a
// group with processes or children is EBUSY. FakeV1Fs does the same for a v1
// root (one directory per controller) and refuses an rt_runtime_us that
// tg_rt_schedulable() in kernel/sched/rt.c would refuse, so the order of the
// budget writes is checked too. The real v1/hybrid backend is tested on the
// real kernel in tests/integration/cgroup_v1_test.cpp.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
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

// What both fakes share: a failing file on demand, rmdir as the kernel does
// it, and a look at every change to the tree before it is made (the test of
// the write-ahead journal).
class FakeFs : public CgroupFs {
 public:
  std::string fail_on;  // a control file name whose write fails (EIO)
  // Called before every mkdir and every write, with "mkdir" or the text.
  std::function<void(const std::string& path, const std::string& text)> before_change;

  int remove_dir(const std::string& path) override {
    if (!fs::exists(path)) return ENOENT;
    if (!slurp(path + "/cgroup.procs").empty()) return EBUSY;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_directory()) return EBUSY;
    for (const auto& e : fs::directory_iterator(path)) fs::remove(e.path());
    return ::rmdir(path.c_str()) == 0 ? 0 : errno;
  }

 protected:
  void check(const std::string& path, const std::string& text) {
    if (before_change) before_change(path, text);
  }
  // The common part of a write: the failure on demand, a missing file.
  void pre_write(const std::string& path, const std::string& text) {
    check(path, text);
    if (fs::path(path).filename() == fail_on) sys_error("cannot write '" + text + "' to " + path, EIO);
    if (!fs::exists(path)) sys_error("cannot open " + path, ENOENT);
  }
};

class FakeV2Fs : public FakeFs {
 public:
  std::map<std::string, std::vector<DeviceRule>> device_filters;  // dir -> rules

  // Loading eBPF needs root and a real cgroup2 directory; the program itself
  // is tested below with an interpreter and on the real kernel in
  // tests/integration/cgroup_v2_device_test.cpp.
  void attach_device_filter(const std::string& dir, const std::vector<DeviceRule>& rules) override {
    if (!fs::exists(dir + "/cgroup.procs")) sys_error("cannot attach the device filter to " + dir, EBADF);
    device_filters[dir] = rules;
  }

  int make_dir(const std::string& path) override {
    check(path, "mkdir");
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

  void write(const std::string& path, const std::string& text) override {
    pre_write(path, text);
    std::string name = fs::path(path).filename().string();
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

class CgroupFakeV2 : public ::testing::Test {
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

// A v1 root: one directory per controller, each a hierarchy of its own.
class FakeV1Fs : public FakeFs {
 public:
  std::string root;

  std::string proc_sys_kernel() const override { return root + "/proc"; }

  int make_dir(const std::string& path) override {
    check(path, "mkdir");
    if (::mkdir(path.c_str(), 0755) != 0) return errno;
    std::string h = hierarchy_of(path);
    put(path + "/cgroup.procs", "");
    if (h == "cpuset") {
      put(path + "/cpuset.cpus", "");
      put(path + "/cpuset.mems", "");
    } else if (h == "cpu") {
      // kernel/sched/rt.c alloc_rt_sched_group(): runtime 0, default period.
      put(path + "/cpu.rt_runtime_us", "0");
      put(path + "/cpu.rt_period_us", "1000000");
    } else if (h == "memory") {
      put(path + "/memory.limit_in_bytes", "9223372036854771712");
    } else if (h == "pids") {
      put(path + "/pids.max", "max");
    } else if (h == "devices") {
      put(path + "/devices.allow", "");
      put(path + "/devices.deny", "");
    }
    return 0;
  }

  void write(const std::string& path, const std::string& text) override {
    pre_write(path, text);
    std::string name = fs::path(path).filename().string();
    std::string dir = fs::path(path).parent_path().string();
    if (name == "cgroup.procs" || name == "devices.allow" || name == "devices.deny") {
      std::ofstream(path, std::ios::app) << text << '\n';
      return;
    }
    if (name == "cpu.rt_runtime_us") check_schedulable(dir, std::stoll(text));
    put(path, text);
  }

 private:
  std::string hierarchy_of(const std::string& path) const {
    std::string rel = path.substr(root.size() + 1);
    return rel.substr(0, rel.find('/'));
  }
  static uint64_t ratio_of(const std::string& dir) {
    return rt_ratio(std::stoll(slurp(dir + "/cpu.rt_runtime_us")),
                    std::stoll(slurp(dir + "/cpu.rt_period_us")));
  }
  static uint64_t children_ratio(const std::string& dir, const std::string& skip) {
    uint64_t sum = 0;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().string() != skip) sum += ratio_of(e.path().string());
    return sum;
  }
  // tg_rt_schedulable(): the group's ratio covers its children, its parent's
  // ratio covers it and its siblings, none is over the global ratio.
  void check_schedulable(const std::string& dir, int64_t runtime) const {
    uint64_t r = rt_ratio(runtime, std::stoll(slurp(dir + "/cpu.rt_period_us")));
    if (r > rt_ratio(950000, 1000000)) sys_error("cpu.rt_runtime_us of " + dir + " over the global", EINVAL);
    if (children_ratio(dir, "") > r) sys_error("cpu.rt_runtime_us of " + dir + " below its children", EBUSY);
    std::string parent = fs::path(dir).parent_path().string();
    if (parent.size() > root.size() + 4 || parent == root + "/cpu") {
      if (children_ratio(parent, dir) + r > ratio_of(parent)) {
        sys_error("cpu.rt_runtime_us of " + dir + " over its parent's share", EBUSY);
      }
    }
  }
};

class CgroupFakeV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtcell-fake-cgroup1-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs_.root = root_;
    ASSERT_EQ(::mkdir((root_ + "/proc").c_str(), 0755), 0);
    put(root_ + "/proc/sched_rt_runtime_us", "950000");
    put(root_ + "/proc/sched_rt_period_us", "1000000");
    for (const char* c : {"cpuset", "cpu", "memory", "pids", "devices"}) {
      ASSERT_EQ(::mkdir((root_ + "/" + c).c_str(), 0755), 0);
      put(root_ + "/" + c + "/cgroup.procs", "1\n");
    }
    put(root_ + "/cpuset/cpuset.cpus", "0-3");
    put(root_ + "/cpuset/cpuset.mems", "0");
    put(root_ + "/cpuset/cpuset.effective_cpus", "0-3");
    put(root_ + "/cpuset/cpuset.effective_mems", "0");
    put(root_ + "/cpu/cpu.rt_runtime_us", "950000");
    put(root_ + "/cpu/cpu.rt_period_us", "1000000");
  }
  void TearDown() override { fs::remove_all(root_); }

  CgroupRequest request(const std::string& id, int64_t runtime_us = 100000) {
    CgroupRequest r;
    r.id = id;
    r.cpus = CpuSet::parse("1-2");
    r.memory_bytes = 64u << 20;
    r.pids_max = 32;
    r.rt_budget = RtBudget{.period_us = 1000000, .runtime_us = runtime_us};
    r.wants_rt = true;
    return r;
  }
  std::string cpu(const std::string& rel) const { return root_ + "/cpu/" + rel + "/cpu.rt_runtime_us"; }
  // A level that is not rtcell's, in every hierarchy, with an RT runtime and
  // a child of its own that uses part of it: rtcell must leave both exactly
  // as it found them.
  void make_foreign_slice(const std::string& name, int64_t runtime, int64_t child_runtime) {
    for (const char* c : {"cpuset", "cpu", "memory", "pids", "devices"}) {
      ASSERT_EQ(fs_.make_dir(root_ + "/" + c + "/" + name), 0);
    }
    put(root_ + "/cpuset/" + name + "/cpuset.cpus", "0-3");
    put(root_ + "/cpuset/" + name + "/cpuset.mems", "0");
    fs_.write(root_ + "/cpu/" + name + "/cpu.rt_runtime_us", std::to_string(runtime));
    ASSERT_EQ(fs_.make_dir(root_ + "/cpu/" + name + "/keeper"), 0);
    fs_.write(root_ + "/cpu/" + name + "/keeper/cpu.rt_runtime_us", std::to_string(child_runtime));
  }

  std::string root_;
  FakeV1Fs fs_;
};

// Every file under `root` with its contents, every directory as "<dir>": two
// equal snapshots mean the tree is exactly as it was.
std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = e.path().string().substr(root.size());
    out[rel] = e.is_directory() ? "<dir>" : slurp(e.path().string());
  }
  return out;
}

// Checks, at every change of the tree, that the last journal the hook saw
// already covers it: a group made is in `made`, an ancestor's runtime is in
// `grown` with that value, the cell's own runtime is `rt_leaf`, a v2
// controller switched on is in `enabled` (or on a level in `made`). Counts
// the hook's calls and checks that each journal extends the one before.
class WriteAheadChecker {
 public:
  explicit WriteAheadChecker(FakeFs& fs) : fs_(fs) {
    fs_.before_change = [this](const std::string& path, const std::string& text) { change(path, text); };
  }
  ~WriteAheadChecker() { fs_.before_change = nullptr; }
  WriteAheadChecker(const WriteAheadChecker&) = delete;
  WriteAheadChecker& operator=(const WriteAheadChecker&) = delete;

  std::function<void(const CgroupJournal&)> hook() {
    return [this](const CgroupJournal& j) {
      EXPECT_GE(j.made.size(), last_.made.size());
      EXPECT_GE(j.grown.size(), last_.grown.size());
      EXPECT_GE(j.enabled.size(), last_.enabled.size());
      last_ = j;
      ++calls_;
    };
  }
  int calls() const { return calls_; }
  int changes() const { return changes_; }
  void stop() { checking_ = false; }  // undo is not written ahead

 private:
  bool made(const std::string& path) const {
    return std::any_of(last_.made.begin(), last_.made.end(), [&](const auto& m) { return m.path == path; });
  }
  void change(const std::string& path, const std::string& text) {
    if (!checking_) return;
    std::string name = fs::path(path).filename().string();
    std::string dir = fs::path(path).parent_path().string();
    if (text == "mkdir") {
      ++changes_;
      EXPECT_TRUE(made(path)) << "mkdir " << path << " before the journal had it";
    } else if (name == "cpu.rt_runtime_us") {
      ++changes_;
      bool grown = std::any_of(last_.grown.begin(), last_.grown.end(), [&](const auto& g) {
        return g.path == dir && std::to_string(g.after_us) == text;
      });
      EXPECT_TRUE(grown || dir == last_.rt_leaf)
          << "runtime " << text << " of " << dir << " not in the journal";
    } else if (name == "cgroup.subtree_control") {
      ++changes_;
      std::string c = text.substr(1);
      bool on = std::find(last_.enabled.begin(), last_.enabled.end(), std::make_pair(dir, c)) !=
                last_.enabled.end();
      EXPECT_TRUE(on || made(dir)) << text << " at " << dir << " not in the journal";
    }
  }

  FakeFs& fs_;
  CgroupJournal last_;
  int calls_ = 0;
  int changes_ = 0;
  bool checking_ = true;
};

// How a creator dies at its k-th journal write (0-based), the way SIGKILL
// would leave things: SaveThenDie dies right after the journal of step k is
// persisted, so step k never happens; DieBeforeSave dies at the hook of step
// k, so step k-1 happened and its journal is the last one saved.
enum class Death { SaveThenDie, DieBeforeSave };

// Runs create() in a child that persists every journal to `file` and dies as
// `death` says at hook call `k`. When k is past the last call, the child
// finishes, persists cg.journal() and releases the cell, as a creator of a
// persistent cell does. Returns the journal saved last (nullopt: none).
std::optional<CgroupJournal> create_and_die(CgroupRequest req, const std::string& root, CgroupFs& fs, int k,
                                            Death death, const std::string& file) {
  fs::remove(file);
  pid_t pid = ::fork();
  if (pid == 0) {
    int n = 0;
    req.on_journal = [&](const CgroupJournal& j) {
      if (n == k && death == Death::DieBeforeSave) _exit(0);
      put(file, journal_to_json(j).dump());
      if (n++ == k) _exit(0);
    };
    try {
      Cgroup cg = Cgroup::create(req, root, fs);
      put(file, journal_to_json(cg.journal()).dump());
      cg.release();
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "step " << k;
  if (!fs::exists(file)) return std::nullopt;
  return journal_from_json(nlohmann::json::parse(slurp(file)));
}

// For every step of create() and both ways of dying there: a creator killed
// there leaves a journal from which another handle gives back everything
// (the tree is exactly as before, byte for byte).
void kill_at_every_step(const CgroupRequest& req, const std::string& root, FakeFs& fs) {
  const auto before = snapshot(root);
  int steps = 0;
  {
    CgroupRequest counted = req;
    counted.on_journal = [&](const CgroupJournal&) { ++steps; };
    Cgroup::create(counted, root, fs).destroy_checked();
  }
  ASSERT_GE(steps, 1);
  ASSERT_EQ(snapshot(root), before);
  std::string file = root + ".journal";
  for (Death death : {Death::SaveThenDie, Death::DieBeforeSave}) {
    for (int k = 0; k <= steps; ++k) {
      SCOPED_TRACE("killed at step " + std::to_string(k) +
                   (death == Death::SaveThenDie ? " after" : " before") + " saving its journal");
      auto j = create_and_die(req, root, fs, k, death, file);
      if (j) Cgroup::adopt(*j, fs).destroy_checked();
      EXPECT_EQ(snapshot(root), before);
    }
  }
  fs::remove(file);
}

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
const RtBudget kGlobal{.period_us = 1000000, .runtime_us = 950000};
RtLevel level(const std::string& path, bool exists, int64_t rt, int64_t period, uint64_t others = 0) {
  return RtLevel{path, exists, rt, period, others};
}
}  // namespace

TEST(CellCgroupRt, NewParentGrowsToCoverTheCell) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000), level("cpu/rtcell", false, 0, 1000000)};
  auto out = plan_rt_budget(chain, {.period_us = 1000000, .runtime_us = 100000}, kGlobal);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], 950000);  // the root is never changed
  EXPECT_EQ(out[1], 100000);
}

TEST(CellCgroupRt, ParentWithSlackIsLeftAlone) {
  // rtcell/ holds 300 ms and another cell uses 100 ms of it: a second 100 ms fits.
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000, rt_ratio(300000, 1000000)),
                                level("cpu/rtcell", true, 300000, 1000000, rt_ratio(100000, 1000000))};
  auto out = plan_rt_budget(chain, {.period_us = 1000000, .runtime_us = 100000}, kGlobal);
  EXPECT_EQ(out[1], 300000);
}

TEST(CellCgroupRt, ParentGrowsBySiblingsPlusCell) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000, 0),
                                level("cpu/rtcell", true, 100000, 1000000, rt_ratio(100000, 1000000))};
  auto out = plan_rt_budget(chain, {.period_us = 1000000, .runtime_us = 200000}, kGlobal);
  EXPECT_EQ(out[1], 300000);
}

TEST(CellCgroupRt, DifferentPeriodsCompareAsRatios) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000), level("cpu/rtcell", false, 0, 1000000)};
  auto out = plan_rt_budget(chain, {.period_us = 10000, .runtime_us = 5000}, kGlobal);  // 50 %
  EXPECT_EQ(out[1], 500000);
}

TEST(CellCgroupRt, RefusesOverTheFreeShareAndSaysHowMuchIsFree) {
  // Another group (say podman's libpod_parent) holds 900 ms of the root's 950.
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000, rt_ratio(900000, 1000000)),
                                level("cpu/rtcell", false, 0, 1000000)};
  // 50 ms, plus 1 us that the kernel's floored 2^-20 ratios still let through.
  EXPECT_EQ(rt_max_leaf_runtime(chain, 1000000, kGlobal), 50001);
  EXPECT_NO_THROW(plan_rt_budget(chain, {.period_us = 1000000, .runtime_us = 50001}, kGlobal));
  EXPECT_THROW(plan_rt_budget(chain, {.period_us = 1000000, .runtime_us = 50002}, kGlobal), Error);
  auto f = [&] { plan_rt_budget(chain, {.period_us = 1000000, .runtime_us = 100000}, kGlobal); };
  EXPECT_EQ(kind_of(f), ErrorKind::Usage);
  EXPECT_NE(message_of(f).find("free RT share is 50001 us per 1000000 us"), std::string::npos)
      << message_of(f);
}

TEST(CellCgroupRt, RefusesOverSchedRtRuntime) {
  std::vector<RtLevel> chain = {level("cpu", true, 950000, 1000000), level("cpu/rtcell", false, 0, 1000000)};
  auto f = [&] { plan_rt_budget(chain, {.period_us = 1000000, .runtime_us = 960000}, kGlobal); };
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
  EXPECT_EQ(kind_of([] { validate_id(std::string(256, 'a'), "id"); }), ErrorKind::Usage);
  EXPECT_EQ(split_parent("a/b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_parent("/rtcell/"), (std::vector<std::string>{"rtcell"}));
  EXPECT_EQ(kind_of([] { split_parent("a/../b"); }), ErrorKind::Usage);
  EXPECT_EQ(kind_of([] { split_parent(""); }), ErrorKind::Usage);
}

// ---- v2 backend on a fake root -------------------------------------------

TEST_F(CgroupFakeV2, DetectsV2) {
  EXPECT_EQ(detect_layout(root_), CgroupLayout::V2);
}

TEST_F(CgroupFakeV2, CreateEnablesControllersAlongThePathAndWritesLimits) {
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

TEST_F(CgroupFakeV2, CpuOutsideTheParentIsRefusedBeforeAnythingExists) {
  CgroupRequest req = request("c1");
  req.cpus = CpuSet::parse("2,7");
  auto f = [&] { Cgroup::create(req, root_, fs_); };
  EXPECT_EQ(kind_of(f), ErrorKind::Usage);
  EXPECT_NE(message_of(f).find("CPU 7"), std::string::npos) << message_of(f);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
  EXPECT_EQ(slurp(root_ + "/cgroup.subtree_control"), "");
}

TEST_F(CgroupFakeV2, MissingControllerIsUnsupported) {
  put(root_ + "/cgroup.controllers", "cpuset pids");
  auto f = [&] { Cgroup::create(request("c1"), root_, fs_); };
  EXPECT_EQ(kind_of(f), ErrorKind::Unsupported);
  EXPECT_NE(message_of(f).find("'memory'"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

TEST_F(CgroupFakeV2, BadRequestsAreUsageErrors) {
  CgroupRequest req = request("c1");
  req.memory_bytes = 0;
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  req = request("c1");
  req.rt_budget = RtBudget{.period_us = 1000, .runtime_us = 2000};
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  req = request("../x");
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  req = request("c1");
  req.devices.push_back(DeviceRule{'c', 1, 3, "rwx"});
  EXPECT_EQ(kind_of([&] { Cgroup::validate(req, root_, fs_); }), ErrorKind::Usage);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

TEST_F(CgroupFakeV2, FailurePartWayUndoesEverything) {
  fs_.fail_on = "pids.max";  // the last write of create()
  EXPECT_EQ(kind_of([&] { Cgroup::create(request("c1"), root_, fs_); }), ErrorKind::System);
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
  EXPECT_EQ(slurp(root_ + "/cgroup.subtree_control"), "");
}

TEST_F(CgroupFakeV2, SharedParentStaysWhileAnotherCellLives) {
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

TEST_F(CgroupFakeV2, IdInUseIsUsageError) {
  Cgroup a = Cgroup::create(request("a"), root_, fs_);
  auto f = [&] { Cgroup::create(request("a"), root_, fs_); };
  EXPECT_EQ(kind_of(f), ErrorKind::Usage);
  EXPECT_NE(message_of(f).find("rtcell gc"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/a"));  // the refusal did not touch the live cell
}

TEST_F(CgroupFakeV2, MovedFromHandleOwnsNothing) {
  Cgroup a = Cgroup::create(request("a"), root_, fs_);
  Cgroup b = std::move(a);
  a.destroy();  // NOLINT(bugprone-use-after-move): a moved-from handle is empty by contract
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/a"));
  b.destroy();
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

TEST_F(CgroupFakeV2, GcRemovesOnlyGroupsWithoutProcesses) {
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

TEST_F(CgroupFakeV2, GcTakesOnlyRtcellsGroupsUnderAnotherToolsParent) {
  // Another tool's parent (a systemd slice, docker, kubepods): its empty
  // groups are not rtcell's. Only a cell id the state registry knows is.
  put(root_ + "/cgroup.subtree_control", "memory");
  ASSERT_EQ(fs_.make_dir(root_ + "/system.slice"), 0);
  ASSERT_EQ(fs_.make_dir(root_ + "/system.slice/docker-1234.scope"), 0);
  ASSERT_EQ(fs_.make_dir(root_ + "/system.slice/mycell"), 0);
  std::vector<std::string> not_ours;
  EXPECT_TRUE(collect_garbage("system.slice", root_, fs_).empty());
  EXPECT_TRUE(collect_garbage("system.slice", root_, fs_, GcOwnership{{}, &not_ours}).empty());
  EXPECT_EQ(not_ours, (std::vector<std::string>{"system.slice/docker-1234.scope", "system.slice/mycell"}));
  not_ours.clear();
  EXPECT_EQ(collect_garbage("system.slice", root_, fs_, GcOwnership{{"mycell"}, &not_ours}),
            std::vector<std::string>{"system.slice/mycell"});
  EXPECT_EQ(not_ours, std::vector<std::string>{"system.slice/docker-1234.scope"});
  EXPECT_TRUE(fs::exists(root_ + "/system.slice/docker-1234.scope"));
  EXPECT_FALSE(fs::exists(root_ + "/system.slice/mycell"));
  EXPECT_TRUE(fs::exists(root_ + "/system.slice")) << "a parent not named rtcell* is never removed";
}

TEST_F(CgroupFakeV2, ForkedChildCannotDestroyItsParentsCell) {
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

TEST_F(CgroupFakeV2, GcKeepsAStartingCellWhoseRtcellIsAlive) {
  // Between create() and attach() the group has no process; the creator's
  // shared flock on it is what tells gc that it is not a leftover.
  Cgroup starting = Cgroup::create(request("starting"), root_, fs_);
  EXPECT_TRUE(collect_garbage("rtcell", root_, fs_).empty());
  EXPECT_TRUE(fs::exists(root_ + "/rtcell/starting"));
  starting.destroy();
  EXPECT_FALSE(fs::exists(root_ + "/rtcell"));
}

// ---- v1 backend on a fake root -------------------------------------------

TEST_F(CgroupFakeV1, DetectsV1) {
  EXPECT_EQ(detect_layout(root_), CgroupLayout::V1);
}

TEST_F(CgroupFakeV1, CreateWritesEveryControllerAndGrowsTheChain) {
  const auto before = snapshot(root_);
  CgroupRequest req = request("c1");
  req.devices.push_back(DeviceRule{'c', 10, 232, "rw"});
  Cgroup cg = Cgroup::create(req, root_, fs_);
  EXPECT_EQ(cg.layout(), CgroupLayout::V1);
  EXPECT_EQ(cg.paths().size(), 5u);
  EXPECT_EQ(slurp(root_ + "/cpuset/rtcell/cpuset.cpus"), "0-3");  // copied from the parent
  EXPECT_EQ(slurp(root_ + "/cpuset/rtcell/c1/cpuset.cpus"), "1-2");
  EXPECT_EQ(slurp(root_ + "/cpuset/rtcell/c1/cpuset.mems"), "0");
  EXPECT_EQ(slurp(root_ + "/memory/rtcell/c1/memory.limit_in_bytes"), std::to_string(64u << 20));
  EXPECT_EQ(slurp(root_ + "/pids/rtcell/c1/pids.max"), "32");
  EXPECT_EQ(slurp(root_ + "/devices/rtcell/c1/devices.deny"), "a");
  std::string allow = slurp(root_ + "/devices/rtcell/c1/devices.allow");
  EXPECT_NE(allow.find("c 1:3 rwm"), std::string::npos) << allow;
  EXPECT_NE(allow.find("c 10:232 rw"), std::string::npos) << allow;
  EXPECT_EQ(slurp(cpu("rtcell")), "100000");
  EXPECT_EQ(slurp(cpu("rtcell/c1")), "100000");
  ASSERT_TRUE(cg.rt_budget().has_value());
  EXPECT_EQ(cg.rt_budget()->runtime_us, 100000);

  CgroupJournal j = cg.journal();
  EXPECT_EQ(j.layout, CgroupLayout::V1);
  EXPECT_EQ(j.root, root_);
  ASSERT_EQ(j.made.size(), 10u);  // rtcell/ and rtcell/c1 in each of five hierarchies
  EXPECT_EQ(std::count_if(j.made.begin(), j.made.end(), [](const auto& m) { return m.leaf; }), 5);
  EXPECT_EQ(j.rt_leaf, root_ + "/cpu/rtcell/c1");
  ASSERT_EQ(j.grown.size(), 1u);
  EXPECT_EQ(j.grown[0].path, root_ + "/cpu/rtcell");
  EXPECT_EQ(j.grown[0].before_us, 0);
  EXPECT_EQ(j.grown[0].after_us, 100000);
  EXPECT_TRUE(j.enabled.empty());

  cg.destroy_checked();
  EXPECT_EQ(snapshot(root_), before);
}

TEST_F(CgroupFakeV1, RtcellLevelEndsExactlyWhereItWasWhateverTheOrder) {
  // Runtimes whose kernel ratios round (12345 us is 12944.67 in 2^-20
  // units): given back as "what this cell added", the shared level would
  // drift by a microsecond in some orders. rtcell's own level goes to what
  // its children need, whoever leaves, so it ends exactly where it was.
  Cgroup keep = Cgroup::create(request("keep", 33333), root_, fs_);
  const auto before = snapshot(root_);
  const std::vector<int64_t> runtimes = {10000, 12345, 33333, 1, 20000, 99999};
  std::vector<size_t> order = {0, 1, 2, 3, 4, 5};
  int rounds = 0;
  do {
    std::vector<Cgroup> cells;
    for (size_t i = 0; i < runtimes.size(); ++i) {
      cells.push_back(Cgroup::create(request("c" + std::to_string(i), runtimes[i]), root_, fs_));
    }
    for (size_t i : order) {
      cells[i].destroy_checked();
      for (size_t k = 0; k < runtimes.size(); ++k) {  // the others keep theirs
        if (cells[k].valid() && fs::exists(root_ + "/cpu/rtcell/c" + std::to_string(k))) {
          EXPECT_EQ(slurp(cpu("rtcell/c" + std::to_string(k))), std::to_string(runtimes[k]));
        }
      }
    }
    ASSERT_EQ(snapshot(root_), before) << "round " << rounds;
  } while (std::next_permutation(order.begin(), order.end()) && ++rounds < 40);
  keep.destroy_checked();
  EXPECT_FALSE(fs::exists(root_ + "/cpu/rtcell"));
}

TEST_F(CgroupFakeV1, ForeignSliceGetsBackExactlyWhatEachCellAdded) {
  // A slice that is not rtcell's holds 203125 us of which its own child uses
  // 140625: every cell under slice/rtcell raises it, and however the cells
  // leave, it ends exactly where it started. The runtimes are multiples of
  // 15625 us, whose kernel ratios are exact (15625 * 2^20 / 10^6 = 16384);
  // see docs/cgroups.md for what rounding does to a level that is not
  // rtcell's.
  make_foreign_slice("slice", 203125, 140625);
  const auto before = snapshot(root_);
  auto req = [&](const char* id, int64_t rt) {
    CgroupRequest r = request(id, rt);
    r.parent = "slice/rtcell";
    return r;
  };
  Cgroup a = Cgroup::create(req("a", 93750), root_, fs_);
  Cgroup b = Cgroup::create(req("b", 93750), root_, fs_);
  Cgroup c = Cgroup::create(req("c", 46875), root_, fs_);
  EXPECT_EQ(slurp(cpu("slice/rtcell")), "234375");
  EXPECT_EQ(slurp(cpu("slice")), "375000");
  ASSERT_EQ(a.journal().grown.size(), 2u);
  EXPECT_EQ(a.journal().grown[0].before_us, 203125);  // the slice's slack was used first
  EXPECT_EQ(a.journal().grown[0].after_us, 234375);
  a.destroy_checked();
  EXPECT_EQ(slurp(cpu("slice/rtcell/b")), "93750");
  EXPECT_EQ(slurp(cpu("slice/rtcell/c")), "46875");
  c.destroy_checked();
  EXPECT_EQ(slurp(cpu("slice/rtcell")), "93750");
  b.destroy_checked();
  EXPECT_EQ(snapshot(root_), before);
  EXPECT_EQ(slurp(cpu("slice")), "203125");
}

TEST_F(CgroupFakeV1, FailurePartWayUndoesEverything) {
  const auto before = snapshot(root_);
  fs_.fail_on = "devices.allow";  // the last controller: every group exists, the budget has grown
  EXPECT_EQ(kind_of([&] { Cgroup::create(request("c1"), root_, fs_); }), ErrorKind::System);
  EXPECT_EQ(snapshot(root_), before);
}

TEST_F(CgroupFakeV1, HookSeesEveryStepBeforeItHappens) {
  WriteAheadChecker checker(fs_);
  CgroupRequest req = request("c1");
  req.parent = "rtcell/sub";
  req.on_journal = checker.hook();
  Cgroup cg = Cgroup::create(req, root_, fs_);
  // 15 groups made, two ancestors raised, the cell's own runtime.
  EXPECT_EQ(checker.calls(), 15 + 2 + 1);
  EXPECT_EQ(checker.changes(), 15 + 2 + 1);
  EXPECT_EQ(cg.journal().grown.size(), 2u);
  checker.stop();
  cg.destroy_checked();
}

TEST_F(CgroupFakeV1, HookThatThrowsAbortsCreateAtEveryStepAndUndoes) {
  const auto before = snapshot(root_);
  for (int k = 0; k < 18; ++k) {
    CgroupRequest req = request("c1");
    req.parent = "rtcell/sub";
    int n = 0;
    req.on_journal = [&](const CgroupJournal&) {
      if (n++ == k) throw Error(ErrorKind::System, "state root is read-only");
    };
    auto f = [&] { Cgroup::create(req, root_, fs_); };
    EXPECT_EQ(message_of(f), "state root is read-only") << "step " << k;
    EXPECT_EQ(snapshot(root_), before) << "step " << k;
  }
}

TEST_F(CgroupFakeV1, JournalRoundTripsThroughJson) {
  CgroupRequest req = request("c1");
  req.parent = "rtcell/sub";
  Cgroup cg = Cgroup::create(req, root_, fs_);
  CgroupJournal j = cg.journal();
  CgroupJournal back = journal_from_json(nlohmann::json::parse(journal_to_json(j).dump()));
  EXPECT_EQ(back.layout, j.layout);
  EXPECT_EQ(back.root, j.root);
  ASSERT_EQ(back.made.size(), j.made.size());
  for (size_t i = 0; i < j.made.size(); ++i) {
    EXPECT_EQ(back.made[i].path, j.made[i].path);
    EXPECT_EQ(back.made[i].rtcell_owned, j.made[i].rtcell_owned);
    EXPECT_EQ(back.made[i].leaf, j.made[i].leaf);
  }
  EXPECT_EQ(back.rt_leaf, j.rt_leaf);
  ASSERT_EQ(back.grown.size(), 2u);
  for (size_t i = 0; i < j.grown.size(); ++i) {
    EXPECT_EQ(back.grown[i].path, j.grown[i].path);
    EXPECT_EQ(back.grown[i].before_us, j.grown[i].before_us);
    EXPECT_EQ(back.grown[i].after_us, j.grown[i].after_us);
  }
  EXPECT_EQ(journal_to_json(back), journal_to_json(j));
}

TEST_F(CgroupFakeV1, ReleasedCellIsGivenBackByAnotherProcess) {
  const auto empty = snapshot(root_);
  Cgroup keep = Cgroup::create(request("keep", 200000), root_, fs_);
  const auto with_keep = snapshot(root_);
  std::string text;
  {
    Cgroup cg = Cgroup::create(request("x", 100000), root_, fs_);
    text = journal_to_json(cg.journal()).dump();
    cg.release();
    EXPECT_FALSE(cg.valid());
    EXPECT_TRUE(cg.paths().empty());
  }  // the destructor of a released handle gives nothing back
  EXPECT_EQ(slurp(cpu("rtcell/x")), "100000");
  EXPECT_EQ(slurp(cpu("rtcell")), "300000");
  pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 0;
    try {
      Cgroup cg = Cgroup::adopt(journal_from_json(nlohmann::json::parse(text)), fs_);
      rc = cg.rt_budget() && cg.rt_budget()->runtime_us == 100000 && cg.paths().size() == 5 ? 0 : 2;
      cg.destroy_checked();
    } catch (...) {
      rc = 1;
    }
    _exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(snapshot(root_), with_keep);
  keep.destroy_checked();
  EXPECT_EQ(snapshot(root_), empty);
}

TEST_F(CgroupFakeV1, KilledCreatorIsUndoneFromItsJournalAtEveryStep) {
  CgroupRequest req = request("k", 50000);
  req.parent = "rtcell/sub";
  {
    SCOPED_TRACE("alone");
    kill_at_every_step(req, root_, fs_);
  }
  // Beside a live cell, so that every raise lands on a level that stays.
  CgroupRequest keep_req = request("keep", 100000);
  keep_req.parent = "rtcell/sub";
  Cgroup keep = Cgroup::create(keep_req, root_, fs_);
  {
    SCOPED_TRACE("beside a live cell");
    kill_at_every_step(req, root_, fs_);
  }
  keep.destroy_checked();
}

TEST_F(CgroupFakeV1, JournalOfStepsThatNeverHappenedIsHarmless) {
  // The last raise was written ahead but never made, no directory exists.
  make_foreign_slice("slice", 200000, 150000);
  const auto before = snapshot(root_);
  CgroupJournal j;
  j.layout = CgroupLayout::V1;
  j.root = root_;
  j.made = {{root_ + "/cpu/slice/rtcell", true, false}, {root_ + "/cpu/slice/rtcell/gone", true, true}};
  j.grown = {{root_ + "/cpu/slice", 200000, 300000}};
  Cgroup cg = Cgroup::adopt(j, fs_);
  EXPECT_FALSE(cg.rt_budget().has_value());
  EXPECT_NO_THROW(cg.destroy_checked());
  EXPECT_EQ(snapshot(root_), before);
}

TEST_F(CgroupFakeV1, GcGivesTheBudgetBackToRtcellParents) {
  Cgroup cg = Cgroup::create(request("dead", 100000), root_, fs_);
  cg.release();  // as a killed rtcell leaves it, without a registry
  EXPECT_EQ(collect_garbage("rtcell", root_, fs_), std::vector<std::string>{"rtcell/dead"});
  EXPECT_FALSE(fs::exists(root_ + "/cpu/rtcell"));
}

// ---- v2 journal ------------------------------------------------------------

TEST_F(CgroupFakeV2, HookSeesEveryStepBeforeItHappens) {
  WriteAheadChecker checker(fs_);
  CgroupRequest req = request("c1");
  req.on_journal = checker.hook();
  Cgroup cg = Cgroup::create(req, root_, fs_);
  // Three controllers switched on at the root, two groups made (rtcell/
  // takes its own subtree_control with it).
  EXPECT_EQ(checker.calls(), 3 + 2);
  EXPECT_EQ(checker.changes(), 3 + 2 + 3);
  CgroupJournal j = cg.journal();
  EXPECT_EQ(j.layout, CgroupLayout::V2);
  EXPECT_EQ(j.enabled.size(), 3u);
  EXPECT_TRUE(j.grown.empty());
  EXPECT_TRUE(j.rt_leaf.empty());
  checker.stop();
  cg.destroy_checked();
}

TEST_F(CgroupFakeV2, JournalRoundTripsAndAdoptedHandleGivesEverythingBack) {
  const auto before = snapshot(root_);
  Cgroup cg = Cgroup::create(request("c1"), root_, fs_);
  std::string text = journal_to_json(cg.journal()).dump();
  cg.release();
  CgroupJournal j = journal_from_json(nlohmann::json::parse(text));
  EXPECT_EQ(journal_to_json(j).dump(), text);
  ASSERT_EQ(j.enabled.size(), 3u);
  EXPECT_EQ(j.enabled[0].first, root_);
  Cgroup adopted = Cgroup::adopt(j, fs_);
  EXPECT_EQ(adopted.layout(), CgroupLayout::V2);
  EXPECT_EQ(adopted.paths(), std::vector<std::string>{root_ + "/rtcell/c1"});
  adopted.destroy_checked();
  EXPECT_EQ(snapshot(root_), before);
}

TEST_F(CgroupFakeV2, KilledCreatorIsUndoneFromItsJournalAtEveryStep) {
  {
    SCOPED_TRACE("alone");
    kill_at_every_step(request("k"), root_, fs_);
  }
  Cgroup keep = Cgroup::create(request("keep"), root_, fs_);
  {
    SCOPED_TRACE("beside a live cell");
    kill_at_every_step(request("k"), root_, fs_);
  }
  keep.destroy_checked();
}

// ---- the journal's JSON ----------------------------------------------------

TEST(CellCgroupJournal, CorruptJsonIsRefusedNamingTheField) {
  const nlohmann::json good = nlohmann::json::parse(R"({
    "version": 1, "layout": "hybrid", "root": "/sys/fs/cgroup",
    "made": [{"path": "/sys/fs/cgroup/cpu/rtcell", "rtcell_owned": true, "leaf": false},
             {"path": "/sys/fs/cgroup/cpu/rtcell/a", "rtcell_owned": true, "leaf": true}],
    "rt_leaf": "/sys/fs/cgroup/cpu/rtcell/a",
    "grown": [{"path": "/sys/fs/cgroup/cpu/rtcell", "before_us": 0, "after_us": 100000}],
    "enabled": [{"path": "/sys/fs/cgroup", "controller": "memory"}]})");
  CgroupJournal j = journal_from_json(good);
  EXPECT_EQ(j.layout, CgroupLayout::Hybrid);
  EXPECT_EQ(j.made.size(), 2u);
  EXPECT_EQ(j.grown[0].after_us, 100000);
  EXPECT_EQ(j.enabled[0], std::make_pair(std::string("/sys/fs/cgroup"), std::string("memory")));

  struct Case {
    const char* field;
    std::function<void(nlohmann::json&)> spoil;
  };
  const std::vector<Case> cases = {
      {"(top)", [](auto& v) { v = nlohmann::json::array(); }},
      {"version", [](auto& v) { v.erase("version"); }},
      {"version", [](auto& v) { v["version"] = 2; }},
      {"layout", [](auto& v) { v["layout"] = "v3"; }},
      {"layout", [](auto& v) { v["layout"] = 1; }},
      {"root", [](auto& v) { v["root"] = "sys/fs/cgroup"; }},
      {"made", [](auto& v) { v["made"] = "x"; }},
      {"made[1]", [](auto& v) { v["made"][1] = 7; }},
      {"made[0].path", [](auto& v) { v["made"][0].erase("path"); }},
      {"made[0].path", [](auto& v) { v["made"][0]["path"] = "/etc"; }},
      {"made[0].path", [](auto& v) { v["made"][0]["path"] = "/sys/fs/cgroup/cpu/../../../etc"; }},
      {"made[0].path", [](auto& v) { v["made"][0]["path"] = "/sys/fs/cgroup"; }},
      {"made[1].leaf", [](auto& v) { v["made"][1]["leaf"] = "yes"; }},
      {"made[0].rtcell_owned", [](auto& v) { v["made"][0].erase("rtcell_owned"); }},
      {"rt_leaf", [](auto& v) { v["rt_leaf"] = "/tmp/x"; }},
      {"grown[0].before_us", [](auto& v) { v["grown"][0]["before_us"] = -1; }},
      {"grown[0].after_us", [](auto& v) { v["grown"][0]["after_us"] = 0; }},
      {"grown[0].after_us", [](auto& v) { v["grown"][0]["after_us"] = 1.5; }},
      {"grown[0].after_us", [](auto& v) { v["grown"][0]["after_us"] = 18446744073709551615ull; }},
      {"grown[0].path", [](auto& v) { v["grown"][0]["path"] = "/sys/fs/cgroupx/cpu"; }},
      {"enabled[0].controller", [](auto& v) { v["enabled"][0]["controller"] = "+memory"; }},
      {"enabled[0].path", [](auto& v) { v["enabled"][0]["path"] = "/"; }},
  };
  for (const auto& c : cases) {
    nlohmann::json bad = good;
    c.spoil(bad);
    auto f = [&] { journal_from_json(bad); };
    EXPECT_EQ(kind_of(f), ErrorKind::System) << c.field << ": " << bad.dump();
    EXPECT_NE(message_of(f).find(std::string("cgroup journal: ") + c.field + ":"), std::string::npos)
        << message_of(f);
  }
  // adopt() checks a journal built in memory the same way.
  j.made[0].path = "/home";
  EXPECT_EQ(kind_of([&] { Cgroup::adopt(j); }), ErrorKind::System);
}
