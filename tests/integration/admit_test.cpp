// `rtcell admit` end to end: the real binary on the shipped examples and on
// broken manifests. Exit codes: 0 admitted, 1 rejected, 2 bad manifest,
// 5 admitted but not enforceable on the target host. Needs no root:
// admission is pure analysis, and target hosts are the captured trees.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/support.hpp"

namespace {

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args) {
  auto r = rtcell::test::run_shell(rtcell::test::rtcell_bin() + " " + args + " 2>&1");
  return {r.code, r.out};
}

Result run_stdout(const std::string& args) {
  auto r = rtcell::test::run_shell(rtcell::test::rtcell_bin() + " " + args + " 2>/dev/null");
  return {r.code, r.out};
}

std::string example(const char* name) {
  return std::string(RTCELL_SOURCE_DIR) + "/examples/" + name;
}

// The earlier mixed-criticality example, kept to test what admit says of a
// manifest the analysis admits but no target can enforce.
std::string overbooked() {
  return std::string(RTCELL_FIXTURES) + "/manifests/mixed-criticality-overbooked.yaml";
}

// --root of a captured host tree (tests/fixtures/hosts).
std::string root(const char* host) {
  return "--root " + std::string(RTCELL_FIXTURES) + "/hosts/" + host + " ";
}

// A manifest in a private temp file, removed on destruction.
struct TempManifest {
  std::string path;
  explicit TempManifest(const std::string& text) {
    char tmpl[] = "/tmp/rtcell-admit-XXXXXX.yaml";
    int fd = ::mkstemps(tmpl, 5);
    path = tmpl;
    if (fd >= 0) {
      if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) path.clear();
      ::close(fd);
    }
  }
  ~TempManifest() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

// On JetPack 6 (cgroup v2: no RT group budgets to refuse) the robot runs as
// admitted.
TEST(AdmitCli, RobotExampleIsAdmitted) {
  auto r = run("admit " + root("jetson-agx-orin-jp6-stock") + example("ros2-robot.yaml"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ADMITTED (3 cells, 9 tasks)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cell control: admitted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu.rt_runtime_us="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no cgroup RT group scheduling"), std::string::npos) << r.out;
}

// Issue 12, item 6: on a cgroup v1 host with RT group scheduling (JetPack 5,
// and a target not named) the three cells' RT ratios add up to more than
// sched_rt_runtime_us allows: the kernel would refuse the last cell, so the
// answer is "not enforceable", exit 5, with the reason.
TEST(AdmitCli, RobotExampleIsNotEnforceableUnderCgroupV1RtGroups) {
  for (const std::string& target : {std::string(), root("jetson-orin-nx-jp5")}) {
    auto r = run("admit " + target + example("ros2-robot.yaml"));
    EXPECT_EQ(r.code, 5) << r.out;
    EXPECT_NE(r.out.find("NOT ENFORCEABLE (3 cells, 9 tasks)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("cell control: admitted, NOT ENFORCEABLE"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nnot enforceable: cell control: the cgroup RT budget"), std::string::npos)
        << r.out;
  }
  // Told there is no RT throttling, the sum may reach 1.0, still too little.
  auto r = run("admit --sched-rt-runtime-us -1 " + example("ros2-robot.yaml"));
  EXPECT_EQ(r.code, 5) << r.out;
}

// Each kernel refusal of issue 12, item 6, as the exit code and one line.
TEST(AdmitCli, KernelRefusalsAreNotEnforceable) {
  // A SCHED_DEADLINE period below sched_deadline_period_min_us (100 us).
  TempManifest fast(
      "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n"
      "      - {name: x, period: 50us, wcet: 10us, policy: deadline}\n");
  auto r = run("admit " + fast.path);
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("not enforceable: task x: SCHED_DEADLINE needs a period in [100 us, 4194304 us]"),
            std::string::npos)
      << r.out;
  // SCHED_DEADLINE bandwidth 0.97 of one CPU.
  TempManifest full(
      "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: x, period: 10ms, wcet: 5ms, policy: "
      "deadline}\n"
      "      - {name: y, period: 10ms, wcet: 4700us, policy: deadline}\n");
  r = run("admit " + full.path);
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("the SCHED_DEADLINE tasks on CPU 1 need 0.970 of it"), std::string::npos) << r.out;
  EXPECT_EQ(run("admit --sched-rt-runtime-us -1 " + full.path).code, 0);
  // One cell whose cgroup RT ratio alone is over 0.95.
  TempManifest busy(
      "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: x, period: 1ms, wcet: 970us}\n");
  r = run("admit " + busy.path);
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_EQ(run("admit " + root("jetson-agx-orin-jp6-stock") + busy.path).code, 0);
  auto j = nlohmann::json::parse(run_stdout("admit --json " + busy.path).out);
  EXPECT_EQ(j.at("verdict"), "not enforceable");
  EXPECT_EQ(j.at("first_not_enforceable"), "a");
  EXPECT_EQ(j.at("cells").at(0).at("not_enforceable").size(), 1u);
  // A root that is no host tree is a usage error, not a default.
  EXPECT_EQ(run("admit --root /nonexistent " + busy.path).code, 2);
}

