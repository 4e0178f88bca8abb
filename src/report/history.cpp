#include "report/history.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <functional>

#include "rtcell/error.hpp"

namespace rtcell::report {

const char* const kHistorySchemaV1 =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " started_at TEXT NOT NULL,"
    " partial INTEGER NOT NULL DEFAULT 0,"
    " kernel TEXT NOT NULL DEFAULT '',"
    " json TEXT NOT NULL);";

namespace {

// v2: per-row figures for list/compare, and the preemption model (what a user
// compares across kernels), both backfilled from the stored JSON.
const char* const kSchemaV2 =
    "ALTER TABLE runs ADD COLUMN preempt TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE row_stats ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " row TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " samples INTEGER, min_ns INTEGER, avg_ns REAL, p99_ns INTEGER, p999_ns INTEGER, max_ns INTEGER,"
    " PRIMARY KEY (run_id, row));";

// v3: what the tasks of manifest cells measured against what they were
// admitted with (docs/manifest.md, "Measured against admitted").
const char* const kSchemaV3 =
    "CREATE TABLE promises ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at TEXT NOT NULL,"
    " cell_id TEXT NOT NULL, cell TEXT NOT NULL, manifest TEXT NOT NULL, task TEXT NOT NULL,"
    " cycles INTEGER NOT NULL, misses INTEGER NOT NULL, overruns INTEGER NOT NULL,"
    " exec_max_ns INTEGER NOT NULL, wcet_ns INTEGER NOT NULL,"
    " response_p999_ns INTEGER, response_max_ns INTEGER NOT NULL, deadline_ns INTEGER NOT NULL,"
    " broken INTEGER NOT NULL, why TEXT NOT NULL DEFAULT '');";

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& path) : db_(db) {
    if (int rc = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); rc != SQLITE_OK) fail(rc, path, "prepare");
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  sqlite3_stmt* get() { return s_; }
  [[noreturn]] void fail(int rc, const std::string& path, const char* what);

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

[[noreturn]] void db_error(sqlite3* db, int rc, const std::string& path, const char* what) {
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    throw Error(ErrorKind::System, "history database " + path + " is locked by another process (" + msg +
                                       "); retry when it is done, or pass --db PATH or --no-history");
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    throw Error(ErrorKind::System, "history database " + path + " is corrupt or not an SQLite file (" + msg +
                                       "); move it away or pass --db PATH");
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM)
    throw Error(ErrorKind::System, "cannot write history database " + path + " (" + msg +
                                       "); pass --db PATH to a writable place or --no-history");
  throw Error(ErrorKind::System, "history database " + path + ": " + what + " failed: " + msg);
}

void Stmt::fail(int rc, const std::string& path, const char* what) {
  db_error(db_, rc, path, what);
}

void exec(sqlite3* db, const std::string& path, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) db_error(db, rc, path, "statement");
}

void mkdir_p(const std::string& dir) {
  if (dir.empty()) return;
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      sys_error("cannot create history directory " + part, errno);
  }
}

void step(Stmt& s, sqlite3* db, const std::string& path) {
  int rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) db_error(db, rc, path, "step");
}

std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

void insert_row_stats(sqlite3* db, const std::string& path, int64_t run_id, const BenchRun& run) {
  Stmt s(db,
         "INSERT INTO row_stats(run_id,row,status,samples,min_ns,avg_ns,p99_ns,p999_ns,max_ns)"
         " VALUES(?,?,?,?,?,?,?,?,?)",
         path);
  for (const auto& r : run.rows) {
    sqlite3_reset(s.get());
    sqlite3_bind_int64(s.get(), 1, run_id);
    sqlite3_bind_text(s.get(), 2, r.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 3, to_string(r.status).c_str(), -1, SQLITE_TRANSIENT);
    if (r.summary) {
      sqlite3_bind_int64(s.get(), 4, static_cast<int64_t>(r.summary->samples));
      sqlite3_bind_int64(s.get(), 5, r.summary->min_ns);
      sqlite3_bind_double(s.get(), 6, r.summary->avg_ns);
      sqlite3_bind_int64(s.get(), 7, r.summary->p99_ns);
      sqlite3_bind_int64(s.get(), 8, r.summary->p999_ns);
      sqlite3_bind_int64(s.get(), 9, r.summary->max_ns);
    } else {
      for (int i = 4; i <= 9; ++i) sqlite3_bind_null(s.get(), i);
    }
    step(s, db, path);
  }
}

