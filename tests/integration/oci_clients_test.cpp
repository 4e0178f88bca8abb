// The real clients with rtcell-runtime as their OCI runtime, on this
// machine, as root, offline: Podman 4 (conmon) with a local --rootfs;
// dockerd with its own data root, exec root and socket, an image imported
// from a tarball of a small root made here; containerd with its own root,
// state and socket, driven by ctr --runc-binary; docker-compose with a file
// shaped like the source document's ROS 2 one. Each suite starts what it
// needs and stops it. For each: the exit status propagates, -t gives a
// terminal, exec works, kill and stop work, rm leaves no cgroup, the
// requested SCHED_FIFO priority shows inside with empty capability sets,
// an RT budget request works, and bad input is one readable line.
#include <gtest/gtest.h>

#include <memory>

#include "integration/oci_support.hpp"

namespace rtcell::test {
namespace {

bool have_script() {
  return have("/usr/bin/script");
}

// Through a real pty (script(1)): what `-t` needs on the client's side.
Result in_pty(const std::string& line) {
  return run_argv({"/usr/bin/script", "-qec", line, "/dev/null"});
}

std::string quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += out.empty() ? "'" : " '";
    out += w + "'";
  }
  return out;
}

// A manifest whose cell misses its deadline (2 ms of work every 1 ms).
std::string rejected_manifest(const std::string& dir) {
  const std::string file = dir + "/cells.yaml";
  std::ofstream(file) << "version: 1\ncells:\n  - name: ctl\n    cpus: \"0\"\n    sched: fifo:45\n"
                         "    tasks:\n      - {name: loop, period: 1ms, wcet: 2ms}\n";
  return file;
}

// ---------------------------------------------------------------- Podman

class PodmanRuntime : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || !have("/usr/bin/podman") || !have(kRuntime)) return;
    dir_ = std::make_unique<TempDir>();
    root_ = std::make_unique<ImageRoot>();
  }
  static void TearDownTestSuite() {
    if (dir_) run_argv(podman({"rm", "--all", "--force"}));
    root_.reset();
    dir_.reset();
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "podman as root with rtcell-runtime";
    if (!have("/usr/bin/podman")) GTEST_SKIP() << "podman is not installed";
    if (!have(kRuntime)) GTEST_SKIP() << "rtcell-runtime not built";
  }
  static std::vector<std::string> podman(const std::vector<std::string>& args,
                                         const std::string& runtime = kRuntime) {
    std::vector<std::string> a{"podman",
                               "--root",
                               dir_->path + "/storage",
                               "--runroot",
                               dir_->path + "/run",
                               "--cgroup-manager",
                               "cgroupfs",
                               "--events-backend",
                               "file",
                               "--runtime",
                               runtime};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  // podman run --rm [flags] --rootfs ROOT CMD...
  static Result run_in(const std::vector<std::string>& flags, const std::vector<std::string>& cmd) {
    std::vector<std::string> a{"run", "--rm"};
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back("--rootfs");
    a.push_back(root_->path);
    a.insert(a.end(), cmd.begin(), cmd.end());
    return run_argv(podman(a));
  }
  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<ImageRoot> root_;
};
std::unique_ptr<TempDir> PodmanRuntime::dir_;
std::unique_ptr<ImageRoot> PodmanRuntime::root_;

