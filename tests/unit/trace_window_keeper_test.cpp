// The drain reader's window keeper (trace/window_keeper.hpp), fed literal
// trace_pipe lines: which windows it keeps, how it evicts, how it merges
// overlapping windows, that its memory stays bounded and that LOST lines
// reach the explanation. No kernel, no thread.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "report/explain.hpp"
#include "trace/explain.hpp"
#include "trace/text_parser.hpp"
#include "trace/window_keeper.hpp"

using namespace rtcell::trace;

namespace {

constexpr int64_t kMs = 1'000'000;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(RTCELL_FIXTURES) + "/trace/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "<sec>.<usec>" of a time in ns (the text form prints microseconds).
std::string stamp(int64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(ns / 1'000'000'000),
                static_cast<long long>(ns % 1'000'000'000 / 1000));
  return buf;
}

std::string event(int cpu, int64_t ns, const std::string& body = "sched_waking: comm=a pid=5 prio=120") {
  char head[64];
  std::snprintf(head, sizeof head, "           hog-42     [%03d] d..2. ", cpu);
  return head + stamp(ns) + ": " + body;
}

std::string marker(int cpu, int64_t ns, int64_t latency_ns) {
  char head[64];
  std::snprintf(head, sizeof head, "        rtcell-77     [%03d] ...1. ", cpu);
  return head + stamp(ns) + ": tracing_mark_write: rtcell-spike thread=0 tid=77 cpu=" + std::to_string(cpu) +
         " expected=" + std::to_string(ns - latency_ns) + " wake=" + std::to_string(ns) +
         " latency=" + std::to_string(latency_ns);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

// One event every millisecond on CPU 1 from 1 s, for `ms` milliseconds.
void feed_ms(WindowKeeper& k, int64_t from_ms, int64_t to_ms) {
  for (int64_t t = from_ms; t < to_ms; ++t) k.feed(event(1, 1000 * kMs + t * kMs));
}

}  // namespace

TEST(TraceWindowKeeper, KeepsTheWindowBeforeAMarkerAndAMarginAfter) {
  WindowKeeper k({10 * kMs, 1 * kMs, 5, size_t{1} << 20});
  feed_ms(k, 0, 50);
  k.feed(marker(1, 1000 * kMs + 50 * kMs, 300'000));
  feed_ms(k, 51, 100);
  const std::string text = k.text("# tracer: nop\n");
  EXPECT_EQ(text.rfind("# tracer: nop\n", 0), 0u);
  EXPECT_FALSE(has(text, event(1, 1039 * kMs)));
  EXPECT_TRUE(has(text, event(1, 1040 * kMs)));
  EXPECT_TRUE(has(text, event(1, 1049 * kMs)));
  EXPECT_TRUE(has(text, marker(1, 1050 * kMs, 300'000)));
  EXPECT_TRUE(has(text, event(1, 1051 * kMs)));
  EXPECT_FALSE(has(text, event(1, 1052 * kMs)));
  EXPECT_EQ(lines_of(text).size(), 1u + 10 + 1 + 1);
  EXPECT_EQ(k.windows(), 1u);
  EXPECT_EQ(k.markers(), 1);
}

TEST(TraceWindowKeeper, KeepsTheKWorstWindowsAndEvictsTheSmallest) {
  WindowKeeper k({5 * kMs, 1 * kMs, 2, size_t{1} << 20});
  const int64_t lat[] = {100'000, 300'000, 200'000, 400'000};
  for (int i = 0; i < 4; ++i) {
    feed_ms(k, 100 * i, 100 * i + 50);
    k.feed(marker(1, 1000 * kMs + (100 * i + 50) * kMs, lat[i]));
    feed_ms(k, 100 * i + 51, 100 * i + 100);
  }
  EXPECT_EQ(k.kept_latencies(), (std::vector<int64_t>{300'000, 400'000}));
  EXPECT_EQ(k.windows(), 2u);
  const std::string text = k.text("");
  // Every marker stays (so explain counts what the threads marked); only the
  // kept ones have their window.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(has(text, marker(1, 1000 * kMs + (100 * i + 50) * kMs, lat[i])));
  EXPECT_EQ(k.markers(), 4);
  EXPECT_FALSE(has(text, event(1, 1049 * kMs))) << "the window of 100 us, never among the 2 worst";
  EXPECT_TRUE(has(text, event(1, 1149 * kMs)));
  EXPECT_FALSE(has(text, event(1, 1249 * kMs))) << "200 us: kept, then evicted by 400 us";
  EXPECT_TRUE(has(text, event(1, 1349 * kMs)));
  // What explain then keeps is what was kept here.
  Explanation ex = explain(parse_trace_text(text));
  EXPECT_EQ(ex.markers, 4);
  keep_worst(ex, 2);
  ASSERT_EQ(ex.spikes.size(), 2u);
  EXPECT_EQ(ex.spikes[0].marker.latency_ns, 300'000);
  EXPECT_EQ(ex.spikes[1].marker.latency_ns, 400'000);
  EXPECT_EQ(ex.not_kept, 2);
}

TEST(TraceWindowKeeper, AmongEqualLatenciesTheEarlierIsKept) {
  WindowKeeper k({5 * kMs, 1 * kMs, 1, size_t{1} << 20});
  feed_ms(k, 0, 50);
  k.feed(marker(1, 1050 * kMs, 200'000));
  feed_ms(k, 51, 150);
  k.feed(marker(1, 1150 * kMs, 200'000));
  feed_ms(k, 151, 200);
  const std::string text = k.text("");
  EXPECT_TRUE(has(text, event(1, 1049 * kMs)));
  EXPECT_FALSE(has(text, event(1, 1149 * kMs)));
}

TEST(TraceWindowKeeper, OverlappingWindowsMergeInTimeOrderWithoutDuplicates) {
  WindowKeeper k({10 * kMs, 1 * kMs, 5, size_t{1} << 20});
  feed_ms(k, 0, 50);
  k.feed(marker(1, 1050 * kMs, 100'000));
  feed_ms(k, 50, 55);
  k.feed(marker(1, 1055 * kMs, 200'000));
  feed_ms(k, 55, 80);
  EXPECT_EQ(k.windows(), 2u);
  const std::vector<std::string> lines = lines_of(k.text(""));
  // [1040, 1051] and [1045, 1056] ms: 17 events (1050 and 1055 twice: an
  // event and a marker each) and 2 markers, each once.
  EXPECT_EQ(lines.size(), 17u + 2u);
  ParsedTrace parsed = parse_trace_text(k.text(""));
  ASSERT_EQ(parsed.events.size(), lines.size());
  for (size_t i = 1; i < parsed.events.size(); ++i)
    EXPECT_LE(parsed.events[i - 1].ts_ns, parsed.events[i].ts_ns) << lines[i];
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_NE(lines[i - 1], lines[i]);
}

// Two windows open at once, the newer closing first (its marker came late
// from another CPU): the line that closes it still joins the older one.
TEST(TraceWindowKeeper, TheLineThatClosesANewerWindowStillJoinsAnOlderOne) {
  WindowKeeper k({10 * kMs, 2 * kMs, 5, size_t{1} << 20});
  feed_ms(k, 0, 51);
  k.feed(marker(1, 1050 * kMs, 100'000));  // window [1040, 1052] ms
  k.feed(marker(0, 1047 * kMs, 200'000));  // window [1037, 1049] ms, closes past 1051 ms
  k.feed(event(1, 1051 * kMs + 500'000));
  feed_ms(k, 53, 60);
  EXPECT_TRUE(has(k.text(""), event(1, 1051 * kMs + 500'000))) << k.text("");
}

TEST(TraceWindowKeeper, ALateLineOfAnotherCpuStillJoinsTheWindowInOrder) {
  WindowKeeper k({10 * kMs, 2 * kMs, 5, size_t{1} << 20});
  feed_ms(k, 0, 50);
  k.feed(marker(1, 1050 * kMs, 100'000));
  feed_ms(k, 51, 52);
  // CPU 0's events of before the marker, read after it (trace_pipe merges
  // only what the ring held when it read).
  k.feed(event(0, 1049 * kMs + 500'000));
  feed_ms(k, 52, 60);
  const std::vector<std::string> lines = lines_of(k.text(""));
  const auto at = [&](const std::string& l) {
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i] == l) return static_cast<int>(i);
    return -1;
  };
  ASSERT_GE(at(event(0, 1049 * kMs + 500'000)), 0);
  EXPECT_EQ(at(event(0, 1049 * kMs + 500'000)), at(event(1, 1049 * kMs)) + 1);
}

TEST(TraceWindowKeeper, MemoryStaysBoundedOverALongRun) {
  const size_t cap = size_t{256} << 10;
  WindowKeeper k({5 * kMs, 1 * kMs, 3, cap});
  size_t most = 0;
  // 200 s of one event per 100 us, a worse marker every second.
  for (int64_t s = 0; s < 200; ++s) {
    for (int64_t i = 0; i < 10'000; ++i) {
      k.feed(event(1, (1000 + s) * 1'000'000'000 + i * 100'000));
      most = std::max(most, k.bytes());
    }
    k.feed(marker(1, (1000 + s) * 1'000'000'000 + 999'950'000, 100'000 + s));
  }
  EXPECT_EQ(k.windows(), 3u);
  EXPECT_EQ(k.kept_latencies(), (std::vector<int64_t>{100'197, 100'198, 100'199}));
  EXPECT_EQ(k.recent_lines(), 50u + 1u);
  // The rolling window (5 ms: 50 lines), three windows of 61 lines and the
  // 200 marker lines (under 250 bytes each, counted with their overhead):
  // far below the 2 million lines read.
  EXPECT_LT(most, cap);
  EXPECT_LT(k.bytes(), 200u * 250u + (50u + 3u * 61u) * 160u);
  EXPECT_EQ(k.lines_read(), 200u * 10'001u);
  // Every marker's window (keep 0) stops at the byte cap instead.
  WindowKeeper all({5 * kMs, 1 * kMs, 0, 64u << 10});
  for (int64_t s = 0; s < 200; ++s) {
    for (int64_t i = 0; i < 100; ++i) all.feed(event(1, (1000 + s) * 1'000'000'000 + i * 100'000));
    all.feed(marker(1, (1000 + s) * 1'000'000'000 + 9'950'000, 100'000 + s));
    EXPECT_LE(all.bytes(), (64u << 10) + (64u << 10) / 4 + 200u * 250u);
  }
  EXPECT_LT(all.windows(), 200u);
  EXPECT_EQ(all.kept_latencies().back(), 100'199);
}

TEST(TraceWindowKeeper, LostLinesPassThroughWithTheNextEventsTime) {
  WindowKeeper k({10 * kMs, 1 * kMs, 5, size_t{1} << 20});
  feed_ms(k, 0, 45);
  k.feed("CPU:1 [LOST 7 EVENTS]");
  feed_ms(k, 45, 50);
  k.feed("CPU:1 [LOST EVENTS]");
  k.feed(marker(1, 1050 * kMs, 100'000));
  feed_ms(k, 51, 60);
  const std::vector<std::string> lines = lines_of(k.text(""));
  std::vector<std::string> want_before = {"CPU:1 [LOST 7 EVENTS]", event(1, 1045 * kMs)};
  bool found = false;
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    if (lines[i] == want_before[0]) found = lines[i + 1] == want_before[1];
  EXPECT_TRUE(found) << k.text("");
  const ParsedTrace parsed = parse_trace_text(k.text(""));
  int lost = 0;
  for (const auto& e : parsed.events) {
    if (e.kind != Kind::Lost) continue;
    ++lost;
    EXPECT_EQ(e.cpu, 1);
    EXPECT_TRUE(e.count == 7 || e.count == kLostUncounted) << e.count;
  }
  EXPECT_EQ(lost, 2);
  const Explanation ex = explain(parsed);
  EXPECT_EQ(ex.lost_events, 7);
  EXPECT_TRUE(ex.lost_uncounted);
}

// The uncounted form the kernel prints when the ring could not count its
// losses: a spike whose window holds one is reported, not guessed.
TEST(TraceWindowKeeper, UncountedLossInAWindowIsReportedNotGuessed) {
  std::string text = fixture("vcpu-stall.txt");
  const size_t at = text.find("      clang-tidy-8052    [001] d.h.. 32589.779332");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "CPU:1 [LOST EVENTS]\n");
  const Explanation e = explain(parse_trace_text(text));
  ASSERT_EQ(e.spikes.size(), 1u);
  EXPECT_EQ(e.spikes[0].status, Status::LostEvents);
  EXPECT_EQ(e.spikes[0].lost_events, 0);
  EXPECT_NE(e.spikes[0].reason.find("uncounted"), std::string::npos) << e.spikes[0].reason;
  EXPECT_TRUE(e.spikes[0].parts.empty());
  EXPECT_NE(rtcell::report::explain_text(e).find("events lost in the capture that the kernel did not count"),
            std::string::npos);
}

// The recorded spinner capture, fed line by line as trace_pipe would give
// it: the worst spike explains exactly as from the whole file.
TEST(TraceWindowKeeper, TheDrainedTextExplainsTheWorstSpikeAsTheWholeCapture) {
  const std::string whole = fixture("spinner-fifo90.txt");
  WindowKeeper k({drain_window_ns(1'000'000), 2 * kMs, 1, size_t{1} << 20});
  std::string header;
  for (const auto& l : lines_of(whole)) {
    if (!l.empty() && l.front() == '#') {
      if (l.find("entries-in-buffer") == std::string::npos) header += l + "\n";
      continue;
    }
    k.feed(l);
  }
  Explanation full = explain(parse_trace_text(whole));
  Explanation drained = explain(parse_trace_text(k.text(header)));
  EXPECT_FALSE(drained.overwritten);
  EXPECT_EQ(drained.markers, full.markers);
  keep_worst(full, 1);
  keep_worst(drained, 1);
  ASSERT_EQ(drained.spikes.size(), 1u);
  EXPECT_EQ(drained.spikes[0].status, Status::Explained) << drained.spikes[0].reason;
  EXPECT_EQ(rtcell::report::explain_json(drained)["spikes"], rtcell::report::explain_json(full)["spikes"]);
}

TEST(TraceWindowKeeper, WindowCoversFourPeriodsAndAMargin) {
  EXPECT_EQ(drain_window_ns(1'000'000), 24'000'000);
  EXPECT_EQ(drain_window_ns(200'000), 20'800'000);
  EXPECT_EQ(drain_window_ns(100'000'000), 420'000'000);
}
