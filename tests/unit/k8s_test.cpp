// The device plugin's pure half: the node configuration (every error one
// located line), per-CPU health from a fixture /proc and /sys, CPU packing,
// device globs, Allocate contents and the CDI spec of `rtcell cdi generate`
// (read back by rtcell's own CDI parser and resolved).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "front/cdi.hpp"
#include "k8s/devices.hpp"
#include "k8s/node_config.hpp"
#include "unit/error_helpers.hpp"

namespace rtcell::k8s {
namespace {

namespace fs = std::filesystem;

NodeConfig parse(const std::string& text) {
  return parse_node_config(text, "node.yaml");
}
std::string error_of(const std::string& text) {
  return test::message_of([&] { (void)parse(text); });
}

TEST(K8sNodeConfig, Defaults) {
  NodeConfig c = parse("");
  EXPECT_FALSE(c.rt_cpus);
  EXPECT_TRUE(c.require_isolation);
  EXPECT_EQ(c.resource_prefix, "rtcell.io");
  EXPECT_EQ(c.socket_dir, "/var/lib/kubelet/device-plugins");
  EXPECT_EQ(c.health_interval_ns, 10'000'000'000);
  EXPECT_EQ(cpu_resource(c), "rtcell.io/rt-cpu");
}

TEST(K8sNodeConfig, FullConfiguration) {
  NodeConfig c = parse(
      "rt_cpus: 2-3,6\nrequire_isolation: false\nresource_prefix: example.com\nsocket_dir: /tmp/dp\n"
      "health_interval: 250ms\nsched: rr:50\ndevices:\n"
      "  - name: video\n    globs: [/dev/video*]\n"
      "  - name: npu\n    globs: ['/dev/hailo*', '/dev/npu?']\n    permissions: rwm\n");
  ASSERT_TRUE(c.rt_cpus);
  EXPECT_EQ(c.rt_cpus->to_string(), "2-3,6");
  EXPECT_FALSE(c.require_isolation);
  EXPECT_EQ(c.health_interval_ns, 250'000'000);
  EXPECT_EQ(c.sched, "rr:50");
  ASSERT_EQ(c.devices.size(), 2u);
  EXPECT_EQ(class_resource(c, c.devices[1]), "example.com/npu");
  EXPECT_EQ(c.devices[1].globs, (std::vector<std::string>{"/dev/hailo*", "/dev/npu?"}));
  EXPECT_EQ(c.devices[1].permissions, "rwm");
  EXPECT_EQ(c.devices[0].permissions, "rw");
}

TEST(K8sNodeConfig, ErrorsAreOneLocatedLine) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"rt_cpus: 2-x\n", "node.yaml:1:10: rt_cpus: "},
      {"rt_cpus: ''\n", "node.yaml:1:10: rt_cpus is empty"},
      {"rt_cpu: 2\n", "node.yaml:1:1: unknown key 'rt_cpu'"},
      {"rt_cpus: 2\nrt_cpus: 3\n", "node.yaml:2:1: key 'rt_cpus' given twice"},
      {"health_interval: 50ms\n", "node.yaml:1:18: health_interval must be between"},
      {"health_interval: soon\n", "node.yaml:1:18: health_interval: "},
      {"socket_dir: relative\n", "node.yaml:1:13: socket_dir 'relative' must be an absolute"},
      {"sched: fifo:99\n", "node.yaml:1:8: sched priority: "},
      {"sched: deadline\n", "node.yaml:1:8: sched 'deadline' must be"},
      {"resource_prefix: Rtcell_IO\n", "node.yaml:1:18: resource_prefix 'Rtcell_IO'"},
      {"require_isolation: yes please\n", "node.yaml:1:20: require_isolation must be true or false"},
      {"devices: {}\n", "node.yaml:1:10: devices must be a list"},
      {"devices:\n  - name: Video\n    globs: [/dev/v*]\n", "node.yaml:2:11: devices[0].name 'Video'"},
      {"devices:\n  - name: rt-cpu\n    globs: [/dev/v*]\n", "devices[0].name 'rt-cpu' is the RT CPUs'"},
      {"devices:\n  - name: v\n", "node.yaml:2:5: devices[0] needs globs:"},
      {"devices:\n  - globs: [/dev/v*]\n", "node.yaml:2:5: devices[0] needs name:"},
      {"devices:\n  - name: v\n    globs: [dev/v*]\n", "node.yaml:3:13: devices[0].globs entry 'dev/v*'"},
      {"devices:\n  - name: v\n    globs: [/dev/../etc/*]\n", "must be an absolute path without '..'"},
      {"devices:\n  - name: v\n    globs: [/dev/v*]\n    permissions: rr\n", "devices[0].permissions 'rr'"},
      {"devices:\n  - name: v\n    globs: [/a]\n  - name: v\n    globs: [/b]\n",
       "node.yaml:4:5: device class 'v' given twice"},
      {"rt_cpus: [1\n", "node.yaml:"},
      {"- 1\n", "node.yaml:1:1: a node configuration is a map"},
  };
  for (const auto& c : cases) {
    const std::string err = error_of(c.text);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.text << " -> " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    EXPECT_EQ(test::kind_of([&] { (void)parse(c.text); }), ErrorKind::Usage) << c.text;
  }
}

