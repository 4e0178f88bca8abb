// Flag-value parsers and pre-launch checks of `rtcell run` (cell/run_spec):
// pure functions on text, plus prepare() refusals that happen before any
// privileged step (so they hold as non-root too).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cell/run_spec.hpp"
#include "rtcell/error.hpp"
#include "sys/mount.hpp"
#include "sys/process.hpp"
#include "unit/error_helpers.hpp"

namespace rtcell::cell {
namespace {

using rtcell::test::kind_of;
using rtcell::test::message_of;

namespace fs = std::filesystem;

TEST(CellRunSpec, ParseVolume) {
  auto v = parse_volume("/data:/mnt");
  EXPECT_EQ(v.source, "/data");
  EXPECT_EQ(v.target, "/mnt");
  EXPECT_FALSE(v.read_only);
  EXPECT_TRUE(parse_volume("/data:/mnt:ro").read_only);
  EXPECT_FALSE(parse_volume("/data:/mnt:rw").read_only);
  for (const char* bad : {"/data", "data:/mnt", "/data:mnt", "/data:/mnt:rx", "/a/../b:/mnt", "/data:/", ""})
    EXPECT_EQ(kind_of([&] { parse_volume(bad); }), ErrorKind::Usage) << bad;
}

TEST(CellRunSpec, ParseDevice) {
  auto d = parse_device("/dev/ttyUSB0");
  EXPECT_EQ(d.path, "/dev/ttyUSB0");
  EXPECT_EQ(d.access, "rwm");
  EXPECT_EQ(parse_device("/dev/video0:r").access, "r");
  for (const char* bad : {"/etc/passwd", "dev/null", "/dev/null:x", "/dev/null:", "/dev/../etc/shadow"})
    EXPECT_EQ(kind_of([&] { parse_device(bad); }), ErrorKind::Usage) << bad;
}

TEST(CellRunSpec, ParseUser) {
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

TEST(CellRunSpec, CapsDefaultEmptyAddDropAndNames) {
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

TEST(CellRunSpec, CpusetWarningsFollowMoby31086) {
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

TEST(CellRunSpec, ResolveCommandInsideTheRootfs) {
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

TEST(CellRunSpec, PrepareRefusesBadInputFirst) {
  RunSpec s;
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);  // no command
  s.command = {"/bin/sh"};
  s.name = "bad/name";
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);
  s.name = "ok";
  s.sched = rt::Fifo{99};
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);  // priority 99 without the flag
  s.sched.reset();
  s.rtprio = 99;
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);
  s.rtprio.reset();
  s.command = {"/no/such/binary"};
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);
  s.command = {"/bin/sh"};
  s.rootfs = "/no/such/rootfs";
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);
  s.rootfs.clear();
  s.rt_period_us = 1000;
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);  // period without runtime
  s.rt_period_us.reset();
  s.seccomp = SeccompMode::File;
  s.seccomp_file = "/no/such/profile.json";
  EXPECT_EQ(kind_of([&] { prepare(s); }), ErrorKind::Usage);
}

TEST(CellRunSpec, PrepareBuildsTheEnvironment) {
  RunSpec s;
  s.command = {"sh", "-c", "true"};
  s.name = "envtest";
  s.env = {"FOO=bar", "PATH=/bin"};
  auto p = prepare(s);
  EXPECT_EQ(p.id, "envtest");
  EXPECT_EQ(p.rootfs, "/");
  EXPECT_EQ(p.executable, "/bin/sh");
  EXPECT_TRUE(p.caps.empty());
  ASSERT_TRUE(p.seccomp.has_value());
  EXPECT_NE(std::find(p.env.begin(), p.env.end(), "FOO=bar"), p.env.end());
  EXPECT_NE(std::find(p.env.begin(), p.env.end(), "PATH=/bin"), p.env.end());
  EXPECT_NE(std::find(p.env.begin(), p.env.end(), "HOSTNAME=envtest"), p.env.end());
  EXPECT_EQ(std::count_if(p.env.begin(), p.env.end(),
                          [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }),
            1);
}

TEST(CellRunSpec, MountinfoUnescape) {
  EXPECT_EQ(sys::unescape_mountinfo("/a\\040b"), "/a b");
  EXPECT_EQ(sys::unescape_mountinfo("/tab\\011x"), "/tab\tx");
  EXPECT_EQ(sys::unescape_mountinfo("/plain"), "/plain");
  EXPECT_EQ(sys::unescape_mountinfo("/end\\04"), "/end\\04");
}

TEST(CellRunSpec, ExitCodeOfWaitStatus) {
  EXPECT_EQ(sys::exit_code_of(3 << 8), 3);
  EXPECT_EQ(sys::exit_code_of(9), 137);   // killed by SIGKILL
  EXPECT_EQ(sys::exit_code_of(15), 143);  // SIGTERM
}

}  // namespace
}  // namespace rtcell::cell
