#include "k8s/grpc/plugin.hpp"

#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>

#include "deviceplugin.grpc.pb.h"
#include "k8s/devices.hpp"
#include "rtcell/error.hpp"
#include "sys/fd.hpp"

namespace rtcell::k8s {
namespace {

constexpr const char* kApiVersion = "v1beta1";
constexpr const char* kKubeletSocket = "kubelet.sock";

std::mutex log_mutex;

void log(const std::string& line) {
  std::lock_guard lk(log_mutex);
  std::fprintf(stderr, "rtcell-device-plugin: %s\n", line.c_str());
  std::fflush(stderr);
}

bool socket_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

sigset_t plugin_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

struct Device {
  std::string id;
  bool healthy = true;
  std::string reason;
  std::string path;  // a class's device node
  int numa = -1;
  bool operator==(const Device&) const = default;
};

class Service;

struct Plugin::Resource {
  std::string name;                  // "rtcell.io/rt-cpu"
  std::string endpoint;              // socket file name in the socket directory
  const DeviceClass* cls = nullptr;  // null: the RT CPUs

  std::mutex m;
  std::condition_variable cv;
  uint64_t version = 0;
  bool stopping = false;
  std::vector<Device> devices;
  std::vector<CpuTopology> topology;
  std::shared_ptr<const front::cdi::Registry> cdi;

  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
};

// The DevicePlugin service of one resource.
class Service final : public v1beta1::DevicePlugin::Service {
 public:
  Service(Plugin::Resource& r, const NodeConfig& c) : r_(r), c_(c) {}

  grpc::Status GetDevicePluginOptions(grpc::ServerContext*, const v1beta1::Empty*,
                                      v1beta1::DevicePluginOptions* out) override {
    out->set_pre_start_required(false);
    out->set_get_preferred_allocation_available(true);
    return grpc::Status::OK;
  }

  grpc::Status ListAndWatch(grpc::ServerContext* ctx, const v1beta1::Empty*,
                            grpc::ServerWriter<v1beta1::ListAndWatchResponse>* w) override {
    std::unique_lock lk(r_.m);
    std::optional<uint64_t> sent;
    while (!r_.stopping && !ctx->IsCancelled()) {
      if (sent != r_.version) {
        v1beta1::ListAndWatchResponse resp;
        for (const auto& d : r_.devices) {
          auto* dev = resp.add_devices();
          dev->set_id(d.id);
          dev->set_health(d.healthy ? "Healthy" : "Unhealthy");
          if (d.numa >= 0) dev->mutable_topology()->add_nodes()->set_id(d.numa);
        }
        sent = r_.version;
        lk.unlock();
        const bool ok = w->Write(resp);
        lk.lock();
        if (!ok) break;
        continue;
      }
      // Woken by a new list or by stop(); the timeout only notices a
      // kubelet that went away (the sync API has no cancel callback).
      r_.cv.wait_for(lk, std::chrono::seconds(1));
    }
    return grpc::Status::OK;
  }

  grpc::Status GetPreferredAllocation(grpc::ServerContext*, const v1beta1::PreferredAllocationRequest* req,
                                      v1beta1::PreferredAllocationResponse* out) override {
    std::lock_guard lk(r_.m);
    for (const auto& cr : req->container_requests()) {
      auto* resp = out->add_container_responses();
      std::vector<std::string> avail(cr.available_deviceids().begin(), cr.available_deviceids().end());
      std::vector<std::string> must(cr.must_include_deviceids().begin(), cr.must_include_deviceids().end());
      if (cr.allocation_size() < 0 || static_cast<size_t>(cr.allocation_size()) > avail.size() + must.size())
        return {
            grpc::StatusCode::INVALID_ARGUMENT,
            "allocation_size " + std::to_string(cr.allocation_size()) + " is more than the devices offered"};
      if (r_.cls != nullptr) {
        for (const auto& id : avail)
          if (static_cast<int>(must.size()) < cr.allocation_size() &&
              std::find(must.begin(), must.end(), id) == must.end())
            must.push_back(id);
        for (const auto& id : must) resp->add_deviceids(id);
        continue;
      }
      std::vector<int> a, m;
      for (const auto& id : avail)
        if (auto cpu = parse_cpu_device_id(id)) a.push_back(*cpu);
      for (const auto& id : must) {
        auto cpu = parse_cpu_device_id(id);
        if (!cpu) return {grpc::StatusCode::INVALID_ARGUMENT, "unknown device " + id};
        m.push_back(*cpu);
      }
      for (int cpu : preferred_cpus(r_.topology, a, m, cr.allocation_size()))
        resp->add_deviceids(cpu_device_id(cpu));
    }
    return grpc::Status::OK;
  }

