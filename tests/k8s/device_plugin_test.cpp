// rtcell-device-plugin against a kubelet stand-in (the intel device
// plugins' server_test.go is the model): the test serves the kubelet's
// Registration service on <tmp>/kubelet.sock, starts the real plugin
// process, and then does what the kubelet does: accepts the registration,
// connects back to the plugin's socket, reads ListAndWatch, calls
// GetPreferredAllocation and Allocate; restarts itself (removes the
// plugin's socket and kubelet.sock, serves a new kubelet.sock) and expects
// the plugin to register again; changes a CPU's fitness in the fixture
// tree, sends SIGHUP, and expects the health update on the stream.
//
// The /proc and /sys the plugin reads are a fixture tree written here (a
// made-up 8-CPU board with two clusters; not captured from a real one).
// Every wait is on an event (a registration under a condition variable, a
// stream message, waitpid); the deadlines only turn a hang into a failure.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "deviceplugin.grpc.pb.h"
#include "k8s/devices.hpp"
#include "k8s/kubelet_standin.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace rtcell::test::kubelet;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/rtcell-k8s-XXXXXX";
    path = mkdtemp(tmpl);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class DevicePlugin : public ::testing::Test {
 protected:
  TempDir tmp;
  fs::path root, sock, cdi;
  std::string config;

  void SetUp() override {
    root = fs::path(tmp.path) / "root";
    sock = fs::path(tmp.path) / "sock";
    cdi = fs::path(tmp.path) / "cdi";
    fs::create_directories(sock);
    fs::create_directories(cdi);
    const fs::path cpu = root / "sys/devices/system/cpu";
    write(cpu / "online", "0-7\n");
    write(cpu / "isolated", "2-6\n");
    // cluster 0: CPUs 0-4, with 2 and 3 one core's two threads; cluster 1: 5-7.
    const int core[] = {0, 0, 1, 1, 2, 3, 4, 5};
    for (int c = 0; c < 8; ++c) {
      const fs::path t = cpu / ("cpu" + std::to_string(c)) / "topology";
      write(t / "physical_package_id", "0\n");
      write(t / "cluster_id", c < 5 ? "0\n" : "1\n");
      write(t / "core_id", std::to_string(core[c]) + "\n");
    }
    write(root / "proc/irq/1/smp_affinity_list", "0-1\n");
    write(root / "proc/irq/9/smp_affinity_list", "0,7\n");
    write(root / "proc/sys/kernel/sched_rt_runtime_us", "950000\n");
    write(root / "dev/video0", "");
    write(root / "dev/video1", "");
    write(root / "dev/ttyUSB0", "");
    config = tmp.path + "/node.yaml";
    write(config,
          "rt_cpus: 2-6\n"
          "sched: fifo:70\n"
          "health_interval: 1h\n"  // health changes come by SIGHUP here
          "socket_dir: " +
              sock.string() +
              "\n"
              "devices:\n"
              "  - name: video\n"
              "    globs: [/dev/video*]\n"
              "  - name: serial\n"
              "    globs: [/dev/ttyUSB*]\n"
              "    permissions: rwm\n");
    // A CDI spec for the video class, as `rtcell cdi generate` writes it.
    rtcell::k8s::NodeConfig c = rtcell::k8s::parse_node_config(slurp(config), config);
    write(cdi / "rtcell-video.json",
          rtcell::k8s::cdi_spec(c, c.devices[0], rtcell::k8s::find_devices(root.string(), c.devices[0]))
              .dump(2));
  }

  pid_t start_plugin() {
    return spawn({RTCELL_DEVICE_PLUGIN_BIN, "--config", config, "--root", root.string(), "--cdi-spec-dir",
                  cdi.string()},
                 tmp.path + "/plugin.log");
  }

  std::unique_ptr<v1beta1::DevicePlugin::Stub> connect(const std::string& endpoint) {
    return v1beta1::DevicePlugin::NewStub(
        grpc::CreateChannel("unix:" + (sock / endpoint).string(), grpc::InsecureChannelCredentials()));
  }
};

