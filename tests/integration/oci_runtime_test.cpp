// rtcell-runtime driven the way conmon and containerd's shim drive it, on the
// real kernel as root: bundles with a runc-like config.json, the whole
// lifecycle by id, runc's state JSON and error texts, --pid-file,
// --console-socket, exec, hooks, and every bad config as one line naming
// the field. The clients themselves (podman, dockerd, containerd,
// docker-compose) are in oci_clients_test.cpp.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>

#include <functional>

#include "integration/oci_support.hpp"

namespace rtcell::test {
namespace {

// CAP_SYS_RESOURCE (24) in this process's effective set: rtcell, run by it
// as root, may then raise any rlimit.
bool has_cap_sys_resource() {
  std::istringstream in(slurp("/proc/self/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("CapEff:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> 24) & 1U;
  return false;
}

using nlohmann::json;

class OciRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell-runtime needs root (namespaces, cgroups)";
    if (!have(kRuntime)) GTEST_SKIP() << "rtcell-runtime not built: " << kRuntime;
  }
  TempDir state;  // --root
  std::string root() const { return state.path + "/runtime"; }
};

TEST_F(OciRuntime, CreateStartStateKillDelete) {
  Bundle b(base_config({"/bin/sh", "-c", "read line; echo got-$line; exit 3"}));
  const std::string id = unique_name("oci");
  const std::string pid_file = b.path + "/pid";
  // create: stdio passes through to the container; the init waits.
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  Spawned c;
  {
    int o[2];
    ASSERT_EQ(pipe2(o, O_CLOEXEC), 0);
    c.pid = fork();
    if (c.pid == 0) {
      dup2(in[0], 0);
      dup2(o[1], 1);
      execl(kRuntime.c_str(), "rtcell-runtime", "--root", root().c_str(), "create", "--bundle",
            b.path.c_str(), "--pid-file", pid_file.c_str(), id.c_str(), nullptr);
      _exit(127);
    }
    close(o[1]);
    c.out = o[0];
  }
  close(in[0]);
  ASSERT_EQ(wait_exit(c.pid), 0);
  const std::string pid = slurp_value(pid_file);
  ASSERT_FALSE(pid.empty());
  Result s = runtime(root(), {"state", id});
  ASSERT_EQ(s.code, 0) << s.err;
  json st = json::parse(s.out);
  EXPECT_EQ(st["status"], "created");
  EXPECT_EQ(std::to_string(st["pid"].get<int>()), pid);
  EXPECT_EQ(st["bundle"], b.path);
  for (const char* k : {"ociVersion", "id", "rootfs", "created", "owner", "annotations"})
    EXPECT_TRUE(st.contains(k)) << k;
  // The init is not the runtime's child: it is reparented, as conmon
  // expects. This test process is its subreaper-less grandparent, so the
  // init's exit is watched through a pidfd.
  int pfd = static_cast<int>(syscall(SYS_pidfd_open, std::stoi(pid), 0));
  ASSERT_GE(pfd, 0);
  EXPECT_EQ(runtime(root(), {"start", id}).code, 0);
  EXPECT_EQ(json::parse(runtime(root(), {"state", id}).out)["status"], "running");
  ASSERT_EQ(write(in[1], "x\n", 2), 2);
  close(in[1]);
  pollfd p{pfd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 30'000), 1);
  close(pfd);
  EXPECT_EQ(read_to_end(c.out), "got-x\n");
  close(c.out);
  EXPECT_EQ(json::parse(runtime(root(), {"state", id}).out)["status"], "stopped");
  // What callers match: "container not running", "does not exist".
  Result k = runtime(root(), {"kill", id, "KILL"});
  EXPECT_NE(k.code, 0);
  EXPECT_NE(k.err.find("container not running"), std::string::npos) << k.err;
  EXPECT_EQ(runtime(root(), {"delete", id}).code, 0);
  Result gone = runtime(root(), {"state", id});
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
  EXPECT_EQ(runtime(root(), {"delete", "--force", id}).code, 0)
      << "delete --force of nothing succeeds, as runc";
  EXPECT_TRUE(leftover_cgroups(id).empty());
}

TEST_F(OciRuntime, KillAndDeleteARunningContainer) {
  Bundle b(base_config({"/bin/sleep", "1000"}));
  const std::string id = unique_name("okill");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", b.path, id}).code, 0);
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  Result ps = runtime(root(), {"ps", "--format", "json", id});
  ASSERT_EQ(ps.code, 0) << ps.err;
  EXPECT_EQ(json::parse(ps.out).size(), 2U) << "the init and sleep: " << ps.out;
  Result d = runtime(root(), {"delete", id});
  EXPECT_NE(d.code, 0) << "a running container needs --force";
  EXPECT_EQ(runtime(root(), {"kill", id, "9"}).code, 0);
  EXPECT_EQ(runtime(root(), {"delete", "--force", id}).code, 0);
  EXPECT_TRUE(leftover_cgroups(id).empty());
}

// docker pause / podman pause: every process frozen. A signal sent while
// paused waits for resume, and delete --force of a paused container leaves
// nothing (a frozen v1 task acts on SIGKILL only once thawed).
TEST_F(OciRuntime, PauseHoldsTheContainerUntilResume) {
  Bundle b(base_config({"/bin/sleep", "1000"}));
  const std::string id = unique_name("opause");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", b.path, id}).code, 0);
  Result pz = runtime(root(), {"pause", id});
  EXPECT_NE(pz.code, 0) << "a created container is not running";
  EXPECT_NE(pz.err.find("container not running"), std::string::npos) << pz.err;
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  const int pid = json::parse(runtime(root(), {"state", id}).out)["pid"].get<int>();
  Result p = runtime(root(), {"pause", id});
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(json::parse(runtime(root(), {"state", id}).out)["status"], "paused");
  std::string self = slurp("/proc/" + std::to_string(pid) + "/cgroup");
  if (path_exists("/sys/fs/cgroup/freezer/cgroup.procs")) {
    // v1/hybrid: the freezer group made on first pause holds the init.
    EXPECT_EQ(slurp_value("/sys/fs/cgroup/freezer/rtcell/" + id + "/freezer.state"), "FROZEN");
    EXPECT_NE(self.find("freezer:/rtcell/" + id), std::string::npos) << self;
  }
  EXPECT_NE(runtime(root(), {"pause", id}).err.find("already paused"), std::string::npos);
  Result e = runtime(root(), {"exec", id, "/bin/true"});
  EXPECT_NE(e.code, 0);
  EXPECT_NE(e.err.find("paused"), std::string::npos) << e.err;
  // TERM while frozen: the init cannot act on it until resume.
  int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pfd, 0);
  ASSERT_EQ(runtime(root(), {"kill", id, "TERM"}).code, 0);
  EXPECT_EQ(json::parse(runtime(root(), {"state", id}).out)["status"], "paused");
  Result r = runtime(root(), {"resume", id});
  ASSERT_EQ(r.code, 0) << r.err;
  pollfd pf{pfd, POLLIN, 0};
  ASSERT_EQ(poll(&pf, 1, 30'000), 1) << "the TERM sent while paused ends the container once resumed";
  close(pfd);
  EXPECT_NE(runtime(root(), {"resume", id}).err.find("container not paused"), std::string::npos);
  EXPECT_EQ(runtime(root(), {"delete", id}).code, 0);
  EXPECT_TRUE(leftover_cgroups(id).empty()) << "the freezer group goes with the container";

  // delete --force of a paused container.
  const std::string id2 = unique_name("opause");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", b.path, id2}).code, 0);
  ASSERT_EQ(runtime(root(), {"start", id2}).code, 0);
  ASSERT_EQ(runtime(root(), {"pause", id2}).code, 0);
  Result d = runtime(root(), {"delete", "--force", id2});
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_TRUE(leftover_cgroups(id2).empty());
  EXPECT_NE(runtime(root(), {"state", id2}).code, 0);
}

// docker update / containerd-shim's `update --resources -`: new memory,
// pids and cpuset limits on the running container's groups; what it cannot
// change is one line, and nothing is half-applied.
TEST_F(OciRuntime, UpdateChangesLimitsOrSaysWhyNot) {
  json c = base_config({"/bin/sleep", "1000"});
  c["linux"]["resources"] = {{"memory", {{"limit", 256 << 20}}}, {"pids", {{"limit", 100}}}};
  Bundle b(c);
  const std::string id = unique_name("oupd");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", b.path, id}).code, 0);
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  const bool v2 = path_exists("/sys/fs/cgroup/cgroup.controllers");
  const std::string mem = v2 ? "/sys/fs/cgroup/rtcell/" + id + "/memory.max"
                             : "/sys/fs/cgroup/memory/rtcell/" + id + "/memory.limit_in_bytes";
  const std::string pids =
      v2 ? "/sys/fs/cgroup/rtcell/" + id + "/pids.max" : "/sys/fs/cgroup/pids/rtcell/" + id + "/pids.max";
  ASSERT_EQ(slurp_value(mem), std::to_string(256 << 20));
  Result u = run_shell(
      "echo '{\"memory\":{\"limit\":134217728,\"swap\":0},\"pids\":{\"limit\":50},"
      "\"blockIO\":{}}' | " +
      kRuntime + " --root " + root() + " update --resources - " + id);
  ASSERT_EQ(u.code, 0) << u.err;
  EXPECT_EQ(slurp_value(mem), "134217728");
  EXPECT_EQ(slurp_value(pids), "50");
  ASSERT_EQ(runtime(root(), {"update", "--memory", "96m", "--pids-limit", "60", id}).code, 0);
  EXPECT_EQ(slurp_value(mem), std::to_string(96 << 20));
  EXPECT_EQ(slurp_value(pids), "60");
  // Refused, each in one line, and nothing written.
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"update", "--cpu-quota", "5000", id},
           {"update", "--cpu-rt-runtime", "20000", "--pids-limit", "70", id},
           {"update", "--cpuset-mems", "0", "--memory", "64m", "--bogus", id},
           {"update", "--pids-limit", "70", "no-such-container"},
       }) {
    Result r = runtime(root(), bad);
    EXPECT_NE(r.code, 0) << bad[1];
    EXPECT_TRUE(only_line(r.err)) << r.err;
  }
  EXPECT_EQ(slurp_value(pids), "60");
  EXPECT_EQ(slurp_value(mem), std::to_string(96 << 20));
  EXPECT_EQ(runtime(root(), {"delete", "--force", id}).code, 0);

