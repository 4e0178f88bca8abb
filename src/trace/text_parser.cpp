#include "trace/text_parser.hpp"

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rtcell::trace {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool to_i64(std::string_view s, int64_t& out) {
  s = trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int to_int(std::string_view s) {
  int64_t v = 0;
  return to_i64(s, v) ? static_cast<int>(v) : 0;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9');
}

// "k1=v1 k2=v two k3=v3": a key is [a-z0-9_]+ followed by '=' at the start or
// after a space, so a value (a comm) may hold spaces.
std::vector<std::pair<std::string_view, std::string_view>> fields(std::string_view s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != 0 && s[i - 1] != ' ') continue;
    size_t j = i;
    while (j < s.size() && is_key_char(s[j])) ++j;
    if (j > i && j < s.size() && s[j] == '=') starts.push_back(i);
  }
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t b = starts[k];
    const size_t e = k + 1 < starts.size() ? starts[k + 1] : s.size();
    const std::string_view f = s.substr(b, e - b);
    const size_t eq = f.find('=');
    out.emplace_back(f.substr(0, eq), trim(f.substr(eq + 1)));
  }
  return out;
}

std::string_view get(const std::vector<std::pair<std::string_view, std::string_view>>& fs,
                     std::string_view key) {
  for (const auto& [k, v] : fs)
    if (k == key) return v;
  return {};
}

// Times and counts are kept within [0, 2^60) (36 years of ns), so the
// analysis can add and subtract any few of them without overflow; anything
// else (a corrupt or hostile file) reads as 0.
constexpr int64_t kMaxValue = int64_t{1} << 60;

int64_t get_i64(const std::vector<std::pair<std::string_view, std::string_view>>& fs, std::string_view key) {
  int64_t v = 0;
  if (!to_i64(get(fs, key), v) || v < -kMaxValue || v >= kMaxValue) return 0;
  return v;
}

int64_t get_ns(const std::vector<std::pair<std::string_view, std::string_view>>& fs, std::string_view key) {
  const int64_t v = get_i64(fs, key);
  return v < 0 ? 0 : v;
}

// "vec=1 [action=TIMER]" -> "TIMER"
std::string softirq_action(std::string_view body) {
  const size_t a = body.find("action=");
  if (a == std::string_view::npos) return std::string(body);
  // A loop, not find(']'): GCC 11 warns (stringop-overread) on the
  // inlined memchr of a substr's find.
  std::string out;
  for (size_t i = a + 7; i < body.size() && body[i] != ']'; ++i) out += body[i];
  return out;
}

