// libFuzzer harness for the ftrace text reader and the spike analysis that
// `rtcell explain DIR` runs on a capture someone sent: any text must parse
// and be explained without a crash or undefined behaviour; an explained
// spike's parts are within the window they were cut from. The priority
// inversion scan (`rtcell explain --inversion`) reads the same events: its
// findings must be consistent with their kind. The spike timeline (HTML
// report) must keep every span inside its window.
// fuzz-libs: rtcell_trace rtcell_util rtcell_sys
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "trace/explain.hpp"
#include "trace/inversion.hpp"
#include "trace/text_parser.hpp"
#include "trace/timeline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = rtcell::trace::parse_trace_text(text);
  const auto ex = rtcell::trace::explain(parsed);
  if (ex.spikes.size() != static_cast<size_t>(ex.markers)) std::abort();
  for (const auto& s : ex.spikes) {
    if (s.status != rtcell::trace::Status::Explained && !s.parts.empty()) std::abort();
    for (const auto& p : s.parts)
      if (p.count < 1) std::abort();
    // The HTML report's timeline of the spike window: spans stay in it.
    if (s.status != rtcell::trace::Status::Explained) continue;
    const auto tl = rtcell::trace::spike_timeline(parsed, s);
    for (const auto& lane : tl.lanes)
      for (const auto& sp : lane.spans)
        if (sp.start_ns > sp.end_ns || sp.start_ns < tl.start_ns || sp.end_ns > tl.end_ns) std::abort();
  }
  const auto inv = rtcell::trace::find_inversions(parsed);
  if (inv.lower_holder_waits > inv.rt_waits) std::abort();
  for (const auto& i : inv.inversions) {
    int64_t middle = 0;
    for (const auto& m : i.middle) middle += m.ran_ns;
    if (middle != i.middle_ns || (i.middle.empty() && !i.boosted)) std::abort();
    if (i.boosted != (i.kind != rtcell::trace::InversionKind::Unbounded)) std::abort();
  }
  return 0;
}