std::string health_of(const v1beta1::ListAndWatchResponse& r, const std::string& id) {
  for (const auto& d : r.devices())
    if (d.id() == id) return d.health();
  return "absent";
}

TEST_F(DevicePlugin, RegistersServesAllocatesWatchesHealthAndReregistersAfterKubeletRestart) {
  Kubelet kubelet;
  const std::string kubelet_sock = (sock / "kubelet.sock").string();
  auto server = serve(kubelet, kubelet_sock);
  ASSERT_TRUE(server);
  Child plugin;
  plugin.pid = start_plugin();
  ASSERT_GT(plugin.pid, 0);

  // Registration: one per resource, v1beta1, with its own endpoint.
  auto regs = kubelet.wait_for(3);
  ASSERT_EQ(regs.size(), 3u) << slurp(tmp.path + "/plugin.log");
  std::map<std::string, v1beta1::RegisterRequest> by_name;
  for (const auto& r : regs) by_name[r.resource_name()] = r;
  ASSERT_TRUE(by_name.count("rtcell.io/rt-cpu"));
  ASSERT_TRUE(by_name.count("rtcell.io/video"));
  ASSERT_TRUE(by_name.count("rtcell.io/serial"));
  for (const auto& [name, r] : by_name) {
    EXPECT_EQ(r.version(), "v1beta1");
    EXPECT_TRUE(r.options().get_preferred_allocation_available()) << name;
    EXPECT_TRUE(fs::exists(sock / r.endpoint())) << name << " endpoint " << r.endpoint();
  }

  // Connect back, like the kubelet: options, then the stream.
  auto cpu = connect(by_name["rtcell.io/rt-cpu"].endpoint());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1beta1::DevicePluginOptions opts;
    ASSERT_TRUE(cpu->GetDevicePluginOptions(&ctx, v1beta1::Empty(), &opts).ok());
    EXPECT_FALSE(opts.pre_start_required());
    EXPECT_TRUE(opts.get_preferred_allocation_available());
  }
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(deadline(std::chrono::seconds(120)));
  auto watch = cpu->ListAndWatch(&watch_ctx, v1beta1::Empty());
  v1beta1::ListAndWatchResponse list;
  ASSERT_TRUE(watch->Read(&list));
  ASSERT_EQ(list.devices_size(), 5);
  for (const char* id : {"cpu2", "cpu3", "cpu4", "cpu5", "cpu6"})
    EXPECT_EQ(health_of(list, id), "Healthy") << id;

  // GetPreferredAllocation packs: two CPUs go to the cluster they fill
  // (cluster 1 offers exactly 5 and 6); with cpu2 required, its sibling.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1beta1::PreferredAllocationRequest req;
    auto* a = req.add_container_requests();
    for (const char* id : {"cpu2", "cpu3", "cpu4", "cpu5", "cpu6"}) a->add_available_deviceids(id);
    a->set_allocation_size(2);
    auto* b = req.add_container_requests();
    for (const char* id : {"cpu2", "cpu3", "cpu4", "cpu5", "cpu6"}) b->add_available_deviceids(id);
    b->add_must_include_deviceids("cpu2");
    b->set_allocation_size(2);
    v1beta1::PreferredAllocationResponse resp;
    ASSERT_TRUE(cpu->GetPreferredAllocation(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.container_responses_size(), 2);
    EXPECT_EQ(std::vector<std::string>(resp.container_responses(0).deviceids().begin(),
                                       resp.container_responses(0).deviceids().end()),
              (std::vector<std::string>{"cpu5", "cpu6"}));
    EXPECT_EQ(std::vector<std::string>(resp.container_responses(1).deviceids().begin(),
                                       resp.container_responses(1).deviceids().end()),
              (std::vector<std::string>{"cpu2", "cpu3"}));
  }

  // Allocate: the CPUs as env and the annotations rtcell-runtime reads.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1beta1::AllocateRequest req;
    auto* c = req.add_container_requests();
    c->add_devicesids("cpu5");
    c->add_devicesids("cpu6");
    v1beta1::AllocateResponse resp;
    ASSERT_TRUE(cpu->Allocate(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.container_responses_size(), 1);
    const auto& r = resp.container_responses(0);
    EXPECT_EQ(r.envs().at("RTCELL_CPUS"), "5-6");
    EXPECT_EQ(r.annotations().at("rtcell.io/cpus"), "5-6");
    EXPECT_EQ(r.annotations().at("rtcell.io/sched"), "fifo:70");
    EXPECT_EQ(r.devices_size(), 0);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1beta1::AllocateRequest req;
    req.add_container_requests()->add_devicesids("cpu7");  // not an RT CPU of this node
    v1beta1::AllocateResponse resp;
    grpc::Status s = cpu->Allocate(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("cpu7"), std::string::npos) << s.error_message();
  }

  // A device class: the node as a DeviceSpec, and its CDI name where a CDI
  // spec names it (video has one, serial has none).
  {
    auto video = connect(by_name["rtcell.io/video"].endpoint());
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1beta1::AllocateRequest req;
    req.add_container_requests()->add_devicesids("video1");
    v1beta1::AllocateResponse resp;
    ASSERT_TRUE(video->Allocate(&ctx, req, &resp).ok());
    const auto& r = resp.container_responses(0);
    ASSERT_EQ(r.devices_size(), 1);
    EXPECT_EQ(r.devices(0).host_path(), "/dev/video1");
    EXPECT_EQ(r.devices(0).container_path(), "/dev/video1");
    EXPECT_EQ(r.devices(0).permissions(), "rw");
    ASSERT_EQ(r.cdi_devices_size(), 1);
    EXPECT_EQ(r.cdi_devices(0).name(), "rtcell.io/video=video1");
  }
  {
    auto serial = connect(by_name["rtcell.io/serial"].endpoint());
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1beta1::AllocateRequest req;
    req.add_container_requests()->add_devicesids("ttyUSB0");
    v1beta1::AllocateResponse resp;
    ASSERT_TRUE(serial->Allocate(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.container_responses(0).devices_size(), 1);
    EXPECT_EQ(resp.container_responses(0).devices(0).permissions(), "rwm");
    EXPECT_EQ(resp.container_responses(0).cdi_devices_size(), 0);
  }

  // Health: an IRQ routed onto CPU 2 makes it Unhealthy; routed away, Healthy.
  write(root / "proc/irq/9/smp_affinity_list", "0,2\n");
  ASSERT_EQ(::kill(plugin.pid, SIGHUP), 0);
  do ASSERT_TRUE(watch->Read(&list)) << "no health update";
  while (health_of(list, "cpu2") != "Unhealthy");
  EXPECT_EQ(health_of(list, "cpu3"), "Healthy");
  write(root / "proc/irq/9/smp_affinity_list", "0,7\n");
  ASSERT_EQ(::kill(plugin.pid, SIGHUP), 0);
  do ASSERT_TRUE(watch->Read(&list)) << "no health update";
  while (health_of(list, "cpu2") != "Healthy");

  // The kubelet restarts: it removes the plugins' sockets, then serves a
  // new kubelet.sock. The plugin serves again and registers again.
  server->Shutdown(deadline(5s));
  server.reset();
  kubelet.clear();
  fs::remove(kubelet_sock);
  for (const auto& [name, r] : by_name) fs::remove(sock / r.endpoint());
  server = serve(kubelet, kubelet_sock);
  ASSERT_TRUE(server);
  regs = kubelet.wait_for(3);
  ASSERT_EQ(regs.size(), 3u) << slurp(tmp.path + "/plugin.log");
  {
    auto again = connect(by_name["rtcell.io/rt-cpu"].endpoint());
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    auto w = again->ListAndWatch(&ctx, v1beta1::Empty());
    v1beta1::ListAndWatchResponse l;
    ASSERT_TRUE(w->Read(&l));
    EXPECT_EQ(l.devices_size(), 5);
    ctx.TryCancel();
  }
  watch_ctx.TryCancel();

  // SIGTERM: a clean stop, its sockets gone.
  ASSERT_EQ(::kill(plugin.pid, SIGTERM), 0);
  const int st = plugin.wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << slurp(tmp.path + "/plugin.log");
  for (const auto& [name, r] : by_name) EXPECT_FALSE(fs::exists(sock / r.endpoint())) << r.endpoint();
  EXPECT_TRUE(fs::exists(kubelet_sock));
  server->Shutdown(deadline(5s));
}