std::string host_str(const BenchRun& run, const char* key) {
  if (!run.host.contains(key) || !run.host.at(key).is_string()) return "";
  return run.host.at(key).get<std::string>();
}

}  // namespace

void make_parent_dirs(const std::string& path) {
  if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) mkdir_p(path.substr(0, slash));
}

std::string default_history_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/rtcell/history.db";
  const char* home = std::getenv("HOME");
  if (!home || !*home) usage_error("HOME is not set: pass --db PATH or --no-history");
  return std::string(home) + "/.local/share/rtcell/history.db";
}

History History::open(const std::string& path, int busy_ms) {
  make_parent_dirs(path);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  History h(db, path);  // closes db on every exit from here
  if (rc != SQLITE_OK) db_error(db, rc, path, "open");
  sqlite3_busy_timeout(db, busy_ms);
  exec(db, path, "PRAGMA foreign_keys = ON;");
  h.migrate();
  return h;
}

History::History(History&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) {
  o.db_ = nullptr;
}

History::~History() {
  if (db_) sqlite3_close(db_);
}

int History::schema_version() {
  Stmt s(db_, "PRAGMA user_version;", path_);
  step(s, db_, path_);
  return sqlite3_column_int(s.get(), 0);
}

void History::migrate() {
  // Reading the version is the first access: a corrupt file fails here.
  int version = schema_version();
  if (version == kSchemaVersion) return;
  if (version > kSchemaVersion)
    throw Error(ErrorKind::System, "history database " + path_ + " has schema version " +
                                       std::to_string(version) + ", newer than this rtcell knows (" +
                                       std::to_string(kSchemaVersion) +
                                       "); use a newer rtcell or pass --db PATH");
  // IMMEDIATE takes the write lock now, so two rtcells racing to migrate one
  // file serialise instead of both upgrading.
  exec(db_, path_, "BEGIN IMMEDIATE;");
  try {
    version = schema_version();  // another process may have migrated meanwhile
    if (version < 1) exec(db_, path_, kHistorySchemaV1);
    if (version < 2) {
      exec(db_, path_, kSchemaV2);
      // Backfill the new column and table from the JSON every run carries.
      std::vector<std::pair<int64_t, std::string>> runs;
      {
        Stmt s(db_, "SELECT id, json FROM runs;", path_);
        while (sqlite3_step(s.get()) == SQLITE_ROW)
          runs.emplace_back(sqlite3_column_int64(s.get(), 0), column_text(s.get(), 1));
      }
      for (const auto& [id, text] : runs) {
        BenchRun run = parse_bench_json(text);
        insert_row_stats(db_, path_, id, run);
        Stmt u(db_, "UPDATE runs SET preempt = ? WHERE id = ?;", path_);
        sqlite3_bind_text(u.get(), 1, host_str(run, "preempt_model").c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(u.get(), 2, id);
        step(u, db_, path_);
      }
    }
    if (version < 3) exec(db_, path_, kSchemaV3);
    exec(db_, path_, ("PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";").c_str());
    exec(db_, path_, "COMMIT;");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    throw;
  }
}

int64_t History::store(const BenchRun& run) {
  exec(db_, path_, "BEGIN IMMEDIATE;");
  try {
    Stmt s(db_, "INSERT INTO runs(started_at, partial, kernel, preempt, json) VALUES(?,?,?,?,?);", path_);
    sqlite3_bind_text(s.get(), 1, run.started_at.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s.get(), 2, run.partial ? 1 : 0);
    sqlite3_bind_text(s.get(), 3, host_str(run, "kernel_release").c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 4, host_str(run, "preempt_model").c_str(), -1, SQLITE_TRANSIENT);
    nlohmann::json j = bench_to_json(run);
    j.erase("id");  // the id is the row's key, not part of the document
    std::string text = j.dump();
    sqlite3_bind_text(s.get(), 5, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    step(s, db_, path_);
    int64_t id = sqlite3_last_insert_rowid(db_);
    insert_row_stats(db_, path_, id, run);
    exec(db_, path_, "COMMIT;");
    return id;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<RunInfo> History::list() {
  Stmt s(db_,
         "SELECT r.id, r.started_at, r.partial, r.kernel, r.preempt, COUNT(x.row),"
         " SUM(CASE WHEN x.max_ns IS NOT NULL THEN 1 ELSE 0 END), MAX(x.max_ns)"
         " FROM runs r LEFT JOIN row_stats x ON x.run_id = r.id GROUP BY r.id ORDER BY r.id;",
         path_);
  std::vector<RunInfo> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    RunInfo i;
    i.id = sqlite3_column_int64(s.get(), 0);
    i.started_at = column_text(s.get(), 1);
    i.partial = sqlite3_column_int(s.get(), 2) != 0;
    i.kernel = column_text(s.get(), 3);
    i.preempt = column_text(s.get(), 4);
    i.rows = sqlite3_column_int(s.get(), 5);
    i.rows_ok = sqlite3_column_int(s.get(), 6);
    i.worst_max_ns = sqlite3_column_int64(s.get(), 7);
    out.push_back(std::move(i));
  }
  if (rc != SQLITE_DONE) db_error(db_, rc, path_, "list");
  return out;
}

BenchRun History::load(int64_t id) {
  Stmt s(db_, "SELECT json FROM runs WHERE id = ?;", path_);
  sqlite3_bind_int64(s.get(), 1, id);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE)
    usage_error("no run " + std::to_string(id) + " in history " + path_ + " (see rtcell report list)");
  if (rc != SQLITE_ROW) db_error(db_, rc, path_, "load");
  BenchRun run = parse_bench_json(column_text(s.get(), 0));
  run.id = id;
  return run;
}

void History::store_promises(const std::vector<PromiseRecord>& tasks) {
  if (tasks.empty()) return;
  exec(db_, path_, "BEGIN IMMEDIATE;");
  try {
    for (const auto& t : tasks) {
      Stmt s(db_,
             "INSERT INTO promises(at, cell_id, cell, manifest, task, cycles, misses, overruns, exec_max_ns,"
             " wcet_ns, response_p999_ns, response_max_ns, deadline_ns, broken, why)"
             " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);",
             path_);
      int i = 0;
      for (const std::string* text : {&t.at, &t.cell_id, &t.cell, &t.manifest, &t.task})
        sqlite3_bind_text(s.get(), ++i, text->c_str(), -1, SQLITE_TRANSIENT);
      for (uint64_t n : {t.cycles, t.misses, t.overruns})
        sqlite3_bind_int64(s.get(), ++i, static_cast<sqlite3_int64>(n));
      sqlite3_bind_int64(s.get(), ++i, t.exec_max_ns);
      sqlite3_bind_int64(s.get(), ++i, t.wcet_ns);
      if (t.response_p999_ns)
        sqlite3_bind_int64(s.get(), ++i, *t.response_p999_ns);
      else
        sqlite3_bind_null(s.get(), ++i);
      sqlite3_bind_int64(s.get(), ++i, t.response_max_ns);
      sqlite3_bind_int64(s.get(), ++i, t.deadline_ns);
      sqlite3_bind_int(s.get(), ++i, t.broken ? 1 : 0);
      sqlite3_bind_text(s.get(), ++i, t.why.c_str(), -1, SQLITE_TRANSIENT);
      step(s, db_, path_);
    }
    exec(db_, path_, "COMMIT;");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<PromiseRecord> History::promises() {
  Stmt s(db_,
         "SELECT id, at, cell_id, cell, manifest, task, cycles, misses, overruns, exec_max_ns, wcet_ns,"
         " response_p999_ns, response_max_ns, deadline_ns, broken, why FROM promises ORDER BY id;",
         path_);
  std::vector<PromiseRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    PromiseRecord t;
    auto* q = s.get();
    t.id = sqlite3_column_int64(q, 0);
    t.at = column_text(q, 1);
    t.cell_id = column_text(q, 2);
    t.cell = column_text(q, 3);
    t.manifest = column_text(q, 4);
    t.task = column_text(q, 5);
    t.cycles = static_cast<uint64_t>(sqlite3_column_int64(q, 6));
    t.misses = static_cast<uint64_t>(sqlite3_column_int64(q, 7));
    t.overruns = static_cast<uint64_t>(sqlite3_column_int64(q, 8));
    t.exec_max_ns = sqlite3_column_int64(q, 9);
    t.wcet_ns = sqlite3_column_int64(q, 10);
    if (sqlite3_column_type(q, 11) != SQLITE_NULL) t.response_p999_ns = sqlite3_column_int64(q, 11);
    t.response_max_ns = sqlite3_column_int64(q, 12);
    t.deadline_ns = sqlite3_column_int64(q, 13);
    t.broken = sqlite3_column_int(q, 14) != 0;
    t.why = column_text(q, 15);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) db_error(db_, rc, path_, "promises");
  return out;
}

}  // namespace rtcell::report
