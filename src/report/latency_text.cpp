#include "report/latency_text.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "report/latency_json.hpp"
#include "rtcell/rt/sched.hpp"
#include "util/units.hpp"

namespace rtcell::report {

namespace {

// printf into a std::string (no std::format in GCC 12).
__attribute__((format(printf, 2, 3))) void appendf(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<size_t>(n));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<size_t>(n));
  out += big;
}

// cyclictest works in whole microseconds, truncating (calcdiff()).
long us(int64_t ns) {
  return static_cast<long>(ns / 1000);
}

std::string us1(int64_t ns) {
  std::string s;
  appendf(s, "%.1f", static_cast<double>(ns) / 1000.0);
  return s;
}

// A percentile for the table: the upper edge of its bucket in whole us, or
// the exact value when it is one; "*" marks one in the overflow.
std::string pct_cell(const rt::Histogram& h, double q, bool& any_overflow) {
  auto p = h.percentile(q);
  if (!p) return "-";
  std::string s = p->exact ? us1(p->value_ns) : std::to_string((p->value_ns + 999) / 1000);
  if (p->in_overflow) {
    s += "*";
    any_overflow = true;
  }
  return s;
}

}  // namespace

int display_priority(const rt::Policy& policy) {
  if (auto* f = std::get_if<rt::Fifo>(&policy)) return f->priority;
  if (auto* r = std::get_if<rt::Rr>(&policy)) return r->priority;
  return 0;
}

std::string cyclictest_thread_line(int thread, int tid, int priority, int64_t interval_ns, uint64_t cycles,
                                   int64_t min_ns, int64_t act_ns, int64_t avg_ns, int64_t max_ns) {
  std::string s;
  appendf(s, "T:%2d (%5d) P:%2d I:%ld C:%7lu Min:%7ld Act:%5ld Avg:%5ld Max:%8ld\n", thread, tid, priority,
          us(interval_ns), static_cast<unsigned long>(cycles), us(min_ns), us(act_ns), us(avg_ns),
          us(max_ns));
  return s;
}

std::string live_lines(const measure::LatencyConfig& config, const std::vector<measure::LiveSnapshot>& live) {
  std::string s;
  const int prio = display_priority(config.policy);
  for (const auto& l : live) {
    const int64_t interval = config.threads[static_cast<size_t>(l.thread)].interval_ns;
    s += cyclictest_thread_line(l.thread, l.tid, prio, interval, l.cycles, l.min_ns, l.act_ns, l.avg_ns,
                                l.max_ns);
  }
  return s;
}

std::string cyclictest_output(const measure::LatencyConfig& config, const measure::LatencyResult& result,
                              bool histogram, bool quiet) {
  std::string s;
  if (result.dma_latency_us) appendf(s, "# /dev/cpu_dma_latency set to %dus\n", *result.dma_latency_us);
  const int prio = display_priority(config.policy);
  if (!histogram || !quiet) {
    for (const auto& t : result.threads) {
      const auto& h = t.histogram;
      // cyclictest averages the truncated per-sample us values; the
      // truncated ns average can differ by < 1 us.
      const int64_t avg = h.count() ? h.sum_ns() / static_cast<int64_t>(h.count()) : 0;
      s += cyclictest_thread_line(t.thread, t.tid, prio, t.interval_ns, h.count(), h.min_ns(), t.last_ns, avg,
                                  h.max_ns());
    }
  }
  if (histogram && !result.threads.empty()) {
    const size_t buckets = result.threads.front().histogram.buckets().size();
    s += "# Histogram\n";
    for (size_t i = 0; i < buckets; ++i) {
      appendf(s, "%06zu ", i);
      for (size_t j = 0; j < result.threads.size(); ++j) {
        appendf(s, "%06lu", static_cast<unsigned long>(result.threads[j].histogram.buckets()[i]));
        if (j + 1 < result.threads.size()) s += '\t';
      }
      s += '\n';
    }
    auto row = [&](const char* title, const char* fmt, auto value) {
      s += title;
      for (const auto& t : result.threads) appendf(s, fmt, value(t.histogram));
      s += '\n';
    };
    row("# Total:", " %09lu",
        [](const rt::Histogram& h) { return static_cast<unsigned long>(h.count() - h.overflow_count()); });
    row("# Min Latencies:", " %05ld", [](const rt::Histogram& h) { return us(h.min_ns()); });
    row("# Avg Latencies:", " %05ld", [](const rt::Histogram& h) {
      return us(h.count() ? h.sum_ns() / static_cast<int64_t>(h.count()) : 0);
    });
    row("# Max Latencies:", " %05ld", [](const rt::Histogram& h) { return us(h.max_ns()); });
    row("# Histogram Overflows:", " %05lu",
        [](const rt::Histogram& h) { return static_cast<unsigned long>(h.overflow_count()); });
    s += "# Histogram Overflow at cycle number:\n";
    for (const auto& t : result.threads) {
      const auto& h = t.histogram;
      appendf(s, "# Thread %d:", t.thread);
      // cyclictest keeps as many overflow indices as the histogram has buckets.
      const size_t shown = std::min(h.overflows().size(), buckets);
      for (size_t k = 0; k < shown; ++k)
        appendf(s, " %05lu", static_cast<unsigned long>(h.overflows()[k].index));
      if (shown < h.overflow_count())
        appendf(s, " # %05lu others", static_cast<unsigned long>(h.overflow_count() - shown));
      s += '\n';
    }
    s += '\n';
  }
  if (result.breaktrace) {
    s += "# Thread Ids:";
    for (const auto& t : result.threads) appendf(s, " %05d", t.tid);
    s += '\n';
    appendf(s, "# Break thread: %d\n", result.breaktrace->tid);
    appendf(s, "# Break value: %ld\n", us(result.breaktrace->value_ns));
  }
  return s;
}

