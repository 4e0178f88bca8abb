// librtcell's reader of the admitted parameters (RTCELL_TASKS): what a task
// gets from the analysis, and one line for every way the variable can be
// wrong.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <variant>

#include "rtcell/error.hpp"
#include "rtcell/rt/cell_tasks.hpp"
#include "rtcell/rt/published_stats.hpp"

namespace rt = rtcell::rt;

namespace {

constexpr const char* kSet = R"({"version": 1, "cell": "control", "admitted": true, "hz": 250, "tasks": [
  {"name": "loop", "policy": "fifo", "priority": 80, "cpu": 1, "period_ns": 1000000, "wcet_ns": 150000,
   "deadline_ns": 900000, "response_ns": 150000},
  {"name": "est", "policy": "deadline", "cpu": 0, "period_ns": 10000000, "wcet_ns": 2000000,
   "deadline_ns": 10000000, "runtime_ns": 2000000, "dl_deadline_ns": 9000000, "dl_period_ns": 10000000},
  {"name": "log", "policy": "rr", "period_ns": 100000000, "wcet_ns": 1000000, "deadline_ns": 100000000}]})";

std::string message(std::string_view name, std::string_view json) {
  try {
    rt::admitted_task(name, json);
  } catch (const rtcell::Error& e) {
    EXPECT_EQ(e.kind(), rtcell::ErrorKind::Usage);
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(RtCellTasks, FixedPriorityTaskGetsItsPeriodPriorityAndCpu) {
  const rt::AdmittedTask t = rt::admitted_task("loop", kSet);
  EXPECT_EQ(t.cell, "control");
  EXPECT_TRUE(t.admitted);
  EXPECT_EQ(t.response_ns, 150'000);
  const rt::PeriodicTaskConfig c = t.task_config();
  EXPECT_EQ(c.period_ns, 1'000'000);
  EXPECT_EQ(c.deadline_ns, 900'000);
  const rt::TaskThreadConfig tc = t.thread_config();
  ASSERT_TRUE(tc.policy.has_value());
  ASSERT_TRUE(std::holds_alternative<rt::Fifo>(*tc.policy));
  EXPECT_EQ(std::get<rt::Fifo>(*tc.policy).priority, 80);
  ASSERT_TRUE(tc.cpus.has_value());
  EXPECT_EQ(tc.cpus->to_string(), "1");
}

TEST(RtCellTasks, DeadlineTaskGetsItsReservation) {
  const rt::TaskThreadConfig tc = rt::admitted_task("est", kSet).thread_config();
  ASSERT_TRUE(tc.policy && std::holds_alternative<rt::Deadline>(*tc.policy));
  const auto& d = std::get<rt::Deadline>(*tc.policy);
  EXPECT_EQ(d.runtime_ns, 2'000'000U);
  EXPECT_EQ(d.deadline_ns, 9'000'000U);
  EXPECT_EQ(d.period_ns, 10'000'000U);
}

TEST(RtCellTasks, NoPriorityKeepsTheCellsPolicy) {
  const rt::TaskThreadConfig tc = rt::admitted_task("log", kSet).thread_config();
  EXPECT_FALSE(tc.policy.has_value());
  EXPECT_FALSE(tc.cpus.has_value());
}

TEST(RtCellTasks, EveryBadInputIsOneLine) {
  EXPECT_EQ(message("nav", kSet),
            "task 'nav' is not among the admitted tasks of cell 'control' (loop, est, log): add it to the "
            "manifest or fix the name");
  EXPECT_NE(message("loop", "not json").find("not a JSON object"), std::string::npos);
  EXPECT_NE(message("loop", R"({"tasks": []})").find("older than this library"), std::string::npos);
  EXPECT_NE(message("loop", R"({"version": 2, "tasks": []})").find("version 2 is not the 1"),
            std::string::npos);
  EXPECT_NE(message("loop", R"({"version": 1, "tasks": [{"name": "loop", "period_ns": 0}]})")
                .find("tasks[0].period_ns must be a positive integer"),
            std::string::npos);
  EXPECT_NE(message("loop", R"({"version": 1, "tasks": [{"name": "loop", "policy": "edf", "period_ns": 1,
                                "wcet_ns": 1, "deadline_ns": 1}]})")
                .find("tasks[0].policy 'edf' is not fifo, rr or deadline"),
            std::string::npos);
  EXPECT_NE(message("loop", R"({"version": 1, "tasks": [{"name": "loop", "priority": 100, "period_ns": 1,
                                "wcet_ns": 1, "deadline_ns": 1}]})")
                .find("priority must be 1-99"),
            std::string::npos);
}

