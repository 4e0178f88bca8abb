// Where a finished bench run is kept, and in which order (docs/bench.md).
//
// The JSON is written first, so that whatever happens to the history
// database afterwards (locked by another writer, corrupt, from a newer
// rtcell) the measurements are on disk. When no --json file was asked for
// and the run goes to the history, it is first written next to the database
// as pending-<started_at>-<pid>.json and removed once stored; if the store
// fails, that file stays and `rtcell report import` stores it later.
//
// This lives in report/ rather than benchrun/: it is the persistence of a
// finished report::BenchRun (files and the SQLite history this folder
// owns), with no process, load or cell involved; benchrun only produces
// the run. Like the rest of the library it never prints: what happened
// comes back in BenchSaved for the caller to tell.
#pragma once

#include <optional>
#include <string>

#include "report/bench_model.hpp"
#include "rtcell/error.hpp"

namespace rtcell::report {

struct BenchSaveOptions {
  std::string json_file;  // write the run's JSON here; "" for none
  std::string db;         // store the run in this history database; "" for none
};

struct BenchSaved {
  std::string json_file;  // the JSON file written, or ""
  // Why the pending file could not be written before the store ("" when it
  // was, or was not needed); the store is still tried.
  std::string pending_error;
  // The store in the history failed: the run is in saved_in ("" when
  // nowhere on disk), to be stored later with `rtcell report import`.
  std::optional<Error> store_error;
  std::string saved_in;
  bool stored() const { return !store_error.has_value(); }
};

// Writes the JSON file (throws rtcell::Error when it cannot: nothing else is
// tried), then stores the run in the history, setting run.id. A failure of
// the store does not throw: it comes back in store_error.
BenchSaved save_bench_run(BenchRun& run, const BenchSaveOptions& where);

}  // namespace rtcell::report