TEST(AdmitCli, OverloadExampleIsRejectedWithTheFix) {
  auto r = run("admit " + example("ros2-robot-overload.yaml"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("rejected: cell control: task estimator on CPU 6 misses its deadline by 500 us"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("smallest change: lower the WCET of task estimator to 800 us"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("raise the budget runtime to"), std::string::npos) << r.out;
}

// mixed-criticality-overbooked.yaml is admitted by the analysis but
// enforceable on no target: on cgroup v1 with RT groups its RT ratios add up
// to 1.268, and without RT groups nothing caps vision above telemetry on
// CPU 5.
TEST(AdmitCli, JsonIsParseableAndComplete) {
  auto r = run_stdout("admit --json " + overbooked());
  EXPECT_EQ(r.code, 5) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("admitted").get<bool>());
  EXPECT_EQ(j.at("verdict"), "not enforceable");
  EXPECT_EQ(j.at("first_not_enforceable"), "planning");
  EXPECT_EQ(j.at("target").at("rt_group_sched"), true);
  EXPECT_EQ(j.at("tick").at("hz"), 1000);
  ASSERT_EQ(j.at("cells").size(), 6u);
  bool saw_dl = false, saw_budget = false;
  for (const auto& c : j.at("cells")) {
    for (const auto& t : c.at("tasks"))
      if (t.contains("sched_deadline")) saw_dl = true;
    if (!c.at("supply").at("dedicated").get<bool>()) saw_budget = true;
  }
  EXPECT_TRUE(saw_dl);
  EXPECT_TRUE(saw_budget);
  // Without RT group scheduling (JetPack 6), at the tick the manifest names.
  auto v2 = run_stdout("admit --json --hz 1000 " + root("jetson-agx-orin-jp6-stock") + overbooked());
  EXPECT_EQ(v2.code, 5) << v2.out;
  auto j2 = nlohmann::json::parse(v2.out);
  EXPECT_EQ(j2.at("target").at("rt_group_sched"), false);
  EXPECT_EQ(j2.at("first_not_enforceable"), "telemetry");

  auto rej = run_stdout("admit --json " + example("ros2-robot-overload.yaml"));
  EXPECT_EQ(rej.code, 1);
  auto jr = nlohmann::json::parse(rej.out);
  EXPECT_EQ(jr.at("first_rejected"), "control");
  const auto& d = jr.at("cells").at(0).at("diagnosis");
  EXPECT_EQ(d.at("task"), "estimator");
  EXPECT_EQ(d.at("miss_by_ns").get<int64_t>(), 500'000);
  EXPECT_EQ(d.at("max_wcet_ns").get<int64_t>(), 800'000);
}

// Issue 12: budgets are derived for a tick, and admit says which and from
// where; --hz wins over the manifest's hz:, and a --root's kernel config
// over both unless the manifest's tick is coarser. mixed-criticality.yaml
// says hz: 1000 (admitted and enforceable on a default kernel: its planning
// cell is SCHED_DEADLINE); at HZ=250 vision's 5 ms reservation no longer fits
// beside telemetry on CPU 5.
TEST(AdmitCli, BudgetsSayWhichTickTheyHoldFor) {
  auto r = run("admit " + example("mixed-criticality.yaml"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("examples/mixed-criticality.yaml: ADMITTED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cgroup v1 RT bandwidth of all cells: 0.824 of 0.950 (fits)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(valid for HZ=1000 tick accounting)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hold for HZ=1000 tick accounting (hz: in "), std::string::npos) << r.out;
  auto coarse = run("admit --hz 250 " + example("mixed-criticality.yaml"));
  EXPECT_EQ(coarse.code, 1) << coarse.out;
  EXPECT_NE(coarse.out.find("(valid for HZ=250 tick accounting)"), std::string::npos) << coarse.out;
  EXPECT_NE(coarse.out.find("rejected: cell vision"), std::string::npos) << coarse.out;
  // JetPack 6's kernel ticks at 250 Hz (its /boot/config): the target's tick.
  auto jp6 = run("admit " + root("jetson-agx-orin-jp6-stock") + example("mixed-criticality.yaml"));
  EXPECT_EQ(jp6.code, 1) << jp6.out;
  EXPECT_NE(jp6.out.find("hold for HZ=250 tick accounting (CONFIG_HZ of "), std::string::npos) << jp6.out;
  auto j = nlohmann::json::parse(run_stdout("admit --json --hz 300 " + example("control.yaml")).out);
  EXPECT_EQ(j.at("tick").at("hz"), 300);
  EXPECT_EQ(j.at("tick").at("source"), "--hz");
}

TEST(AdmitCli, BadManifestExitsTwoWithLocation) {
  TempManifest m(
      "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: 1ms, wcett: 1us}\n");
  ASSERT_FALSE(m.path.empty());
  auto r = run("admit " + m.path);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(m.path + ":5:32: unknown key 'wcett' in task; did you mean 'wcet'?"),
            std::string::npos)
      << r.out;
  // One line.
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;

  auto missing = run("admit /nonexistent/cells.yaml");
  EXPECT_EQ(missing.code, 2) << missing.out;
  auto noarg = run("admit");
  EXPECT_EQ(noarg.code, 2) << noarg.out;
}

TEST(AdmitCli, UtilizationOverOneIsAnAnswer) {
  TempManifest m(
      "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: x, period: 1ms, wcet: 700us}\n"
      "      - {name: y, period: 1ms, wcet: 700us}\n");
  auto r = run("admit " + m.path);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("smallest change: lower the WCET of task"), std::string::npos) << r.out;
}