// Without SIGHUP the periodic check (health_interval) finds the change.
TEST_F(DevicePlugin, PeriodicCheckReportsHealthWithoutASignal) {
  std::string text = slurp(config);
  text.replace(text.find("health_interval: 1h"), 19, "health_interval: 100ms");
  write(config, text);
  Kubelet kubelet;
  auto server = serve(kubelet, (sock / "kubelet.sock").string());
  ASSERT_TRUE(server);
  Child plugin;
  plugin.pid = start_plugin();
  ASSERT_GT(plugin.pid, 0);
  auto regs = kubelet.wait_for(3);
  ASSERT_EQ(regs.size(), 3u) << slurp(tmp.path + "/plugin.log");
  auto cpu = connect("rtcell-rt-cpu.sock");
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline());
  auto watch = cpu->ListAndWatch(&ctx, v1beta1::Empty());
  v1beta1::ListAndWatchResponse list;
  ASSERT_TRUE(watch->Read(&list));
  EXPECT_EQ(health_of(list, "cpu4"), "Healthy");
  write(root / "sys/devices/system/cpu/isolated", "2-3,5-6\n");  // CPU 4 no longer isolated
  do ASSERT_TRUE(watch->Read(&list)) << "no health update";
  while (health_of(list, "cpu4") != "Unhealthy");
  ctx.TryCancel();
  ASSERT_EQ(::kill(plugin.pid, SIGTERM), 0);
  const int st = plugin.wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_NE(slurp(tmp.path + "/plugin.log").find("cpu4 Unhealthy: not isolated"), std::string::npos)
      << slurp(tmp.path + "/plugin.log");
  server->Shutdown(deadline(5s));
}