  // A container made without a memory limit: v1 gave it a memory group all
  // the same (one per mounted controller), v2 did not switch the memory
  // controller on for it, so the limit cannot come later there.
  Bundle plain(base_config({"/bin/sleep", "1000"}));
  const std::string id2 = unique_name("oupd");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", plain.path, id2}).code, 0);
  Result m = runtime(root(), {"update", "--memory", "64m", id2});
  if (v2) {
    EXPECT_NE(m.code, 0);
    EXPECT_NE(m.err.find("no memory cgroup"), std::string::npos) << m.err;
  } else {
    EXPECT_EQ(m.code, 0) << m.err;
    EXPECT_EQ(slurp_value("/sys/fs/cgroup/memory/rtcell/" + id2 + "/memory.limit_in_bytes"),
              std::to_string(64 << 20));
  }
  EXPECT_EQ(runtime(root(), {"delete", "--force", id2}).code, 0);
  EXPECT_TRUE(leftover_cgroups(id).empty());
  EXPECT_TRUE(leftover_cgroups(id2).empty());
}

// The annotation path admits like run -f and hands the container its
// tasks' admitted parameters (RTCELL_TASKS) as well.
TEST_F(OciRuntime, ManifestAnnotationGivesTheAdmittedTasks) {
  TempDir t;
  std::ofstream(t.path + "/cells.yaml") << "version: 1\ncells:\n  - name: ctl\n    cpus: \"0\"\n"
                                           "    sched: fifo:45\n    tasks:\n"
                                           "      - {name: loop, period: 1ms, wcet: 100us}\n";
  json c = base_config({"/bin/sh", "-c", "printf %s \"$RTCELL_TASKS\""});
  c["annotations"] = {{"rtcell.io/manifest", t.path + "/cells.yaml"}, {"rtcell.io/cell", "ctl"}};
  Bundle b(c);
  const std::string id = unique_name("oman");
  Result r = runtime(root(), {"run", "--bundle", b.path, id});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["cell"], "ctl");
  EXPECT_EQ(j["tasks"][0]["name"], "loop");
  EXPECT_EQ(j["tasks"][0]["priority"], 45);
  EXPECT_EQ(j["tasks"][0]["cpu"], 0);
  EXPECT_TRUE(leftover_cgroups(id).empty());
}

