// Each audit rule against the captured fixture trees (tests/fixtures/hosts/;
// the Jetson trees are built from public documentation because no Jetson is
// attached here -- see the README there). Table-driven: fixture x RT CPUs ->
// the expected severity per check id.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>

#include "host/check.hpp"

using namespace rtcell;
using namespace rtcell::host;

namespace {

std::string fixture(const std::string& name) {
  return std::string(RTCELL_FIXTURES) + "/hosts/" + name;
}

std::map<std::string, std::string> verdicts(const std::string& tree, const std::string& cpus) {
  CheckOptions o;
  o.root = fixture(tree);
  if (!cpus.empty()) o.rt_cpus = CpuSet::parse(cpus);
  std::map<std::string, std::string> out;
  for (auto& f : run_checks(o)) {
    EXPECT_EQ(out.count(f.id), 0U) << "duplicate id " << f.id;
    out[f.id] = to_string(f.severity);
    if (f.severity != Severity::Pass) {
      EXPECT_FALSE(f.message.empty()) << f.id;
    }
    if (f.severity == Severity::Warn || f.severity == Severity::Fail) {
      EXPECT_FALSE(f.fix.empty()) << f.id;
    }
  }
  return out;
}

struct Case {
  const char* tree;
  const char* cpus;
  std::map<std::string, std::string> expect;
};

// Names the case in gtest output instead of dumping the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.tree << " --cpus '" << c.cpus << "'";
}

class HostCheckFixtures : public ::testing::TestWithParam<Case> {};

TEST_P(HostCheckFixtures, Verdicts) {
  const Case& c = GetParam();
  auto got = verdicts(c.tree, c.cpus);
  for (auto& [id, sev] : c.expect) {
    ASSERT_TRUE(got.count(id)) << c.tree << ": no finding " << id;
    EXPECT_EQ(got[id], sev) << c.tree << ": " << id;
  }
}

