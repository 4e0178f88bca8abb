// The `rtcell run` front door (front/flags, front/manifest_cell) and the
// spec checks of cell/prepare: pure functions on text, build_spec() and
// prepare() refusals that happen before any privileged step (so they hold as
// non-root too), and the manifest cell reaching the spec typed.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cell/prepare.hpp"
#include "front/flags.hpp"
#include "front/manifest_cell.hpp"
#include "rtcell/error.hpp"
#include "sys/caps.hpp"
#include "sys/file.hpp"
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

TEST(FrontFlags, UidZeroGetsAUserNamespaceUnlessHostRoot) {
  RunFlags f;
  f.command = {"/bin/true"};
  f.uid = 0;
  f.gid = 0;
  Built b = build(f);
  EXPECT_TRUE(b.spec.has_namespace(cell::NamespaceType::User));
  ASSERT_EQ(b.spec.uid_mappings.size(), 1U);
  EXPECT_EQ(b.spec.uid_mappings[0].container_id, 0U);
  EXPECT_EQ(b.spec.uid_mappings[0].host_id, 65534U);
  EXPECT_EQ(b.spec.host_uid(), 65534U);
  EXPECT_EQ(b.spec.host_gid(), 65534U);
  EXPECT_NO_THROW(cell::prepare("ok", b.spec, facts()));
  f.host_root = true;
  b = build(f);
  EXPECT_FALSE(b.spec.has_namespace(cell::NamespaceType::User));
  EXPECT_EQ(b.spec.host_uid(), 0U);
  ASSERT_FALSE(b.warnings.empty());
  EXPECT_NE(b.warnings.back().find("--host-root"), std::string::npos);
  f.uid = 1000;
  f.gid = 1000;
  EXPECT_EQ(kind_of([&] { build(f); }), ErrorKind::Usage) << "--host-root without uid 0";
  f.host_root = false;
  EXPECT_FALSE(build(f).spec.has_namespace(cell::NamespaceType::User));

  // The spec's checks: maps only with the namespace, holding the user.
  cell::Spec s = cell::default_spec();
  s.process.args = {"/bin/sh"};
  s.process.user = {0, 0, {}};
  s.uid_mappings = {{0, 65534, 1}};
  s.gid_mappings = {{0, 65534, 1}};
  EXPECT_NE(message_of([&] { cell::prepare("x", s, facts()); }).find("need a user namespace"),
            std::string::npos);
  s.namespaces.push_back({cell::NamespaceType::User, ""});
  EXPECT_NO_THROW(cell::prepare("x", s, facts()));
  s.process.user.uid = 5;
  EXPECT_NE(message_of([&] {
              cell::prepare("x", s, facts());
            }).find("process.user id 5 is not in linux.uidMappings"),
            std::string::npos);
  s.process.user.uid = 0;
  s.uid_mappings = {{0, 1000, 10}, {5, 2000, 1}};
  EXPECT_NE(message_of([&] { cell::prepare("x", s, facts()); }).find("overlaps"), std::string::npos);
  s.uid_mappings = {{0, 1000, 0}};
  EXPECT_NE(message_of([&] { cell::prepare("x", s, facts()); }).find("size 0"), std::string::npos);
  s.uid_mappings = {};
  EXPECT_NE(message_of([&] { cell::prepare("x", s, facts()); }).find("is empty"), std::string::npos);
}

TEST(FrontFlags, DangerousCapabilitiesEachGetAWarning) {
  sys::CapSet caps;
  for (const char* n : {"SYS_PTRACE", "DAC_READ_SEARCH", "SYS_ADMIN", "SETUID", "SYS_NICE"})
    caps.add(*sys::cap_from_name(n));
  auto w = capability_warnings(caps, false);
  ASSERT_EQ(w.size(), 4U) << "SYS_NICE has its own warning";
  auto said = [&](const std::string& what) {
    return std::any_of(w.begin(), w.end(),
                       [&](const std::string& l) { return l.find(what) != std::string::npos; });
  };
  EXPECT_TRUE(said("--cap-add SYS_PTRACE"));
  EXPECT_TRUE(said("open_by_handle_at"));
  EXPECT_TRUE(said("--cap-add SYS_ADMIN"));
  EXPECT_TRUE(said("--cap-add SETUID"));
  EXPECT_EQ(capability_warnings(caps, true).size(), 3U) << "SETUID gives uid 0 nothing new";
  EXPECT_TRUE(capability_warnings(sys::CapSet{}, false).empty());
  for (const auto& l : w) EXPECT_EQ(l.find('\n'), std::string::npos);
}

