#include "report/bench_store.hpp"

#include <unistd.h>

#include "report/history.hpp"
#include "sys/file.hpp"

namespace rtcell::report {

namespace {

// DIR/pending-<started_at with ':' -> '-'>-<pid>.json, next to the database
// so that it lands on the same filesystem and the user finds it there.
std::string pending_path(const BenchRun& run, const std::string& db) {
  std::string dir = db.substr(0, db.rfind('/') == std::string::npos ? 0 : db.rfind('/'));
  std::string stamp = run.started_at;
  for (char& c : stamp)
    if (c == ':') c = '-';
  return (dir.empty() ? "." : dir) + "/pending-" + stamp + "-" + std::to_string(::getpid()) + ".json";
}

}  // namespace

BenchSaved save_bench_run(BenchRun& run, const BenchSaveOptions& where) {
  BenchSaved saved;
  if (!where.json_file.empty()) {
    sys::write_file_atomic(where.json_file, bench_to_json(run).dump(2) + "\n");
    saved.json_file = where.json_file;
  }
  if (where.db.empty()) return saved;

  std::string pending;
  if (saved.json_file.empty()) {
    pending = pending_path(run, where.db);
    try {
      make_parent_dirs(pending);
      sys::write_file_atomic(pending, bench_to_json(run).dump(2) + "\n");
    } catch (const Error& e) {
      saved.pending_error = e.what();
      pending.clear();
    }
  }
  try {
    History h = History::open(where.db);
    run.id = h.store(run);
    if (!pending.empty()) ::unlink(pending.c_str());
  } catch (const Error& e) {
    saved.store_error = e;
    saved.saved_in = !saved.json_file.empty() ? saved.json_file : pending;
  }
  return saved;
}

}  // namespace rtcell::report
