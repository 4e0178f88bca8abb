// `rtcell admit` end to end: the real binary on the shipped examples and on
// broken manifests. Exit codes: 0 admitted, 1 rejected, 2 bad manifest.
// Needs no root: admission is pure analysis.
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
  auto r = rtcell::test::run_shell(std::string(RTCELL_BIN) + " " + args + " 2>&1");
  return {r.code, r.out};
}

Result run_stdout(const std::string& args) {
  auto r = rtcell::test::run_shell(std::string(RTCELL_BIN) + " " + args + " 2>/dev/null");
  return {r.code, r.out};
}

std::string example(const char* name) {
  return std::string(RTCELL_SOURCE_DIR) + "/examples/" + name;
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

TEST(AdmitCli, RobotExampleIsAdmitted) {
  auto r = run("admit " + example("ros2-robot.yaml"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ADMITTED (3 cells, 9 tasks)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cell control: admitted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu.rt_runtime_us="), std::string::npos) << r.out;
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

TEST(AdmitCli, JsonIsParseableAndComplete) {
  auto r = run_stdout("admit --json " + example("mixed-criticality.yaml"));
  EXPECT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("admitted").get<bool>());
  ASSERT_EQ(j.at("cells").size(), 6u);
  bool saw_dl = false, saw_budget = false;
  for (const auto& c : j.at("cells")) {
    for (const auto& t : c.at("tasks"))
      if (t.contains("sched_deadline")) saw_dl = true;
    if (!c.at("supply").at("dedicated").get<bool>()) saw_budget = true;
  }
  EXPECT_TRUE(saw_dl);
  EXPECT_TRUE(saw_budget);

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
// where; --hz wins over the manifest's hz:. mixed-criticality.yaml says
// hz: 1000; at HZ=250 vision's 5 ms reservation no longer fits beside
// telemetry on CPU 5.
TEST(AdmitCli, BudgetsSayWhichTickTheyHoldFor) {
  auto r = run("admit " + example("mixed-criticality.yaml"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("(valid for HZ=1000 tick accounting)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hold for HZ=1000 tick accounting (hz: in "), std::string::npos) << r.out;
  auto coarse = run("admit --hz 250 " + example("mixed-criticality.yaml"));
  EXPECT_EQ(coarse.code, 1) << coarse.out;
  EXPECT_NE(coarse.out.find("(valid for HZ=250 tick accounting)"), std::string::npos) << coarse.out;
  EXPECT_NE(coarse.out.find("rejected: cell vision"), std::string::npos) << coarse.out;
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