TEST(FrontFlags, CapabilitiesRtcellLacksAreRefusedNamingThem) {
  sys::CapSet held;
  held.add(*sys::cap_from_name("SYS_NICE"));
  sys::CapSet want = held;
  want.add(*sys::cap_from_name("SYS_ADMIN"));
  EXPECT_EQ(kind_of([&] { check_caps_held(want, held, 40, false); }), ErrorKind::Privilege);
  EXPECT_NE(message_of([&] { check_caps_held(want, held, 40, false); }).find("CAP_SYS_ADMIN"),
            std::string::npos);
  sys::CapSet same = held;
  EXPECT_NO_THROW(check_caps_held(same, held, 40, false));
  // ALL on a kernel that knows fewer capabilities than rtcell: the unknown
  // ones are dropped, not refused.
  sys::CapSet all = sys::CapSet::all();
  sys::CapSet kernel((uint64_t{1} << 39) - 1);  // 0..38
  EXPECT_NO_THROW(check_caps_held(all, kernel, 38, true));
  EXPECT_EQ(all, kernel);
  // Through build_spec: a capability this process lacks fails with exit 3.
  const sys::CapSet eff = sys::effective_caps();
  int lacking = -1;
  for (int c = 0; c <= sys::kernel_last_cap() && lacking < 0; ++c)
    if (!eff.has(c)) lacking = c;
  if (lacking >= 0) {
    RunFlags s;
    s.command = {"/bin/sh"};
    s.cap_add = {sys::cap_name(lacking)};
    EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Privilege);
    EXPECT_NE(message_of([&] { build(s); }).find(sys::cap_name(lacking)), std::string::npos);
  }
}

TEST(FrontFlags, SmallLimitsAndNamesAreOneClearLine) {
  RunFlags s;
  s.command = {"/bin/sh"};
  s.pids_max = 1;
  EXPECT_NE(message_of([&] { build(s); }).find("at least 2"), std::string::npos);
  s.pids_max = 2;
  EXPECT_NO_THROW(build(s));
  s.pids_max.reset();
  for (const char* bad : {"a\nb", "tab\there", "bell\a", "del\x7f"}) {
    s.hostname = bad;
    EXPECT_NE(message_of([&] { build(s); }).find("--hostname holds a control character"), std::string::npos)
        << bad;
  }
  s.hostname = "fine-name.local";
  EXPECT_NO_THROW(build(s));

  cell::Spec spec = cell::default_spec();
  spec.process.args = {"/bin/sh"};
  spec.hostname = "x\ny";
  EXPECT_NE(message_of([&] { cell::prepare("x", spec, facts()); }).find("hostname holds a control"),
            std::string::npos);
  spec.hostname = "x";
  spec.resources.pids_max = 1;
  EXPECT_NE(message_of([&] { cell::prepare("x", spec, facts()); }).find("resources.pids.limit 1"),
            std::string::npos);
  spec.resources.pids_max.reset();
  for (const char* bad : {"-1", "x", "0-"}) {
    spec.resources.mems = bad;
    const std::string m = message_of([&] { cell::prepare("x", spec, facts()); });
    EXPECT_NE(m.find("memory node"), std::string::npos) << m;
    EXPECT_EQ(m.find("CPU"), std::string::npos) << m;
  }
}

// Paths are resolved the way the cell will use them, before anything
// exists: a bind source on the host, a destination inside the root.
struct PathRoot : TempRoot {
  PathRoot() {
    file("/bin/sh", 0755);
    fs::create_directories(path + "/proc");
    fs::create_directories(path + "/dev");
    fs::create_directories(path + "/run");
    fs::create_directories(path + "/etc");
    fs::create_directories(path + "/mnt");
    fs::create_directories(path + "/host/realdir");
    file("/host/afile", 0644);
    fs::create_directories(path + "/var");
    fs::create_symlink("/run", path + "/var/run");                    // absolute: inside the root, /run
    fs::create_symlink("../../../../etc", path + "/up");              // ".." stops at the root
    fs::create_symlink(path + "/host/realdir", path + "/host/link");  // a host symlink as a source
  }
  RunFlags flags() const {
    RunFlags s;
    s.command = {"/bin/sh"};
    s.rootfs = path;
    return s;
  }
};

