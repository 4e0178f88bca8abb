// The CRI path, as the kubelet drives it: containerd 1.6's own CRI plugin
// (built into Debian's containerd), started here with temporary roots and
// a runtime handler `rtcell` from deploy/containerd-config.toml itself
// (runc's shim with BinaryName rtcell-runtime, rtcell.io/* annotations
// passed through). The test is the kubelet's half: a runtime.v1 client
// (tests/k8s/proto/cri_api.proto, upstream names and field numbers) calls
// RunPodSandbox with runtime_handler "rtcell", CreateContainer and
// StartContainer with the pod's annotations, ExecSync, and tears the pod
// down with StopPodSandbox and RemovePodSandbox.
//
// What cannot exist here, and what stands in for it: no image registry
// (offline), so the sandbox ("pause") image and the container image are one
// small image made here from Debian's busybox-static and imported with
// `ctr -n k8s.io images import`; no CNI network, so the pods use the node's
// network (NamespaceOption.network = NODE), as hostNetwork pods do.
//
// Every wait is on an answer (a gRPC call returns when containerd has done
// it; containerd says READY=1 when it serves), never a sleep.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cri_api.grpc.pb.h"
#include "integration/oci_support.hpp"
#include "k8s/kubelet_standin.hpp"

namespace rtcell::test {
namespace {

using nlohmann::json;
namespace cri = runtime::v1;

const char* const kImage = "rtcell.test/busybox:1";

#if defined(__aarch64__)
const char* const kArch = "arm64";
#else
const char* const kArch = "amd64";
#endif

// An image in `docker save` form (what `ctr images import` reads): one
// uncompressed layer with busybox-static and its applets, whose config's
// diff_id is the layer's sha256 (containerd checks it when it unpacks).
// The entrypoint blocks, so it serves as the sandbox ("pause") image too.
std::string make_image(const std::string& dir) {
  const std::string root = dir + "/image-root";
  fs::create_directories(root + "/bin");
  fs::copy_file("/bin/busybox", root + "/bin/busybox");
  for (const char* a : {"sh", "sleep", "cat", "grep", "chrt", "true"})
    fs::create_symlink("busybox", root + "/bin/" + a);
  for (const char* d : {"/proc", "/sys", "/dev", "/etc", "/tmp", "/run"}) fs::create_directories(root + d);
  const std::string img = dir + "/image";
  fs::create_directories(img);
  run_argv({"/bin/tar", "-C", root, "-cf", img + "/layer.tar", "."});
  Result sum = run_argv({"/usr/bin/sha256sum", img + "/layer.tar"});
  const std::string digest = sum.out.substr(0, 64);
  json config = {{"architecture", kArch},
                 {"os", "linux"},
                 {"config", {{"Entrypoint", {"/bin/sleep", "2147483647"}}, {"Env", {"PATH=/bin"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + digest}}}}};
  std::ofstream(img + "/config.json") << config.dump();
  json manifest =
      json::array({{{"Config", "config.json"}, {"RepoTags", {kImage}}, {"Layers", {"layer.tar"}}}});
  std::ofstream(img + "/manifest.json") << manifest.dump();
  const std::string tar = dir + "/image.tar";
  run_argv({"/bin/tar", "-C", img, "-cf", tar, "manifest.json", "config.json", "layer.tar"});
  fs::remove_all(root);
  fs::remove_all(img);
  return tar;
}

// A manifest with one cell pinned to CPU 0 (100 ms period, 20 ms of work):
// each fits alone; on one CPU without budgets a second such cell is not
// guaranteed any supply, so it is refused next to the first (AdmitRunning).
std::string cell_yaml(const std::string& name, int prio) {
  return "version: 1\ncells:\n  - name: " + name +
         "\n    cpus: \"0\"\n    sched: fifo:" + std::to_string(prio) + "\n    tasks:\n      - {name: t" +
         name + ", period: 100ms, wcet: 20ms}\n";
}

int ledger_entries(const std::string& ledger) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ledger, ec))
    if (e.path().extension() == ".json") ++n;
  return n;
}

