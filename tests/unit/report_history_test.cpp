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
  EXPECT_EQ(h.schema_version(), 2);
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