TEST(FrontFlags, VolumePathsResolveAsTheCellUsesThem) {
  PathRoot r;
  RunFlags s = r.flags();
  s.volumes = {parse_volume(r.path + "/host/link:/var/run"), parse_volume(r.path + "/host/realdir:/up")};
  auto b = build(s);
  std::vector<std::pair<std::string, std::string>> binds;
  for (const auto& m : b.spec.mounts)
    if (m.is_bind()) binds.emplace_back(m.source, m.destination);
  ASSERT_EQ(binds.size(), 2U);
  EXPECT_EQ(binds[0], std::make_pair(r.path + "/host/realdir", std::string("/run")));
  EXPECT_EQ(binds[1], std::make_pair(r.path + "/host/realdir", std::string("/etc")));
  EXPECT_NO_THROW(cell::prepare(b.id, b.spec, facts()));

  // Inside a filesystem rtcell mounts fresh (the cell's /dev/shm), the
  // builder makes the mount point: nothing on the host decides.
  s.volumes = {parse_volume(r.path + "/host/afile:/dev/shm/afile")};
  b = build(s);
  EXPECT_EQ(b.spec.mounts.back().destination, "/dev/shm/afile");
  EXPECT_NO_THROW(cell::prepare(b.id, b.spec, facts()));

  // A file onto a directory (and the other way) fails here, naming both.
  s.volumes = {parse_volume(r.path + "/host/afile:/mnt")};
  std::string m = message_of([&] { build(s); });
  EXPECT_NE(m.find("the source is a file but the target is a directory"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  s.volumes = {parse_volume(r.path + "/host/realdir:/bin/sh")};
  EXPECT_NE(message_of([&] { build(s); }).find("the source is a directory"), std::string::npos);
  s.volumes = {parse_volume("/no/such/source:/mnt")};
  EXPECT_NE(message_of([&] { build(s); }).find("--volume source /no/such/source"), std::string::npos);

  // The same checks on a spec name the spec field.
  cell::Spec spec = cell::default_spec();
  spec.root_path = r.path;
  spec.process.args = {"/bin/sh"};
  spec.mounts.push_back({"/mnt", "bind", r.path + "/host/afile", {"rbind"}});
  m = message_of([&] { cell::prepare("x", spec, facts()); });
  EXPECT_NE(m.find("mounts[4]"), std::string::npos) << m;
  EXPECT_NE(m.find("kinds must match"), std::string::npos) << m;
  spec.mounts.back() = {"/var/run", "bind", r.path + "/host/link", {"rbind"}};
  auto p = cell::prepare("x", spec, facts());
  EXPECT_EQ(p.spec.mounts.back().destination, "/run");
  EXPECT_EQ(p.spec.mounts.back().source, r.path + "/host/realdir");
}

TEST(FrontFlags, SpecDevicesUnderTheCellsDevSymlinksAreRefused) {
  cell::Spec spec = cell::default_spec();
  spec.process.args = {"/bin/sh"};
  cell::DeviceNode n;
  n.type = 'c';
  n.major = 1;
  n.minor = 3;
  for (const char* bad : {"/dev/fd/0", "/dev/stdin", "/dev/stderr"}) {
    n.path = bad;
    spec.devices = {n};
    const std::string m = message_of([&] { cell::prepare("x", spec, facts()); });
    EXPECT_NE(m.find("linux.devices[0].path " + std::string(bad)), std::string::npos) << m;
  }
  n.path = "/dev/null";
  spec.devices = {n};
  EXPECT_NO_THROW(cell::prepare("x", spec, facts()));
}

TEST(FrontFlags, RootfsWhoseProcIsASymlinkIsRefused) {
  PathRoot r;
  fs::remove(r.path + "/proc");
  fs::create_symlink("/", r.path + "/proc");
  RunFlags s = r.flags();
  const std::string m = message_of([&] { build(s); });
  EXPECT_NE(m.find("proc is a symlink (to /)"), std::string::npos) << m;
  EXPECT_EQ(kind_of([&] { build(s); }), ErrorKind::Usage);
  // A spec with the same root: the proc mount would land on /.
  cell::Spec spec = cell::default_spec();
  spec.root_path = r.path;
  spec.process.args = {"/bin/sh"};
  EXPECT_NE(message_of([&] { cell::prepare("x", spec, facts()); }).find("mounts[0].destination /proc"),
            std::string::npos);
  // A symlink loop is one line too.
  fs::remove(r.path + "/proc");
  fs::create_directories(r.path + "/proc");
  fs::create_symlink("/loop", r.path + "/loop");
  spec.mounts.push_back({"/loop", "tmpfs", "tmpfs", {}});
  EXPECT_NE(message_of([&] { cell::prepare("x", spec, facts()); }).find("too many levels"),
            std::string::npos);
}

TEST(FrontFlags, InputFilesAreRegularAndBounded) {
  TempRoot r;
  const std::string fifo = r.path + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Returns at once (O_NONBLOCK), instead of waiting for a writer forever.
  EXPECT_NE(message_of([&] { sys::read_input_file(fifo, "--seccomp " + fifo); }).find("is a FIFO"),
            std::string::npos);
  EXPECT_NE(message_of([&] { sys::read_input_file("/dev/zero", "-f /dev/zero"); }).find("a character device"),
            std::string::npos);
  EXPECT_NE(message_of([&] { sys::read_input_file(r.path, "x"); }).find("a directory"), std::string::npos);
  const std::string big = r.path + "/big";
  {
    std::ofstream out(big);
    out << std::string(sys::kMaxInputFile + 1, ' ');
  }
  EXPECT_NE(message_of([&] { sys::read_input_file(big, "manifest big"); }).find("the limit is 4 MiB"),
            std::string::npos);
  std::ofstream(r.path + "/ok") << "{}";
  EXPECT_EQ(sys::read_input_file(r.path + "/ok", "x"), "{}");
  // Both readers go through it.
  RunFlags s;
  s.command = {"/bin/sh"};
  s.seccomp = SeccompMode::File;
  s.seccomp_file = fifo;
  EXPECT_NE(message_of([&] { build(s); }).find("--seccomp " + fifo + " is a FIFO"), std::string::npos);
  EXPECT_NE(message_of([&] { load_manifest_cell(fifo, "x", false); }).find("is a FIFO"), std::string::npos);
}

TEST(FrontFlags, AllowingSeccompProfileIsWarned) {
  TempRoot r;
  std::ofstream(r.path + "/allow.json") << R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["mount"],"action":"SCMP_ACT_ERRNO"}]})";
  std::ofstream(r.path + "/deny.json") << R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
      {"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]})";
  RunFlags s;
  s.command = {"/bin/sh"};
  s.seccomp = SeccompMode::File;
  s.seccomp_file = r.path + "/allow.json";
  auto w = build(s).warnings;
  ASSERT_EQ(w.size(), 1U);
  EXPECT_NE(w[0].find("defaultAction allows every syscall"), std::string::npos);
  s.seccomp_file = r.path + "/deny.json";
  EXPECT_TRUE(build(s).warnings.empty());
}