TEST_F(PodmanRuntime, ExitStatusFifoAndNoCapabilities) {
  Result r = run_in({"--cap-drop", "all", "--annotation", "rtcell.io/sched=fifo:80"},
                    {"/bin/sh", "-c", "chrt -p $$; grep -E '^Cap(Eff|Prm)' /proc/self/status; exit 3"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.out.find("SCHED_FIFO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("priority: 80"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapPrm:\t0000000000000000"), std::string::npos) << r.out;
}

// Podman's default (bridge) network hands the runtime a network namespace
// by path (linux.namespaces[].path); the container is born in it and has
// the interface Podman set up there, not an empty namespace of its own.
TEST_F(PodmanRuntime, DefaultNetworkNamespaceIsTheOnePodmanMade) {
  Result r = run_in({}, {"/bin/cat", "/proc/net/dev"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("eth0:"), std::string::npos) << r.out;
}

TEST_F(PodmanRuntime, RtBudgetWhereRuncFails) {
  if (!path_exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")) GTEST_SKIP() << "no RT group scheduling here";
  const std::vector<std::string> flags{"--cpu-rt-runtime", "40000", "--annotation",
                                       "rtcell.io/sched=fifo:70"};
  const std::vector<std::string> cmd{"/bin/sh", "-c", "chrt -p $$; cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us"};
  Result r = run_in(flags, cmd);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("priority: 70"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("40000"), std::string::npos) << "the container's own budget: " << r.out;
  // runc on the same request, for the record (it fails on hosts without
  // CAP_SYS_RESOURCE or without a budget in podman's parent group).
  Result runc = run_argv(
      podman({"run", "--rm", "--cpu-rt-runtime", "40000", "--rootfs", root_->path, "/bin/true"}, "runc"));
  RecordProperty("runc_exit", runc.code);
  std::cout << "[ note     ] podman --runtime runc with --cpu-rt-runtime: exit " << runc.code << ": "
            << runc.err.substr(0, runc.err.find('\n')) << "\n";
}

TEST_F(PodmanRuntime, TtyExecStopAndRmLeaveNothing) {
  if (have_script()) {
    std::vector<std::string> a = podman({"run", "--rm", "-t", "--rootfs", root_->path, "/usr/bin/tty"});
    Result t = in_pty(quoted(a));
    EXPECT_NE(t.out.find("/dev/pts/0"), std::string::npos) << t.out;
  }
  const std::string name = unique_name("pod");
  Result d = run_argv(podman({"run", "-d", "--name", name, "--rootfs", root_->path, "/bin/sleep", "1000"}));
  ASSERT_EQ(d.code, 0) << d.err;
  const std::string id = d.out.substr(0, d.out.find('\n'));
  Result e = run_argv(podman({"exec", name, "/bin/sh", "-c", "cat /proc/2/comm; exit 4"}));
  EXPECT_EQ(e.code, 4) << e.err;
  EXPECT_EQ(e.out, "sleep\n");
  if (have_script()) {
    Result et = in_pty(quoted(podman({"exec", "-t", name, "/usr/bin/tty"})));
    EXPECT_NE(et.out.find("/dev/pts/"), std::string::npos) << et.out;
  }
  Result pz = run_argv(podman({"pause", name}));
  EXPECT_EQ(pz.code, 0) << pz.err;
  EXPECT_EQ(run_argv(podman({"inspect", "-f", "{{.State.Status}}", name})).out, "paused\n");
  EXPECT_EQ(run_argv(podman({"unpause", name})).code, 0);
  EXPECT_EQ(run_argv(podman({"inspect", "-f", "{{.State.Status}}", name})).out, "running\n");
  EXPECT_EQ(run_argv(podman({"stop", "--time", "2", name})).code, 0);
  Result rm = run_argv(podman({"rm", name}));
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_TRUE(cgroups_named(id).empty()) << cgroups_named(id).front();
  // kill works as well.
  Result k = run_argv(podman({"run", "-d", "--name", name, "--rootfs", root_->path, "/bin/sleep", "1000"}));
  ASSERT_EQ(k.code, 0) << k.err;
  EXPECT_EQ(run_argv(podman({"kill", name})).code, 0);
  EXPECT_EQ(run_argv(podman({"rm", "--force", name})).code, 0);
}

TEST_F(PodmanRuntime, BadInputIsOneReadableLine) {
  TempDir t;
  struct Case {
    std::vector<std::string> flags;
    const char* expect;
  };
  std::vector<Case> cases = {
      {{"--annotation", "rtcell.io/sched=fast"}, "fast"},
      {{"--annotation", "rtcell.io/manifest=" + rejected_manifest(t.path), "--annotation",
        "rtcell.io/cell=ctl"},
       "not admitted"},
  };
  rlimit rl{};
  getrlimit(RLIMIT_RTPRIO, &rl);
  if (rl.rlim_max < 99) cases.push_back({{"--ulimit", "rtprio=99:99"}, "RLIMIT_RTPRIO"});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expect);
    Result r = run_in(c.flags, {"/bin/true"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
}

// ---------------------------------------------------------------- Docker

class DockerRuntime : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || !have("/usr/sbin/dockerd") || !have("/usr/bin/docker") || !have(kRuntime)) return;
    had_parent_ = path_exists("/sys/fs/cgroup/cpu/docker") || path_exists("/sys/fs/cgroup/docker");
    dir_ = std::make_unique<TempDir>();
    const std::string& d = dir_->path;
    daemon_ = std::make_unique<Daemon>(
        d, std::vector<std::string>{"/usr/sbin/dockerd", "--data-root", d + "/data", "--exec-root",
                                    d + "/exec", "--pidfile", d + "/docker.pid", "-H",
                                    "unix://" + d + "/docker.sock", "--bridge", "none", "--iptables=false",
                                    "--ip-masq=false", "--storage-driver", "vfs", "--exec-opt",
                                    "native.cgroupdriver=cgroupfs", "--add-runtime", "rtcell=" + kRuntime});
    if (!daemon_->ready()) return;
    ImageRoot img;
    imported_ = run_argv(docker({"import", img.tar(), "rtcell-test"})).code == 0;
  }
  static void TearDownTestSuite() {
    if (daemon_ && daemon_->ready()) run_argv(docker({"rm", "--force", "--volumes", "rtcell-test-c"}));
    daemon_.reset();
    dir_.reset();
    // dockerd's cgroup parent ("docker" in each hierarchy), when this suite's
    // daemon made it: removed once empty.
    if (!had_parent_) {
      std::error_code ec;
      for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) rmdir((h.path() / "docker").c_str());
      rmdir("/sys/fs/cgroup/docker");
    }
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "dockerd needs root";
    if (!have("/usr/sbin/dockerd")) GTEST_SKIP() << "docker.io is not installed";
    if (!have(kRuntime)) GTEST_SKIP() << "rtcell-runtime not built";
    ASSERT_TRUE(daemon_ && daemon_->ready()) << "dockerd did not start:\n" << (daemon_ ? daemon_->log() : "");
    ASSERT_TRUE(imported_) << "docker import failed";
  }
  static std::vector<std::string> docker(const std::vector<std::string>& args) {
    std::vector<std::string> a{"/usr/bin/docker", "-H", "unix://" + dir_->path + "/docker.sock"};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  static Result run_in(const std::vector<std::string>& flags, const std::vector<std::string>& cmd) {
    std::vector<std::string> a{"run", "--rm", "--runtime", "rtcell", "--network", "none"};
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back("rtcell-test");
    a.insert(a.end(), cmd.begin(), cmd.end());
    return run_argv(docker(a));
  }
  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<Daemon> daemon_;
  static bool imported_;
  static bool had_parent_;
};
std::unique_ptr<TempDir> DockerRuntime::dir_;
std::unique_ptr<Daemon> DockerRuntime::daemon_;
bool DockerRuntime::imported_ = false;
bool DockerRuntime::had_parent_ = false;

TEST_F(DockerRuntime, ExitStatusFifoAndNoCapabilities) {
  // Docker 20.10 passes no annotations: the same keys as RTCELL_* variables.
  Result r = run_in({"--cap-drop", "ALL", "-e", "RTCELL_SCHED=fifo:80"},
                    {"/bin/sh", "-c", "chrt -p $$; grep -E '^Cap(Eff|Prm)' /proc/self/status; exit 3"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.out.find("SCHED_FIFO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("priority: 80"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
}

TEST_F(DockerRuntime, RtBudget) {
  if (!path_exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")) GTEST_SKIP() << "no RT group scheduling here";
  Result r = run_in({"--cpu-rt-runtime", "30000", "-e", "RTCELL_SCHED=fifo:60"},
                    {"/bin/sh", "-c", "chrt -p $$; cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("priority: 60"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("30000"), std::string::npos) << r.out;
}

TEST_F(DockerRuntime, TtyExecKillAndRmLeaveNothing) {
  if (have_script()) {
    Result t = in_pty(quoted(docker(
        {"run", "--rm", "-t", "--runtime", "rtcell", "--network", "none", "rtcell-test", "/usr/bin/tty"})));
    EXPECT_NE(t.out.find("/dev/pts/0"), std::string::npos) << t.out;
  }
  Result d = run_argv(docker({"run", "-d", "--name", "rtcell-test-c", "--runtime", "rtcell", "--network",
                              "none", "rtcell-test", "/bin/sleep", "1000"}));
  ASSERT_EQ(d.code, 0) << d.err;
  const std::string id = d.out.substr(0, d.out.find('\n'));
  Result e = run_argv(docker({"exec", "rtcell-test-c", "/bin/sh", "-c", "cat /proc/2/comm; exit 4"}));
  EXPECT_EQ(e.code, 4) << e.err;
  EXPECT_EQ(e.out, "sleep\n");
  if (have_script()) {
    Result et = in_pty(quoted(docker({"exec", "-t", "rtcell-test-c", "/usr/bin/tty"})));
    EXPECT_NE(et.out.find("/dev/pts/"), std::string::npos) << et.out;
  }
  // pause / unpause / update go through containerd-shim-runc-v2 to the runtime.
  Result pz = run_argv(docker({"pause", "rtcell-test-c"}));
  EXPECT_EQ(pz.code, 0) << pz.err;
  EXPECT_EQ(run_argv(docker({"inspect", "-f", "{{.State.Status}}", "rtcell-test-c"})).out, "paused\n");
  EXPECT_EQ(run_argv(docker({"unpause", "rtcell-test-c"})).code, 0);
  EXPECT_EQ(run_argv(docker({"inspect", "-f", "{{.State.Status}}", "rtcell-test-c"})).out, "running\n");
  Result up = run_argv(
      docker({"update", "--memory", "64m", "--memory-swap", "64m", "--pids-limit", "77", "rtcell-test-c"}));
  EXPECT_EQ(up.code, 0) << up.err;
  std::string pids_max;
  for (const auto& g : cgroups_named(id))
    if (path_exists(g + "/pids.max")) pids_max = slurp_value(g + "/pids.max");
  EXPECT_EQ(pids_max, "77");
  EXPECT_EQ(run_argv(docker({"kill", "rtcell-test-c"})).code, 0);
  Result rm = run_argv(docker({"rm", "rtcell-test-c"}));
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_TRUE(cgroups_named(id).empty());
  // stop as well.
  ASSERT_EQ(run_argv(docker({"run", "-d", "--name", "rtcell-test-c", "--runtime", "rtcell", "--network",
                             "none", "rtcell-test", "/bin/sleep", "1000"}))
                .code,
            0);
  EXPECT_EQ(run_argv(docker({"stop", "--time", "2", "rtcell-test-c"})).code, 0);
  EXPECT_EQ(run_argv(docker({"rm", "rtcell-test-c"})).code, 0);
}

TEST_F(DockerRuntime, BadInputIsOneReadableLine) {
  Result r = run_in({"-e", "RTCELL_SCHED=fast"}, {"/bin/true"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("'fast'"), std::string::npos) << r.err;
  rlimit rl{};
  getrlimit(RLIMIT_RTPRIO, &rl);
  if (rl.rlim_max < 99) {
    Result u = run_in({"--ulimit", "rtprio=99:99"}, {"/bin/true"});
    EXPECT_NE(u.code, 0);
    EXPECT_NE(u.err.find("RLIMIT_RTPRIO"), std::string::npos) << u.err;
  }
}

TEST_F(DockerRuntime, ComposeWithTheRos2Shape) {
  if (!have("/usr/bin/docker-compose")) GTEST_SKIP() << "docker-compose is not installed";
  if (!path_exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")) GTEST_SKIP() << "no RT group scheduling here";
  TempDir t;
  // Host network, a cpuset, SYS_NICE and an rtprio ulimit as the source
  // document's compose file has them, a device, and runtime: rtcell.
  std::ofstream(t.path + "/docker-compose.yml")
      << "version: \"2.4\"\nservices:\n  control:\n    image: rtcell-test\n    runtime: rtcell\n"
         "    network_mode: host\n    cpuset: \"0\"\n    cap_add: [SYS_NICE]\n    ulimits:\n      rtprio: "
         "99\n"
         "    devices:\n      - /dev/null:/dev/rt-null\n    cpu_rt_runtime: 100000\n"
         "    command: [\"/bin/sh\", \"-c\", \"chrt -f -p 80 $$$$ && chrt -p $$$$; test -c /dev/rt-null && "
         "echo "
         "device-ok; exit 5\"]\n";
  const std::string env = "DOCKER_HOST=unix://" + dir_->path + "/docker.sock";
  Result up =
      run_argv({"/usr/bin/env", env, "/usr/bin/docker-compose", "-f", t.path + "/docker-compose.yml", "-p",
                "rtcelltest", "up", "--abort-on-container-exit", "--exit-code-from", "control"});
  EXPECT_EQ(up.code, 5) << up.err;
  EXPECT_NE(up.out.find("SCHED_FIFO"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("priority: 80"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("device-ok"), std::string::npos) << up.out;
  Result down = run_argv({"/usr/bin/env", env, "/usr/bin/docker-compose", "-f",
                          t.path + "/docker-compose.yml", "-p", "rtcelltest", "down"});
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_TRUE(cgroups_named("rtcelltest").empty());
}

// ---------------------------------------------------------------- containerd

class ContainerdRuntime : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || !have("/usr/bin/containerd") || !have("/usr/bin/ctr") || !have(kRuntime)) return;
    dir_ = std::make_unique<TempDir>();
    const std::string& d = dir_->path;
    std::ofstream(d + "/config.toml")
        << "version = 2\nroot = \"" << d << "/root\"\nstate = \"" << d
        << "/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n"
           "  address = \""
        << d << "/containerd.sock\"\n[ttrpc]\n  address = \"" << d << "/containerd.sock.ttrpc\"\n";
    daemon_ = std::make_unique<Daemon>(
        d, std::vector<std::string>{"/usr/bin/containerd", "--config", d + "/config.toml"});
    root_ = std::make_unique<ImageRoot>();
  }
  static void TearDownTestSuite() {
    root_.reset();
    daemon_.reset();
    dir_.reset();
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "containerd needs root";
    if (!have("/usr/bin/containerd") || !have("/usr/bin/ctr")) GTEST_SKIP() << "containerd is not installed";
    if (!have(kRuntime)) GTEST_SKIP() << "rtcell-runtime not built";
    ASSERT_TRUE(daemon_ && daemon_->ready()) << "containerd did not start:\n"
                                             << (daemon_ ? daemon_->log() : "");
  }
  static std::vector<std::string> ctr(const std::vector<std::string>& args) {
    std::vector<std::string> a{"/usr/bin/ctr", "-a", dir_->path + "/containerd.sock"};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  static std::vector<std::string> ctr_run(const std::vector<std::string>& flags, const std::string& id,
                                          const std::vector<std::string>& cmd) {
    // --rootfs is a switch: the root is the first positional argument.
    std::vector<std::string> a{"run", "--runc-binary", kRuntime};
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back("--rootfs");
    a.push_back(root_->path);
    a.push_back(id);
    a.insert(a.end(), cmd.begin(), cmd.end());
    return ctr(a);
  }
  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<Daemon> daemon_;
  static std::unique_ptr<ImageRoot> root_;
};
std::unique_ptr<TempDir> ContainerdRuntime::dir_;
std::unique_ptr<Daemon> ContainerdRuntime::daemon_;
std::unique_ptr<ImageRoot> ContainerdRuntime::root_;

TEST_F(ContainerdRuntime, ExitStatusAndFifo) {
  const std::string id = unique_name("ctr");
  Result r = run_argv(ctr_run({"--rm", "--env", "RTCELL_SCHED=fifo:80"}, id,
                              {"/bin/sh", "-c", "chrt -p $$; grep -E '^CapEff' /proc/self/status; exit 6"}));
  EXPECT_EQ(r.code, 6) << r.err;
  EXPECT_NE(r.out.find("priority: 80"), std::string::npos) << r.out;
  EXPECT_TRUE(cgroups_named(id).empty());
}

TEST_F(ContainerdRuntime, TtyExecKillAndRmLeaveNothing) {
  if (have_script()) {
    Result t = in_pty(quoted(ctr_run({"--rm", "-t"}, unique_name("ctrtty"), {"/usr/bin/tty"})));
    EXPECT_NE(t.out.find("/dev/pts/0"), std::string::npos) << t.out;
  }
  const std::string id = unique_name("ctrd");
  Result d = run_argv(ctr_run({"-d"}, id, {"/bin/sleep", "1000"}));
  ASSERT_EQ(d.code, 0) << d.err;
  Result e =
      run_argv(ctr({"task", "exec", "--exec-id", "e1", id, "/bin/sh", "-c", "cat /proc/2/comm; exit 4"}));
  EXPECT_EQ(e.code, 4) << e.err;
  EXPECT_EQ(e.out, "sleep\n");
  EXPECT_EQ(run_argv(ctr({"task", "kill", "--signal", "SIGKILL", id})).code, 0);
  // The task is gone once `task rm` can remove it (it waits for the exit).
  Result rm = run_argv(ctr({"task", "rm", "--force", id}));
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_EQ(run_argv(ctr({"container", "rm", id})).code, 0);
  EXPECT_TRUE(cgroups_named(id).empty());
}

}  // namespace
}  // namespace rtcell::test
