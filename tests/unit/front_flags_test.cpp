// The `rtcell run` front door (front/flags, front/manifest_cell) and the
// spec checks of cell/prepare: pure functions on text, build_spec() and
// prepare() refusals that happen before any privileged step (so they hold as
// non-root too), and the manifest cell reaching the spec typed.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cell/prepare.hpp"
#include "front/flags.hpp"
#include "front/manifest_cell.hpp"
#include "rtcell/error.hpp"
#include "sys/mount.hpp"
#include "sys/process.hpp"
#include "unit/error_helpers.hpp"

namespace rtcell::front {
namespace {

using cell::resolve_command;

using rtcell::test::kind_of;
using rtcell::test::message_of;

namespace fs = std::filesystem;

TEST(FrontFlags, ParseVolume) {
  auto v = parse_volume("/data:/mnt");
  EXPECT_EQ(v.source, "/data");
  EXPECT_EQ(v.target, "/mnt");
  EXPECT_FALSE(v.read_only);
  EXPECT_TRUE(parse_volume("/data:/mnt:ro").read_only);
  EXPECT_FALSE(parse_volume("/data:/mnt:rw").read_only);
  for (const char* bad : {"/data", "data:/mnt", "/data:mnt", "/data:/mnt:rx", "/a/../b:/mnt", "/data:/", ""})
    EXPECT_EQ(kind_of([&] { parse_volume(bad); }), ErrorKind::Usage) << bad;
}

TEST(FrontFlags, ParseDevice) {
  auto d = parse_device("/dev/ttyUSB0");
  EXPECT_EQ(d.path, "/dev/ttyUSB0");
  EXPECT_EQ(d.access, "rwm");
  EXPECT_EQ(parse_device("/dev/video0:r").access, "r");
  for (const char* bad : {"/etc/passwd", "dev/null", "/dev/null:x", "/dev/null:", "/dev/../etc/shadow"})
    EXPECT_EQ(kind_of([&] { parse_device(bad); }), ErrorKind::Usage) << bad;
}

TEST(FrontFlags, ParseUser) {
  uid_t u = 0;
  gid_t g = 0;
  parse_user("1000", u, g);
  EXPECT_EQ(u, 1000U);
  EXPECT_EQ(g, 1000U);
  parse_user("0:5", u, g);
  EXPECT_EQ(u, 0U);
  EXPECT_EQ(g, 5U);
  for (const char* bad : {"nobody", "1000:", ":5", "-1", "1:x"})
    EXPECT_EQ(kind_of([&] { parse_user(bad, u, g); }), ErrorKind::Usage) << bad;
}

TEST(FrontFlags, CapsDefaultEmptyAddDropAndNames) {
  EXPECT_TRUE(resolve_caps({}, {}).empty());
  auto s = resolve_caps({"SYS_NICE", "cap_ipc_lock"}, {});
  EXPECT_EQ(s.bits(), (uint64_t{1} << 23) | (uint64_t{1} << 14));
  auto all_but = resolve_caps({"ALL"}, {"SYS_ADMIN"});
  EXPECT_FALSE(all_but.has(21));
  EXPECT_TRUE(all_but.has(23));
  EXPECT_EQ(kind_of([] { resolve_caps({"SYS_BANANA"}, {}); }), ErrorKind::Usage);
  EXPECT_EQ(kind_of([] { resolve_caps({}, {"NOPE"}); }), ErrorKind::Usage);
  EXPECT_EQ(kind_of([] { resolve_caps({"SYS_NICE"}, {"CAP_SYS_NICE"}); }), ErrorKind::Usage);
}

TEST(FrontFlags, CpusetWarningsFollowMoby31086) {
  const CpuSet iso = CpuSet::parse("2-3");
  EXPECT_TRUE(cpuset_warnings(CpuSet::parse("0-1"), CpuSet{}).empty());
  EXPECT_TRUE(cpuset_warnings(CpuSet::parse("0-1"), iso).empty());
  EXPECT_TRUE(cpuset_warnings(CpuSet::parse("2"), iso).empty());
  auto mixed = cpuset_warnings(CpuSet::parse("1-2"), iso);
  ASSERT_EQ(mixed.size(), 1U);
  EXPECT_NE(mixed[0].find("mixes isolated"), std::string::npos);
  EXPECT_NE(mixed[0].find("31086"), std::string::npos);
  auto spread = cpuset_warnings(CpuSet::parse("2-3"), iso);
  ASSERT_EQ(spread.size(), 1U);
  EXPECT_NE(spread[0].find("pins itself"), std::string::npos);
}

struct TempRoot {
  std::string path;
  TempRoot() {
    char tmpl[] = "/tmp/rtcell-unit-root-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempRoot() { fs::remove_all(path); }
  void file(const std::string& rel, int mode) {
    fs::create_directories(fs::path(path + rel).parent_path());
    std::ofstream(path + rel) << "#!/bin/sh\n";
    chmod((path + rel).c_str(), static_cast<mode_t>(mode));
  }
};

TEST(FrontFlags, ResolveCommandInsideTheRootfs) {
  TempRoot r;
  r.file("/usr/bin/app", 0755);
  r.file("/opt/tool", 0755);
  r.file("/usr/bin/data", 0644);
  r.file("/work/run.sh", 0755);
  EXPECT_EQ(resolve_command(r.path, "app", "/bin:/usr/bin"), "/usr/bin/app");
  EXPECT_EQ(resolve_command(r.path, "/opt/tool", "/bin"), "/opt/tool");
  EXPECT_EQ(resolve_command(r.path, "tool", "/bin:/usr/bin"), "");
  EXPECT_EQ(resolve_command(r.path, "data", "/usr/bin"), "") << "not executable";
  EXPECT_EQ(resolve_command(r.path, "./run.sh", "/bin", "/work"), "/work/./run.sh");
  EXPECT_EQ(resolve_command(r.path, "app", "relative:/usr/bin"), "/usr/bin/app");
}

host::HostFacts facts() {
  host::HostFacts f;
  f.online_cpus = CpuSet::parse("0-1");
  return f;
}

Built build(const RunFlags& s) {
  return build_spec(s, facts());
}

TEST(FrontFlags, PrepareRefusesBadInputFirst) {
  RunFlags s;
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);  // no command
  s.command = {"/bin/sh"};
  s.name = "bad/name";
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);
  s.name = "ok";
  s.sched = rt::Fifo{99};
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);  // priority 99 without the flag
  s.sched.reset();
  s.rtprio = 99;
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);
  s.rtprio.reset();
  s.command = {"/no/such/binary"};
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);
  s.command = {"/bin/sh"};
  s.rootfs = "/no/such/rootfs";
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);
  s.rootfs.clear();
  s.rt_period_us = 1000;
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);  // period without runtime
  s.rt_period_us.reset();
  s.seccomp = SeccompMode::File;
  s.seccomp_file = "/no/such/profile.json";
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);
}

