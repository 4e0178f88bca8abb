#include "benchrun/container.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "benchrun/runner.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::benchrun {

namespace {

constexpr const char* kCpuCgroup = "/sys/fs/cgroup/cpu";
constexpr const char* kLibpodParent = "/sys/fs/cgroup/cpu/libpod_parent";
// The parent's budget per 1 s period, and the container's share of it: far
// more than a probe waking every 200 µs uses, far less than the root's 950 ms.
constexpr const char* kParentBudgetUs = "200000";
constexpr const char* kContainerBudgetUs = "150000";
constexpr long kCgroup2Magic = 0x63677270;

// podman's --runtime: a name it finds in PATH, or rtcell-runtime beside
// the rtcell binary that runs the bench.
std::string runtime_name(RowKind k, const std::string& rtcell_bin = "") {
  if (k == RowKind::PodmanRtcell) {
    const size_t slash = rtcell_bin.rfind('/');
    return (slash == std::string::npos ? std::string() : rtcell_bin.substr(0, slash + 1)) + "rtcell-runtime";
  }
  return k == RowKind::PodmanCrun ? "crun" : "runc";
}

bool hybrid_cgroups() {
  struct statfs fs;
  if (::statfs("/sys/fs/cgroup", &fs) != 0) return false;
  if (static_cast<long>(fs.f_type) == kCgroup2Magic) return false;
  return ::access("/sys/fs/cgroup/unified", F_OK) == 0;
}

std::string short_reason(std::string line) {
  if (line.rfind("Error: ", 0) == 0) line = line.substr(7);
  if (line.size() > 200) line = line.substr(0, 197) + "...";
  return line;
}

}  // namespace

std::string podman_unavailable_reason(RowKind kind) {
  if (find_in_path("podman").empty()) return "podman not installed";
  if (kind != RowKind::PodmanRtcell && find_in_path(runtime_name(kind)).empty())
    return runtime_name(kind) + " not installed";
  // crun 1.8 (Debian 12) refuses the hybrid layout (v1 controllers plus a
  // cgroup2 mount at /sys/fs/cgroup/unified), which JetPack 5 boots with.
  if (kind == RowKind::PodmanCrun && hybrid_cgroups())
    return "crun refuses hybrid cgroups (v1 + unified) on this host";
  return "";
}

ContainerHost::~ContainerHost() {
  finish();
}

std::vector<std::string> ContainerHost::base_args(RowKind kind, const std::string& name,
                                                  const BenchOptions& opt) const {
  struct rlimit nofile, nproc;
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  ::getrlimit(RLIMIT_NPROC, &nproc);
  auto lim = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("-1") : std::to_string(v); };
  std::vector<std::string> a = {
      "podman", "--runtime", runtime_name(kind, opt.rtcell_bin), "run", "--rm", "--name", name, "--volume",
      "/usr:/usr:ro", "--volume", opt.rtcell_bin + ":/rtcell:ro",
      // The runtime cannot raise rlimits without CAP_SYS_RESOURCE:
      // ask for exactly the ones we have.
      "--ulimit", "nofile=" + lim(nofile.rlim_cur) + ":" + lim(nofile.rlim_max), "--ulimit",
      "nproc=" + lim(nproc.rlim_cur) + ":" + lim(nproc.rlim_max), "--cap-add", "IPC_LOCK", "--cap-add",
      "SYS_NICE", "--net", "host", "--cpuset-cpus", opt.cpus.to_string()};
  if (::access("/dev/cpu_dma_latency", F_OK) == 0) {
    a.emplace_back("--device");
    a.emplace_back("/dev/cpu_dma_latency");
  }
  if (!rt_parent_.empty()) {
    a.emplace_back("--cpu-rt-runtime");
    a.emplace_back(kContainerBudgetUs);
  }
  // Last: with --rootfs, podman takes the next word as the root and the
  // one after as the command.
  a.emplace_back("--rootfs");
  a.emplace_back(rootfs_);
  return a;
}

std::vector<std::string> ContainerHost::command(RowKind kind, const std::string& name,
                                                const BenchOptions& opt) const {
  std::vector<std::string> a = base_args(kind, name, opt);
  a.emplace_back("/rtcell");
  for (auto& x : latency_args(opt, "-")) a.push_back(x);
  return a;
}

std::string ContainerHost::prepare(RowKind kind, const BenchOptions& opt, SignalPipe& sp) {
  if (std::string why = podman_unavailable_reason(kind); !why.empty()) return why;
  std::string& pre = preflight_[static_cast<int>(kind) - static_cast<int>(RowKind::PodmanRunc)];
  if (!pre.empty()) return pre == "ok" ? "" : pre;
  if (rootfs_.empty()) {
    // A throw-away root: /usr comes in read-only, the merged-usr links make
    // /bin and /lib resolve, podman writes its /etc files here, not on the host.
    std::string root = opt.work_dir + "/rootfs";
    for (const char* d : {"", "/usr", "/proc", "/dev", "/sys", "/tmp", "/etc", "/run", "/var"})
      if (::mkdir((root + d).c_str(), 0755) != 0 && errno != EEXIST) sys_error("mkdir " + root + d, errno);
    for (const char* l : {"bin", "lib", "lib64", "sbin"})
      if (::symlink((std::string("usr/") + l).c_str(), (root + "/" + l).c_str()) != 0 && errno != EEXIST)
        sys_error("symlink in " + root, errno);
    rootfs_ = root;
  }
  if (rt_parent_.empty() && ::access((std::string(kCpuCgroup) + "/cpu.rt_runtime_us").c_str(), F_OK) == 0) {
    // RT group scheduling: podman's parent group starts with runtime 0 and
    // every RT task below it is refused. Raise it for the podman rows only.
    if (::mkdir(kLibpodParent, 0755) == 0) created_parent_ = true;
    std::string file = std::string(kLibpodParent) + "/cpu.rt_runtime_us";
    if (auto old = sys::try_read_file(file)) {
      rt_old_ = sys::trim(*old);
      try {
        sys::write_file(file, kParentBudgetUs);
        rt_parent_ = file;
      } catch (const Error& e) {
        pre = std::string("cannot give podman's parent cgroup an RT budget: ") + e.what();
        return pre;
      }
    }
  }
  std::vector<std::string> a = base_args(kind, "rtcell-bench-preflight-" + std::to_string(::getpid()), opt);
  a.emplace_back("/rtcell");
  a.emplace_back("--version");
  Captured c = run_capture(a, opt.work_dir, sp, 60'000);
  if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) {
    pre = "ok";
    return "";
  }
  pre = std::string("podman --runtime ") + runtime_name(kind, opt.rtcell_bin) +
        " cannot start here: " + short_reason(last_line(c.err));
  return pre;
}

void ContainerHost::remove(const std::string& name, SignalPipe& sp, const std::string& work_dir) {
  run_capture({"podman", "rm", "--force", "--time", "2", name}, work_dir, sp, 30'000);
}

void ContainerHost::finish() noexcept {
  if (!rt_parent_.empty()) {
    try {
      sys::write_file(rt_parent_, rt_old_.empty() ? "0" : rt_old_);
    } catch (...) {
      // Best effort: the message would have nowhere to go from a destructor.
    }
    rt_parent_.clear();
  }
  if (created_parent_) {
    ::rmdir(kLibpodParent);  // fails harmlessly when podman put groups in it
    created_parent_ = false;
  }
}

}  // namespace rtcell::benchrun
