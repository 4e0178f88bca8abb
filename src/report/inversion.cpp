#include "report/inversion.hpp"

#include <cstdio>
#include <string>

namespace rtcell::report {

namespace {

std::string us(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f us", static_cast<double>(ns) / 1000.0);
  return buf;
}

std::string who(const trace::TaskRef& t) {
  return t.comm + ":" + std::to_string(t.pid) + " (" + trace::describe_prio(t.prio) + ")";
}

nlohmann::json task_json(const trace::TaskRef& t) {
  return {{"comm", t.comm},
          {"pid", t.pid},
          {"prio", t.prio == trace::kUnknownPrio ? nlohmann::json(nullptr) : nlohmann::json(t.prio)},
          {"policy", trace::describe_prio(t.prio)}};
}

}  // namespace

std::string inversion_verdict(const trace::Inversion& inv, size_t index) {
  std::string out = std::to_string(index + 1) + ": " + who(inv.high) + " waited " + us(inv.waited_ns) +
                    " (blocked in state " + inv.state + " on CPU " + std::to_string(inv.cpu) + ") for " +
                    who(inv.holder);
  if (inv.boosted) out += ", boosted to " + trace::describe_prio(inv.boosted_to) + " by sched_pi_setprio";
  if (!inv.middle.empty()) {
    out += "; meanwhile on CPU " + std::to_string(inv.holder_cpu) + " ";
    for (size_t i = 0; i < inv.middle.size(); ++i)
      out += (i ? ", " : "") + who(inv.middle[i].task) + " ran " + us(inv.middle[i].ran_ns);
    out += " instead of the holder";
  }
  switch (inv.kind) {
    case trace::InversionKind::Unbounded:
      return out + ": priority inversion, unbounded (no priority inheritance boost)";
    case trace::InversionKind::BoostedBounded:
      return out + "; no thread between them ran: boosted and bounded";
    case trace::InversionKind::BoostedDelayed:
      return out + ": boosted, but a middle thread still delayed the holder " + us(inv.middle_ns);
  }
  return out;
}

std::string inversion_text(const trace::InversionScan& scan) {
  std::string out;
  int unbounded = 0, bounded = 0;
  for (size_t i = 0; i < scan.inversions.size(); ++i) {
    const auto& inv = scan.inversions[i];
    out += (inv.kind == trace::InversionKind::Unbounded ? "inversion " : "pi wait ") +
           inversion_verdict(inv, i) + "\n";
    if (inv.kind == trace::InversionKind::BoostedBounded)
      ++bounded;
    else
      ++unbounded;
  }
  out += "summary: " + std::to_string(scan.rt_waits) + " waits of RT threads, " +
         std::to_string(scan.lower_holder_waits) + " ended by a lower-priority thread; " +
         std::to_string(unbounded) + " delayed by a middle-priority thread, " + std::to_string(bounded) +
         " boosted and bounded\n";
  if (scan.lost_events > 0)
    out += "warning: " + std::to_string(scan.lost_events) + " events lost; " +
           std::to_string(scan.dropped_waits) + " waits open at the loss were not judged\n";
  if (scan.overwritten) out += "warning: the ring overwrote its oldest events; earlier waits are not in it\n";
  return out;
}

nlohmann::json inversion_json(const trace::InversionScan& scan) {
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < scan.inversions.size(); ++i) {
    const auto& inv = scan.inversions[i];
    nlohmann::json middle = nlohmann::json::array();
    for (const auto& m : inv.middle) {
      nlohmann::json j = task_json(m.task);
      j["ran_ns"] = m.ran_ns;
      j["count"] = m.count;
      middle.push_back(j);
    }
    list.push_back({{"kind", trace::to_string(inv.kind)},
                    {"high", task_json(inv.high)},
                    {"holder", task_json(inv.holder)},
                    {"middle", middle},
                    {"cpu", inv.cpu},
                    {"holder_cpu", inv.holder_cpu},
                    {"state", inv.state},
                    {"blocked_ns", inv.blocked_ns},
                    {"woken_ns", inv.woken_ns},
                    {"running_ns", inv.running_ns},
                    {"waited_ns", inv.waited_ns},
                    {"middle_ns", inv.middle_ns},
                    {"boosted", inv.boosted},
                    {"boosted_to", inv.boosted ? nlohmann::json(inv.boosted_to) : nlohmann::json(nullptr)},
                    {"boost_ns", inv.boost_ns},
                    {"verdict", inversion_verdict(inv, i)}});
  }
  return {{"schema", "rtcell.inversion/1"},
          {"rt_waits", scan.rt_waits},
          {"lower_holder_waits", scan.lower_holder_waits},
          {"lost_events", scan.lost_events},
          {"dropped_waits", scan.dropped_waits},
          {"ring_overwritten", scan.overwritten},
          {"inversions", list}};
}

}  // namespace rtcell::report
