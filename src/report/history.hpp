// The run history: every bench run in one SQLite file, so a user can compare
// a stock and an RT kernel, or a host before and after `rtcell tune`.
//
// The whole run is stored as its bench JSON (nothing is lost, the renderers
// work from it), plus a per-row table of the summary figures for listing and
// comparing without parsing JSON. The schema carries a version in
// PRAGMA user_version; opening an older file migrates it step by step inside
// one transaction, and a file from a newer rtcell is refused, never rewritten.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/bench_model.hpp"

namespace rtcell::report {

struct RunInfo {
  int64_t id = 0;
  std::string started_at;
  bool partial = false;
  std::string kernel;
  std::string preempt;
  int rows = 0;     // rows in the run
  int rows_ok = 0;  // rows with figures
  int64_t worst_max_ns = 0;
};

// One task of a manifest cell, measured against what it was admitted with,
// as `rtcell run` (and `up`, and `delete` of a `create -f` cell) found it at
// the cell's end: kept so that `rtcell report promises` can show it later.
struct PromiseRecord {
  int64_t id = 0;  // the history's key (0 before it is stored)
  std::string at;  // UTC, ISO 8601
  std::string cell_id, cell, manifest, task;
  uint64_t cycles = 0, misses = 0, overruns = 0;
  int64_t exec_max_ns = 0, wcet_ns = 0, response_max_ns = 0, deadline_ns = 0;
  std::optional<int64_t> response_p999_ns;
  bool broken = false;
  std::string why;  // the broken promise's line; empty when kept
};

class History {
 public:
  static constexpr int kSchemaVersion = 3;

  // Opens (creating the file and its directory) and migrates to the current
  // schema. busy_ms: how long to wait for another writer before reporting the
  // database locked. Throws rtcell::Error with a one-line message naming the
  // path for a locked, corrupt or too-new database.
  static History open(const std::string& path, int busy_ms = 2000);

  History(History&& o) noexcept;
  History& operator=(History&&) = delete;
  History(const History&) = delete;
  History& operator=(const History&) = delete;
  ~History();

  int schema_version();
  int64_t store(const BenchRun& run);  // returns the new id
  std::vector<RunInfo> list();
  BenchRun load(int64_t id);  // throws Usage when there is no such run
  // Stores the tasks of one cell's end in one transaction.
  void store_promises(const std::vector<PromiseRecord>& tasks);
  // Every kept task outcome, oldest first.
  std::vector<PromiseRecord> promises();
  const std::string& path() const noexcept { return path_; }

 private:
  History(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void migrate();
  sqlite3* db_ = nullptr;
  std::string path_;
};

// $XDG_DATA_HOME/rtcell/history.db, else ~/.local/share/rtcell/history.db.
std::string default_history_path();

// Creates the directories above path (mkdir -p of its dirname).
void make_parent_dirs(const std::string& path);

// The v1 schema as it shipped, for migration tests.
extern const char* const kHistorySchemaV1;

}  // namespace rtcell::report