std::string latency_table(const measure::LatencyConfig& config, const measure::LatencyResult& result) {
  std::string s;
  const int64_t interval = config.threads.empty() ? 0 : config.threads.front().interval_ns;
  // cyclictest's -d: thread i runs at interval + i * distance. Say so, or
  // a thread's lower sample count looks like lost samples.
  std::string intervals = util::format_time_ns(interval);
  if (config.threads.size() > 1 && config.threads.back().interval_ns != interval)
    intervals += " (+" + util::format_time_ns((config.threads[1].interval_ns - interval)) +
                 " per thread: -d; -d 0 gives all the same)";
  appendf(s, "rtcell latency: %zu thread%s, %s, interval %s, ran %.2f s, stopped by %s",
          result.threads.size(), result.threads.size() == 1 ? "" : "s", rt::to_string(config.policy).c_str(),
          intervals.c_str(), static_cast<double>(result.elapsed_ns) / 1e9,
          measure::to_string(result.stopped_by));
  if (result.dma_latency_us)
    appendf(s, ", /dev/cpu_dma_latency held at %d us\n", *result.dma_latency_us);
  else
    s += ", idle states untouched\n";
  s += "latency in us; percentiles are the upper edge of their 1 us bucket (nearest rank)\n";
  appendf(s, "%6s %4s %8s %10s %7s %7s %6s %6s %6s %7s %7s %9s %9s %7s\n", "thread", "cpu", "tid", "samples",
          "min", "avg", "p50", "p90", "p99", "p99.9", "p99.99", "max", "overflows", "missed");
  bool any_overflow = false;
  auto row = [&](const std::string& name, const std::string& cpu, const std::string& tid,
                 const rt::Histogram& h, uint64_t missed) {
    appendf(s, "%6s %4s %8s %10lu %7s %7s", name.c_str(), cpu.c_str(), tid.c_str(),
            static_cast<unsigned long>(h.count()), h.count() ? us1(h.min_ns()).c_str() : "-",
            h.count() ? us1(static_cast<int64_t>(h.avg_ns())).c_str() : "-");
    for (size_t k = 0; k < std::size(kLatencyPercentiles); ++k) {
      const int width = k < 3 ? 6 : 7;
      appendf(s, " %*s", width, pct_cell(h, kLatencyPercentiles[k].q, any_overflow).c_str());
    }
    appendf(s, " %9s %9lu %7lu\n", h.count() ? us1(h.max_ns()).c_str() : "-",
            static_cast<unsigned long>(h.overflow_count()), static_cast<unsigned long>(missed));
  };
  uint64_t missed = 0;
  for (const auto& t : result.threads) {
    row(std::to_string(t.thread), t.cpu ? std::to_string(*t.cpu) : "-", std::to_string(t.tid), t.histogram,
        t.missed);
    missed += t.missed;
  }
  if (result.threads.size() > 1) row("total", "-", "-", result.total, missed);
  if (any_overflow)
    appendf(
        s,
        "* beyond the histogram (%u us, see --histogram): exact from the kept overflow samples, or the max\n",
        config.histogram_buckets);
  if (result.breaktrace)
    appendf(s, "breaktrace: thread %d (tid %d) sample %lu took %s us, over the %s limit\n",
            result.breaktrace->thread, result.breaktrace->tid,
            static_cast<unsigned long>(result.breaktrace->sample), us1(result.breaktrace->value_ns).c_str(),
            util::format_time_ns(config.breaktrace_ns).c_str());
  return s;
}

}  // namespace rtcell::report