  grpc::Status Allocate(grpc::ServerContext*, const v1beta1::AllocateRequest* req,
                        v1beta1::AllocateResponse* out) override {
    std::lock_guard lk(r_.m);
    for (const auto& cr : req->container_requests()) {
      std::vector<const Device*> chosen;
      for (const auto& id : cr.devicesids()) {
        auto it =
            std::find_if(r_.devices.begin(), r_.devices.end(), [&](const Device& d) { return d.id == id; });
        if (it == r_.devices.end())
          return {grpc::StatusCode::INVALID_ARGUMENT, r_.name + ": unknown device " + id};
        chosen.push_back(&*it);
      }
      Allocation a;
      if (r_.cls == nullptr) {
        std::vector<int> cpus;
        cpus.reserve(chosen.size());
        for (const auto* d : chosen) cpus.push_back(*parse_cpu_device_id(d->id));
        a = allocate_cpus(c_, cpus);
      } else {
        std::vector<ClassDevice> devs;
        devs.reserve(chosen.size());
        for (const auto* d : chosen) devs.push_back({d->id, d->path});
        a = allocate_devices(c_, *r_.cls, devs, r_.cdi.get());
      }
      auto* resp = out->add_container_responses();
      for (const auto& [k, v] : a.envs) (*resp->mutable_envs())[k] = v;
      for (const auto& [k, v] : a.annotations) (*resp->mutable_annotations())[k] = v;
      for (const auto& d : a.devices) {
        auto* spec = resp->add_devices();
        spec->set_container_path(d.container_path);
        spec->set_host_path(d.host_path);
        spec->set_permissions(d.permissions);
      }
      for (const auto& n : a.cdi_devices) resp->add_cdi_devices()->set_name(n);
    }
    return grpc::Status::OK;
  }

  grpc::Status PreStartContainer(grpc::ServerContext*, const v1beta1::PreStartContainerRequest*,
                                 v1beta1::PreStartContainerResponse*) override {
    return grpc::Status::OK;
  }