void fill(Event& ev, std::string_view body) {
  const std::string_view n = ev.name;
  if (n == "sched_switch") {
    ev.kind = Kind::Switch;
    const size_t arrow = body.find(" ==> ");
    if (arrow == std::string_view::npos) return;
    const auto prev = fields(body.substr(0, arrow));
    const auto next = fields(body.substr(arrow + 5));
    ev.a_comm = std::string(get(prev, "prev_comm"));
    ev.a_pid = static_cast<int>(get_i64(prev, "prev_pid"));
    ev.a_prio = static_cast<int>(get_i64(prev, "prev_prio"));
    ev.a_state = std::string(get(prev, "prev_state"));
    ev.b_comm = std::string(get(next, "next_comm"));
    ev.b_pid = static_cast<int>(get_i64(next, "next_pid"));
    ev.b_prio = static_cast<int>(get_i64(next, "next_prio"));
    return;
  }
  const auto fs = fields(body);
  if (n == "sched_waking" || n == "sched_wakeup" || n == "sched_migrate_task") {
    ev.kind = n == "sched_waking" ? Kind::Waking : n == "sched_wakeup" ? Kind::Wakeup : Kind::Migrate;
    ev.b_comm = std::string(get(fs, "comm"));
    ev.b_pid = static_cast<int>(get_i64(fs, "pid"));
    ev.b_prio = static_cast<int>(get_i64(fs, "prio"));
  } else if (n == "sched_pi_setprio") {
    ev.kind = Kind::PiSetprio;
    ev.b_comm = std::string(get(fs, "comm"));
    ev.b_pid = static_cast<int>(get_i64(fs, "pid"));
    ev.a_prio = static_cast<int>(get_i64(fs, "oldprio"));
    ev.b_prio = static_cast<int>(get_i64(fs, "newprio"));
  } else if (n == "hrtimer_start") {
    ev.kind = Kind::HrtimerStart;
    ev.timer = std::string(get(fs, "hrtimer"));
    ev.label = std::string(get(fs, "function"));
    ev.expires_ns = get_ns(fs, "expires");
    ev.softexpires_ns = get_ns(fs, "softexpires");
  } else if (n == "hrtimer_expire_entry") {
    ev.kind = Kind::HrtimerExpireEntry;
    ev.timer = std::string(get(fs, "hrtimer"));
    ev.label = std::string(get(fs, "function"));
    ev.now_ns = get_ns(fs, "now");
  } else if (n == "hrtimer_expire_exit") {
    ev.kind = Kind::HrtimerExpireExit;
    ev.timer = std::string(get(fs, "hrtimer"));
  } else if (n == "irq_handler_entry") {
    ev.kind = Kind::IrqEntry;
    ev.label = std::string(get(fs, "name"));
    ev.count = get_i64(fs, "irq");
  } else if (n == "irq_handler_exit") {
    ev.kind = Kind::IrqExit;
    ev.count = get_i64(fs, "irq");
  } else if (n == "softirq_entry" || n == "softirq_exit") {
    ev.kind = n == "softirq_entry" ? Kind::SoftirqEntry : Kind::SoftirqExit;
    ev.label = softirq_action(body);
  } else if (n == "cpu_idle") {
    ev.kind = Kind::CpuIdle;
    ev.count = get_i64(fs, "state");
  } else if (n == "irq_noise" || n == "softirq_noise" || n == "thread_noise" || n == "nmi_noise") {
    // include/trace/events/osnoise.h: "SRC:N start S.NNNNNNNNN duration D ns"
    // (nmi_noise has no source).
    ev.kind = Kind::OsnoiseNoise;
    const std::string_view b = trim(body);
    const size_t st = b.rfind("start ", std::string_view::npos);
    ev.label = std::string(trim(b.substr(0, st == std::string_view::npos ? 0 : st)));
    const size_t d = b.rfind("duration ");
    if (d != std::string_view::npos) {
      std::string_view v = b.substr(d + 9);
      v = v.substr(0, v.find(' '));
      if (!to_i64(v, ev.count) || ev.count < 0 || ev.count >= kMaxValue) ev.count = 0;
    }
  } else if (n == "tracing_mark_write" || n == "print") {
    ev.kind = Kind::Marker;
    ev.label = std::string(trim(body));
  } else if (n.size() > 6 && n.substr(n.size() - 6) == "_entry" && get(fs, "vector").size() != 0) {
    ev.kind = Kind::VectorEntry;
    ev.label = std::string(n.substr(0, n.size() - 6));
  } else if (n.size() > 5 && n.substr(n.size() - 5) == "_exit" && get(fs, "vector").size() != 0) {
    ev.kind = Kind::VectorExit;
    ev.label = std::string(n.substr(0, n.size() - 5));
  }
}