// The OCI path supervises as create -f does: a process of its own, started
// by the runtime's create, that kills the runaway container by the
// manifest's policy and ends with it; nothing on stderr at delete (the
// client reads it as errors), the overrun in the kernel log.
TEST_F(OciRuntime, ManifestContainerIsSupervised) {
  TempDir t;
  const int cpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  std::ofstream(t.path + "/cells.yaml")
      << "version: 1\ncells:\n  - name: spin\n    cpus: \"" << cpu
      << "\"\n    sched: fifo:40\n    supervise: {action: kill, grace: 20ms}\n"
         "    tasks:\n      - {name: loop, period: 10ms, wcet: 1ms}\n";
  json c = base_config({"/bin/sh", "-c", "while :; do :; done"});
  c["annotations"] = {{"rtcell.io/manifest", t.path + "/cells.yaml"}, {"rtcell.io/cell", "spin"}};
  Bundle b(c);
  const std::string id = unique_name("osup");
  Result cr = runtime_detached(root(), {"create", "--bundle", b.path, id});
  ASSERT_EQ(cr.code, 0) << cr.err;
  const pid_t init = json::parse(runtime(root(), {"state", id}).out).value("pid", 0);
  ASSERT_GT(init, 0);
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, init, 0));
  ASSERT_GE(fd, 0);
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 60'000), 1) << "the runaway container was not killed";
  ::close(fd);
  EXPECT_EQ(json::parse(runtime(root(), {"state", id}).out)["status"], "stopped");
  Result del = runtime(root(), {"delete", id});
  EXPECT_EQ(del.code, 0) << del.err;
  if (del.code != 0) runtime(root(), {"delete", "--force", id});  // a failure above leaves no runaway behind
  EXPECT_TRUE(leftover_cgroups(id).empty());
}