TEST(K8sNodeConfig, DeepNestingIsRefusedBeforeParsing) {
  EXPECT_NE(error_of("rt_cpus: " + std::string(100, '[')).find("nested deeper"), std::string::npos);
}

// A fixture tree: 8 CPUs, 2-6 isolated, IRQ 9 on CPUs 0 and 7.
class K8sTree : public ::testing::Test {
 protected:
  fs::path root;
  void SetUp() override {
    char tmpl[] = "/tmp/rtcell-k8s-unit-XXXXXX";
    root = mkdtemp(tmpl);
    put("sys/devices/system/cpu/online", "0-7\n");
    put("sys/devices/system/cpu/isolated", "2-6\n");
    put("proc/irq/9/smp_affinity_list", "0,7\n");
    put("proc/irq/default_smp_affinity", "ff\n");  // not an IRQ directory: ignored
    put("proc/sys/kernel/sched_rt_runtime_us", "950000\n");
  }
  void TearDown() override { fs::remove_all(root); }
  void put(const std::string& rel, const std::string& text) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  }
};

TEST_F(K8sTree, HealthyWhenIsolatedWithoutIrqsAndThrottled) {
  auto h = cpu_health(root, CpuSet::parse("2-3"), true);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_TRUE(h[0].healthy) << h[0].reason;
  EXPECT_TRUE(h[1].healthy) << h[1].reason;
}

TEST_F(K8sTree, EachRuleMakesACpuUnhealthyWithItsReason) {
  put("proc/irq/12/smp_affinity_list", "3\n");
  auto h = cpu_health(root, CpuSet::parse("2-3,7"), true);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_TRUE(h[0].healthy);
  EXPECT_FALSE(h[1].healthy);
  EXPECT_NE(h[1].reason.find("IRQs 12 routed to it (runtime.irq_affinity"), std::string::npos) << h[1].reason;
  EXPECT_FALSE(h[2].healthy);  // CPU 7: IRQ 9 and not isolated
  EXPECT_NE(h[2].reason.find("IRQs 9"), std::string::npos) << h[2].reason;
  EXPECT_NE(h[2].reason.find("not isolated"), std::string::npos) << h[2].reason;
  // Isolation not promised: only the IRQ counts.
  h = cpu_health(root, CpuSet::parse("7"), false);
  EXPECT_EQ(h[0].reason.find("not isolated"), std::string::npos) << h[0].reason;
  put("proc/sys/kernel/sched_rt_runtime_us", "-1\n");
  h = cpu_health(root, CpuSet::parse("2"), true);
  EXPECT_FALSE(h[0].healthy);
  EXPECT_NE(h[0].reason.find("RT throttling off"), std::string::npos);
  put("sys/devices/system/cpu/online", "0-1\n");
  h = cpu_health(root, CpuSet::parse("2"), true);
  EXPECT_NE(h[0].reason.find("offline"), std::string::npos);
}

TEST_F(K8sTree, DefaultRtCpusFromIsolationThenNohzFull) {
  EXPECT_EQ(default_rt_cpus(root).cpus.to_string(), "2-6");
  fs::remove(root / "sys/devices/system/cpu/isolated");
  EXPECT_TRUE(default_rt_cpus(root).cpus.empty());
  put("sys/devices/system/cpu/nohz_full", "4-5\n");
  EXPECT_EQ(default_rt_cpus(root).cpus.to_string(), "4-5");
  fs::remove(root / "sys/devices/system/cpu/nohz_full");
  put("sys/fs/cgroup/cpuset.cpus.isolated", "6\n");
  EXPECT_EQ(default_rt_cpus(root).cpus.to_string(), "6");
}

TEST_F(K8sTree, TopologyAndDevices) {
  put("sys/devices/system/cpu/cpu2/topology/core_id", "1\n");
  put("sys/devices/system/cpu/cpu2/topology/cluster_id", "0\n");
  put("sys/devices/system/cpu/cpu2/node0/x", "");
  auto t = cpu_topology(root, CpuSet::parse("2-3"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].core, 1);
  EXPECT_EQ(t[0].cluster, 0);
  EXPECT_EQ(t[0].numa, 0);
  EXPECT_EQ(t[1].core, -1);  // no topology files
  put("dev/video1", "");
  put("dev/video0", "");
  put("dev/vhost-net", "");
  DeviceClass d{"video", {"/dev/video*", "/dev/video0"}, "rw"};
  auto devs = find_devices(root, d);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].id, "video0");
  EXPECT_EQ(devs[0].path, "/dev/video0");
  EXPECT_EQ(devs[1].path, "/dev/video1");
}

