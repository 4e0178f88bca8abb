#include <gtest/gtest.h>

#include "rtcell/error.hpp"
#include "rtcell/rt/histogram.hpp"

using rtcell::rt::Histogram;

TEST(Histogram, CountsBucketsAndStats) {
  Histogram h(10, 1000, 4);
  for (int64_t v : {500, 1500, 1999, 2000, 9999}) h.record(v);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.min_ns(), 500);
  EXPECT_EQ(h.max_ns(), 9999);
  EXPECT_EQ(h.buckets()[0], 1u);
  EXPECT_EQ(h.buckets()[1], 2u);
  EXPECT_EQ(h.buckets()[2], 1u);
  EXPECT_EQ(h.buckets()[9], 1u);
  EXPECT_EQ(h.overflow_count(), 0u);
  EXPECT_DOUBLE_EQ(h.avg_ns(), (500 + 1500 + 1999 + 2000 + 9999) / 5.0);
}

TEST(Histogram, KeepsOverflowsExactly) {
  Histogram h(10, 1000, 2);
  h.record(100);
  h.record(15'000);  // index 1
  h.record(200);
  h.record(12'000);  // index 3
  h.record(50'000);  // index 4, beyond the kept capacity
  EXPECT_EQ(h.overflow_count(), 3u);
  ASSERT_EQ(h.overflows().size(), 2u);
  EXPECT_EQ(h.overflows()[0].index, 1u);
  EXPECT_EQ(h.overflows()[0].value_ns, 15'000);
  EXPECT_EQ(h.overflows()[1].index, 3u);
  EXPECT_TRUE(h.overflows_truncated());
  EXPECT_EQ(h.max_ns(), 50'000);
}

TEST(Histogram, NearestRankPercentiles) {
  Histogram h(100, 1000, 16);
  for (int i = 0; i < 100; ++i) h.record(i * 1000 + 10);  // one sample per bucket
  auto p50 = h.percentile(0.50);
  ASSERT_TRUE(p50);
  EXPECT_EQ(p50->value_ns, 49'999);  // rank 50 is in bucket 49 = [49000, 50000)
  EXPECT_FALSE(p50->in_overflow);
  auto p100 = h.percentile(1.0);
  EXPECT_EQ(p100->value_ns, 99'010);  // clipped to the exact max
  EXPECT_FALSE(h.percentile(0).has_value());
  EXPECT_FALSE(Histogram(4).percentile(0.5).has_value());
}

TEST(Histogram, PercentileInOverflowIsExactWhileAllKept) {
  Histogram h(10, 1000, 8);
  for (int i = 0; i < 8; ++i) h.record(100);
  h.record(20'000);
  h.record(30'000);
  auto p99 = h.percentile(0.99);  // rank 10 of 10
  ASSERT_TRUE(p99);
  EXPECT_TRUE(p99->in_overflow);
  EXPECT_TRUE(p99->exact);
  EXPECT_EQ(p99->value_ns, 30'000);
  auto p90 = h.percentile(0.90);  // rank 9
  EXPECT_EQ(p90->value_ns, 20'000);
}

TEST(Histogram, MergeAddsAndRefusesOtherShapes) {
  Histogram a(10), b(10), c(20);
  a.record(1000);
  b.record(3000);
  b.record(99'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max_ns(), 99'000'000);
  EXPECT_EQ(a.overflow_count(), 1u);
  EXPECT_THROW(a.merge(c), rtcell::Error);
  EXPECT_THROW(Histogram(0), rtcell::Error);
}
