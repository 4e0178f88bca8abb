// rtcell explain DIR: re-runs the spike analysis on a kept --trace capture
// (DIR/trace.txt), so a capture can be sent and explained elsewhere.
// --inversion looks in the same capture for priority inversion instead
// (trace/inversion.hpp), e.g. one made by `rtcell trace record -- CMD`.
#include "trace/explain.hpp"

#include <cstdio>
#include <string>

#include "cli/command.hpp"
#include "report/explain.hpp"
#include "report/inversion.hpp"
#include "report/timeline.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "trace/inversion.hpp"
#include "trace/text_parser.hpp"

namespace rtcell::cli {

namespace {

// ftrace text of a busy second is tens of MiB; refuse what cannot be one.
constexpr size_t kMaxTrace = size_t{1} << 30;

struct ExplainFlags {
  std::string dir;
  std::string json;
  std::string html;
  bool inversion = false;
  uint32_t keep = trace::kDefaultKeep;
};

void emit(const std::string& json_path, const nlohmann::json& j, const std::string& text) {
  const bool json_to_stdout = json_path == "-";
  if (!json_path.empty()) {
    const std::string out = j.dump(2) + "\n";
    if (json_to_stdout)
      std::fwrite(out.data(), 1, out.size(), stdout);
    else
      sys::write_file_atomic(json_path, out);
  }
  if (!json_to_stdout) std::fwrite(text.data(), 1, text.size(), stdout);
}

int run_explain(const ExplainFlags& f) {
  const std::string path = f.dir + "/trace.txt";
  const std::string text =
      sys::read_input_file(path, path + " (a capture of rtcell latency --trace)", kMaxTrace);
  const trace::ParsedTrace parsed = trace::parse_trace_text(text);
  if (parsed.events.empty()) usage_error(path + ": no trace event in it (is it an ftrace `trace` file?)");
  if (f.inversion && !f.html.empty()) usage_error("--html draws spikes; it does not go with --inversion");
  if (f.inversion) {
    const trace::InversionScan scan = trace::find_inversions(parsed);
    emit(f.json, report::inversion_json(scan), report::inversion_text(scan));
  } else {
    trace::Explanation ex = trace::explain(parsed);
    trace::keep_worst(ex, f.keep);
    emit(f.json, report::explain_json(ex), report::explain_text(ex));
    if (!f.html.empty()) sys::write_file_atomic(f.html, report::explain_html(parsed, ex));
  }
  if (parsed.unparsed_lines > 0)
    warn(std::to_string(parsed.unparsed_lines) + " lines of " + path + " were not trace events (ignored)");
  return kExitOk;
}

Run setup(CLI::App& app) {
  auto f = std::make_shared<ExplainFlags>();
  app.add_option("DIR", f->dir, "a capture kept by rtcell latency --trace or rtcell trace record")
      ->required();
  app.add_flag("--inversion", f->inversion,
               "look for priority inversion instead: an RT thread blocked while a lower-priority holder was "
               "preempted by threads in between, and whether sched_pi_setprio boosted the holder");
  app.add_option(
      "--json", f->json,
      "write the explanation as JSON to FILE, or - for stdout (rtcell.explain/1; rtcell.inversion/1 with "
      "--inversion)");
  app.add_option("--keep", f->keep,
                 "explain the worst K spikes (default 5, as latency --trace-keep; 0: all)");
  app.add_option("--html", f->html,
                 "also write FILE: an HTML page with each spike's timeline (SVG, one lane per CPU)");
  return [f] { return run_explain(*f); };
}

const Registrar kExplain{Verb{
    "explain", "explain the latency spikes (or priority inversions) of a kept trace capture", 41, setup}};

}  // namespace

}  // namespace rtcell::cli