// A process's policy and RT priority from its /proc/PID/stat line (fields
// 41 and 40, proc(5)); busybox has no chrt applet.
struct Sched {
  int policy = -1;
  int priority = -1;
};
Sched sched_of(const std::string& stat) {
  Sched s;
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return s;
  std::istringstream in(stat.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  // f[0] is field 3 (state): field N is f[N - 3].
  if (f.size() < 39) return s;
  s.priority = std::stoi(f[37]);
  s.policy = std::stoi(f[38]);
  return s;
}

// What the kubelet gets from rtcell-device-plugin for a container that
// asks for `rtcell.io/rt-cpu: 1` and is given `cpu`: the plugin runs on
// this host's /proc and /sys with a node configuration naming that CPU,
// registers with a Registration stand-in, and answers Allocate.
struct Allocated {
  std::map<std::string, std::string> annotations, envs;
  std::string error;  // "" when Allocate answered
};
Allocated allocate_rt_cpu(const std::string& dir, int cpu) {
  Allocated out;
  const std::string sock = dir + "/device-plugins";
  fs::create_directories(sock);
  const std::string node = dir + "/node.yaml";
  std::ofstream(node) << "rt_cpus: \"" << cpu
                      << "\"\nsched: fifo:70\nhealth_interval: 1h\nsocket_dir: " << sock << "\n";
  kubelet::Kubelet k;
  auto server = kubelet::serve(k, sock + "/kubelet.sock");
  kubelet::Child plugin;
  plugin.pid = kubelet::spawn({RTCELL_DEVICE_PLUGIN_BIN, "--config", node}, dir + "/plugin.log");
  auto regs = k.wait_for(1);
  if (regs.empty()) {
    out.error = "the device plugin did not register: " + slurp(dir + "/plugin.log");
    return out;
  }
  auto stub = v1beta1::DevicePlugin::NewStub(
      grpc::CreateChannel("unix:" + sock + "/" + regs[0].endpoint(), grpc::InsecureChannelCredentials()));
  v1beta1::AllocateRequest req;
  req.add_container_requests()->add_devicesids("cpu" + std::to_string(cpu));
  v1beta1::AllocateResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(kubelet::deadline());
  grpc::Status s = stub->Allocate(&ctx, req, &resp);
  if (!s.ok() || resp.container_responses_size() != 1) {
    out.error = "Allocate: " + s.error_message();
    return out;
  }
  for (const auto& [key, value] : resp.container_responses(0).annotations()) out.annotations[key] = value;
  for (const auto& [key, value] : resp.container_responses(0).envs()) out.envs[key] = value;
  ::kill(plugin.pid, SIGTERM);
  plugin.wait();
  server->Shutdown(kubelet::deadline(std::chrono::seconds(5)));
  return out;
}

// The pid a CRI verbose status reports ("info" holds containerd's JSON).
int pid_of(const google::protobuf::Map<std::string, std::string>& info) {
  auto it = info.find("info");
  if (it == info.end()) return -1;
  json j = json::parse(it->second, nullptr, false);
  return j.is_object() && j.contains("pid") ? j["pid"].get<int>() : -1;
}

class CriRuntimeHandler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!runnable().empty()) return;
    dir_ = std::make_unique<TempDir>();
    const std::string& d = dir_->path;
    // Admissions of this suite go to a ledger of its own; containerd's
    // shims, and the runtimes they start, inherit it.
    ledger_ = d + "/ledger";
    setenv("RTCELL_LEDGER", ledger_.c_str(), 1);
    // deploy/containerd-config.toml as shipped, with this build's runtime
    // for /usr/bin/rtcell-runtime, a runtime state root of its own, and
    // this containerd's own settings in its CRI table (the sandbox image;
    // the pause gets oom_score_adj -998, and lowering it needs
    // CAP_SYS_RESOURCE, which this host's bounding set lacks while a
    // node's root has it: containerd's option for such a host).
    std::string deploy = slurp(std::string(RTCELL_SOURCE_DIR) + "/deploy/containerd-config.toml");
    auto replace = [&deploy](const std::string& from, const std::string& to) {
      const size_t at = deploy.find(from);
      if (at == std::string::npos) return false;
      deploy.replace(at, from.size(), to);
      return true;
    };
    deploy_ok_ = replace("version = 2\n", "") &&
                 replace("BinaryName = \"/usr/bin/rtcell-runtime\"",
                         "BinaryName = \"" + kRuntime + "\"\n    Root = \"" + d + "/runtime\"") &&
                 replace("[plugins.\"io.containerd.grpc.v1.cri\"]\n",
                         "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"" +
                             std::string(kImage) + "\"\n  restrict_oom_score_adj = true\n");
    std::ofstream(d + "/config.toml")
        << "version = 2\nroot = \"" << d << "/root\"\nstate = \"" << d << "/state\"\n"
        << "[grpc]\n  address = \"" << d << "/containerd.sock\"\n"
        << "[ttrpc]\n  address = \"" << d << "/containerd.sock.ttrpc\"\n"
        << deploy
        // The only runtime here, so the default too; no CNI (hostNetwork pods).
        << "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"rtcell\"\n"
        << "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \"" << d << "/cni/bin\"\n  conf_dir = \""
        << d << "/cni/conf\"\n";
    daemon_ = std::make_unique<Daemon>(
        d, std::vector<std::string>{"/usr/bin/containerd", "--config", d + "/config.toml"});
    if (!daemon_->ready()) return;
    const std::string tar = make_image(d);
    import_ =
        run_argv({"/usr/bin/ctr", "-a", d + "/containerd.sock", "-n", "k8s.io", "images", "import", tar});
    fs::remove(tar);
    auto channel = grpc::CreateChannel("unix:" + d + "/containerd.sock", grpc::InsecureChannelCredentials());
    runtime_ = cri::RuntimeService::NewStub(channel);
  }
  static void TearDownTestSuite() {
    runtime_.reset();
    daemon_.reset();
    unsetenv("RTCELL_LEDGER");
    dir_.reset();
  }
  // Why this host cannot run the suite ("" when it can).
  static std::string runnable() {
    if (geteuid() != 0) return "containerd's CRI plugin needs root";
    if (!have("/usr/bin/containerd") || !have("/usr/bin/ctr")) return "containerd is not installed";
    if (!have("/bin/busybox") || !have("/usr/bin/sha256sum")) return "busybox-static is not installed";
    if (!have(kRuntime)) return "rtcell-runtime is not built";
    return "";
  }
  void SetUp() override {
    const std::string why = runnable();
    if (!why.empty()) GTEST_SKIP() << why;
    ASSERT_TRUE(daemon_ && daemon_->ready()) << "containerd did not start:\n"
                                             << (daemon_ ? daemon_->log() : "");
    ASSERT_EQ(import_.code, 0) << "ctr images import: " << import_.err;
    parent_ = unique_name("cri");
  }
  void TearDown() override {
    for (auto it = pods_.rbegin(); it != pods_.rend(); ++it) remove_pod(*it);
    pods_.clear();
    if (!parent_.empty()) {
      EXPECT_TRUE(cgroups_named(parent_).empty()) << "a removed pod left a cgroup";
      EXPECT_EQ(ledger_entries(ledger_), 0) << "a removed pod left its admission";
    }
  }

  static std::unique_ptr<grpc::ClientContext> call() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    return ctx;
  }

  // The kubelet's sandbox for a pod: its own cgroup parent (cgroupfs
  // driver, as deploy/kubelet-config.yaml sets), the node's network, a pid
  // namespace per container (shareProcessNamespace: false).
  cri::PodSandboxConfig sandbox_config(const std::string& name,
                                       const std::map<std::string, std::string>& annotations) {
    cri::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_uid(name + "-uid");
    c.mutable_metadata()->set_namespace_("default");
    c.set_hostname(name);
    c.set_log_directory(dir_->path + "/pods/" + name);
    for (const auto& [k, v] : annotations) (*c.mutable_annotations())[k] = v;
    auto* lx = c.mutable_linux();
    lx->set_cgroup_parent("/" + parent_ + "/pod" + name);
    auto* ns = lx->mutable_security_context()->mutable_namespace_options();
    ns->set_network(cri::NODE);
    ns->set_pid(cri::CONTAINER);
    return c;
  }

  // RunPodSandbox with runtime handler rtcell: the sandbox id, or "" with
  // `err` set.
  std::string run_pod(const cri::PodSandboxConfig& config, std::string* err = nullptr) {
    cri::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    req.set_runtime_handler("rtcell");
    cri::RunPodSandboxResponse resp;
    grpc::Status s = runtime_->RunPodSandbox(call().get(), req, &resp);
    if (!s.ok()) {
      if (err != nullptr) *err = s.error_message();
      return "";
    }
    pods_.push_back(resp.pod_sandbox_id());
    return resp.pod_sandbox_id();
  }

  // CreateContainer + StartContainer; the status of the first that fails.
  grpc::Status start(const std::string& pod, const cri::PodSandboxConfig& sandbox, const std::string& name,
                     const std::map<std::string, std::string>& annotations, std::string* id,
                     const std::map<std::string, std::string>& envs = {}) {
    cri::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    *req.mutable_sandbox_config() = sandbox;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(kImage);
    // What `kubectl logs` reads comes from the command's stdout.
    c->add_command("/bin/sh");
    c->add_args("-c");
    c->add_args("echo started " + name + "; exec /bin/sleep 100000");
    c->set_log_path(name + ".log");
    for (const auto& [k, v] : annotations) (*c->mutable_annotations())[k] = v;
    for (const auto& [k, v] : envs) {
      auto* e = c->add_envs();
      e->set_key(k);
      e->set_value(v);
    }
    auto* sc = c->mutable_linux()->mutable_security_context();
    sc->mutable_namespace_options()->set_network(cri::NODE);
    sc->mutable_namespace_options()->set_pid(cri::CONTAINER);
    // A least-privilege pod (securityContext.capabilities.drop: [ALL]):
    // its real time comes from the runtime's policy, not CAP_SYS_NICE.
    sc->mutable_capabilities()->add_drop_capabilities("ALL");
    cri::CreateContainerResponse created;
    grpc::Status s = runtime_->CreateContainer(call().get(), req, &created);
    if (!s.ok()) return s;
    *id = created.container_id();
    cri::StartContainerRequest sreq;
    sreq.set_container_id(*id);
    cri::StartContainerResponse sresp;
    return runtime_->StartContainer(call().get(), sreq, &sresp);
  }

  // ExecSync in the container: what `kubectl exec` does.
  std::string exec(const std::string& id, const std::string& script, int* code = nullptr) {
    cri::ExecSyncRequest req;
    req.set_container_id(id);
    req.add_cmd("/bin/sh");
    req.add_cmd("-c");
    req.add_cmd(script);
    req.set_timeout(60);
    cri::ExecSyncResponse resp;
    grpc::Status s = runtime_->ExecSync(call().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (code != nullptr) *code = resp.exit_code();
    return resp.stdout() + resp.stderr();
  }

  int container_pid(const std::string& id) {
    cri::ContainerStatusRequest req;
    req.set_container_id(id);
    req.set_verbose(true);
    cri::ContainerStatusResponse resp;
    grpc::Status s = runtime_->ContainerStatus(call().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return pid_of(resp.info());
  }

  int sandbox_pid(const std::string& pod) {
    cri::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod);
    req.set_verbose(true);
    cri::PodSandboxStatusResponse resp;
    grpc::Status s = runtime_->PodSandboxStatus(call().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.status().state(), cri::SANDBOX_READY);
    return pid_of(resp.info());
  }

  // What the kubelet does when a pod goes: stop, then remove (which
  // removes its containers too).
  void remove_pod(const std::string& pod) {
    cri::StopPodSandboxRequest stop;
    stop.set_pod_sandbox_id(pod);
    cri::StopPodSandboxResponse stopped;
    grpc::Status s = runtime_->StopPodSandbox(call().get(), stop, &stopped);
    EXPECT_TRUE(s.ok()) << "StopPodSandbox: " << s.error_message();
    cri::RemovePodSandboxRequest rm;
    rm.set_pod_sandbox_id(pod);
    cri::RemovePodSandboxResponse removed;
    s = runtime_->RemovePodSandbox(call().get(), rm, &removed);
    EXPECT_TRUE(s.ok()) << "RemovePodSandbox: " << s.error_message();
  }

  std::string write(const std::string& file, const std::string& text) const {
    const std::string path = dir_->path + "/" + file;
    std::ofstream(path) << text;
    return path;
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<Daemon> daemon_;
  static std::unique_ptr<cri::RuntimeService::Stub> runtime_;
  static Result import_;
  static std::string ledger_;
  static bool deploy_ok_;
  std::string parent_;
  std::vector<std::string> pods_;
};
std::unique_ptr<TempDir> CriRuntimeHandler::dir_;
std::unique_ptr<Daemon> CriRuntimeHandler::daemon_;
std::unique_ptr<cri::RuntimeService::Stub> CriRuntimeHandler::runtime_;
Result CriRuntimeHandler::import_;
std::string CriRuntimeHandler::ledger_;
bool CriRuntimeHandler::deploy_ok_ = false;

// The whole chain a pod asking for `rtcell.io/rt-cpu: 1` goes through:
// rtcell-device-plugin's Allocate gives the CPU and the scheduler as
// annotations (and RTCELL_CPUS), the kubelet puts them into the container's
// config, containerd's CRI plugin passes them (container_annotations) to
// rtcell-runtime, and the container's command runs SCHED_FIFO 70 on that
// CPU with no capability, seen from inside (ExecSync) and from the host.
// The pod's own rtcell.io/sched reaches the sandbox too (pod_annotations);
// its pause process stays SCHED_OTHER.
TEST_F(CriRuntimeHandler, DevicePluginAllocationGivesTheContainerFifoAndItsCpu) {
  const int last = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  const std::string cpu = std::to_string(last);
  const Allocated a = allocate_rt_cpu(dir_->path, last);
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.annotations.count("rtcell.io/cpus"), 1U);
  EXPECT_EQ(a.envs.count("RTCELL_CPUS"), 1U);
  cri::PodSandboxConfig sandbox = sandbox_config("fifo", {{"rtcell.io/sched", "fifo:70"}});
  std::string err;
  const std::string pod = run_pod(sandbox, &err);
  ASSERT_FALSE(pod.empty()) << "RunPodSandbox: " << err << "\n" << daemon_->log();
  std::string id;
  grpc::Status s = start(pod, sandbox, "loop", a.annotations, &id, a.envs);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // The container's command is its pid 2 (a pid namespace of its own,
  // rtcell's init is pid 1 and reaps).
  int code = -1;
  const std::string status = exec(id, "grep -E '^(Name|Cpus_allowed_list|CapEff)' /proc/2/status", &code);
  EXPECT_EQ(code, 0) << status;
  EXPECT_NE(status.find("Name:\tsleep\n"), std::string::npos) << status;
  EXPECT_NE(status.find("Cpus_allowed_list:\t" + cpu + "\n"), std::string::npos) << status;
  EXPECT_NE(status.find("CapEff:\t0000000000000000"), std::string::npos) << status;
  EXPECT_EQ(exec(id, "cat /proc/2/environ | grep -c RTCELL_CPUS=" + cpu), "1\n") << "Allocate's env";
  const Sched inside = sched_of(exec(id, "cat /proc/2/stat", &code));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(inside.policy, SCHED_FIFO);
  EXPECT_EQ(inside.priority, 70);

  // From the host: the task's pid is rtcell's init; the command is its child.
  const int init = container_pid(id);
  ASSERT_GT(init, 0);
  const int pid = std::atoi(
      slurp("/proc/" + std::to_string(init) + "/task/" + std::to_string(init) + "/children").c_str());
  ASSERT_GT(pid, 0);
  EXPECT_EQ(sched_getscheduler(pid), SCHED_FIFO);
  sched_param p{};
  sched_getparam(pid, &p);
  EXPECT_EQ(p.sched_priority, 70);
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(pid, sizeof set, &set), 0);
  EXPECT_EQ(CPU_COUNT(&set), 1);
  EXPECT_TRUE(CPU_ISSET(std::stoi(cpu), &set));

  const int pause = sandbox_pid(pod);
  ASSERT_GT(pause, 0);
  EXPECT_EQ(sched_getscheduler(pause), SCHED_OTHER) << "the sandbox's pause process took the pod's policy";
  // The container entered its sandbox's ipc and uts namespaces (the CRI
  // names them by path) and has a pid namespace of its own.
  auto ns = [](int p, const char* n) {
    return fs::read_symlink("/proc/" + std::to_string(p) + "/ns/" + n).string();
  };
  EXPECT_EQ(ns(pid, "ipc"), ns(pause, "ipc"));
  EXPECT_EQ(ns(pid, "uts"), ns(pause, "uts"));
  EXPECT_NE(ns(pid, "pid"), ns(pause, "pid"));
  EXPECT_EQ(ns(pid, "net"), ns(getpid(), "net")) << "a hostNetwork pod is on the node's network";

  // The kubelet stops a container with StopContainer: SIGTERM to it, then
  // SIGKILL after the grace period. The command itself gets the SIGTERM
  // (sleep dies of it: 128 + 15), not only rtcell's init.
  cri::StopContainerRequest stop;
  stop.set_container_id(id);
  stop.set_timeout(60);
  cri::StopContainerResponse stopped;
  grpc::Status st = runtime_->StopContainer(call().get(), stop, &stopped);
  ASSERT_TRUE(st.ok()) << st.error_message();
  cri::ContainerStatusRequest sreq;
  sreq.set_container_id(id);
  cri::ContainerStatusResponse sresp;
  ASSERT_TRUE(runtime_->ContainerStatus(call().get(), sreq, &sresp).ok());
  EXPECT_EQ(sresp.status().state(), cri::CONTAINER_EXITED);
  EXPECT_EQ(sresp.status().exit_code(), 128 + SIGTERM) << sresp.status().reason();
  // The container's log, in the CRI's format (TIME stdout F TEXT), where
  // the kubelet reads it.
  const std::string log = slurp(dir_->path + "/pods/fifo/loop.log");
  EXPECT_NE(log.find(" stdout F started loop\n"), std::string::npos) << log;
}

