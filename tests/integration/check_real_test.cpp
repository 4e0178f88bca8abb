// `rtcell check` on this real machine: the verdicts must be the ones its real
// files imply. Expectations are computed here from the same files by simpler,
// independent means, so the test holds on any host (CI or this VM).
#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "integration/support.hpp"

namespace {

struct Out {
  int rc = -1;
  std::string text;
};

Out run(const std::string& args) {
  auto r = rtcell::test::run_shell(rtcell::test::rtcell_bin() + " " + args + " 2>&1");
  return {r.code, r.out};
}

using rtcell::test::slurp;

bool exists(const std::string& path) {
  return rtcell::test::path_exists(path);
}

std::map<std::string, nlohmann::json> by_id(const nlohmann::json& doc) {
  std::map<std::string, nlohmann::json> m;
  for (auto& c : doc["checks"]) m[c["id"].get<std::string>()] = c;
  return m;
}

}  // namespace

TEST(CheckReal, VerdictsMatchThisHostsFiles) {
  long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::string rt = std::to_string(ncpu - 1);  // the last online CPU as the "RT CPU"
  Out o = run("check --json --cpus " + rt);
  auto doc = nlohmann::json::parse(o.text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << o.text;
  auto c = by_id(doc);

  // Preemption model: /sys/kernel/realtime (=1 only on PREEMPT_RT), else uname -v.
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  std::string version = u.version;
  bool rt_kernel =
      slurp("/sys/kernel/realtime").rfind('1', 0) == 0 || version.find("PREEMPT_RT") != std::string::npos;
  std::string sev = c["kernel.preempt_rt"]["severity"];
  // Not RT: "fail" for PREEMPT_DYNAMIC (this VM: "#1 SMP PREEMPT_DYNAMIC") or
  // no preemption, "warn" for a fully preemptible (PREEMPT) kernel.
  bool dynamic_or_none =
      version.find("PREEMPT_DYNAMIC") != std::string::npos || version.find("PREEMPT ") == std::string::npos;
  EXPECT_EQ(sev, rt_kernel ? "pass" : dynamic_or_none ? "fail" : "warn");

  // cgroup layout from /proc/mounts, decided here independently.
  std::string mounts = slurp("/proc/mounts");
  bool v1 = mounts.find(" cgroup ") != std::string::npos;
  bool v2_any = mounts.find(" cgroup2 ") != std::string::npos;
  std::string layout = v1 && v2_any ? "hybrid" : v1 ? "v1" : v2_any ? "v2" : "none";
  EXPECT_EQ(c["kernel.cgroup_layout"]["evidence"]["value"], layout);

  // RT group scheduling is present exactly when a v1 cpu controller shows cpu.rt_runtime_us.
  bool rt_group = exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us") ||
                  exists("/sys/fs/cgroup/cpu,cpuacct/cpu.rt_runtime_us") ||
                  exists("/sys/fs/cgroup/cpu.rt_runtime_us");
  if (rt_group) {
    EXPECT_EQ(c["kernel.rt_group_sched"]["severity"], "info");
    EXPECT_NE(c["kernel.rt_group_sched"]["evidence"]["file"].get<std::string>().find("cpu.rt_runtime_us"),
              std::string::npos);
  }

  // Runtime knobs straight from /proc/sys.
  std::string tm = slurp("/proc/sys/kernel/timer_migration");
  EXPECT_EQ(c["runtime.timer_migration"]["severity"], tm.empty() ? "info" : tm[0] == '0' ? "pass" : "warn");
  std::string si = slurp("/proc/sys/vm/stat_interval");
  EXPECT_EQ(c["runtime.stat_interval"]["severity"], si.empty()            ? "info"
                                                    : std::stol(si) >= 10 ? "pass"
                                                                          : "warn");
  EXPECT_EQ(c["runtime.cpu_dma_latency"]["severity"], exists("/dev/cpu_dma_latency") ? "pass" : "warn");
  EXPECT_EQ(c["kernel.sched_deadline"]["severity"], "pass");  // every kernel >= 3.14
  EXPECT_EQ(c.count("jetson.l4t"), exists("/etc/nv_tegra_release") ? 1U : 0U);

  // Exit code: 1 exactly when some check fails.
  bool any_fail = false;
  for (auto& x : doc["checks"]) any_fail = any_fail || x["severity"] == "fail";
  EXPECT_EQ(o.rc, any_fail ? 1 : 0);
  EXPECT_EQ(doc["verdict"], any_fail ? "fail" : "ok");
}

TEST(CheckReal, HumanOutputGroupsByArea) {
  Out o = run("check");
  EXPECT_TRUE(o.rc == 0 || o.rc == 1) << o.text;
  size_t k = o.text.find("\nkernel\n"), b = o.text.find("\nboot\n"), r = o.text.find("\nruntime\n");
  ASSERT_NE(k, std::string::npos) << o.text;
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(r, std::string::npos);
  EXPECT_LT(k, b);
  EXPECT_LT(b, r);
  EXPECT_EQ(o.text.find("\033["), std::string::npos);              // not a tty: no colour
  EXPECT_NE(o.text.find("needs the RT CPUs"), std::string::npos);  // no --cpus given
}

TEST(CheckReal, TunedFixturePassesAndExitsZero) {
  // A tree built from public documentation (tests/fixtures/hosts/README.md):
  // no Jetson is attached here.
  Out o =
      run("check --root " + std::string(RTCELL_FIXTURES) + "/hosts/jetson-agx-orin-jp6-rt-tuned --cpus 4-11");
  EXPECT_EQ(o.rc, 0) << o.text;
  EXPECT_NE(o.text.find(" 0 warn, 0 fail"), std::string::npos) << o.text;
}

TEST(CheckReal, BadInputsExitTwoWithOneLine) {
  Out a = run("check --cpus 4095");
  EXPECT_EQ(a.rc, 2) << a.text;
  EXPECT_NE(a.text.find("not online"), std::string::npos);
  Out b = run("check -f /nonexistent-rtcell-cells.yaml");
  EXPECT_EQ(b.rc, 2) << b.text;
  EXPECT_NE(b.text.find("nonexistent-rtcell-cells.yaml"), std::string::npos);
  Out c = run("check --root /nonexistent-rtcell-tree");
  EXPECT_EQ(c.rc, 2) << c.text;
  Out d = run("check --cpus 1-x");
  EXPECT_EQ(d.rc, 2) << d.text;
  for (auto* x : {&a, &b, &c, &d}) EXPECT_EQ(std::count(x->text.begin(), x->text.end(), '\n'), 1) << x->text;
}

TEST(CheckReal, ManifestGivesTheRtCpus) {
  // -f: the RT CPUs are the union of the manifest's RT cells' cpus.
  char dir[] = "/tmp/rtcell-check-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/cells.yaml";
  {
    std::ofstream f(path);
    f << "version: 1\ncells:\n  - name: ctl\n    cpus: \"4-5\"\n    sched: fifo:80\n"
         "  - name: web\n    cpus: \"0-1\"\n";
  }
  std::string tree = std::string(RTCELL_FIXTURES) + "/hosts/jetson-agx-orin-jp6-rt-tuned";
  Out o = run("check --json -f " + path + " --root " + tree);
  auto doc = nlohmann::json::parse(o.text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << o.text;
  EXPECT_EQ(doc["rt_cpus"], "4-5");  // the non-RT cell "web" does not count
  EXPECT_EQ(o.rc, 0) << o.text;
  Out both = run("check -f " + path + " --cpus 4 --root " + tree);
  EXPECT_EQ(both.rc, 2) << both.text;
  ::unlink(path.c_str());
  ::rmdir(dir);
}
