// compare_runs: the verdict uses p99 and p99.9 with a relative tolerance and
// an absolute floor; rows missing on either side are reported, never judged.
#include <gtest/gtest.h>

#include "report/compare.hpp"
#include "report_test_data.hpp"

namespace rtcell::report {
namespace {

TEST(ReportCompare, SameRunIsNoRegression) {
  BenchRun a = testdata::bench_run(2);
  Comparison c = compare_runs(a, a);
  EXPECT_FALSE(c.regressed);
  EXPECT_EQ(c.compared, 3);
  for (const auto& r : c.rows) EXPECT_FALSE(r.regressed) << r.id;
}

TEST(ReportCompare, WorsePercentilesBeyondToleranceRegress) {
  BenchRun a = testdata::bench_run(2);
  BenchRun b = testdata::bench_run(3);  // the cell row gets 1.5x worse
  Comparison c = compare_runs(a, b, {0.10, 1000});
  EXPECT_TRUE(c.regressed);
  ASSERT_EQ(c.rows.size(), 4u);
  EXPECT_FALSE(c.rows[0].regressed);
  EXPECT_TRUE(c.rows[2].regressed);
  EXPECT_EQ(c.rows[2].note, "regressed: p99, p99.9");
  std::string text = render_comparison(c, a, b, {0.10, 1000});
  EXPECT_NE(text.find("verdict: B regressed beyond 10%"), std::string::npos) << text;
  EXPECT_NE(text.find("WORSE"), std::string::npos);
  // The other way round it is an improvement.
  Comparison back = compare_runs(b, a, {0.10, 1000});
  EXPECT_FALSE(back.regressed);
  EXPECT_TRUE(back.rows[2].improved);
}

TEST(ReportCompare, ToleranceAndFloorAbsorbNoise) {
  BenchRun a = testdata::bench_run(2);
  BenchRun b = testdata::bench_run(3);
  // +50% is within a 60% tolerance.
  EXPECT_FALSE(compare_runs(a, b, {0.60, 1000}).regressed);
  // A 10 µs floor: p99 grows 18 -> 27 µs (+9), p99.9 26 -> 39 µs (+13).
  Comparison c = compare_runs(a, b, {0.10, 10'000});
  EXPECT_TRUE(c.regressed);
  EXPECT_EQ(c.rows[2].note, "regressed: p99.9");
  EXPECT_FALSE(compare_runs(a, b, {0.10, 20'000}).regressed);
}

TEST(ReportCompare, MaxAloneNeverDecides) {
  BenchRun a = testdata::bench_run(2);
  BenchRun b = a;
  b.rows[2].summary->max_ns *= 10;
  EXPECT_FALSE(compare_runs(a, b).regressed);
}

TEST(ReportCompare, MissingRowsAreReportedNotJudged) {
  BenchRun a = testdata::bench_run(2);
  BenchRun b = a;
  b.rows.erase(b.rows.begin() + 2);  // no cell row in B
  Comparison c = compare_runs(a, b);
  EXPECT_FALSE(c.regressed);
  EXPECT_EQ(c.compared, 2);
  EXPECT_EQ(c.rows[2].note, "not in B");
  EXPECT_EQ(c.rows[3].note, "no figures in A (skipped)");
  nlohmann::json j = comparison_to_json(c, a, b, {});
  EXPECT_EQ(j["compared"], 2);
  EXPECT_TRUE(j["rows"][2]["b"].is_null());
}

TEST(ReportCompare, NothingToCompareSaysSo) {
  BenchRun a = testdata::bench_run();
  BenchRun b;
  b.started_at = "x";
  std::string text = render_comparison(compare_runs(a, b), a, b, {});
  EXPECT_NE(text.find("nothing to compare"), std::string::npos);
}

}  // namespace
}  // namespace rtcell::report
