// rtcell-device-plugin's cost per node, which is what a fleet of hundreds of
// nodes multiplies: Allocate latency (the kubelet calls it while a pod
// starts; target < 10 ms), the time from a CPU's health change to the
// kubelet's ListAndWatch seeing it (SIGHUP here; the periodic check adds up
// to health_interval), and the plugin's RSS and CPU time while idle.
// Measures and prints; never asserts. Usage:
//   device_plugin_bench [ALLOCATES=2000] [HEALTH_FLIPS=50] [IDLE_SECONDS=10]
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "deviceplugin.grpc.pb.h"

extern char** environ;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

class Kubelet final : public v1beta1::Registration::Service {
 public:
  grpc::Status Register(grpc::ServerContext*, const v1beta1::RegisterRequest* r, v1beta1::Empty*) override {
    std::lock_guard lk(m);
    endpoint = r->endpoint();
    cv.notify_all();
    return grpc::Status::OK;
  }
  std::mutex m;
  std::condition_variable cv;
  std::string endpoint;
};

void put(const fs::path& p, const std::string& t) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << t;
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string field(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(key, 0) == 0) return l.substr(key.size());
  return "";
}

long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(s.substr(s.rfind(')') + 2));
  std::string x;
  long ut = 0, st = 0;
  for (int i = 3; i <= 13; ++i) rest >> x;
  rest >> ut >> st;
  return ut + st;
}

void print(const char* what, const std::vector<double>& us) {
  std::printf("%-34s n=%zu  p50 %.0f us  p99 %.0f us  max %.0f us\n", what, us.size(), pct(us, 0.5),
              pct(us, 0.99), *std::max_element(us.begin(), us.end()));
}

}  // namespace

int main(int argc, char** argv) {
  const int allocates = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int flips = argc > 2 ? std::atoi(argv[2]) : 50;
  const int idle_s = argc > 3 ? std::atoi(argv[3]) : 10;
  char tmpl[] = "/tmp/rtcell-dp-bench-XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  const fs::path root = dir / "root", sock = dir / "sock";
  fs::create_directories(sock);
  put(root / "sys/devices/system/cpu/online", "0-7\n");
  put(root / "sys/devices/system/cpu/isolated", "2-7\n");
  put(root / "proc/irq/9/smp_affinity_list", "0\n");
  put(dir / "node.yaml", "rt_cpus: 2-7\nhealth_interval: 1h\nsocket_dir: " + sock.string() + "\n");

  Kubelet k;
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + (sock / "kubelet.sock").string(), grpc::InsecureServerCredentials());
  b.RegisterService(&k);
  auto server = b.BuildAndStart();

  const std::string bin = RTCELL_DEVICE_PLUGIN_BIN, cfg = (dir / "node.yaml").string(), r = root.string();
  const std::string log = (dir / "plugin.log").string();
  char* args[] = {const_cast<char*>(bin.c_str()), const_cast<char*>("--config"),
                  const_cast<char*>(cfg.c_str()), const_cast<char*>("--root"),
                  const_cast<char*>(r.c_str()),   nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, args, environ) != 0) return 1;
  std::string endpoint;
  {
    std::unique_lock lk(k.m);
    k.cv.wait_for(lk, std::chrono::seconds(30), [&] { return !k.endpoint.empty(); });
    endpoint = k.endpoint;
  }
  if (endpoint.empty()) {
    std::fprintf(stderr, "plugin did not register\n");
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return 1;
  }
  auto stub = v1beta1::DevicePlugin::NewStub(
      grpc::CreateChannel("unix:" + (sock / endpoint).string(), grpc::InsecureChannelCredentials()));

  std::vector<double> alloc;
  for (int i = 0; i < allocates; ++i) {
    grpc::ClientContext ctx;
    v1beta1::AllocateRequest req;
    req.add_container_requests()->add_devicesids("cpu" + std::to_string(2 + i % 6));
    v1beta1::AllocateResponse resp;
    auto t0 = Clock::now();
    grpc::Status s = stub->Allocate(&ctx, req, &resp);
    alloc.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!s.ok()) std::fprintf(stderr, "Allocate failed: %s\n", s.error_message().c_str());
  }
  print("Allocate (1 CPU, one channel)", alloc);

  grpc::ClientContext wctx;
  auto watch = stub->ListAndWatch(&wctx, v1beta1::Empty());
  v1beta1::ListAndWatchResponse l;
  watch->Read(&l);
  std::vector<double> health;
  for (int i = 0; i < flips; ++i) {
    put(root / "proc/irq/9/smp_affinity_list", i % 2 == 0 ? "0,2\n" : "0\n");
    auto t0 = Clock::now();
    kill(pid, SIGHUP);
    if (!watch->Read(&l)) break;
    health.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  if (!health.empty()) print("health change -> ListAndWatch", health);

  const long t0 = cpu_ticks(pid);
  std::this_thread::sleep_for(std::chrono::seconds(idle_s));  // measuring idle, not synchronising
  const long t1 = cpu_ticks(pid);
  const std::string status = "/proc/" + std::to_string(pid) + "/status";
  std::printf("idle %d s: CPU %.3f%% (%ld ticks of %ld/s), VmRSS%s, VmHWM%s, threads%s\n", idle_s,
              100.0 * static_cast<double>(t1 - t0) / static_cast<double>(sysconf(_SC_CLK_TCK) * idle_s),
              t1 - t0, sysconf(_SC_CLK_TCK), field(status, "VmRSS:").c_str(), field(status, "VmHWM:").c_str(),
              field(status, "Threads:").c_str());
  wctx.TryCancel();
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  server->Shutdown();
  fs::remove_all(dir);
  return 0;
}