 private:
  Plugin::Resource& r_;
  const NodeConfig& c_;
};

namespace {

std::string socket_path(const NodeConfig& c, const std::string& file) {
  return c.socket_dir + "/" + file;
}

void stop_server(Plugin::Resource& r, const NodeConfig& c) {
  if (!r.server) return;
  {
    std::lock_guard lk(r.m);
    r.stopping = true;
  }
  r.cv.notify_all();
  r.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  r.server->Wait();
  r.server.reset();
  r.service.reset();
  ::unlink(socket_path(c, r.endpoint).c_str());
}

void start_server(Plugin::Resource& r, const NodeConfig& c) {
  stop_server(r, c);
  const std::string path = socket_path(c, r.endpoint);
  ::unlink(path.c_str());  // a stale socket of an earlier run
  {
    std::lock_guard lk(r.m);
    r.stopping = false;
  }
  r.service = std::make_unique<Service>(r, c);
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  b.RegisterService(r.service.get());
  r.server = b.BuildAndStart();
  if (!r.server) {
    r.service.reset();
    unsupported_error("cannot serve " + r.name + " on " + path +
                      ": is the socket directory there and writable? (socket_dir in the configuration)");
  }
}

bool register_with_kubelet(const Plugin::Resource& r, const NodeConfig& c) {
  const std::string kubelet = socket_path(c, kKubeletSocket);
  if (!socket_exists(kubelet)) return false;
  auto channel = grpc::CreateChannel("unix:" + kubelet, grpc::InsecureChannelCredentials());
  auto stub = v1beta1::Registration::NewStub(channel);
  grpc::ClientContext ctx;
  // kubelet.sock appears at bind(), a moment before the kubelet listens.
  ctx.set_wait_for_ready(true);
  // Short: this runs on the thread that also takes SIGTERM, and a stale
  // kubelet.sock (a kubelet that died) only refuses; the next check retries.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  v1beta1::RegisterRequest req;
  req.set_version(kApiVersion);
  req.set_endpoint(r.endpoint);
  req.set_resource_name(r.name);
  req.mutable_options()->set_pre_start_required(false);
  req.mutable_options()->set_get_preferred_allocation_available(true);
  v1beta1::Empty empty;
  grpc::Status s = stub->Register(&ctx, req, &empty);
  if (!s.ok()) {
    log(r.name + ": registering on " + kubelet + " failed: " + s.error_message() +
        " (retried at the next check)");
    return false;
  }
  log(r.name + ": registered on " + kubelet + " as " + r.endpoint);
  return true;
}

// The resource's devices now; logs each health change.
void refresh(Plugin::Resource& r, const PluginOptions& o, const CpuSet& rt_cpus) {
  std::vector<Device> devices;
  std::vector<CpuTopology> topo;
  std::shared_ptr<const front::cdi::Registry> cdi;
  if (r.cls == nullptr) {
    topo = cpu_topology(o.root, rt_cpus);
    for (const auto& h : cpu_health(o.root, rt_cpus, o.config.require_isolation)) {
      Device d{cpu_device_id(h.cpu), h.healthy, h.reason, "", -1};
      for (const auto& t : topo)
        if (t.cpu == h.cpu) d.numa = t.numa;
      devices.push_back(d);
    }
  } else {
    for (const auto& cd : find_devices(o.root, *r.cls)) devices.push_back({cd.id, true, "", cd.path, -1});
    try {
      cdi = std::make_shared<front::cdi::Registry>(front::cdi::load(o.cdi_dirs));
    } catch (const Error& e) {
      log(r.name + ": CDI specs unreadable, allocating device nodes only: " + e.what());
    }
  }
  std::lock_guard lk(r.m);
  for (const auto& d : devices) {
    auto old =
        std::find_if(r.devices.begin(), r.devices.end(), [&](const Device& x) { return x.id == d.id; });
    if (old == r.devices.end())
      log(r.name + ": " + d.id + (d.healthy ? " Healthy" : " Unhealthy: " + d.reason));
    else if (old->healthy != d.healthy || old->reason != d.reason)
      log(r.name + ": " + d.id + (d.healthy ? " Healthy again" : " Unhealthy: " + d.reason));
  }
  for (const auto& d : r.devices)
    if (std::none_of(devices.begin(), devices.end(), [&](const Device& x) { return x.id == d.id; }))
      log(r.name + ": " + d.id + " gone");
  r.topology = std::move(topo);
  r.cdi = std::move(cdi);
  if (devices != r.devices) {
    r.devices = std::move(devices);
    ++r.version;
    r.cv.notify_all();
  }
}

}  // namespace

Plugin::Plugin(PluginOptions o) : opts_(std::move(o)) {
  auto cpu = std::make_unique<Resource>();
  cpu->name = cpu_resource(opts_.config);
  cpu->endpoint = "rtcell-rt-cpu.sock";
  resources_.push_back(std::move(cpu));
  for (const auto& d : opts_.config.devices) {
    auto r = std::make_unique<Resource>();
    r->name = class_resource(opts_.config, d);
    r->endpoint = "rtcell-" + d.name + ".sock";
    r->cls = &d;
    resources_.push_back(std::move(r));
  }
}

Plugin::~Plugin() {
  for (auto& r : resources_) stop_server(*r, opts_.config);
}

void Plugin::run() {
  const NodeConfig& c = opts_.config;
  CpuSet rt_cpus;
  if (c.rt_cpus) {
    rt_cpus = *c.rt_cpus;
    log("RT CPUs " + rt_cpus.to_string() + " (rt_cpus of the configuration)");
  } else {
    DefaultCpus d = default_rt_cpus(opts_.root);
    if (d.cpus.empty())
      usage_error(
          "no RT CPUs: the host isolates none (isolcpus=, nohz_full=, an isolated cpuset partition); "
          "name them with rt_cpus: in the configuration");
    rt_cpus = d.cpus;
    log("RT CPUs " + rt_cpus.to_string() + " (from " + d.source + ")");
  }

  sigset_t sigs = plugin_signals();
  sys::Fd sigfd(::signalfd(-1, &sigs, SFD_CLOEXEC));
  if (!sigfd.valid()) sys_error("signalfd", errno);
  sys::Fd ino(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!ino.valid()) sys_error("inotify_init1", errno);
  if (::inotify_add_watch(ino.get(), c.socket_dir.c_str(),
                          IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) < 0)
    usage_error("socket_dir " + c.socket_dir + ": cannot watch it (" + std::string(std::strerror(errno)) +
                "); create it or fix socket_dir in the configuration");
  sys::Fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  if (!timer.valid()) sys_error("timerfd_create", errno);
  itimerspec its{};
  its.it_interval.tv_sec = c.health_interval_ns / 1'000'000'000;
  its.it_interval.tv_nsec = c.health_interval_ns % 1'000'000'000;
  its.it_value = its.it_interval;
  if (::timerfd_settime(timer.get(), 0, &its, nullptr) != 0) sys_error("timerfd_settime", errno);

  std::map<std::string, bool> registered;
  for (auto& r : resources_) {
    refresh(*r, opts_, rt_cpus);
    start_server(*r, c);
    log(r->name + ": serving on " + socket_path(c, r->endpoint));
  }
  auto register_all = [&] {
    for (auto& r : resources_) registered[r->name] = register_with_kubelet(*r, c);
  };
  register_all();
  if (!socket_exists(socket_path(c, kKubeletSocket)))
    log("no " + socket_path(c, kKubeletSocket) + " yet: registering when the kubelet creates it");

  for (;;) {
    pollfd fds[3] = {{sigfd.get(), POLLIN, 0}, {ino.get(), POLLIN, 0}, {timer.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      sys_error("poll", errno);
    }
    bool recheck = false;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      if (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGHUP) {
          log("SIGHUP: checking health now");
          recheck = true;
        } else {
          log(std::string("stopping on ") + (si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT"));
          break;
        }
      }
    }
    if (fds[2].revents & POLLIN) {
      uint64_t ticks = 0;
      (void)!::read(timer.get(), &ticks, sizeof ticks);
      recheck = true;
    }
    if (fds[1].revents & POLLIN) {
      alignas(inotify_event) char buf[4096];
      bool kubelet_new = false;
      for (;;) {
        ssize_t n = ::read(ino.get(), buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
          off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
          const std::string name = ev->len > 0 ? std::string(ev->name) : "";
          if (name == kKubeletSocket && (ev->mask & (IN_CREATE | IN_MOVED_TO))) kubelet_new = true;
          if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
            for (auto& r : resources_)
              if (r->endpoint == name && !socket_exists(socket_path(c, name))) {
                // The kubelet removed it (it does on every start): serve again.
                log(r->name + ": socket removed, serving again");
                start_server(*r, c);
                registered[r->name] = false;
              }
        }
      }
      if (kubelet_new) {
        log("kubelet.sock created: registering again");
        register_all();
      }
    }
    if (recheck) {
      for (auto& r : resources_) {
        refresh(*r, opts_, rt_cpus);
        if (!registered[r->name]) registered[r->name] = register_with_kubelet(*r, c);
      }
    }
  }
  for (auto& r : resources_) stop_server(*r, c);
  log("stopped; sockets removed");
}

}  // namespace rtcell::k8s