// "CPU:1 [LOST 123 EVENTS]", or "CPU:1 [LOST EVENTS]" when the ring could
// not count them (kernel/trace/trace.c, print_trace_line: lost_events ==
// (unsigned long)-1). The second form has count kLostUncounted: lost, not
// how many.
bool parse_lost(std::string_view line, Event& ev) {
  line = trim(line);
  if (line.rfind("CPU:", 0) != 0) return false;
  const size_t sp = line.find(' ');
  const size_t lost = line.find("[LOST ");
  if (sp == std::string_view::npos || lost == std::string_view::npos) return false;
  int64_t cpu = 0;
  if (!to_i64(line.substr(4, sp - 4), cpu) || cpu < 0 || cpu > INT32_MAX) return false;
  ev.kind = Kind::Lost;
  ev.name = "lost";
  ev.cpu = static_cast<int>(cpu);
  std::string_view rest = line.substr(lost + 6);
  if (rest.rfind("EVENTS]", 0) == 0) {
    ev.count = kLostUncounted;
    return true;
  }
  rest = rest.substr(0, rest.find(' '));
  // Bounded so that summing the lost counts of a whole capture cannot overflow.
  if (!to_i64(rest, ev.count) || ev.count < 0 || ev.count > (int64_t{1} << 40)) ev.count = 0;
  return true;
}

// The timerlat tracer's own entry (kernel/trace/trace_output.c,
// trace_timerlat_print): "#SEQ context CTX timer_latency N ns".
bool parse_timerlat(std::string_view rest, Event& ev) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    const size_t b = i;
    while (i < rest.size() && rest[i] != ' ' && rest[i] != '\t') ++i;
    if (i > b) words.push_back(rest.substr(b, i - b));
  }
  int64_t seq = 0, lat = 0;
  if (words.size() < 5 || words[1] != "context" || words[3] != "timer_latency" ||
      !to_i64(words[0].substr(1), seq) || !to_i64(words[4], lat) || seq < 0 || lat < 0 || lat >= kMaxValue ||
      seq > INT32_MAX)
    return false;
  ev.kind = Kind::TimerlatSample;
  ev.name = "timerlat";
  ev.label = std::string(words[2]);
  ev.b_pid = static_cast<int>(seq);
  ev.count = lat;
  return true;
}

// The context columns every event line starts with:
//   <comm>-<pid> [<cpu>] <flags> <sec>.<usec>: <rest>
struct LineHead {
  int cpu = 0;
  std::string_view task;   // "<comm>-<pid>"
  std::string_view flags;  // "" when the line has no flags column
  int64_t ts_ns = 0;
  std::string_view rest;  // after "<stamp>: "
};

bool parse_head(std::string_view line, LineHead& h) {
  // Find " [NNN] " : the CPU column; the task before it may hold spaces and dashes.
  size_t lb = std::string_view::npos;
  for (size_t pos = line.find(" ["); pos != std::string_view::npos; pos = line.find(" [", pos + 1)) {
    const size_t rb = line.find(']', pos);
    if (rb == std::string_view::npos) break;
    int64_t cpu = 0;
    if (to_i64(line.substr(pos + 2, rb - pos - 2), cpu) && cpu >= 0 && cpu <= INT32_MAX) {
      lb = pos;
      h.cpu = static_cast<int>(cpu);
      break;
    }
  }
  if (lb == std::string_view::npos) return false;
  h.task = trim(line.substr(0, lb));
  std::string_view rest = line.substr(line.find(']', lb) + 1);
  rest = trim(rest);
  // Optional flags column ("d.h1."), then "<sec>.<usec>:".
  const size_t colon = rest.find(": ");
  if (colon == std::string_view::npos) return false;
  const std::string_view head = rest.substr(0, colon);
  const size_t sp = head.rfind(' ');
  const std::string_view stamp = sp == std::string_view::npos ? head : head.substr(sp + 1);
  h.flags = sp == std::string_view::npos ? std::string_view() : trim(head.substr(0, sp));
  const size_t dot = stamp.find('.');
  int64_t sec = 0, frac = 0;
  if (dot == std::string_view::npos || !to_i64(stamp.substr(0, dot), sec) ||
      !to_i64(stamp.substr(dot + 1), frac))
    return false;
  // Scale the fraction to ns whatever its digits (6 for us, 9 for ns).
  const size_t digits = stamp.size() - dot - 1;
  if (digits == 0 || digits > 9 || sec < 0 || frac < 0 || sec >= kMaxValue / 1'000'000'000) return false;
  int64_t scale = 1;
  for (size_t d = digits; d < 9; ++d) scale *= 10;
  h.ts_ns = sec * 1'000'000'000 + frac * scale;
  h.rest = rest.substr(colon + 2);
  return true;
}

// ctx_at: where the hardirq/softirq character sits in the flags column: 2
// ("d.h1."), 3 on PREEMPT_RT kernels with lazy preemption, whose header names
// a need-resched-lazy column before it ("dn.h1..", Debian's 6.1 rt).
bool parse_event_line(std::string_view line, Event& ev, size_t ctx_at) {
  LineHead h;
  if (!parse_head(line, h)) return false;
  const size_t dash = h.task.rfind('-');
  if (dash == std::string_view::npos) return false;
  ev.cpu = h.cpu;
  ev.comm = std::string(h.task.substr(0, dash));
  ev.pid = to_int(h.task.substr(dash + 1));
  // The flags column ("d.h1."): its third character is the IRQ context.
  if (h.flags.size() >= 4 && h.flags.size() > ctx_at && h.flags.find(' ') == std::string_view::npos)
    ev.irq_ctx = h.flags[ctx_at];
  ev.ts_ns = h.ts_ns;
  const std::string_view rest = h.rest;
  if (!rest.empty() && rest.front() == '#') return parse_timerlat(rest, ev);
  const size_t c2 = rest.find(':');
  if (c2 == std::string_view::npos) return false;
  ev.name = std::string(trim(rest.substr(0, c2)));
  fill(ev, rest.substr(c2 + 1));
  return true;
}

}  // namespace

