// Latency reports on hand-made results: the JSON schema the bench verb
// parses, and cyclictest's exact text (compared with what rt-tests 2.40's
// cyclictest prints for the same numbers).
#include <gtest/gtest.h>

#include "report/latency_json.hpp"
#include "report/latency_text.hpp"

using namespace rtcell;
using nlohmann::json;

namespace {

// Two threads, 5 buckets of 1 us, overflow list of 3 per thread.
struct Fixture {
  measure::LatencyConfig config;
  measure::LatencyResult result;
  host::HostFacts host;

  Fixture() {
    config.threads = {{0, 1'000'000}, {1, 1'000'000}};
    config.policy = rt::Fifo{80};
    config.histogram_buckets = 5;
    config.duration_ns = 2'000'000'000;
    result.total = rt::Histogram(5, 1000, 6);
    const std::vector<std::vector<int64_t>> samples = {{1500, 2500, 2600, 7000},
                                                       {500, 900, 1100, 6000, 8000, 9000, 9500}};
    for (int t = 0; t < 2; ++t) {
      measure::ThreadResult tr{.thread = t,
                               .tid = 100 + t,
                               .cpu = t,
                               .interval_ns = 1'000'000,
                               .phase_ns = 0,
                               .missed = 0,
                               .last_ns = samples[static_cast<size_t>(t)].back(),
                               .histogram = rt::Histogram(5, 1000, 3)};
      for (int64_t v : samples[static_cast<size_t>(t)]) tr.histogram.record(v);
      result.total.merge(tr.histogram);
      result.threads.push_back(std::move(tr));
    }
    result.stopped_by = measure::StopReason::Duration;
    result.dma_latency_us = 0;
    host.kernel_release = "6.18.0";
    host.preempt_model = "full";
    host.online_cpus = CpuSet::parse("0-1");
  }
};

}  // namespace

TEST(ReportLatencyJson, CarriesTheAgreedSchema) {
  Fixture f;
  json j = report::latency_json(f.config, f.result, f.host);
  EXPECT_EQ(j["schema"], "rtcell.latency/1");
  EXPECT_EQ(j["config"]["threads"], 2);
  EXPECT_EQ(j["config"]["cpus"], "0-1");
  EXPECT_EQ(j["config"]["policy"], "fifo:80");
  EXPECT_EQ(j["config"]["interval_ns"], 1'000'000);
  EXPECT_EQ(j["config"]["distance_ns"], 0);
  EXPECT_EQ(j["config"]["dma_latency_us"], 0);
  EXPECT_EQ(j["config"]["histogram_buckets"], 5);
  for (const char* k : {"kernel_release", "kernel_version", "preempt_model", "preempt_source", "cmdline",
                        "cpu_model", "machine", "online_cpus", "isolated_cpus"})
    EXPECT_TRUE(j["host"].contains(k)) << k;
  EXPECT_EQ(j["host"]["online_cpus"], "0-1");
  EXPECT_EQ(j["stopped_by"], "duration");
  EXPECT_TRUE(j["breaktrace"].is_null());

  const json& t0 = j["threads"][0];
  EXPECT_EQ(t0["thread"], 0);
  EXPECT_EQ(t0["tid"], 100);
  EXPECT_EQ(t0["cpu"], 0);
  EXPECT_EQ(t0["samples"], 4);
  EXPECT_EQ(t0["min_ns"], 1500);
  EXPECT_EQ(t0["max_ns"], 7000);
  EXPECT_DOUBLE_EQ(t0["avg_ns"].get<double>(), (1500 + 2500 + 2600 + 7000) / 4.0);
  EXPECT_EQ(t0["histogram"]["bucket_ns"], 1000);
  EXPECT_EQ(t0["histogram"]["counts"], json({0, 1, 2, 0, 0}));
  // p50 = rank 2 -> bucket [2000, 3000): its upper edge; p90 = rank 4 -> the overflow 7000, exact.
  EXPECT_EQ(t0["percentiles"]["p50"], 2999);
  EXPECT_EQ(t0["percentiles"]["p90"], 7000);
  EXPECT_EQ(t0["percentiles_in_overflow"], json({"p90", "p99", "p99.9", "p99.99"}));
  EXPECT_EQ(t0["overflows"]["count"], 1);
  EXPECT_EQ(t0["overflows"]["truncated"], false);
  EXPECT_EQ(t0["overflows"]["samples"], json::parse(R"([{"index": 3, "ns": 7000}])"));

  // Thread 1 overflowed 4 times but keeps 3: truncated, and p99 falls back to the max.
  const json& t1 = j["threads"][1];
  EXPECT_EQ(t1["overflows"]["count"], 4);
  EXPECT_EQ(t1["overflows"]["truncated"], true);
  EXPECT_EQ(t1["overflows"]["samples"].size(), 3u);
  EXPECT_EQ(t1["percentiles"]["p99"], 9500);

  const json& total = j["total"];
  EXPECT_FALSE(total.contains("tid"));
  EXPECT_FALSE(total.contains("cpu"));
  EXPECT_EQ(total["samples"], 11);
  EXPECT_EQ(total["min_ns"], 500);
  EXPECT_EQ(total["max_ns"], 9500);
  EXPECT_EQ(total["overflows"]["count"], 5);
  EXPECT_EQ(total["overflows"]["samples"][0]["thread"], 0);
  EXPECT_EQ(total["histogram"]["counts"], json({2, 2, 2, 0, 0}));
  // Round trip through text keeps every field.
  EXPECT_EQ(json::parse(j.dump()), j);
}