TEST(FrontFlags, PrepareBuildsTheEnvironment) {
  RunFlags s;
  s.command = {"sh", "-c", "true"};
  s.name = "envtest";
  s.env = {"FOO=bar", "PATH=/bin"};
  auto b = build(s);
  auto p = cell::prepare(b.id, b.spec, facts());
  EXPECT_EQ(p.id, "envtest");
  EXPECT_EQ(p.spec.root_path, "/");
  EXPECT_EQ(p.executable, "/bin/sh");
  EXPECT_TRUE(p.spec.process.capabilities.permitted.empty());
  EXPECT_TRUE(p.spec.process.capabilities.bounding.empty());
  ASSERT_TRUE(p.spec.seccomp.has_value());
  EXPECT_FALSE(p.seccomp_bpf.empty());
  const auto& env = p.spec.process.env;
  EXPECT_NE(std::find(env.begin(), env.end(), "FOO=bar"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "PATH=/bin"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "HOSTNAME=envtest"), env.end());
  EXPECT_EQ(
      std::count_if(env.begin(), env.end(), [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }),
      1);
}

TEST(FrontFlags, FlagsBecomeTheSpec) {
  RunFlags s;
  s.command = {"/bin/sh"};
  s.name = "spec";
  s.cpus = CpuSet::parse("1");
  s.sched = rt::Fifo{40};
  s.rt_runtime_us = 50'000;
  s.memlock_bytes = 1 << 20;
  s.net_none = true;
  s.tmpfs = {"/tmp:size=1M"};
  s.volumes = {parse_volume("/etc:/mnt:ro")};
  s.uid = 1000;
  s.gid = 1001;
  s.seccomp = SeccompMode::Unconfined;
  auto b = build(s);
  const cell::Spec& sp = b.spec;
  EXPECT_EQ(sp.resources.cpus, CpuSet::parse("1"));
  ASSERT_TRUE(sp.resources.rt.has_value());
  EXPECT_EQ(sp.resources.rt->runtime_us, 50'000);
  EXPECT_EQ(sp.resources.rt->period_us, 1'000'000);
  ASSERT_TRUE(sp.process.scheduler.has_value());
  EXPECT_EQ(rt::to_string(*sp.process.scheduler), "fifo:40");
  EXPECT_TRUE(sp.wants_rt());
  EXPECT_TRUE(sp.has_namespace(cell::NamespaceType::Network));
  EXPECT_FALSE(sp.seccomp.has_value());
  EXPECT_EQ(sp.process.user.uid, 1000U);
  EXPECT_EQ(sp.process.user.gid, 1001U);
  // Least privilege: RLIMIT_RTPRIO 0 unless --rtprio; --memlock as a limit.
  bool rtprio0 = false, memlock = false;
  for (const auto& r : sp.process.rlimits) {
    rtprio0 = rtprio0 || (r.resource == RLIMIT_RTPRIO && r.hard == 0);
    memlock = memlock || (r.resource == RLIMIT_MEMLOCK && r.hard == (1U << 20));
  }
  EXPECT_TRUE(rtprio0);
  EXPECT_TRUE(memlock);
  bool tmp = false, vol = false;
  for (const auto& m : sp.mounts) {
    if (m.destination == "/tmp")
      tmp = m.type == "tmpfs" && std::find(m.options.begin(), m.options.end(), "size=1M") != m.options.end();
    if (m.destination == "/mnt")
      vol = m.is_bind() && m.source == "/etc" &&
            std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
  }
  EXPECT_TRUE(tmp);
  EXPECT_TRUE(vol);
  EXPECT_EQ(sp.hostname, "spec");
}

TEST(FrontFlags, SpecChecksNameTheSpecField) {
  cell::Spec s = cell::default_spec();
  s.process.args = {"/bin/sh"};
  s.mounts.push_back({"/no-such-dir-here", "bind", "/etc", {"rbind"}});
  EXPECT_NE(message_of([&] { cell::prepare("x", s, facts()); }).find("mounts[4].destination"),
            std::string::npos);
  s.mounts.pop_back();
  s.resources.cpus = CpuSet::parse("7");
  EXPECT_NE(message_of([&] { cell::prepare("x", s, facts()); }).find("resources.cpus"), std::string::npos);
  s.resources.cpus = {};
  s.process.args.clear();
  EXPECT_NE(message_of([&] { cell::prepare("x", s, facts()); }).find("process.args"), std::string::npos);
  s.process.args = {"/bin/sh"};
  for (const char* bad : {"", "a/b", "..", "x y"})
    EXPECT_EQ(kind_of([&] { cell::prepare(bad, s, facts()); }), ErrorKind::Usage) << bad;
  EXPECT_EQ(kind_of([&] { cell::prepare(std::string(65, 'a'), s, facts()); }), ErrorKind::Usage);
  EXPECT_EQ(cell::prepare("ok", s, facts()).executable, "/bin/sh");
  // Only sysctls the cell's own namespaces hold.
  s.sysctls = {{"kernel.shmmax", "1000000"}};
  EXPECT_NO_THROW(cell::prepare("ok", s, facts()));
  s.sysctls = {{"net.ipv4.ip_forward", "1"}};  // no network namespace: the host's
  EXPECT_NE(message_of([&] { cell::prepare("ok", s, facts()); }).find("net.ipv4.ip_forward"),
            std::string::npos);
  s.sysctls = {{"kernel.randomize_va_space", "0"}};
  EXPECT_EQ(kind_of([&] { cell::prepare("ok", s, facts()); }), ErrorKind::Usage);
}

// A manifest cell reaches RunFlags typed: numbers stay numbers.
TEST(FrontFlags, ManifestCellIsTyped) {
  auto m = manifest::parse(R"(cells:
  - name: nav
    cpus: "1"
    sched: fifo:70
    rt_runtime: 20000
    rt_period: 100000
    memory: 64M
    user: "1000:1000"
    devices: ["/dev/null:rw"]
    tmpfs: ["/tmp"]
    env: {A: b}
    command: [/bin/true]
)",
                           "m.yaml");
  RunFlags f = flags_from_decl(m.cells.at(0));
  EXPECT_EQ(f.cpus, CpuSet::parse("1"));
  ASSERT_TRUE(f.sched.has_value());
  EXPECT_EQ(rt::to_string(*f.sched), "fifo:70");
  EXPECT_EQ(f.rt_runtime_us, 20'000);
  EXPECT_EQ(f.rt_period_us, 100'000);
  EXPECT_EQ(f.memory_bytes, 64U << 20);
  EXPECT_EQ(f.uid, 1000U);
  ASSERT_EQ(f.devices.size(), 1U);
  EXPECT_EQ(f.devices[0].access, "rw");
  EXPECT_EQ(f.env, std::vector<std::string>{"A=b"});
  EXPECT_EQ(f.command, std::vector<std::string>{"/bin/true"});
}

TEST(FrontFlags, MountinfoUnescape) {
  EXPECT_EQ(sys::unescape_mountinfo("/a\\040b"), "/a b");
  EXPECT_EQ(sys::unescape_mountinfo("/tab\\011x"), "/tab\tx");
  EXPECT_EQ(sys::unescape_mountinfo("/plain"), "/plain");
  EXPECT_EQ(sys::unescape_mountinfo("/end\\04"), "/end\\04");
}

TEST(FrontFlags, ExitCodeOfWaitStatus) {
  EXPECT_EQ(sys::exit_code_of(3 << 8), 3);
  EXPECT_EQ(sys::exit_code_of(9), 137);   // killed by SIGKILL
  EXPECT_EQ(sys::exit_code_of(15), 143);  // SIGTERM
}

}  // namespace
}  // namespace rtcell::front