ParsedTrace parse_trace_text(std::string_view text) {
  ParsedTrace out;
  size_t ctx_at = 2;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const std::string_view t = trim(line);
    if (t.empty()) continue;
    if (t.front() == '#') {
      if (t.rfind("# tracer: ", 0) == 0) out.tracer = std::string(trim(t.substr(10)));
      if (t.find("need-resched-lazy") != std::string_view::npos) ctx_at = 3;
      const size_t k = t.find("entries-in-buffer/entries-written:");
      if (k != std::string_view::npos) {
        std::string_view v = trim(t.substr(k + 34));
        const size_t slash = v.find('/');
        const size_t end = v.find(' ');
        if (slash != std::string_view::npos) {
          to_i64(v.substr(0, slash), out.entries_in_buffer);
          to_i64(v.substr(slash + 1, end == std::string_view::npos ? end : end - slash - 1),
                 out.entries_written);
        }
      }
      continue;
    }
    Event ev;
    if (parse_lost(t, ev) || parse_event_line(line, ev, ctx_at)) {
      out.events.push_back(std::move(ev));
    } else {
      ++out.unparsed_lines;
    }
  }
  return out;
}

bool event_line_time(std::string_view line, int& cpu, int64_t& ts_ns) {
  LineHead h;
  if (!parse_head(line, h) || h.task.find('-') == std::string_view::npos) return false;
  cpu = h.cpu;
  ts_ns = h.ts_ns;
  return true;
}

bool lost_line_cpu(std::string_view line, int& cpu) {
  Event ev;
  if (!parse_lost(line, ev)) return false;
  cpu = ev.cpu;
  return true;
}

bool parse_spike_marker(std::string_view text, SpikeMarker& out) {
  text = trim(text);
  if (text.rfind("rtcell-spike ", 0) != 0) return false;
  const auto fs = fields(text.substr(13));
  SpikeMarker m;
  m.thread = static_cast<int>(get_i64(fs, "thread"));
  m.tid = static_cast<int>(get_i64(fs, "tid"));
  m.cpu = static_cast<int>(get_i64(fs, "cpu"));
  m.expected_ns = get_ns(fs, "expected");
  m.wake_ns = get_ns(fs, "wake");
  m.latency_ns = get_i64(fs, "latency");
  if (m.tid <= 0 || m.expected_ns <= 0) return false;
  out = m;
  return true;
}

}  // namespace rtcell::trace