std::vector<CpuTopology> board() {
  // cluster 0: CPUs 0-3 (0+1 and 2+3 are one core's threads); cluster 1: 4-7, one thread a core.
  std::vector<CpuTopology> t;
  for (int c = 0; c < 8; ++c) t.push_back({c, 0, c < 4 ? 0 : 1, c < 4 ? c / 2 : c, -1});
  return t;
}

TEST(K8sPacking, SiblingsThenClusterAndBestFit) {
  auto t = board();
  // Two CPUs: a whole core first.
  EXPECT_EQ(preferred_cpus(t, {0, 1, 2, 3, 4, 5, 6, 7}, {}, 2), (std::vector<int>{0, 1}));
  // Cluster 1 has only 2 free, cluster 0 four: best fit takes cluster 1.
  EXPECT_EQ(preferred_cpus(t, {0, 1, 2, 3, 6, 7}, {}, 2), (std::vector<int>{6, 7}));
  // A must-include CPU pulls its sibling.
  EXPECT_EQ(preferred_cpus(t, {0, 1, 2, 3, 4, 5}, {3}, 2), (std::vector<int>{2, 3}));
  // More than any cluster holds: the largest cluster first, then the rest.
  EXPECT_EQ(preferred_cpus(t, {0, 1, 4, 5, 6}, {}, 4), (std::vector<int>{0, 4, 5, 6}));
  // Never more than offered; no topology at all still gives lowest first.
  EXPECT_EQ(preferred_cpus(t, {5}, {}, 3), (std::vector<int>{5}));
  EXPECT_EQ(preferred_cpus({}, {9, 3, 5}, {}, 2), (std::vector<int>{3, 5}));
}

TEST(K8sIds, CpuDeviceIds) {
  EXPECT_EQ(cpu_device_id(12), "cpu12");
  EXPECT_EQ(parse_cpu_device_id("cpu12"), 12);
  for (const char* bad : {"cpu", "cpu01", "cpux", "gpu1", "cpu123456"})
    EXPECT_FALSE(parse_cpu_device_id(bad)) << bad;
}

TEST(K8sAllocate, CpusGiveEnvAndRuntimeAnnotations) {
  NodeConfig c = parse("sched: fifo:70\n");
  Allocation a = allocate_cpus(c, {3, 2});
  EXPECT_EQ(a.envs.at("RTCELL_CPUS"), "2-3");
  EXPECT_EQ(a.annotations.at("rtcell.io/cpus"), "2-3");
  EXPECT_EQ(a.annotations.at("rtcell.io/sched"), "fifo:70");
  // sched: none leaves the scheduler to the pod's own annotations.
  a = allocate_cpus(parse("sched: none\n"), {2});
  EXPECT_FALSE(a.annotations.count("rtcell.io/sched"));
  EXPECT_EQ(a.annotations.at("rtcell.io/cpus"), "2");
}

TEST_F(K8sTree, CdiSpecIsReadBackAndResolvedByTheCdiParser) {
  put("dev/video0", "");
  put("dev/video1", "");
  NodeConfig c = parse("devices:\n  - name: video\n    globs: [/dev/video*]\n");
  auto devs = find_devices(root, c.devices[0]);
  nlohmann::json spec = cdi_spec(c, c.devices[0], devs);
  EXPECT_EQ(spec["cdiVersion"], "0.6.0");
  EXPECT_EQ(spec["kind"], "rtcell.io/video");
  const fs::path dir = root / "cdi";
  fs::create_directories(dir);
  std::ofstream(dir / "rtcell-video.json") << spec.dump(2);
  front::cdi::Registry reg = front::cdi::load({dir.string()});
  ASSERT_EQ(reg.specs.size(), 1u);
  front::cdi::Resolved r = front::cdi::resolve(reg, {"rtcell.io/video=video1"});
  ASSERT_EQ(r.edits.device_nodes.size(), 1u);
  EXPECT_EQ(r.edits.device_nodes[0].path, "/dev/video1");
  EXPECT_EQ(r.edits.env, (std::vector<std::string>{"RTCELL_DEVICE_VIDEO_VIDEO1=/dev/video1"}));
  // Allocate names the device by CDI only where the spec has it.
  Allocation a =
      allocate_devices(c, c.devices[0], {{"video1", "/dev/video1"}, {"video9", "/dev/video9"}}, &reg);
  EXPECT_EQ(a.cdi_devices, (std::vector<std::string>{"rtcell.io/video=video1"}));
  ASSERT_EQ(a.devices.size(), 2u);
  EXPECT_EQ(a.devices[1].host_path, "/dev/video9");
}

}  // namespace
}  // namespace rtcell::k8s
