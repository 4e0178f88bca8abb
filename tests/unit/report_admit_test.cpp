// The admission renderers on verdicts from analysis::admit: the text a
// person reads (verdict line, task table, the smallest change) and the JSON
// a program reads (docs/analysis.md).
#include <gtest/gtest.h>

#include "report/admit.hpp"
#include "rtcell/analysis/admission.hpp"

namespace rtcell::report {
namespace {

using analysis::Time;
constexpr Time kUs = 1000;
constexpr Time kMs = 1000 * kUs;

analysis::TaskSpec task(const char* name, Time period, Time wcet, int prio, Time deadline = 0) {
  analysis::TaskSpec s;
  s.task.name = name;
  s.task.period = period;
  s.task.wcet = wcet;
  s.task.deadline = deadline == 0 ? period : deadline;
  s.task.priority = prio;
  return s;
}

// The control cell of examples/ros2-robot-overload.yaml: the estimator
// misses by 500 us (see analysis_admission_test.cpp for the hand-worked RTA).
analysis::AdmitResult rejected() {
  analysis::CellSpec c;
  c.name = "control";
  c.cpus = CpuSet::parse("6");
  c.tasks = {task("loop", 1 * kMs, 600 * kUs, 80), task("estimator", 3 * kMs, 1200 * kUs, 70, 2500 * kUs)};
  return analysis::admit({c});
}

TEST(ReportAdmit, TextNamesVerdictTableAndSmallestChange) {
  std::string t = admit_text("cells.yaml", rejected());
  EXPECT_EQ(t.rfind("cells.yaml: REJECTED (1 cells, 2 tasks)\n", 0), 0u) << t;
  EXPECT_NE(t.find("\ncell control: REJECTED, fixed priority (SCHED_FIFO), dedicated CPUs\n"),
            std::string::npos)
      << t;
  EXPECT_NE(
      t.find(
          "  task          cpu  prio  period    wcet      deadline  response   slack     util   verdict\n"),
      std::string::npos)
      << t;
  // Exact times in the largest unit they reach; a miss shows negative slack.
  EXPECT_NE(
      t.find("  estimator     6    70    3 ms      1.2 ms    2.5 ms    3 ms       -500 us   0.400  MISS\n"),
      std::string::npos)
      << t;
  EXPECT_NE(t.find("\nrejected: cell control: "), std::string::npos) << t;
  EXPECT_NE(t.find("\nsmallest change: "), std::string::npos) << t;
}

TEST(ReportAdmit, JsonCarriesVerdictResponseAndDiagnosis) {
  auto j = admit_json("cells.yaml", rejected());
  EXPECT_EQ(j["file"], "cells.yaml");
  EXPECT_EQ(j["admitted"], false);
  EXPECT_EQ(j["first_rejected"], "control");
  const auto& c = j["cells"][0];
  EXPECT_EQ(c["scheduler"], "fixed-priority");
  EXPECT_EQ(c["supply"]["dedicated"], true);
  const auto& est = c["tasks"][1];
  EXPECT_EQ(est["name"], "estimator");
  EXPECT_EQ(est["response_ns"], 3 * kMs);
  EXPECT_EQ(est["slack_ns"], -500 * kUs);
  EXPECT_EQ(est["response_unbounded"], false);
  EXPECT_EQ(est["schedulable"], false);
  EXPECT_EQ(c["diagnosis"]["task"], "estimator");
  EXPECT_EQ(c["diagnosis"]["miss_by_ns"], 500 * kUs);
  EXPECT_EQ(c["diagnosis"]["max_wcet_ns"], 800 * kUs);
  EXPECT_EQ(j["cgroup_v1_rt_bandwidth"]["unit"], "2^-20");
}

// Issue 12: the budget says which tick accounting it holds for.
TEST(ReportAdmit, BudgetSaysWhichTickItHoldsFor) {
  analysis::CellSpec c;
  c.name = "nav";
  c.cpus = CpuSet::parse("4");
  c.tasks = {task("plan", 100 * kMs, 10 * kMs, 60)};
  c.budget = analysis::BudgetSpec{20 * kMs, std::nullopt, std::nullopt};
  analysis::AdmitOptions o;
  o.hz = 250;
  o.hz_source = "hz: in cells.yaml";
  auto r = analysis::admit({c}, o);
  ASSERT_TRUE(r.admitted);
  std::string t = admit_text("cells.yaml", r);
  EXPECT_NE(t.find(" (valid for HZ=250 tick accounting)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cgroup v1 RT budgets hold for HZ=250 tick accounting (hz: in cells.yaml)"),
            std::string::npos)
      << t;
  auto j = admit_json("cells.yaml", r);
  EXPECT_EQ(j["tick"]["hz"], 250);
  EXPECT_EQ(j["cells"][0]["cgroup_v1"]["valid_for_hz"], 250);
}

// Issue 12, item 6: a dedicated cell at U = 0.97 is admitted by the
// analysis, but its cgroup RT ratio is over 0.95: the third verdict.
analysis::AdmitResult not_enforceable() {
  analysis::CellSpec c;
  c.name = "busy";
  c.cpus = CpuSet::parse("1");
  c.tasks = {task("t", 1 * kMs, 970 * kUs, 80)};
  return analysis::admit({c});
}

TEST(ReportAdmit, NotEnforceableIsItsOwnVerdictWithTheReason) {
  std::string t = admit_text("cells.yaml", not_enforceable());
  EXPECT_EQ(t.rfind("cells.yaml: NOT ENFORCEABLE (1 cells, 1 tasks)\ntarget: a default kernel: "
                    "sched_rt_runtime_us 950000 of sched_rt_period_us 1000000, SCHED_DEADLINE periods "
                    "100-4194304 us, cgroup v1 RT group scheduling\n",
                    0),
            0u)
      << t;
  EXPECT_NE(t.find("\ncell busy: admitted, NOT ENFORCEABLE, fixed priority"), std::string::npos) << t;
  EXPECT_NE(t.find("\n  not enforceable: the cgroup RT budget cpu.rt_runtime_us="), std::string::npos) << t;
  EXPECT_NE(t.find("\nnot enforceable: cell busy: the cgroup RT budget"), std::string::npos) << t;
  EXPECT_EQ(t.find("\nrejected:"), std::string::npos) << t;

  auto j = admit_json("cells.yaml", not_enforceable());
  EXPECT_EQ(j["admitted"], true);
  EXPECT_EQ(j["verdict"], "not enforceable");
  EXPECT_EQ(j["first_not_enforceable"], "busy");
  EXPECT_EQ(j["target"]["rt_group_sched"], true);
  EXPECT_EQ(j["target"]["sched_rt_runtime_us"], 950'000);
  EXPECT_EQ(j["cells"][0]["verdict"], "not enforceable");
  EXPECT_EQ(j["cells"][0]["not_enforceable"].size(), 1u);
  auto jr = admit_json("cells.yaml", rejected());
  EXPECT_EQ(jr["verdict"], "rejected");
  EXPECT_EQ(jr["first_not_enforceable"], nullptr);
}

}  // namespace
}  // namespace rtcell::report