const Case kCases[] = {
    {"jetson-agx-orin-jp6-stock",
     "4-11",
     {{"kernel.preempt_rt", "fail"},
      {"jetson.containers", "warn"},  // the tree's dpkg status has no Docker
      {"jetson.module", "pass"},
      {"runtime.tracing", "warn"},
      {"runtime.console", "warn"},
      {"kernel.hz", "warn"},
      {"kernel.nohz_full", "warn"},
      {"kernel.rt_group_sched", "pass"},
      {"kernel.cgroup_layout", "info"},
      {"kernel.sched_deadline", "pass"},
      {"kernel.tracers", "info"},
      {"boot.isolcpus", "warn"},
      {"boot.nohz_full", "warn"},
      {"boot.rcu_nocbs", "warn"},
      {"boot.irqaffinity", "warn"},
      {"boot.kthread_cpus", "info"},
      {"runtime.timer_migration", "warn"},
      {"runtime.stat_interval", "warn"},
      {"runtime.watchdog", "warn"},
      {"runtime.swap", "warn"},
      {"runtime.thp", "warn"},
      {"runtime.irqbalance", "pass"},
      {"runtime.irq_affinity", "warn"},
      {"runtime.cpufreq_governor", "warn"},
      {"runtime.cpufreq_range", "warn"},
      {"runtime.cpuidle", "warn"},
      {"runtime.kthreads", "warn"},
      {"security.apparmor", "pass"},
      {"jetson.l4t", "pass"},
      {"jetson.kernel_match", "pass"},
      {"jetson.localversion", "pass"},
      {"jetson.nvpmodel", "warn"},
      {"jetson.clocks", "warn"},
      {"jetson.tegra_mce", "info"},
      {"jetson.apt_hold", "info"},
      {"jetson.docker_runtime", "pass"},
      {"jetson.cdi", "warn"}}},
    {"jetson-agx-orin-jp6-rt-tuned",
     "4-11",
     {{"kernel.preempt_rt", "pass"},
      {"kernel.hz", "pass"},
      {"kernel.nohz_full", "pass"},
      {"kernel.tracers", "pass"},
      {"boot.isolcpus", "pass"},
      {"boot.nohz_full", "pass"},
      {"boot.rcu_nocbs", "pass"},
      {"boot.irqaffinity", "pass"},
      {"boot.kthread_cpus", "pass"},
      {"boot.loader", "pass"},
      {"runtime.timer_migration", "pass"},
      {"runtime.stat_interval", "pass"},
      {"runtime.watchdog", "pass"},
      {"runtime.swap", "pass"},
      {"runtime.thp", "pass"},
      {"runtime.irq_affinity", "pass"},
      {"runtime.cpufreq_governor", "pass"},
      {"runtime.cpufreq_range", "pass"},
      {"runtime.cpuidle", "pass"},
      {"runtime.kthreads", "info"},
      {"jetson.nvpmodel", "pass"},
      {"jetson.clocks", "pass"},
      {"jetson.tegra_mce", "pass"},
      {"jetson.apt_hold", "pass"},
      {"jetson.cdi", "pass"},
      {"jetson.kernel_match", "pass"}}},
    {"jetson-orin-nx-jp5",
     "2-7",
     {{"kernel.preempt_rt", "fail"},
      {"kernel.cgroup_layout", "info"},
      {"kernel.rt_group_sched", "info"},
      {"runtime.irqbalance", "warn"},
      {"jetson.l4t", "pass"},
      {"jetson.kernel_match", "pass"},
      {"jetson.nvpmodel", "warn"},
      {"jetson.cdi", "warn"}}},
    {"x86-preempt-rt-server",
     "2-7",
     {{"kernel.preempt_rt", "pass"},
      {"kernel.hz", "warn"},
      {"kernel.nohz_full", "pass"},
      {"kernel.tracers", "info"},
      {"boot.isolcpus", "pass"},
      {"boot.irqaffinity", "pass"},
      {"boot.kthread_cpus", "info"},
      {"runtime.irqbalance", "pass"},
      {"runtime.irq_affinity", "warn"},
      {"runtime.cpuidle", "warn"},
      {"runtime.kthreads", "info"},
      {"runtime.irq_threads", "info"},  // IRQ threads at 50 below the assumed 80
      {"runtime.cpufreq_governor", "pass"}}},
    {"x86-preempt-rt-server",
     "",
     {{"boot.isolcpus", "info"},
      {"runtime.irq_affinity", "info"},
      {"runtime.kthreads", "info"},
      {"runtime.irqbalance", "warn"}}},
    {"this-vm",
     "1",
     {{"kernel.preempt_rt", "fail"},
      {"runtime.irq_threads", "warn"},  // no threadirqs, not RT: hard handlers
      {"runtime.tracing", "pass"},
      {"runtime.console", "pass"},
      {"kernel.cgroup_layout", "info"},
      {"kernel.rt_group_sched", "info"},
      {"kernel.hz", "warn"},
      {"kernel.nohz_full", "warn"},
      {"boot.isolcpus", "warn"},
      {"runtime.swap", "pass"},
      {"runtime.thp", "pass"},
      {"runtime.cpufreq_governor", "info"},
      {"runtime.irq_affinity", "warn"},
      {"runtime.cpu_dma_latency", "pass"}}},
};

INSTANTIATE_TEST_SUITE_P(Trees, HostCheckFixtures, ::testing::ValuesIn(kCases), [](const auto& info) {
  std::string n = std::string(info.param.tree) + (info.param.cpus[0] ? "_rt" : "_nocpus");
  for (auto& ch : n)
    if (ch == '-') ch = '_';
  return n;
});

}  // namespace

TEST(HostCheck, JetsonChecksOnlyOnJetson) {
  auto got = verdicts("x86-preempt-rt-server", "2-7");
  EXPECT_EQ(got.count("jetson.l4t"), 0U);
  auto jet = verdicts("jetson-orin-nx-jp5", "2-7");
  EXPECT_EQ(jet.count("jetson.l4t"), 1U);
}