TEST_F(OciRuntime, ConsoleSocketGetsThePty) {
  json c = base_config({"/bin/sh", "-c", "tty; test -t 0 && echo has-tty"});
  c["process"]["terminal"] = true;
  Bundle b(c);
  ConsoleSocket cs;
  const std::string id = unique_name("otty");
  // No socket: refused before anything exists.
  Result none = runtime_detached(root(), {"create", "--bundle", b.path, id});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("console-socket"), std::string::npos) << none.err;
  // The send completes on the listening socket's backlog: create returns
  // before the receiver accepts.
  Result cr = runtime_detached(root(), {"create", "--bundle", b.path, "--console-socket", cs.sock, id});
  ASSERT_EQ(cr.code, 0) << cr.err;
  const int master = cs.receive();
  ASSERT_GE(master, 0);
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  const std::string text = read_to_end(master);
  close(master);
  EXPECT_NE(text.find("/dev/pts/0"), std::string::npos) << text;
  EXPECT_NE(text.find("has-tty"), std::string::npos) << text;
  EXPECT_EQ(runtime(root(), {"delete", "--force", id}).code, 0);
}

// A bundle's read-only root that lacks a mount point (containerd's pause
// root and /etc/resolv.conf) gets it made in the root before the root
// turns read-only, as runc does; through a hostile image's absolute
// symlink (/etc -> /ESCAPE) it is made inside the root, never on the host.
TEST_F(OciRuntime, ReadOnlyBundleRootGetsItsMountPointsInsideIt) {
  ImageRoot r;
  const std::string escape = "/rtcell-test-escape-" + std::to_string(getpid());
  fs::remove_all(r.path + "/etc");
  fs::create_directory_symlink(escape, r.path + "/etc");
  json c = base_config({"/bin/cat", "/etc/resolv.conf"});
  c["root"] = {{"path", r.path}, {"readonly", true}};
  c["mounts"].push_back({{"destination", "/etc/resolv.conf"},
                         {"type", "bind"},
                         {"source", "/proc/sys/kernel/ostype"},
                         {"options", {"rbind", "ro"}}});
  Bundle b(c);
  const std::string id = unique_name("oromp");
  Result run = runtime(root(), {"run", "--bundle", b.path, id});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "Linux\n");
  EXPECT_FALSE(fs::exists(escape)) << "a mount point was made on the host";
  EXPECT_TRUE(fs::exists(r.path + escape + "/resolv.conf"));
  EXPECT_TRUE(leftover_cgroups(id).empty());
  // rtcell's own read-only root (the host's /) is never written: a missing
  // mount point there is refused in one line.
  json h = base_config({"/bin/true"});
  h["mounts"].push_back({{"destination", escape + "/x"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  Bundle hb(h);
  Result refused = runtime(root(), {"run", "--bundle", hb.path, unique_name("oromp")});
  EXPECT_EQ(refused.code, 2);
  EXPECT_TRUE(only_line(refused.err)) << refused.err;
  EXPECT_NE(refused.err.find("create it first"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(escape));
}

// linux.namespaces[].path: a pod's containers enter their sandbox's ipc
// and uts namespaces (containerd's CRI), Podman's a netns file. The second
// container is born in the first one's namespaces and keeps its hostname.
TEST_F(OciRuntime, NamespacePathsAreEntered) {
  Bundle a(base_config({"/bin/sleep", "1000"}));
  const std::string ida = unique_name("onsa");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", a.path, ida}).code, 0);
  Result st = runtime(root(), {"state", ida});
  ASSERT_EQ(st.code, 0) << st.err;
  const std::string pid = std::to_string(json::parse(st.out)["pid"].get<int>());
  // One readlink a file: busybox's (the guests' root) takes one.
  json c = base_config(
      {"/bin/sh", "-c", "for n in net ipc uts pid; do readlink /proc/self/ns/$n; done; hostname"});
  c["hostname"] = "other";
  c["linux"]["namespaces"] = json::array({{{"type", "pid"}},
                                          {{"type", "mount"}},
                                          {{"type", "network"}, {"path", "/proc/" + pid + "/ns/net"}},
                                          {{"type", "ipc"}, {"path", "/proc/" + pid + "/ns/ipc"}},
                                          {{"type", "uts"}, {"path", "/proc/" + pid + "/ns/uts"}}});
  Bundle b(c);
  const std::string idb = unique_name("onsb");
  Result r = runtime(root(), {"run", "--bundle", b.path, idb});
  auto link = [](const std::string& p) { return fs::read_symlink(p).string(); };
  const std::string ns = "/proc/" + pid + "/ns/";
  const std::string want_net = link(ns + "net"), want_ipc = link(ns + "ipc"), want_uts = link(ns + "uts"),
                    want_pid = link(ns + "pid");
  // The first container goes before any assertion can end the test.
  EXPECT_EQ(runtime(root(), {"delete", "--force", ida}).code, 0);
  EXPECT_TRUE(leftover_cgroups(ida).empty());
  EXPECT_TRUE(leftover_cgroups(idb).empty());
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5U) << r.out;
  EXPECT_EQ(lines[0], want_net);
  EXPECT_EQ(lines[1], want_ipc);
  EXPECT_EQ(lines[2], want_uts);
  EXPECT_NE(lines[3], want_pid) << "a pid namespace of its own";
  EXPECT_EQ(lines[4], "oci") << "the entered uts namespace keeps its name";
}

TEST_F(OciRuntime, ExecJoinsTheContainer) {
  Bundle b(base_config({"/bin/sleep", "1000"}));
  const std::string id = unique_name("oexec");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", b.path, id}).code, 0);
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  // Its pid namespace (sleep is pid 2), its hostname, its cgroups; the exit
  // status comes back when the runtime waits.
  Result e = runtime(root(), {"exec", id, "/bin/sh", "-c", "hostname; cat /proc/2/comm; exit 4"});
  EXPECT_EQ(e.code, 4) << e.err;
  EXPECT_EQ(e.out, "oci\nsleep\n");
  // --process FILE --detach --pid-file, as conmon and the shim call it.
  TempDir t;
  json proc{{"args", {"/bin/sleep", "1000"}}, {"cwd", "/"}, {"user", {{"uid", 65534}, {"gid", 65534}}}};
  std::ofstream(t.path + "/process.json") << proc.dump();
  Result d = runtime_detached(
      root(), {"exec", "--process", t.path + "/process.json", "--detach", "--pid-file", t.path + "/pid", id});
  ASSERT_EQ(d.code, 0) << d.err;
  const std::string pid = slurp_value(t.path + "/pid");
  EXPECT_NE(slurp("/proc/" + pid + "/status").find("Uid:\t65534"), std::string::npos);
  Result ps = runtime(root(), {"ps", "--format", "json", id});
  EXPECT_NE(ps.out.find(pid), std::string::npos) << "the exec'd process is in the cell's cgroups: " << ps.out;
  Result bad = runtime(root(), {"exec", id, "/no/such/thing"});
  EXPECT_NE(bad.code, 0);
  EXPECT_TRUE(only_line(bad.err)) << bad.err;
  EXPECT_EQ(runtime(root(), {"delete", "--force", id}).code, 0);
  EXPECT_TRUE(leftover_cgroups(id).empty());
}

TEST_F(OciRuntime, ExecGetsASchedulerOnlyWhenItAsks) {
  if (!path_exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"))
    GTEST_SKIP() << "no RT group scheduling (cpu.rt_runtime_us) on this host";
  json c = base_config({"/bin/sleep", "1000"});
  c["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 80}};
  Bundle b(c);
  const std::string id = unique_name("oexecs");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", b.path, id}).code, 0);
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  Result e = runtime(root(), {"exec", id, "/bin/sh", "-c", "chrt -p $$; chrt -p 2"});
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("SCHED_OTHER"), std::string::npos) << "the exec'd shell: " << e.out;
  EXPECT_NE(e.out.find("SCHED_FIFO"), std::string::npos) << "the container's command: " << e.out;
  TempDir t;
  json proc{{"args", {"/bin/sh", "-c", "chrt -p $$"}},
            {"cwd", "/"},
            {"scheduler", {{"policy", "SCHED_RR"}, {"priority", 10}}}};
  std::ofstream(t.path + "/process.json") << proc.dump();
  Result r = runtime(root(), {"exec", "--process", t.path + "/process.json", id});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("SCHED_RR"), std::string::npos) << r.out;
  EXPECT_EQ(runtime(root(), {"delete", "--force", id}).code, 0);
  EXPECT_TRUE(leftover_cgroups(id).empty());
}

TEST_F(OciRuntime, HooksGetTheStateOnStdin) {
  TempDir t;
  const std::string hook = t.path + "/hook.sh";
  std::ofstream(hook) << "#!/bin/sh\ncat > " << t.path << "/$1.json\n";
  chmod(hook.c_str(), 0755);
  json c = base_config({"/bin/true"});
  for (const char* kind :
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"})
    c["hooks"][kind] = json::array({{{"path", hook}, {"args", {"hook.sh", kind}}}});
  Bundle b(c);
  const std::string id = unique_name("ohook");
  ASSERT_EQ(runtime_detached(root(), {"create", "--bundle", b.path, id}).code, 0);
  ASSERT_EQ(runtime(root(), {"start", id}).code, 0);
  ASSERT_EQ(runtime(root(), {"delete", "--force", id}).code, 0);
  for (const char* kind :
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}) {
    const std::string text = slurp(t.path + "/" + kind + ".json");
    ASSERT_FALSE(text.empty()) << kind << " did not run";
    json s = json::parse(text);
    EXPECT_EQ(s["id"], id) << kind;
    EXPECT_EQ(s["bundle"], b.path) << kind;
  }
  // A failing hook fails create and leaves nothing.
  c["hooks"] = {{"createRuntime", json::array({{{"path", "/bin/false"}}})}};
  b.write(c);
  const std::string id2 = unique_name("ohookfail");
  Result r = runtime_detached(root(), {"create", "--bundle", b.path, id2});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("hooks.createRuntime[0]"), std::string::npos) << r.err;
  EXPECT_FALSE(path_exists(root() + "/" + id2));
  EXPECT_TRUE(leftover_cgroups(id2).empty());
}

TEST_F(OciRuntime, SchedulerAndRtBudgetWithoutCapabilities) {
  if (!path_exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"))
    GTEST_SKIP() << "no RT group scheduling (cpu.rt_runtime_us) on this host";
  json c = base_config({"/bin/sh", "-c", "chrt -p $$; grep CapEff /proc/self/status"});
  c["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 80}};
  c["linux"]["resources"] = {{"cpu", {{"realtimeRuntime", 20000}, {"realtimePeriod", 1000000}}}};
  c["linux"]["cgroupsPath"] = "/rtcell-oci-test/" + unique_name("osched");
  Bundle b(c);
  const std::string id = unique_name("osched");
  Result r = runtime(root(), {"run", "--bundle", b.path, id});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("SCHED_FIFO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("priority: 80"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
  // The budget went back along the chain: the parent level is gone.
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/cpu/rtcell-oci-test"));
}

// What rtcell-device-plugin's Allocate hands a Kubernetes container: the RT
// CPUs as rtcell.io/cpus replace the cpuset the config asks for.
TEST_F(OciRuntime, CpusAnnotationFromTheDevicePluginSetsTheCpuset) {
  json c = base_config({"/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"});
  c["linux"]["resources"] = {{"cpu", {{"cpus", "0-1"}}}};
  c["annotations"] = {{"rtcell.io/cpus", "1"}};
  Bundle b(c);
  const std::string id = unique_name("ocpus");
  Result r = runtime(root(), {"run", "--bundle", b.path, id});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Cpus_allowed_list:\t1\n"), std::string::npos) << r.out;
}

TEST_F(OciRuntime, BadConfigsAreOneLineNamingTheField) {
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"malformed", nullptr, "not valid JSON"},
      {"namespace",
       [](json& c) {
         c["linux"]["namespaces"].push_back({{"type", "time"}});
       },
       "linux.namespaces[5].type"},
      {"blockio",
       [](json& c) {
         c["linux"]["resources"]["blockIO"] = {{"weight", 500}};
       },
       "linux.resources.blockIO"},
      {"field",
       [](json& c) {
         c["linux"]["intelRdt"] = {{"closID", "x"}};
       },
       "linux.intelRdt"},
      {"unknown", [](json& c) { c["process"]["frobnicate"] = true; }, "process.frobnicate"},
      {"systemd", [](json& c) { c["linux"]["cgroupsPath"] = "system.slice:docker:abc"; }, "cgroupfs"},
      {"rtprio",
       [](json& c) {
         c["process"]["rlimits"] = {{{"type", "RLIMIT_RTPRIO"}, {"soft", 99}, {"hard", 99}}};
       },
       "RLIMIT_RTPRIO"},
      {"prio99",
       [](json& c) {
         c["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 99}};
       },
       "99"},
      {"sched",
       [](json& c) {
         c["annotations"] = {{"rtcell.io/sched", "fast"}};
       },
       "fast"},
      {"cpus",
       [](json& c) {
         c["annotations"] = {{"rtcell.io/cpus", "1-x"}};
       },
       "annotation rtcell.io/cpus"},
      {"nspath", [](json& c) { c["linux"]["namespaces"][2]["path"] = "/etc/hostname"; },
       "is not a ipc namespace"},
      {"nsgone", [](json& c) { c["linux"]["namespaces"][3]["path"] = "/proc/0/ns/uts"; }, "cannot be opened"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    json c = base_config({"/bin/true"});
    Bundle b(c);
    if (k.edit) {
      k.edit(c);
      b.write(c);
    } else {
      std::ofstream(b.path + "/config.json") << "{\"ociVersion\": ";
    }
    if (std::string(k.name) == "rtprio") {
      // Refused only where rtcell cannot grant it: a hard limit below 99 and
      // no CAP_SYS_RESOURCE (this development VM; a QEMU guest's root has it).
      rlimit rl{};
      getrlimit(RLIMIT_RTPRIO, &rl);
      if (rl.rlim_max >= 99 || has_cap_sys_resource()) continue;
    }
    const std::string id = unique_name("obad");
    Result r = runtime_detached(root(), {"create", "--bundle", b.path, id});
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(only_line(r.err)) << r.err;
    EXPECT_NE(r.err.find(k.expect), std::string::npos) << r.err;
    EXPECT_FALSE(path_exists(root() + "/" + id));
    EXPECT_TRUE(leftover_cgroups(id).empty());
  }
  // The global flags callers pass: --systemd-cgroup refused with what to do,
  // --log-format json writes {"level","msg","time"} lines.
  Result sd = run_argv({kRuntime, "--systemd-cgroup", "state", "x"});
  EXPECT_EQ(sd.code, 2);
  EXPECT_NE(sd.err.find("cgroupfs"), std::string::npos) << sd.err;
  TempDir t;
  run_argv(
      {kRuntime, "--root", root(), "--log", t.path + "/log", "--log-format", "json", "state", "nothing"});
  const std::string log = slurp_value(t.path + "/log");
  json line = json::parse(log.substr(log.rfind('\n') + 1));  // the last line
  EXPECT_EQ(line["level"], "error");
  EXPECT_NE(line["msg"].get<std::string>().find("does not exist"), std::string::npos);
  EXPECT_TRUE(line.contains("time"));
}

TEST_F(OciRuntime, FeaturesAndVersion) {
  Result f = run_argv({kRuntime, "features"});
  ASSERT_EQ(f.code, 0) << f.err;
  json j = json::parse(f.out);
  EXPECT_EQ(j["hooks"].size(), 6U);
  EXPECT_FALSE(j["linux"]["cgroup"]["systemd"].get<bool>());
  Result v = run_argv({kRuntime, "--version"});
  EXPECT_NE(v.out.find("spec: 1.0.2"), std::string::npos) << v.out;
}

}  // namespace
}  // namespace rtcell::test
