#include <gtest/gtest.h>

#include "rtcell/cpuset.hpp"
#include "rtcell/error.hpp"
#include "util/units.hpp"

using rtcell::CpuSet;
using rtcell::Error;
namespace util = rtcell::util;

TEST(CpuSet, ParsesKernelListFormat) {
  EXPECT_EQ(CpuSet::parse("0-3,8,10-11").cpus(), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(CpuSet::parse(" 5 ").cpus(), (std::vector<int>{5}));
  EXPECT_EQ(CpuSet::parse("0-7:2").cpus(), (std::vector<int>{0, 2, 4, 6}));
  EXPECT_EQ(CpuSet::parse("3,1,3").cpus(), (std::vector<int>{1, 3}));
  EXPECT_TRUE(CpuSet::parse("").empty());
  EXPECT_TRUE(CpuSet::parse("\n").empty());
}

TEST(CpuSet, RefusesBadLists) {
  for (const char* bad : {"a", "1-", "-1", "3-1", "1,,2", "0-7:0", "99999", "1.5"})
    EXPECT_THROW(CpuSet::parse(bad), Error) << bad;
}

TEST(CpuSet, PrintsCanonicalRanges) {
  EXPECT_EQ(CpuSet({0, 1, 2, 4, 6, 7}).to_string(), "0-2,4,6-7");
  EXPECT_EQ(CpuSet().to_string(), "");
}

TEST(CpuSet, ParsesHexMasks) {
  EXPECT_EQ(CpuSet::parse_mask("f").cpus(), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(CpuSet::parse_mask("00000001,00000000").cpus(), (std::vector<int>{32}));
  EXPECT_THROW(CpuSet::parse_mask("xz"), Error);
}

TEST(CpuSet, SetAlgebra) {
  CpuSet a = CpuSet::parse("0-3"), b = CpuSet::parse("2-5");
  EXPECT_EQ(a.intersect(b).to_string(), "2-3");
  EXPECT_EQ(a.unite(b).to_string(), "0-5");
  EXPECT_EQ(a.minus(b).to_string(), "0-1");
  EXPECT_TRUE(a.contains(CpuSet::parse("1-2")));
  EXPECT_FALSE(a.contains(b));
  EXPECT_EQ(CpuSet::from_cpu_set(a.to_cpu_set()), a);
}

TEST(Units, Durations) {
  EXPECT_EQ(util::parse_duration_ns("10"), 10'000'000'000);
  EXPECT_EQ(util::parse_duration_ns("10s"), 10'000'000'000);
  EXPECT_EQ(util::parse_duration_ns("5m"), 300'000'000'000);
  EXPECT_EQ(util::parse_duration_ns("2h"), 7'200'000'000'000);
  EXPECT_EQ(util::parse_duration_ns("1d"), 86'400'000'000'000);
  EXPECT_EQ(util::parse_duration_ns("1.5s"), 1'500'000'000);
  EXPECT_EQ(util::parse_duration_ns("250ms"), 250'000'000);
  for (const char* bad : {"", "s", "-1", "10x", "1e3", "99999999999999999999d"})
    EXPECT_THROW(util::parse_duration_ns(bad), Error) << bad;
}

TEST(Units, TimesWithUnits) {
  EXPECT_EQ(util::parse_time_ns("200us"), 200'000);
  EXPECT_EQ(util::parse_time_ns("200"), 200'000);  // default unit us
  EXPECT_EQ(util::parse_time_ns("200", "ns"), 200);
  EXPECT_EQ(util::parse_time_ns("1.5ms"), 1'500'000);
  EXPECT_EQ(util::parse_time_ns("2s"), 2'000'000'000);
  EXPECT_EQ(util::parse_time_ns("0.001us"), 1);
  EXPECT_THROW(util::parse_time_ns("0.0001us"), Error);  // not a whole ns
  EXPECT_THROW(util::parse_time_ns("5 parsecs"), Error);
  EXPECT_THROW(util::parse_time_ns("-5us"), Error);
}

TEST(Units, Bytes) {
  EXPECT_EQ(util::parse_bytes("4096"), 4096u);
  EXPECT_EQ(util::parse_bytes("64M"), 64u << 20);
  EXPECT_EQ(util::parse_bytes("512KiB"), 512u << 10);
  EXPECT_EQ(util::parse_bytes("1g"), 1u << 30);
  EXPECT_EQ(util::parse_bytes("1.5K"), 1536u);
  EXPECT_THROW(util::parse_bytes("12Q"), Error);
}

TEST(Units, Ints) {
  EXPECT_EQ(util::parse_int("42", 0, 100, "x"), 42);
  EXPECT_THROW(util::parse_int("101", 0, 100, "x"), Error);
  EXPECT_THROW(util::parse_int("4a", 0, 100, "x"), Error);
}

TEST(Units, FormatsTimes) {
  EXPECT_EQ(util::format_time_ns(1500), "1500 ns");
  EXPECT_EQ(util::format_time_ns(200'000), "200 us");
  EXPECT_EQ(util::format_time_ns(1'500'000), "1.5 ms");
  EXPECT_EQ(util::format_time_ns(2'000'000'000), "2 s");
}

TEST(Errors, KindsMapToExitCodes) {
  EXPECT_EQ(Error(rtcell::ErrorKind::Usage, "x").exit_code(), rtcell::kExitUsage);
  EXPECT_EQ(Error(rtcell::ErrorKind::Privilege, "x").exit_code(), rtcell::kExitPrivilege);
  EXPECT_EQ(Error(rtcell::ErrorKind::Unsupported, "x").exit_code(), rtcell::kExitPrivilege);
  EXPECT_EQ(Error(rtcell::ErrorKind::System, "x").exit_code(), rtcell::kExitSystem);
  try {
    rtcell::sys_error("open /x", EPERM);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), rtcell::ErrorKind::Privilege);
    EXPECT_NE(std::string(e.what()).find("open /x: "), std::string::npos);
  }
}