TEST(HostCheck, IdsAreKnownAndOrdered) {
  CheckOptions o;
  o.root = fixture("jetson-agx-orin-jp6-stock");
  o.rt_cpus = CpuSet::parse("4-11");
  auto findings = run_checks(o);
  const auto& ids = check_ids();
  ASSERT_EQ(findings.size(), ids.size());  // the Jetson tree produces every check
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(findings[i].id, ids[i]);
}

// The practice checklist's production leftovers, with their evidence and
// fix: on the stock Jetson tree a sched_switch event left enabled,
// schedstats on, and console log level 7 on the serial console ttyTCU0.
TEST(HostCheck, TracingAndConsoleLeftOnAreNamed) {
  CheckOptions o;
  o.root = fixture("jetson-agx-orin-jp6-stock");
  for (const auto& f : run_checks(o)) {
    if (f.id == "runtime.tracing") {
      EXPECT_NE(f.message.find("trace events, schedstats left on"), std::string::npos) << f.message;
      EXPECT_NE(f.value.find("set_event=sched:sched_switch"), std::string::npos) << f.value;
      EXPECT_NE(f.fix.find("sysctl -w kernel.sched_schedstats=0"), std::string::npos) << f.fix;
    }
    if (f.id == "runtime.console") {
      EXPECT_NE(f.message.find("console log level 7 on serial console ttyTCU0"), std::string::npos)
          << f.message;
      EXPECT_NE(f.fix.find("kernel.printk='4 4 1 7'"), std::string::npos) << f.fix;
    }
  }
}

TEST(HostCheck, EmptyRootGivesInfoNotCrash) {
  // A root with nothing in it: every reader must cope (unreadable = evidence).
  CheckOptions o;
  o.root = "/nonexistent-rtcell-root";
  auto findings = run_checks(o);
  EXPECT_FALSE(findings.empty());
}

TEST(HostCheck, BootArgs) {
  auto args = rt_boot_args(CpuSet::parse("2-3"), CpuSet::parse("0-3"));
  ASSERT_EQ(args.size(), 5U);
  EXPECT_EQ(args[0].second, "managed_irq,domain,2-3");
  EXPECT_EQ(args[3], (std::pair<std::string, std::string>{"irqaffinity", "0-1"}));
}

TEST(HostCheck, DynamicModelFromBuildDefaultWithoutDebugfs) {
  // this-vm: PREEMPT_DYNAMIC, CONFIG_PREEMPT_NONE=y, no preempt= and no debugfs.
  CheckOptions o;
  o.root = fixture("this-vm");
  for (auto& f : run_checks(o)) {
    if (f.id != "kernel.preempt_rt") continue;
    EXPECT_EQ(f.severity, Severity::Fail);
    EXPECT_NE(f.message.find("build default 'none'"), std::string::npos) << f.message;
  }
}

// ---- kernel.rt_group_sched: the rt_group_sched= boot option and what enforces a budget ----

namespace {

Finding rt_group_finding(const std::string& tree) {
  CheckOptions o;
  o.root = fixture(tree);
  for (auto& f : run_checks(o))
    if (f.id == "kernel.rt_group_sched") return f;
  ADD_FAILURE() << tree << ": no kernel.rt_group_sched finding";
  return {};
}

}  // namespace

