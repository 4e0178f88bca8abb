// The check renderers on literal findings: the terminal text (plain and
// coloured) and the JSON that `rtcell check --json` prints and `rtcell bench`
// embeds (docs/check.md, docs/bench.md).
#include <gtest/gtest.h>

#include "report/check.hpp"

namespace rtcell::report {
namespace {

CheckReport sample() {
  CheckReport r;
  r.root = "/";
  r.kernel = "6.18.44";
  r.rt_cpus = CpuSet::parse("2-3");
  r.findings = {{"kernel.preempt_rt", "kernel", host::Severity::Pass, "PREEMPT_RT kernel",
                 "/sys/kernel/realtime", "1", ""},
                {"boot.isolcpus", "boot", host::Severity::Fail, "RT CPUs 2-3 not isolated", "/proc/cmdline",
                 "", "add isolcpus=managed_irq,domain,2-3"},
                {"boot.nohz_full", "boot", host::Severity::Warn, "no nohz_full", "", "", ""}};
  return r;
}

TEST(ReportCheck, PlainTextGroupsByArea) {
  EXPECT_EQ(check_text(sample(), false),
            "rtcell check: this host, kernel 6.18.44, RT CPUs 2-3\n"
            "\nkernel\n"
            "  PASS  kernel.preempt_rt: PREEMPT_RT kernel\n"
            "        /sys/kernel/realtime = 1\n"
            "\nboot\n"
            "  FAIL  boot.isolcpus: RT CPUs 2-3 not isolated\n"
            "        /proc/cmdline\n"
            "        fix: add isolcpus=managed_irq,domain,2-3\n"
            "  WARN  boot.nohz_full: no nohz_full\n"
            "\n1 pass, 0 info, 1 warn, 1 fail\n");
}

TEST(ReportCheck, ColourOnlyWhenAsked) {
  CheckReport r = sample();
  r.root = "board-tree";
  r.rt_cpus.reset();
  std::string t = check_text(r, true);
  EXPECT_EQ(t.rfind("rtcell check: board-tree, kernel 6.18.44, RT CPUs not given\n", 0), 0u) << t;
  EXPECT_NE(t.find("\033[31;1mFAIL\033[0m  boot.isolcpus"), std::string::npos) << t;
  EXPECT_EQ(check_text(r, false).find('\033'), std::string::npos);
}

TEST(ReportCheck, JsonVerdictSummaryAndEvidence) {
  auto j = check_json(sample());
  EXPECT_EQ(j["root"], "/");
  EXPECT_EQ(j["kernel"], "6.18.44");
  EXPECT_EQ(j["rt_cpus"], "2-3");
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["summary"], (nlohmann::json{{"pass", 1}, {"info", 0}, {"warn", 1}, {"fail", 1}}));
  ASSERT_EQ(j["checks"].size(), 3u);
  EXPECT_EQ(j["checks"][1]["id"], "boot.isolcpus");
  EXPECT_EQ(j["checks"][1]["severity"], "fail");
  EXPECT_EQ(j["checks"][1]["evidence"]["file"], "/proc/cmdline");
  EXPECT_EQ(j["checks"][1]["fix"], "add isolcpus=managed_irq,domain,2-3");
  EXPECT_TRUE(check_failed(sample()));

  CheckReport ok = sample();
  ok.findings.erase(ok.findings.begin() + 1);
  ok.rt_cpus.reset();
  EXPECT_FALSE(check_failed(ok));
  auto k = check_json(ok);
  EXPECT_EQ(k["verdict"], "ok");
  EXPECT_TRUE(k["rt_cpus"].is_null());
}

}  // namespace
}  // namespace rtcell::report
