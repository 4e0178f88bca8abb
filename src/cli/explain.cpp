// rtcell explain DIR: re-runs the spike analysis on a kept --trace capture
// (DIR/trace.txt), so a capture can be sent and explained elsewhere.
#include "trace/explain.hpp"

#include <cstdio>
#include <string>

#include "cli/command.hpp"
#include "report/explain.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "trace/text_parser.hpp"

namespace rtcell::cli {

namespace {

// ftrace text of a busy second is tens of MiB; refuse what cannot be one.
constexpr size_t kMaxTrace = size_t{1} << 30;

struct ExplainFlags {
  std::string dir;
  std::string json;
};

int run_explain(const ExplainFlags& f) {
  const std::string path = f.dir + "/trace.txt";
  const std::string text =
      sys::read_input_file(path, path + " (a capture of rtcell latency --trace)", kMaxTrace);
  const trace::ParsedTrace parsed = trace::parse_trace_text(text);
  const trace::Explanation ex = trace::explain(parsed);
  if (parsed.events.empty()) usage_error(path + ": no trace event in it (is it an ftrace `trace` file?)");
  const bool json_to_stdout = f.json == "-";
  if (!f.json.empty()) {
    const std::string out = report::explain_json(ex).dump(2) + "\n";
    if (json_to_stdout)
      std::fwrite(out.data(), 1, out.size(), stdout);
    else
      sys::write_file_atomic(f.json, out);
  }
  if (!json_to_stdout) {
    const std::string out = report::explain_text(ex);
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  if (parsed.unparsed_lines > 0)
    warn(std::to_string(parsed.unparsed_lines) + " lines of " + path + " were not trace events (ignored)");
  return kExitOk;
}

Run setup(CLI::App& app) {
  auto f = std::make_shared<ExplainFlags>();
  app.add_option("DIR", f->dir, "a capture kept by rtcell latency --trace")->required();
  app.add_option("--json", f->json,
                 "write the explanation as JSON to FILE, or - for stdout (rtcell.explain/1)");
  return [f] { return run_explain(*f); };
}

const Registrar kExplain{Verb{"explain", "explain the latency spikes of a kept --trace capture", 41, setup}};

}  // namespace

}  // namespace rtcell::cli