TEST(ReportLatencyJson, BreaktraceAndNoDmaRequest) {
  Fixture f;
  f.result.dma_latency_us.reset();
  f.result.stopped_by = measure::StopReason::Breaktrace;
  f.result.breaktrace = measure::Breaktrace{.thread = 1, .value_ns = 6000, .sample = 3, .tid = 101};
  json j = report::latency_json(f.config, f.result, f.host);
  EXPECT_TRUE(j["config"]["dma_latency_us"].is_null());
  EXPECT_EQ(j["stopped_by"], "breaktrace");
  EXPECT_EQ(j["breaktrace"]["thread"], 1);
  EXPECT_EQ(j["breaktrace"]["value_ns"], 6000);
  EXPECT_EQ(j["breaktrace"]["sample"], 3);
}

TEST(ReportLatencyJson, EmptyHistogramHasNullPercentiles) {
  rt::Histogram h(4, 1000, 2);
  json j = report::histogram_json(h);
  EXPECT_EQ(j["samples"], 0);
  EXPECT_TRUE(j["percentiles"]["p50"].is_null());
}

TEST(ReportLatencyText, CyclictestThreadLineMatchesItsFormat) {
  // Captured from cyclictest 2.40: "T: 0 ( 8233) P:80 I:1000 C:    200 Min:     19 Act:   34 Avg:   31 Max:
  // 113"
  EXPECT_EQ(report::cyclictest_thread_line(0, 8233, 80, 1'000'000, 200, 19'400, 34'999, 31'000, 113'000),
            "T: 0 ( 8233) P:80 I:1000 C:    200 Min:     19 Act:   34 Avg:   31 Max:     113\n");
  EXPECT_EQ(report::cyclictest_thread_line(12, 123456, 1, 200'000, 1234567, 0, 0, 0, 1'234'567'000),
            "T:12 (123456) P: 1 I:200 C:1234567 Min:      0 Act:    0 Avg:    0 Max: 1234567\n");
}

TEST(ReportLatencyText, CyclictestQuietOutputWithoutHistogram) {
  Fixture f;
  EXPECT_EQ(report::cyclictest_output(f.config, f.result, false, true),
            "# /dev/cpu_dma_latency set to 0us\n"
            "T: 0 (  100) P:80 I:1000 C:      4 Min:      1 Act:    7 Avg:    3 Max:       7\n"
            "T: 1 (  101) P:80 I:1000 C:      7 Min:      0 Act:    9 Avg:    5 Max:       9\n");
}

TEST(ReportLatencyText, CyclictestHistogramText) {
  Fixture f;
  // Layout of cyclictest 2.40 -q -h 5: all rows, tab-separated columns,
  // "# Total" counts only in-range samples, overflow indices capped at the
  // number of buckets then "# N others" (here capped by our 3 kept).
  EXPECT_EQ(report::cyclictest_output(f.config, f.result, true, true),
            "# /dev/cpu_dma_latency set to 0us\n"
            "# Histogram\n"
            "000000 000000\t000002\n"
            "000001 000001\t000001\n"
            "000002 000002\t000000\n"
            "000003 000000\t000000\n"
            "000004 000000\t000000\n"
            "# Total: 000000003 000000003\n"
            "# Min Latencies: 00001 00000\n"
            "# Avg Latencies: 00003 00005\n"
            "# Max Latencies: 00007 00009\n"
            "# Histogram Overflows: 00001 00004\n"
            "# Histogram Overflow at cycle number:\n"
            "# Thread 0: 00003\n"
            "# Thread 1: 00003 00004 00005 # 00001 others\n"
            "\n");
}

TEST(ReportLatencyText, CyclictestBreakFooter) {
  Fixture f;
  f.result.dma_latency_us.reset();
  f.result.breaktrace = measure::Breaktrace{.thread = 1, .value_ns = 56'700, .sample = 0, .tid = 101};
  std::string s = report::cyclictest_output(f.config, f.result, false, true);
  EXPECT_EQ(s.find("# /dev/cpu_dma_latency"), std::string::npos);
  EXPECT_NE(s.find("# Thread Ids: 00100 00101\n# Break thread: 101\n# Break value: 56\n"), std::string::npos);
}

TEST(ReportLatencyText, TableShowsEveryThreadAndTheTotal) {
  Fixture f;
  std::string s = report::latency_table(f.config, f.result);
  EXPECT_NE(s.find("2 threads, fifo:80"), std::string::npos);
  EXPECT_NE(s.find("stopped by duration"), std::string::npos);
  EXPECT_NE(s.find("\n total "), std::string::npos);
  EXPECT_NE(s.find("* beyond the histogram"), std::string::npos);  // thread 0's p90 is an overflow
}