TEST(RtCellTasks, OutsideAManifestCellSaysHowToGetOne) {
  unsetenv(rt::kCellTasksEnv);
  EXPECT_FALSE(rt::in_admitted_cell());
  try {
    rt::admitted_task("loop");
    FAIL() << "no error";
  } catch (const rtcell::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rtcell run -f FILE CELL"), std::string::npos) << e.what();
  }
}

// The shared page a supervisor reads: what the loop counted, as it counted
// it; no page without a name or without RTCELL_STATS_DIR.
TEST(RtPublishedStats, TheLoopPublishesItsCountersOnTheSharedPage) {
  char tmpl[] = "/tmp/rtcell-stats-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  setenv(rt::kStatsDirEnv, dir.c_str(), 1);
  rt::PeriodicTaskConfig c;
  c.period_ns = 200'000;
  c.publish_name = "loop";
  {
    rt::PeriodicTask t(c, [](const rt::Cycle&) {});
    t.run(5);
    const auto s = rt::read_published_stats(dir + "/loop.stats");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->name, "loop");
    EXPECT_EQ(s->cycles, 5U);
    EXPECT_EQ(s->period_ns, 200'000);
    EXPECT_EQ(s->deadline_ns, 200'000);
    EXPECT_EQ(s->exec_max_ns, t.stats().exec_max_ns);
    EXPECT_EQ(s->response_max_ns, t.stats().response_max_ns);
    // Version 2: five responses in the histogram; p99.9 is the fifth, an
    // upper bound within deadline / 64 that never exceeds the maximum.
    ASSERT_TRUE(s->response_p999_ns.has_value());
    EXPECT_LE(*s->response_p999_ns, s->response_max_ns);
    EXPECT_GT(*s->response_p999_ns + 200'000 / 64, s->response_max_ns);
  }
  c.publish_name.clear();
  {
    rt::PeriodicTask unnamed(c, [](const rt::Cycle&) {});
  }
  unsetenv(rt::kStatsDirEnv);
  c.publish_name = "other";
  {
    rt::PeriodicTask no_dir(c, [](const rt::Cycle&) {});
  }
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1);
  // A short or foreign file is no page.
  std::ofstream(dir + "/short.stats") << "RTCS";
  EXPECT_FALSE(rt::read_published_stats(dir + "/short.stats").has_value());
  EXPECT_FALSE(rt::read_published_stats(dir + "/missing.stats").has_value());
  std::filesystem::remove_all(dir);
}

namespace rtcell {
namespace {

// The p99.9 of a published histogram: the upper edge of the bucket holding
// rank ceil(0.999 n), capped at the maximum; the last bucket (everything
// above 2 x deadline) gives the maximum itself.
TEST(RtPublishedStats, HistogramQuantileIsTheNearestRankBucketEdge) {
  uint64_t c[4] = {998, 1, 0, 1};                              // 1000 samples, bucket width 10
  EXPECT_EQ(rt::histogram_quantile(c, 4, 10, 35, 0.999), 20);  // rank 999: bucket 1
  EXPECT_EQ(rt::histogram_quantile(c, 4, 10, 35, 0.5), 10);    // rank 500: bucket 0
  EXPECT_EQ(rt::histogram_quantile(c, 4, 10, 35, 1.0), 35);    // rank 1000: the last bucket
  EXPECT_EQ(rt::histogram_quantile(c, 4, 10, 15, 0.999), 15);  // capped at the maximum
  uint64_t none[4] = {};
  EXPECT_FALSE(rt::histogram_quantile(none, 4, 10, 0, 0.999).has_value());
}

// A page written by the librtcell of round 1 (version 1, no histogram) is
// still read: counters, and no p99.9.
TEST(RtPublishedStats, AVersionOnePageIsReadWithoutPercentile) {
  char tmpl[] = "/tmp/rtcell-stats-v1-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  rt::PublishedStats page;
  page.magic = rt::PublishedStats::kMagic;
  page.version = 1;
  std::snprintf(page.name, sizeof page.name, "old");
  page.cycles.store(7);
  page.response_max_ns.store(1234);
  const size_t v1 = offsetof(rt::PublishedStats, response_bucket_ns);
  std::ofstream(dir + "/old.stats", std::ios::binary)
      .write(reinterpret_cast<const char*>(&page), static_cast<std::streamsize>(v1));
  const auto s = rt::read_published_stats(dir + "/old.stats");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->cycles, 7U);
  EXPECT_EQ(s->response_max_ns, 1234);
  EXPECT_FALSE(s->response_p999_ns.has_value());
  // A version this rtcell does not know is no page.
  page.version = 3;
  std::ofstream(dir + "/new.stats", std::ios::binary)
      .write(reinterpret_cast<const char*>(&page), sizeof page);
  EXPECT_FALSE(rt::read_published_stats(dir + "/new.stats").has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rtcell