TEST_F(DevicePlugin, BadConfigurationIsOneLineAndLeavesNoSocket) {
  write(config, "rt_cpus: 2-6\nsocket_dir: " + sock.string() +
                    "\ndevices:\n  - name: Video\n    globs: [/dev/video*]\n");
  Child plugin;
  plugin.pid = start_plugin();
  ASSERT_GT(plugin.pid, 0);
  const int st = plugin.wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
  const std::string err = slurp(tmp.path + "/plugin.log");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("node.yaml:4:"), std::string::npos) << err;
  EXPECT_TRUE(fs::is_empty(sock));
}

TEST_F(DevicePlugin, MissingSocketDirectoryIsOneLineAndLeavesNothing) {
  write(config, "rt_cpus: 2-6\nsocket_dir: " + tmp.path + "/nope\n");
  Child plugin;
  plugin.pid = start_plugin();
  ASSERT_GT(plugin.pid, 0);
  const int st = plugin.wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
  const std::string err = slurp(tmp.path + "/plugin.log");
  EXPECT_NE(err.find("socket_dir"), std::string::npos) << err;
  EXPECT_EQ(err.substr(err.rfind('\n', err.size() - 2) + 1).find("rtcell-device-plugin: socket_dir"), 0u)
      << err;
}

}  // namespace
