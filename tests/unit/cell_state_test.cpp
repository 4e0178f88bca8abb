// The registry's state file (cell/state): round trip, corrupt and truncated
// input refused with one line, /proc/PID/stat start times, the live status
// of a record, and the registry's bad-input refusals in a temporary root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cell/lifecycle.hpp"
#include "cell/state.hpp"
#include "report/cells.hpp"
#include "unit/error_helpers.hpp"

namespace rtcell::cell {
namespace {

using rtcell::test::kind_of;
using rtcell::test::message_of;
namespace fs = std::filesystem;

CellState sample() {
  CellState s;
  s.id = "nav-1";
  s.status = Status::Running;
  s.creator = {100, 5};
  s.init = {101, 6};
  s.bundle = "/b";
  s.command = {"/bin/sh", "-c", "x y"};
  s.created_ns = 1'700'000'000'123'456'789;
  s.annotations = {{"k", "v"}};
  s.cpus = CpuSet::parse("1-2");
  s.scheduler = "fifo:80";
  RtBudget b;
  b.runtime_us = 5000;
  b.period_us = 100000;
  s.rt = b;
  s.cgroups.root = "/sys/fs/cgroup";
  s.cgroups.made.push_back({"/sys/fs/cgroup/cpu/rtcell", true, false});
  s.cgroups.made.push_back({"/sys/fs/cgroup/cpu/rtcell/nav-1", true, true});
  s.cgroups.rt_leaf = "/sys/fs/cgroup/cpu/rtcell/nav-1";
  s.cgroups.grown.push_back({"/sys/fs/cgroup/cpu/rtcell", 0, 5000});
  return s;
}

TEST(CellState, RoundTrip) {
  CellState a = sample();
  CellState b = state_from_json(state_to_json(a), "x");
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.status, Status::Running);
  EXPECT_EQ(b.init.pid, 101);
  EXPECT_EQ(b.init.start_time, 6U);
  EXPECT_EQ(b.command, a.command);
  EXPECT_EQ(b.created_ns, a.created_ns);
  EXPECT_EQ(b.annotations, a.annotations);
  EXPECT_EQ(b.cpus, a.cpus);
  ASSERT_TRUE(b.rt.has_value());
  EXPECT_EQ(b.rt->runtime_us, 5000);
  ASSERT_EQ(b.cgroups.made.size(), 2U);
  EXPECT_TRUE(b.cgroups.made[1].leaf);
  ASSERT_EQ(b.cgroups.grown.size(), 1U);
  EXPECT_EQ(b.cgroups.grown[0].after_us, 5000);
}

TEST(CellState, CorruptOrTruncatedIsOneLine) {
  const std::string good = state_to_json(sample());
  for (size_t cut : {size_t{0}, size_t{1}, good.size() / 2, good.size() - 3}) {
    std::string m = message_of([&] { state_from_json(good.substr(0, cut), "/run/rtcell/x/state.json"); });
    EXPECT_NE(m.find("is corrupt"), std::string::npos) << cut << ": " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  std::string bad_status = good;
  bad_status.replace(bad_status.find("\"running\""), 9, "\"dancing\"");
  EXPECT_EQ(kind_of([&] { state_from_json(bad_status, "x"); }), ErrorKind::System);
  std::string bad_version = good;
  bad_version.replace(bad_version.find("\"version\":1"), 11, "\"version\":9");
  EXPECT_NE(message_of([&] { state_from_json(bad_version, "x"); }).find("version"), std::string::npos);
}

// The file is a log: the last complete line stands, a line cut short by a
// killed writer does not count.
TEST(CellState, LastCompleteLineOfTheLog) {
  CellState a = sample();
  CellState b = a;
  b.status = Status::Created;
  const std::string log = state_to_json(b) + state_to_json(a);
  EXPECT_EQ(state_from_json(log, "x").status, Status::Running);
  const std::string cut = state_to_json(b) + state_to_json(a).substr(0, 40);
  EXPECT_EQ(state_from_json(cut, "x").status, Status::Created);
  EXPECT_EQ(state_from_json(state_to_json(b) + state_to_json(a).substr(0, 40) + "\n" + state_to_json(a), "x")
                .status,
            Status::Running);
}

TEST(CellState, StartTimeField22) {
  // comm with spaces and parentheses: count from the last ')'.
  std::string line = "1234 (a b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
  EXPECT_EQ(parse_start_time(line), 98765U);
  EXPECT_FALSE(parse_start_time("1234 (x) S 1 2").has_value());
  EXPECT_FALSE(parse_start_time("garbage").has_value());
  auto self = process_start_time(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_GT(*self, 0U);
}

TEST(CellState, LiveStatusNeverTrustsAReusedPid) {
  CellState s = sample();
  s.init = self_ref();
  EXPECT_EQ(live_status(s), Status::Running);
  s.init.start_time += 1;  // same pid, another process
  EXPECT_EQ(live_status(s), Status::Stopped);
  s.status = Status::Creating;
  s.creator = self_ref();
  EXPECT_EQ(live_status(s), Status::Creating);
  s.creator.pid = 0;
  EXPECT_EQ(live_status(s), Status::Stopped);
}

TEST(CellState, RegistryRefusals) {
  char tmpl[] = "/tmp/rtcell-unit-reg-XXXXXX";
  std::string root = mkdtemp(tmpl);
  Registry reg(root + "/state");
  {
    auto lock = reg.claim("a");
    EXPECT_TRUE(lock.held());
    EXPECT_EQ((fs::status(root + "/state").permissions() & fs::perms::all), fs::perms::owner_all);
  }
  EXPECT_NE(message_of([&] { reg.claim("a"); }).find("in use"), std::string::npos);
  EXPECT_EQ(kind_of([&] { reg.load("nope"); }), ErrorKind::Usage);
  std::ofstream(reg.dir("a") + "/state.json") << "{\"version\": 1, \"id\": ";
  EXPECT_EQ(kind_of([&] { reg.load("a"); }), ErrorKind::System);
  auto listed = list(reg);
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_FALSE(listed[0].problem.empty());
  reg.remove("a");
  EXPECT_FALSE(reg.exists("a"));
  chmod((root + "/state").c_str(), 0755);
  if (geteuid() == 0) {
    EXPECT_NE(message_of([&] { reg.claim("b"); }).find("0700"), std::string::npos);
  }
  fs::remove_all(root);
}

TEST(CellState, SignalsAndUptime) {
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGKILL"), SIGKILL);
  EXPECT_EQ(parse_signal("9"), 9);
  for (const char* bad : {"", "0", "65", "TERMINATE", "-1", "999"})
    EXPECT_EQ(kind_of([&] { parse_signal(bad); }), ErrorKind::Usage) << bad;
  EXPECT_EQ(report::uptime(12), "12s");
  EXPECT_EQ(report::uptime(252), "4m12s");
  EXPECT_EQ(report::uptime(7500), "2h05m");
  EXPECT_EQ(report::uptime(273600), "3d04h");
}

}  // namespace
}  // namespace rtcell::cell