TEST(FrontFlags, UnknownManifestCellListsOnlyTheFirstNames) {
  TempRoot r;
  {
    std::ofstream m(r.path + "/m.yaml");
    m << "cells:\n";
    for (int i = 0; i < 30; ++i) m << "  - name: c" << i << "\n    command: [/bin/true]\n";
  }
  const std::string msg = message_of([&] { load_manifest_cell(r.path + "/m.yaml", "nope", false); });
  EXPECT_NE(msg.find("c0, c1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("c9 and 20 more"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("c10"), std::string::npos) << msg;
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

// Issue 12, item 6: `run -f` starts a cell only if it can run as admitted
// on the host: the analysis admits this one (U = 0.97 on its own CPU), but
// its cgroup RT ratio is over 0.95, which a JetPack 5 host (cgroup v1 with
// RT group scheduling) refuses and a JetPack 6 host (cgroup v2) never sees.
TEST(FrontFlags, ManifestCellNotEnforceableOnTheHostIsRefused) {
  TempRoot r;
  const std::string file = r.path + "/m.yaml";
  std::ofstream(file) << "cells:\n  - name: busy\n    cpus: \"1\"\n    command: [/bin/true]\n"
                         "    tasks:\n      - {name: t, period: 1ms, wcet: 970us}\n";
  const std::string hosts = std::string(RTCELL_FIXTURES) + "/hosts/";
  const std::string msg =
      message_of([&] { load_manifest_cell(file, "busy", false, hosts + "jetson-orin-nx-jp5"); });
  EXPECT_NE(msg.find("cell 'busy' is admitted but not enforceable on " + hosts + "jetson-orin-nx-jp5"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("sched_rt_runtime_us/sched_rt_period_us = 0.950"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  // JetPack 6 has no RT group scheduling: admitted, and the derived budget
  // is named as not applied instead of being passed on to a cgroup that
  // cannot hold it.
  auto ok = load_manifest_cell(file, "busy", false, hosts + "jetson-agx-orin-jp6-stock");
  EXPECT_FALSE(ok.flags.rt_runtime_us.has_value());
  auto has_note = [&](const std::string& text) {
    return std::any_of(ok.notes.begin(), ok.notes.end(),
                       [&](const std::string& n) { return n.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has_note("not applied: this host has no cgroup RT group scheduling"));
  // And what enforces the budget there: no kernel cap, so rtcell's
  // supervisor by default (demote), which says that on a CPU booked to 97%
  // it cannot tell a runaway from the tasks by CPU time.
  EXPECT_TRUE(has_note("enforcement: rtcell's supervisor (demote"));
  EXPECT_TRUE(ok.supervise.has_value());
  EXPECT_TRUE(has_note("supervisor: CPU 1 is 97% booked by the admitted tasks"));
  EXPECT_FALSE(has_note("enforcement: the cell's cgroup v1 RT budget"));
  // supervise: off (or --supervise off) leaves nothing, said plainly.
  auto off = load_manifest_cell(file, "busy", false, hosts + "jetson-agx-orin-jp6-stock", {}, "off");
  EXPECT_FALSE(off.supervise.has_value());
  EXPECT_TRUE(std::any_of(off.notes.begin(), off.notes.end(), [](const std::string& n) {
    return n.find("enforcement: none on this host (no cgroup RT group scheduling, supervise: off)") !=
           std::string::npos;
  }));
  // On JetPack 5 (cgroup v1 with RT groups) the kernel caps: no supervisor
  // unless the manifest asks for one.
  std::ofstream(file) << "cells:\n  - name: busy\n    cpus: \"1\"\n    command: [/bin/true]\n"
                         "    tasks:\n      - {name: t, period: 1ms, wcet: 500us}\n";
  EXPECT_FALSE(load_manifest_cell(file, "busy", false, hosts + "jetson-orin-nx-jp5").supervise.has_value());
  EXPECT_EQ(
      load_manifest_cell(file, "busy", false, hosts + "jetson-orin-nx-jp5", {}, "kill").supervise->action,
      analysis::OverrunAction::Kill);
  std::ofstream(file) << "cells:\n  - name: busy\n    cpus: \"1\"\n    command: [/bin/true]\n"
                         "    tasks:\n      - {name: t, period: 1ms, wcet: 970us}\n";
  EXPECT_TRUE(load_manifest_cell(file, "busy", true, hosts + "jetson-orin-nx-jp5")
                  .notes.at(0)
                  .find("admission skipped") != std::string::npos);
}

// The target host's tick: its kernel config's CONFIG_HZ, which charges the
// RT budgets there, wins over the manifest's hz: unless that is coarser
// (a coarser tick only makes the budgets safer).
TEST(FrontFlags, HostAdmitOptionsTakeTheHostsTick) {
  const std::string hosts = std::string(RTCELL_FIXTURES) + "/hosts/";
  auto m = manifest::parse("hz: 1000\ncells:\n  - name: a\n    cpus: \"1\"\n", "m.yaml");
  auto o = host_admit_options(m, hosts + "jetson-agx-orin-jp6-stock", "jp6");
  EXPECT_EQ(o.hz, 250);
  EXPECT_EQ(o.hz_source, "CONFIG_HZ of jp6 (/boot/config-5.15.136-tegra)");
  EXPECT_FALSE(o.rt_groups);
  o = host_admit_options(m, hosts + "jetson-agx-orin-jp6-rt-tuned", "rt");
  EXPECT_EQ(o.hz, 1000);
  m = manifest::parse("hz: 100\ncells:\n  - name: a\n    cpus: \"1\"\n", "m.yaml");
  o = host_admit_options(m, hosts + "jetson-agx-orin-jp6-stock", "jp6");
  EXPECT_EQ(o.hz, 100);
  EXPECT_NE(o.hz_source.find("hz: in m.yaml, coarser than CONFIG_HZ=250 of jp6"), std::string::npos)
      << o.hz_source;
}

// A declared rt_runtime replaces the derived budget only if it gives at
// least the supply the tasks were admitted under.
TEST(FrontFlags, ManifestRtRuntimeBelowTheAdmittedBudgetIsRefused) {
  TempRoot r;
  const std::string file = r.path + "/m.yaml";
  std::ofstream(file) << "cells:\n  - name: c\n    cpus: \"1\"\n    command: [/bin/true]\n"
                         "    rt_runtime: 100\n    rt_period: 1000\n"
                         "    tasks:\n      - {name: t, period: 1ms, wcet: 500us}\n";
  const std::string jp6 = std::string(RTCELL_FIXTURES) + "/hosts/jetson-agx-orin-jp6-stock";
  const std::string msg = message_of([&] { load_manifest_cell(file, "c", false, jp6); });
  EXPECT_NE(msg.find("declares rt_runtime 100 us per 1000 us, but its tasks were admitted under"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace rtcell::front
