// The bench matrix choices: rows, CPUs, load mix, probe command line.
#include <gtest/gtest.h>

#include "benchrun/spec.hpp"
#include "rtcell/error.hpp"

namespace rtcell::benchrun {
namespace {

TEST(BenchSpec, AllRowsInTable3Order) {
  std::vector<std::string> ids;
  for (const auto& r : select_rows("")) ids.push_back(r.id);
  EXPECT_EQ(ids,
            (std::vector<std::string>{"native-idle", "native-load", "cell-idle", "cell-load",
                                      "cell-netns-load", "podman-load", "crun-load", "podman-rtcell-load"}));
  for (const auto& r : all_rows()) {
    if (r.kind == RowKind::Native)
      EXPECT_TRUE(r.baseline.empty()) << r.id;
    else
      EXPECT_EQ(r.baseline, r.load ? "native-load" : "native-idle") << r.id;
  }
}

TEST(BenchSpec, SelectKeepsTableOrderAndRejectsUnknownRows) {
  auto rows = select_rows("cell-load,native-idle");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, "native-idle");
  EXPECT_EQ(rows[1].id, "cell-load");
  try {
    select_rows("native-idle,bogus");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("unknown row \"bogus\"; known rows: native-idle"),
              std::string::npos);
  }
  EXPECT_THROW(select_rows("native-idle,,cell-load"), Error);
}

TEST(BenchSpec, DefaultCpusLeaveCpu0ForLoad) {
  CpuSet two = CpuSet::parse("0-1");
  EXPECT_EQ(default_measure_cpus(two).to_string(), "1");
  EXPECT_EQ(default_load_cpus(two, CpuSet::parse("1"), false).to_string(), "0");
  EXPECT_EQ(default_load_cpus(two, CpuSet::parse("1"), true).to_string(), "0-1");
  CpuSet one = CpuSet::parse("0");
  EXPECT_EQ(default_measure_cpus(one).to_string(), "0");
  // Nowhere else to go: the load shares the measured CPU.
  EXPECT_EQ(default_load_cpus(one, one, false).to_string(), "0");
  EXPECT_EQ(default_measure_cpus(CpuSet::parse("0-7")).to_string(), "1-7");
}

TEST(BenchSpec, DefaultLoadScalesWithLoadCpus) {
  auto args = default_load_args(CpuSet::parse("0,2-3"));
  std::string line = join_args(args);
  for (const char* s : {"--cpu 3", "--vm 3", "--hdd 3", "--switch 3", "--timer 3"})
    EXPECT_NE(line.find(s), std::string::npos) << s << " in " << line;
}

TEST(BenchSpec, SplitsLoadArgumentsWithQuotes) {
  EXPECT_EQ(split_args("--cpu 1  --vm-bytes '64 M' \"a b\"c"),
            (std::vector<std::string>{"--cpu", "1", "--vm-bytes", "64 M", "a bc"}));
  EXPECT_TRUE(split_args("   ").empty());
  EXPECT_THROW(split_args("--cpu 'x"), Error);
  EXPECT_EQ(join_args({"--cpu", "1", "a b"}), "--cpu 1 'a b'");
}

TEST(BenchSpec, ProbeCommandIsCyclictestShaped) {
  BenchOptions o;
  o.cpus = CpuSet::parse("1-2");
  o.duration_ns = 1'500'000'000;
  std::vector<std::string> expect = {"latency", "-a", "1-2",    "-S", "-p",     "80",         "-i",
                                     "200",     "-D", "1500ms", "-q", "--json", "/tmp/x.json"};
  EXPECT_EQ(latency_args(o, "/tmp/x.json"), expect);
  o.priority = 99;
  o.allow_prio_99 = true;
  EXPECT_EQ(latency_args(o, "-").back(), "--allow-prio-99");
}

}  // namespace
}  // namespace rtcell::benchrun
