// Issue 19: `rtcell tune --apply` on this host for real, not on a fixture
// tree. IRQs the kernel refuses to move (here virtio's managed MSI-X
// vectors: EPERM) are skipped and reported while the rest is applied, and
// --revert brings every knob back byte for byte.
#include <glob.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "integration/run_support.hpp"

using namespace rtcell::test;

namespace {

// Every value tune may touch on this host, by path.
std::map<std::string, std::string> knobs() {
  std::map<std::string, std::string> out;
  glob_t g{};
  if (::glob("/proc/irq/*/smp_affinity_list", 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out[g.gl_pathv[i]] = slurp(g.gl_pathv[i]);
  ::globfree(&g);
  for (const char* f : {"/proc/irq/default_smp_affinity", "/proc/sys/kernel/timer_migration",
                        "/proc/sys/vm/stat_interval", "/proc/sys/kernel/watchdog_cpumask"})
    if (path_exists(f)) out[f] = slurp(f);
  for (long cpu = 0; cpu < sysconf(_SC_NPROCESSORS_ONLN); ++cpu) {
    const std::string gov = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_governor";
    if (path_exists(gov)) out[gov] = slurp(gov);
  }
  return out;
}

class TuneReal : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "tune --apply writes /proc/irq and /proc/sys: needs root";
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs a housekeeping CPU beside the RT one";
    char tmpl[] = "/tmp/rtcell-tune-real-XXXXXX";
    dir_ = mkdtemp(tmpl);
    state_ = dir_ + "/tune.json";
    cpu_ = std::to_string(sysconf(_SC_NPROCESSORS_ONLN) - 1);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    if (path_exists(state_)) run({"tune", "--revert", "--state", state_});  // a failed assertion's leftovers
    run_shell("rm -rf " + dir_);
  }
  std::string dir_, state_, cpu_;
};

}  // namespace

TEST_F(TuneReal, ApplySkipsIrqsTheKernelRefusesAndRevertIsByteIdentical) {
  const auto before = knobs();
  Result dry = run({"tune", "--cpus", cpu_});
  ASSERT_EQ(dry.code, 0) << dry.err;
  if (dry.out.find(" change(s)") == std::string::npos || dry.out.find(": 0 change(s)") != std::string::npos)
    GTEST_SKIP() << "this host is tuned for CPU " << cpu_ << " already: nothing to apply";

  Result apply = run({"tune", "--cpus", cpu_, "--apply", "--state", state_});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_NE(apply.out.find("applied "), std::string::npos) << apply.out;
  // Every IRQ of the plan is either moved or skipped with the reason; the
  // ones set really moved.
  std::istringstream lines(apply.out);
  int moved = 0;
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("set /proc/irq/", 0) == 0 && l.find("/smp_affinity_list") != std::string::npos) {
      const std::string path = l.substr(4, l.find(" = ") - 4);
      EXPECT_EQ(slurp_value(path).find(cpu_), std::string::npos) << path << " still lists CPU " << cpu_;
      ++moved;
    } else if (l.rfind("skipped /proc/irq/", 0) == 0) {
      EXPECT_NE(l.find("the kernel refuses to move this IRQ"), std::string::npos) << l;
    }
  }
  EXPECT_GT(moved, 0) << apply.out;
  ASSERT_TRUE(path_exists(state_));

  Result revert = run({"tune", "--revert", "--state", state_});
  ASSERT_EQ(revert.code, 0) << revert.out << revert.err;
  EXPECT_FALSE(path_exists(state_)) << "the journal goes once everything is restored";
  const auto after = knobs();
  for (const auto& [path, value] : before) {
    auto it = after.find(path);
    ASSERT_NE(it, after.end()) << path;
    EXPECT_EQ(it->second, value) << path << " not restored byte for byte";
  }
}
