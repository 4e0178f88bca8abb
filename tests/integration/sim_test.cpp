// `rtcell sim` end to end: the real binary on the example manifest and on
// bad ones. Exit 0 (no miss), 1 (a miss), 2 (refused before starting, one
// line). Needs no root: the simulator is pure computation.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/support.hpp"

namespace fs = std::filesystem;

namespace {

struct Dir {
  std::string path;
  Dir() {
    std::string t = (fs::temp_directory_path() / "rtcell-sim-it-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
};

rtcell::test::Result sim(const std::string& args) {
  return rtcell::test::run_shell(rtcell::test::rtcell_bin() + " sim " + args + " 2>&1");
}

const std::string kExample = std::string(RTCELL_SOURCE_DIR) + "/examples/vm-partitions.yaml";

const char* kOverloaded = R"(version: 1
vms:
  - name: a
    memory: 64
    vcpus: ["0"]
    tasks:
      - {name: x, period: 10ms, wcet: 8ms}
      - {name: y, period: 10ms, wcet: 7ms}
)";

}  // namespace

TEST(Sim, ExampleUnderEverySchedulerMeetsItsDeadlinesAsJson) {
  for (const char* s : {"rtds", "partitioned", "credit"}) {
    auto r = sim(std::string("--json --duration 1s --scheduler ") + s + " " + kExample);
    ASSERT_EQ(r.code, 0) << s << ": " << r.out;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["scheduler"], s);
    EXPECT_EQ(j["misses"].get<int64_t>(), 0);
    ASSERT_EQ(j["tasks"].size(), 5u);
    EXPECT_EQ(j["tasks"][0]["jobs"].get<int64_t>(), 1000);  // current: 1 ms over 1 s
  }
}

TEST(Sim, SameSeedSameOutputAndSvgWritten) {
  Dir d;
  const auto svg = d.path + "/plot.svg";
  auto a = sim("--json --seed 9 --svg " + svg + " " + kExample);
  auto b = sim("--json --seed 9 " + kExample);
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  const auto text = rtcell::test::slurp(svg);
  EXPECT_EQ(text.rfind("<svg", 0), 0u) << text.substr(0, 80);
  EXPECT_NE(text.find("vision/1/detect"), std::string::npos);
}

TEST(Sim, ShrunkBudgetsStillRunAndATableIsPrinted) {
  auto r = sim("--duration 200ms --budget-delta -1us " + std::string(kExample));
  EXPECT_TRUE(r.code == 0 || r.code == 1) << r.out;
  EXPECT_NE(r.out.find("worst gap"), std::string::npos) << r.out;
}

TEST(Sim, OverloadWithoutMissPolicyIsRefusedInOneLine) {
  Dir d;
  const auto f = d.write("over.yaml", kOverloaded);
  auto r = sim("--scheduler credit " + f);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--on-miss drop"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  auto dropped = sim("--scheduler credit --on-miss drop --duration 100ms " + f);
  EXPECT_EQ(dropped.code, 1) << dropped.out;  // misses: the "no" exit
}

TEST(Sim, BadFlagsAndZeroPeriodsAreUsageErrors) {
  Dir d;
  auto r = sim("--scheduler bogus " + kExample);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("credit|rtds|partitioned"), std::string::npos) << r.out;
  const auto zero = d.write("zero.yaml", R"(version: 1
vms:
  - name: a
    memory: 64
    vcpus: ["0"]
    tasks:
      - {name: x, period: 0ms, wcet: 8ms}
)");
  auto z = sim(zero);
  EXPECT_EQ(z.code, 2) << z.out;
  EXPECT_NE(z.out.find("zero.yaml:7:"), std::string::npos) << z.out;  // FILE:LINE:COL from the parser
  auto other = sim("--scheduler credit --budget-delta -1us " + kExample);
  EXPECT_EQ(other.code, 2) << other.out;
  EXPECT_NE(other.out.find("rtds only"), std::string::npos) << other.out;
  auto drv = sim("--driver nobody " + kExample);
  EXPECT_EQ(drv.code, 2) << drv.out;
}

// The driver-domain flags: every job of g1 ends with an I/O request that
// dom0 serves; the report counts them (one per job: 100 in 1 s).
TEST(Sim, DriverDomainIoIsReportedUnderCredit) {
  Dir d;
  const auto f = d.write("io.yaml", R"(version: 1
vms:
  - name: dom0
    memory: 64
    vcpus: ["0"]
    tasks:
      - {name: idle, period: 100ms, wcet: 1ms}
  - name: g1
    memory: 64
    vcpus: ["0"]
    tasks:
      - {name: req, period: 10ms, wcet: 1500us}
)");
  auto r = sim("--json --scheduler credit --driver dom0 --io g1 --duration 1s " + f);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["io"]["count"].get<int64_t>(), 100);
  EXPECT_GE(j["io"]["min_ns"].get<int64_t>(), 100'000);  // the default service time
  auto none = sim("--scheduler credit --io g1 " + f);
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_NE(none.out.find("--driver"), std::string::npos) << none.out;
}