// A pod whose task set does not fit next to what already runs fails to
// start, with admission's reason in the error the kubelet puts into the
// pod's events; nothing of it stays (no ledger entry, no cgroup), and the
// first pod keeps running.
TEST_F(CriRuntimeHandler, PodThatDoesNotFitFailsToStartWithTheReason) {
  const std::string a = write("a.yaml", cell_yaml("a", 60));
  const std::string b = write("b.yaml", cell_yaml("b", 50));
  cri::PodSandboxConfig sa = sandbox_config("first", {{"rtcell.io/manifest", a}, {"rtcell.io/cell", "a"}});
  std::string err;
  const std::string first = run_pod(sa, &err);
  ASSERT_FALSE(first.empty()) << "RunPodSandbox: " << err;
  std::string ida;
  grpc::Status s = start(first, sa, "ctl", {}, &ida);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ledger_entries(ledger_), 1) << "the admitted pod's cell is in the ledger";
  EXPECT_EQ(sched_of(exec(ida, "cat /proc/2/stat")).priority, 60);

  cri::PodSandboxConfig sb = sandbox_config("second", {{"rtcell.io/manifest", b}, {"rtcell.io/cell", "b"}});
  const std::string second = run_pod(sb, &err);
  ASSERT_FALSE(second.empty()) << "RunPodSandbox: " << err;
  std::string idb;
  s = start(second, sb, "ctl", {}, &idb);
  ASSERT_FALSE(s.ok()) << "a pod that does not fit was started";
  EXPECT_NE(s.error_message().find("shares CPU 0 with cell a"), std::string::npos) << s.error_message();
  EXPECT_EQ(ledger_entries(ledger_), 1) << "the refused pod left an admission";
  int code = -1;
  const Sched still = sched_of(exec(ida, "cat /proc/2/stat", &code));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(still.policy, SCHED_FIFO);
  EXPECT_EQ(still.priority, 60);
}

}  // namespace
}  // namespace rtcell::test
