// The history store on real SQLite files in a temporary directory: round
// trip, migration of a v1 file, and the clear errors for a locked, corrupt or
// too-new database.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "report/history.hpp"
#include "report_test_data.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::report {
namespace {

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "rtcell-history-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/sub/dir/history.db";  // parents do not exist yet
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs SQL on the file directly, as another process would.
  void raw(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }

  std::string dir_, db_;
};

TEST_F(HistoryTest, StoresListsAndLoadsRuns) {
  History h = History::open(db_);
  EXPECT_EQ(h.schema_version(), History::kSchemaVersion);
  EXPECT_TRUE(h.list().empty());
  BenchRun run = testdata::bench_run();
  int64_t id1 = h.store(run);
  run.partial = true;
  int64_t id2 = h.store(run);
  EXPECT_LT(id1, id2);

  auto runs = h.list();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, id1);
  EXPECT_EQ(runs[0].kernel, "6.18.44");
  EXPECT_EQ(runs[0].preempt, "dynamic");
  EXPECT_EQ(runs[0].rows, 4);
  EXPECT_EQ(runs[0].rows_ok, 3);
  EXPECT_EQ(runs[0].worst_max_ns, 80123);
  EXPECT_FALSE(runs[0].partial);
  EXPECT_TRUE(runs[1].partial);

  BenchRun back = h.load(id1);
  EXPECT_EQ(back.id, id1);
  EXPECT_EQ(back.started_at, run.started_at);
  ASSERT_EQ(back.rows.size(), 4u);
  EXPECT_EQ(back.rows[2].summary->p99_ns, run.rows[2].summary->p99_ns);
  EXPECT_EQ(back.rows[0].repeats[0].total.counts, run.rows[0].repeats[0].total.counts);
  EXPECT_THROW(h.load(999), Error);
}

TEST_F(HistoryTest, ReopeningKeepsRuns) {
  { History::open(db_).store(testdata::bench_run()); }
  History h = History::open(db_);
  EXPECT_EQ(h.list().size(), 1u);
}

TEST_F(HistoryTest, MigratesAVersion1File) {
  std::filesystem::create_directories(dir_ + "/sub/dir");
  // A file as rtcell wrote it with schema 1: runs with the JSON only.
  std::string json = bench_to_json(testdata::bench_run()).dump();
  std::string quoted;
  for (char c : json) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  raw(db_, std::string(kHistorySchemaV1) +
               "INSERT INTO runs(started_at, partial, kernel, json) VALUES('2026-11-22T08:00:00Z', 0, "
               "'6.18.44', '" +
               quoted + "'); PRAGMA user_version = 1;");
  History h = History::open(db_);
  EXPECT_EQ(h.schema_version(), History::kSchemaVersion);
  EXPECT_TRUE(h.promises().empty());  // v3's table, made by the migration
  auto runs = h.list();
  ASSERT_EQ(runs.size(), 1u);
  // Backfilled from the stored JSON by the migration.
  EXPECT_EQ(runs[0].preempt, "dynamic");
  EXPECT_EQ(runs[0].rows, 4);
  EXPECT_EQ(runs[0].rows_ok, 3);
  EXPECT_EQ(runs[0].worst_max_ns, 80123);
  // And new runs go in beside it.
  h.store(testdata::bench_run());
  EXPECT_EQ(h.list().size(), 2u);
}

// The tasks of a manifest cell, measured against what they were admitted
// with, kept for `rtcell report promises`: every field back as stored, the
// p99.9 absent when the page had none (a version-1 page).
TEST_F(HistoryTest, KeepsTaskPromises) {
  PromiseRecord kept{.at = "2026-11-28T02:00:00Z",
                     .cell_id = "ra",
                     .cell = "ctl",
                     .manifest = "/etc/robot.yaml",
                     .task = "loop",
                     .cycles = 1000,
                     .exec_max_ns = 80'000,
                     .wcet_ns = 100'000,
                     .response_max_ns = 120'000,
                     .deadline_ns = 1'000'000,
                     .response_p999_ns = 93'750,
                     .broken = false,
                     .why = ""};
  PromiseRecord broken = kept;
  broken.task = "nav";
  broken.exec_max_ns = 300'000;
  broken.response_p999_ns.reset();
  broken.broken = true;
  broken.why = "broken promise: task nav ran 300.0 us, more than its declared WCET of 100.0 us";
  {
    History h = History::open(db_);
    h.store_promises({kept, broken});
    h.store_promises({});
  }
  auto back = History::open(db_).promises();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_GT(back[0].id, 0);
  EXPECT_EQ(back[0].task, "loop");
  EXPECT_EQ(back[0].manifest, "/etc/robot.yaml");
  EXPECT_EQ(back[0].cycles, 1000u);
  EXPECT_EQ(back[0].response_p999_ns, std::optional<int64_t>(93'750));
  EXPECT_FALSE(back[0].broken);
  EXPECT_EQ(back[1].task, "nav");
  EXPECT_EQ(back[1].exec_max_ns, 300'000);
  EXPECT_FALSE(back[1].response_p999_ns.has_value());
  EXPECT_TRUE(back[1].broken);
  EXPECT_EQ(back[1].why, broken.why);
}

TEST_F(HistoryTest, RefusesANewerSchema) {
  History::open(db_);
  raw(db_, "PRAGMA user_version = 99;");
  try {
    History::open(db_);
    FAIL() << "a newer schema must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this rtcell"), std::string::npos) << e.what();
  }
}

TEST_F(HistoryTest, CorruptFileGivesAClearError) {
  std::filesystem::create_directories(dir_ + "/sub/dir");
  sys::write_file_atomic(db_, std::string(4096, 'x'));
  try {
    History::open(db_);
    FAIL() << "a corrupt file must be refused";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("corrupt or not an SQLite file"), std::string::npos) << m;
    EXPECT_NE(m.find(db_), std::string::npos) << m;
    EXPECT_EQ(e.exit_code(), kExitSystem);
  }
  // The file is left as it was: nothing is overwritten.
  EXPECT_EQ(sys::read_file(db_), std::string(4096, 'x'));
}

TEST_F(HistoryTest, LockedFileGivesAClearError) {
  History h = History::open(db_, 0);
  // Another connection holds the write lock (as a second rtcell would).
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr), SQLITE_OK);
  try {
    h.store(testdata::bench_run());
    ADD_FAILURE() << "store must fail while the database is locked";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is locked by another process"), std::string::npos) << e.what();
  }
  sqlite3_exec(other, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  // Once the lock is gone the same handle works: the failed store left no
  // half-open transaction behind.
  EXPECT_GT(h.store(testdata::bench_run()), 0);
  EXPECT_EQ(h.list().size(), 1u);
}

TEST(HistoryPath, FollowsXdgDataHome) {
  const char* old = std::getenv("XDG_DATA_HOME");
  std::string saved = old ? old : "";
  ::setenv("XDG_DATA_HOME", "/data/x", 1);
  EXPECT_EQ(default_history_path(), "/data/x/rtcell/history.db");
  ::setenv("XDG_DATA_HOME", "relative", 1);  // the spec says: ignore relative paths
  ::setenv("HOME", ::getenv("HOME") ? ::getenv("HOME") : "/root", 1);
  EXPECT_EQ(default_history_path(), std::string(::getenv("HOME")) + "/.local/share/rtcell/history.db");
  if (old)
    ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
  else
    ::unsetenv("XDG_DATA_HOME");
}

}  // namespace
}  // namespace rtcell::report