TEST(HostCheckRtGroupSched, BootOptionZeroDisablesItEvenWhenBuiltIn) {
  // CONFIG_RT_GROUP_SCHED=y, cgroup v2, rt_group_sched=0 on the cmdline.
  const Finding f = rt_group_finding("x86-v2-rt-group-sched-off");
  EXPECT_EQ(f.severity, Severity::Info);
  EXPECT_EQ(f.file, "/proc/cmdline");
  EXPECT_EQ(f.value, "rt_group_sched=0");
  EXPECT_NE(f.message.find("disabled at boot (rt_group_sched=0, although CONFIG_RT_GROUP_SCHED=y)"),
            std::string::npos)
      << f.message;
  EXPECT_NE(f.message.find("SCHED_DEADLINE per task"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("rtcell's supervisor"), std::string::npos) << f.message;
  EXPECT_NE(f.fix.find("rt_group_sched=1"), std::string::npos) << f.fix;
}

TEST(HostCheckRtGroupSched, BootOptionOneWithAV1CpuControllerIsTheKernelCap) {
  const Finding f = rt_group_finding("x86-v1-rt-group-sched-on");
  EXPECT_EQ(f.severity, Severity::Info);
  EXPECT_EQ(f.value, "950000");
  EXPECT_NE(f.file.find("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"), std::string::npos) << f.file;
  EXPECT_NE(f.message.find("(rt_group_sched=1 on the kernel command line)"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("cgroup v1 cpu.rt_runtime_us throttles the cell"), std::string::npos) << f.message;
}

TEST(HostCheckRtGroupSched, WithoutTheBootOptionTheMessageNamesNone) {
  // this-vm: hybrid cgroups, v1 cpu controller, no rt_group_sched= on its cmdline.
  const Finding f = rt_group_finding("this-vm");
  EXPECT_EQ(f.message.find("rt_group_sched="), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("as a cap"), std::string::npos) << f.message;
  // x86-preempt-rt-server: cgroup v2 only; whichever branch its config
  // gives, the kernel enforces no RT group budget there.
  const Finding v2 = rt_group_finding("x86-preempt-rt-server");
  EXPECT_NE(v2.message.find("SCHED_DEADLINE per task"), std::string::npos) << v2.message;
}

// runtime.irq_threads against the cells' priority (what -f passes): the
// server tree's irq/* threads run at SCHED_FIFO 50.
TEST(HostCheck, IrqThreadsAgainstTheCellsPriority) {
  auto run = [](std::optional<int> prio) {
    CheckOptions o;
    o.root = fixture("x86-preempt-rt-server");
    o.rt_priority = prio;
    for (auto& f : run_checks(o))
      if (f.id == "runtime.irq_threads") return f;
    return Finding{};
  };
  Finding above = run(70);
  EXPECT_EQ(above.severity, Severity::Warn);
  EXPECT_NE(above.message.find("3 of 3 IRQ threads run below the cells' highest RT priority 70"),
            std::string::npos)
      << above.message;
  EXPECT_NE(above.fix.find("chrt -f -p 71"), std::string::npos) << above.fix;
  EXPECT_NE(above.value.find("irq/125-nvme0q3(131):50"), std::string::npos) << above.value;
  EXPECT_EQ(run(50).severity, Severity::Pass);
  EXPECT_EQ(run(10).severity, Severity::Pass);
  EXPECT_EQ(run(std::nullopt).severity, Severity::Info);
}

namespace {

// A tree written by the test: only the files one rule reads.
struct MiniTree {
  std::string root;
  MiniTree() {
    char t[] = "/tmp/rtcell-check-mini-XXXXXX";
    root = ::mkdtemp(t);
  }
  ~MiniTree() { std::filesystem::remove_all(root); }
  void put(const std::string& path, const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(root + path).parent_path());
    std::ofstream(root + path, std::ios::binary) << text;
  }
  Finding find(const std::string& id) const {
    CheckOptions o;
    o.root = root;
    for (auto& f : run_checks(o))
      if (f.id == id) return f;
    return Finding{};
  }
};

}  // namespace

TEST(HostCheck, SecureBootFromTheEfiVariable) {
  const std::string var = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
  MiniTree on;
  on.put(var, std::string("\x06\x00\x00\x00\x01", 5));
  EXPECT_EQ(on.find("security.secure_boot").severity, Severity::Pass);
  MiniTree off;
  off.put(var, std::string("\x06\x00\x00\x00\x00", 5));
  auto f = off.find("security.secure_boot");
  EXPECT_EQ(f.severity, Severity::Info);
  EXPECT_NE(f.message.find("disabled"), std::string::npos) << f.message;
  MiniTree none;
  none.put("/proc/cmdline", "quiet\n");
  EXPECT_NE(none.find("security.secure_boot").message.find("no UEFI variables"), std::string::npos);
}

TEST(HostCheck, VirtReadinessNamesWhatIsMissing) {
  MiniTree ready;
  ready.put("/dev/kvm", "");
  ready.put("/sys/kernel/iommu_groups/0/type", "DMA\n");
  ready.put("/proc/interrupts", "           CPU0\n 11:  5  GICv3  27 Level  arch_timer\n");
  auto f = ready.find("virt.readiness");
  EXPECT_EQ(f.severity, Severity::Pass) << f.message;
  EXPECT_NE(f.value.find("GICv3 yes"), std::string::npos) << f.value;

  MiniTree bare;
  bare.put("/proc/interrupts", "           CPU0\n 11:  5  GIC-0  27 Level  arch_timer\n");
  auto g = bare.find("virt.readiness");
  EXPECT_EQ(g.severity, Severity::Info);
  EXPECT_NE(g.message.find("no /dev/kvm, no GICv3 seen in /proc/interrupts, no IOMMU groups"),
            std::string::npos)
      << g.message;
  EXPECT_NE(g.fix.find("EL2"), std::string::npos) << g.fix;
  EXPECT_NE(g.fix.find("SMMU"), std::string::npos) << g.fix;
}

TEST(HostCheck, JetsonContainersAndModule) {
  auto jetson = [](MiniTree& t) {
    t.put("/etc/nv_tegra_release",
          "# R36 (release), REVISION: 4.3, GCID: 1, BOARD: generic, EABI: aarch64, DATE: x\n");
    t.put("/proc/device-tree/model", std::string("NVIDIA Jetson AGX Orin Developer Kit\0", 37));
    t.put("/sys/devices/system/cpu/online", "0-7\n");
    for (int cpu = 0; cpu < 8; ++cpu)
      t.put("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/cluster_id",
            std::to_string(cpu / 4) + "\n");
  };
  // Freshly flashed: no Docker, no toolkit; two cores switched off by the power mode.
  MiniTree fresh;
  jetson(fresh);
  fresh.put("/sys/devices/system/cpu/present", "0-11\n");
  fresh.put("/var/lib/dpkg/status",
            "Package: nvidia-l4t-core\nStatus: install ok installed\nVersion: 36.4.3\n");
  auto c = fresh.find("jetson.containers");
  EXPECT_EQ(c.severity, Severity::Warn);
  EXPECT_NE(c.message.find("Docker is not installed"), std::string::npos) << c.message;
  EXPECT_NE(c.fix.find("apt install docker.io nvidia-container-toolkit"), std::string::npos) << c.fix;
  auto m = fresh.find("jetson.module");
  EXPECT_EQ(m.severity, Severity::Warn);
  EXPECT_NE(m.message.find("cores 8-11 are present but offline"), std::string::npos) << m.message;
  EXPECT_NE(m.value.find("NVIDIA Jetson AGX Orin Developer Kit; online 0-7"), std::string::npos) << m.value;

  MiniTree set_up;
  jetson(set_up);
  set_up.put("/sys/devices/system/cpu/present", "0-7\n");
  set_up.put("/var/lib/dpkg/status",
             "Package: docker.io\nStatus: install ok installed\nVersion: 24.0.7-0ubuntu2~22.04.1\n\n"
             "Package: nvidia-container-toolkit\nStatus: install ok installed\nVersion: 1.16.2-1\n");
  auto ok = set_up.find("jetson.containers");
  EXPECT_EQ(ok.severity, Severity::Pass);
  EXPECT_EQ(ok.value, "docker.io 24.0.7-0ubuntu2~22.04.1; nvidia-container-toolkit 1.16.2-1");
  // RT CPUs against the clusters (0-3, 4-7).
  auto module_for = [&](const char* cpus) {
    CheckOptions o;
    o.root = set_up.root;
    o.rt_cpus = CpuSet::parse(cpus);
    for (auto& f : run_checks(o))
      if (f.id == "jetson.module") return f;
    return Finding{};
  };
  EXPECT_EQ(module_for("4-7").severity, Severity::Pass);
  auto split = module_for("2-5");
  EXPECT_EQ(split.severity, Severity::Info);
  EXPECT_NE(split.message.find("share clusters with housekeeping CPUs (0:0-3 1:4-7)"), std::string::npos)
      << split.message;
}
