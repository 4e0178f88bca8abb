// Where a finished bench run is kept (report/bench_store.hpp): the JSON
// first, a pending file beside the database that goes once the run is
// stored, and, when the store fails, a run still on disk to import later.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "report/bench_store.hpp"
#include "report/history.hpp"
#include "report_test_data.hpp"
#include "sys/file.hpp"

namespace rtcell::report {
namespace {

class ReportBenchStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "rtcell-bench-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The pending-*.json files in dir.
  std::vector<std::string> pending_in(const std::string& dir) const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().filename().string().rfind("pending-", 0) == 0) out.push_back(e.path().string());
    return out;
  }

  std::string dir_;
};

TEST_F(ReportBenchStore, StoresAndLeavesNoPendingFile) {
  BenchRun run = testdata::bench_run();
  const std::string db = dir_ + "/sub/history.db";
  BenchSaved s = save_bench_run(run, {"", db});
  ASSERT_TRUE(s.stored()) << s.store_error->what();
  EXPECT_GT(run.id, 0);
  EXPECT_EQ(s.json_file, "");
  EXPECT_TRUE(pending_in(dir_ + "/sub").empty());
  EXPECT_EQ(History::open(db).list().size(), 1u);
}

TEST_F(ReportBenchStore, JsonFileWithoutHistory) {
  BenchRun run = testdata::bench_run();
  BenchSaved s = save_bench_run(run, {dir_ + "/run.json", ""});
  EXPECT_TRUE(s.stored());
  EXPECT_EQ(s.json_file, dir_ + "/run.json");
  EXPECT_EQ(run.id, 0);
  EXPECT_EQ(parse_bench_json(sys::read_file(dir_ + "/run.json")).started_at, run.started_at);
}

TEST_F(ReportBenchStore, FailedStoreKeepsThePendingFile) {
  const std::string db = dir_ + "/history.db";
  sys::write_file_atomic(db, std::string(4096, 'x'));  // not a database
  BenchRun run = testdata::bench_run();
  BenchSaved s = save_bench_run(run, {"", db});
  ASSERT_FALSE(s.stored());
  EXPECT_EQ(s.store_error->exit_code(), kExitSystem);
  auto pending = pending_in(dir_);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(s.saved_in, pending[0]);
  EXPECT_EQ(pending[0], dir_ + "/pending-2026-11-22T08-00-00Z-" + std::to_string(::getpid()) + ".json");
  EXPECT_EQ(parse_bench_json(sys::read_file(s.saved_in)).rows.size(), run.rows.size());
}

TEST_F(ReportBenchStore, FailedStoreAfterJsonFilePointsAtIt) {
  const std::string db = dir_ + "/history.db";
  sys::write_file_atomic(db, std::string(4096, 'x'));
  BenchRun run = testdata::bench_run();
  BenchSaved s = save_bench_run(run, {dir_ + "/run.json", db});
  ASSERT_FALSE(s.stored());
  EXPECT_EQ(s.saved_in, dir_ + "/run.json");
  EXPECT_TRUE(pending_in(dir_).empty());
}

}  // namespace
}  // namespace rtcell::report
