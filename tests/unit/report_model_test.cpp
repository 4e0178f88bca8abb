// The result model: parsing the latency JSON schema, medians across repeats,
// per-CPU series, and the bench JSON round trip.
#include <gtest/gtest.h>

#include "report/bench_model.hpp"
#include "report_test_data.hpp"
#include "rtcell/error.hpp"

namespace rtcell::report {
namespace {

TEST(ReportModel, ParsesTheLatencySchema) {
  LatencyRun r = parse_latency_json(testdata::latency_json());
  ASSERT_EQ(r.threads.size(), 2u);
  EXPECT_EQ(r.threads[0].cpu, 1);
  EXPECT_EQ(r.threads[1].cpu, 2);
  EXPECT_EQ(r.threads[0].policy, "fifo:80");
  EXPECT_EQ(r.total.samples, 2000u);
  EXPECT_EQ(r.total.max_ns, 40123);
  EXPECT_EQ(r.total.percentile("p99.9"), 13000);
  EXPECT_EQ(r.total.counts.size(), 8u);
  EXPECT_EQ(r.total.overflow_count, 2u);
  ASSERT_EQ(r.total.overflow_samples.size(), 1u);
  EXPECT_EQ(r.total.overflow_samples[0].second, 40123);
  EXPECT_EQ(r.stopped_by, "duration");
  EXPECT_EQ(r.host.value("preempt_model", ""), "dynamic");
}

TEST(ReportModel, RejectsWhatIsNotALatencyDocument) {
  EXPECT_THROW(parse_latency_json("not json"), Error);
  EXPECT_THROW(parse_latency_json(R"({"schema":"rtcell.latency/2","threads":[],"total":{}})"), Error);
  EXPECT_THROW(parse_latency_json(R"({"schema":"rtcell.latency/1","threads":[]})"), Error);
  EXPECT_THROW(parse_latency_json(R"({"schema":"rtcell.latency/1","threads":[],"total":{"samples":"x"}})"),
               Error);
  try {
    parse_latency_json(R"({"schema":"rtcell.latency/1","threads":[]})");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("\"total\""), std::string::npos) << e.what();
  }
}

TEST(ReportModel, RejectsNumbersThatDoNotFit) {
  // Floats beyond int64 and negative counts are refused, not converted.
  std::string doc = testdata::latency_json();
  std::string huge = doc;
  huge.replace(huge.find("\"max_ns\":"), 9, "\"max_ns\":1e300,\"x\":");
  EXPECT_THROW(parse_latency_json(huge), Error);
  std::string negative = doc;
  negative.replace(negative.find("\"counts\":[0"), 11, "\"counts\":[-1");
  EXPECT_THROW(parse_latency_json(negative), Error);
  std::string fractional = doc;
  fractional.replace(fractional.find("\"samples\":2000"), 14, "\"samples\":2000.0");
  EXPECT_EQ(parse_latency_json(fractional).total.samples, 2000u);
}

TEST(ReportModel, LatencyJsonRoundTrips) {
  LatencyRun r = parse_latency_json(testdata::latency_json());
  LatencyRun back = latency_from_json(latency_to_json(r));
  EXPECT_EQ(back.total.counts, r.total.counts);
  EXPECT_EQ(back.threads[1].percentiles, r.threads[1].percentiles);
  EXPECT_EQ(back.total.overflow_samples, r.total.overflow_samples);
}

TEST(ReportModel, MediansAcrossRepeats) {
  std::vector<LatencyRun> reps = {parse_latency_json(testdata::latency_json(1)),
                                  parse_latency_json(testdata::latency_json(3)),
                                  parse_latency_json(testdata::latency_json(2))};
  auto s = summarize(reps);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->samples, 6000u);
  EXPECT_EQ(s->p99_ns, 18000);  // the middle of 9, 27, 18 µs
  EXPECT_EQ(s->max_ns, 80123);
  EXPECT_DOUBLE_EQ(median({1, 4}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0);
}

TEST(ReportModel, RepeatsWithoutSamplesGiveNoSummary) {
  LatencyRun empty = parse_latency_json(testdata::latency_json());
  empty.total.samples = 0;
  EXPECT_FALSE(summarize({empty}));
  EXPECT_FALSE(summarize({}));
}

TEST(ReportModel, PerCpuSeriesSumRepeats) {
  RowResult row;
  row.repeats = {parse_latency_json(testdata::latency_json()), parse_latency_json(testdata::latency_json())};
  auto series = per_cpu_series(row);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].cpu, 1);
  EXPECT_EQ(series[0].counts[3], 1000u);  // 500 per repeat
  EXPECT_EQ(series[0].overflow_count, 2u);
  CpuSeries total = total_series(row);
  EXPECT_EQ(total.counts[3], 2000u);
}

TEST(ReportModel, BenchJsonRoundTripsAndCarriesDeltas) {
  BenchRun run = testdata::bench_run(2);
  run.partial = true;
  run.interrupted_by = "SIGINT";
  nlohmann::json j = bench_to_json(run);
  EXPECT_EQ(j["schema"], "rtcell.bench/1");
  EXPECT_EQ(j["rows"][2]["delta"]["p99_ns"], 9000);
  EXPECT_TRUE(j["rows"][0]["delta"].is_null());
  EXPECT_EQ(j["rows"][3]["status"], "skipped");
  EXPECT_EQ(j["rows"][3]["reason"], "podman not installed");
  EXPECT_EQ(j["checks_note"], "rtcell check not available");

  BenchRun back = parse_bench_json(j.dump());
  EXPECT_TRUE(back.partial);
  EXPECT_EQ(back.interrupted_by, "SIGINT");
  ASSERT_EQ(back.rows.size(), 4u);
  EXPECT_EQ(back.rows[2].baseline, "native-load");
  ASSERT_TRUE(back.rows[2].summary);
  EXPECT_EQ(back.rows[2].summary->p999_ns, 26000);
  EXPECT_EQ(back.rows[2].repeats.size(), 1u);
  EXPECT_EQ(back.rows[3].status, RowStatus::Skipped);
  EXPECT_FALSE(back.rows[3].summary);
  EXPECT_EQ(bench_to_json(back), j);
}

TEST(ReportModel, RejectsBadBenchDocuments) {
  EXPECT_THROW(parse_bench_json("{"), Error);
  EXPECT_THROW(parse_bench_json(R"({"schema":"rtcell.bench/9","rows":[]})"), Error);
  EXPECT_THROW(parse_bench_json(R"({"schema":"rtcell.bench/1"})"), Error);
  EXPECT_THROW(parse_bench_json(R"({"schema":"rtcell.bench/1","rows":[{"id":"x","status":"weird"}]})"),
               Error);
  EXPECT_THROW(parse_bench_json(R"({"schema":"rtcell.bench/1","rows":[{"id":5}]})"), Error);
}

}  // namespace
}  // namespace rtcell::report
