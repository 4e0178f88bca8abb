// The trace reader and the spike analysis on recorded event streams: the
// fixtures under tests/fixtures/trace/ are trimmed `rtcell latency --trace`
// captures from the 2-vCPU development VM (kernel 6.18): a SCHED_FIFO 90
// spinner on the measured CPU, and a vCPU stall. Variants (lost events, a
// missing timer start) are made from them here, line by line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "measure/latency.hpp"
#include "report/explain.hpp"
#include "rtcell/cpuset.hpp"
#include "trace/capture.hpp"
#include "trace/explain.hpp"
#include "trace/text_parser.hpp"

using namespace rtcell::trace;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(RTCELL_FIXTURES) + "/trace/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Part* find_thread(const Spike& s, int pid) {
  for (const auto& p : s.parts)
    if (p.kind == PartKind::Thread && p.pid == pid) return &p;
  return nullptr;
}

int64_t sum(const Spike& s) {
  int64_t t = 0;
  for (const auto& p : s.parts) t += p.duration_ns;
  return t;
}

}  // namespace

TEST(TraceText, ParsesContextTimestampAndFields) {
  const ParsedTrace t = parse_trace_text(
      "# entries-in-buffer/entries-written: 3/5   #P:2\n"
      "     rtcell-spin-7991    [001] d..2. 32581.213993: sched_switch: prev_comm=rtcell-spin prev_pid=7991 "
      "prev_prio=9 prev_state=S ==> next_comm=my comm next_pid=7996 next_prio=120\n"
      "      clang-tidy-8052    [001] d.h.. 32589.774532: hrtimer_expire_entry: hrtimer=0000000066e195ea "
      "function=hrtimer_wakeup now=32589774531820\n"
      "  <idle>-0       [000] ..s1. 1.000001: softirq_entry: vec=1 [action=TIMER]\n"
      "CPU:1 [LOST 12 EVENTS]\n"
      "garbage\n");
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_EQ(t.entries_in_buffer, 3);
  EXPECT_EQ(t.entries_written, 5);
  EXPECT_EQ(t.unparsed_lines, 1);
  const Event& sw = t.events[0];
  EXPECT_EQ(sw.kind, Kind::Switch);
  EXPECT_EQ(sw.comm, "rtcell-spin");  // a comm with a dash
  EXPECT_EQ(sw.pid, 7991);
  EXPECT_EQ(sw.cpu, 1);
  EXPECT_EQ(sw.ts_ns, 32581213993000);
  EXPECT_EQ(sw.a_prio, 9);
  EXPECT_EQ(sw.a_state, "S");
  EXPECT_EQ(sw.b_comm, "my comm");  // a comm with a space
  EXPECT_EQ(sw.b_pid, 7996);
  EXPECT_EQ(t.events[1].kind, Kind::HrtimerExpireEntry);
  EXPECT_EQ(t.events[1].now_ns, 32589774531820);
  EXPECT_EQ(t.events[1].label, "hrtimer_wakeup");
  EXPECT_EQ(t.events[2].comm, "<idle>");
  EXPECT_EQ(t.events[2].label, "TIMER");
  EXPECT_EQ(t.events[3].kind, Kind::Lost);
  EXPECT_EQ(t.events[3].count, 12);
}

TEST(TraceText, SpikeMarkerRoundTrip) {
  SpikeMarker m;
  ASSERT_TRUE(
      parse_spike_marker("rtcell-spike thread=0 tid=7996 cpu=1 expected=100 wake=350 latency=250", m));
  EXPECT_EQ(m.tid, 7996);
  EXPECT_EQ(m.cpu, 1);
  EXPECT_EQ(m.latency_ns, 250);
  EXPECT_FALSE(parse_spike_marker("hello", m));
}

TEST(TraceExplain, HigherPrioritySpinnerIsNamedAndPartsAddUp) {
  const Explanation e = explain(parse_trace_text(fixture("spinner-fifo90.txt")));
  ASSERT_EQ(e.markers, 2);
  ASSERT_EQ(e.spikes.size(), 2u);
  // Spike 2: the thread slept, its timer fired while the spinner ran, and it
  // waited for the spinner to sleep.
  const Spike& s = e.spikes[1];
  ASSERT_EQ(s.status, Status::Explained) << s.reason;
  EXPECT_FALSE(s.armed_late);
  EXPECT_EQ(s.running_comm, "rtcell-spin");
  EXPECT_EQ(s.running_pid, 7991);
  EXPECT_EQ(s.thread_prio, 19);  // fifo 80
  const Part* spin = find_thread(s, 7991);
  ASSERT_NE(spin, nullptr);
  EXPECT_EQ(spin->role, Role::HigherOrEqual);
  EXPECT_EQ(spin->prio, 9);  // fifo 90
  EXPECT_EQ(describe_prio(spin->prio), "rt 90");
  // From the recorded stream: expiry at now=..., spinner until the switch.
  EXPECT_EQ(s.timer_now_ns - s.timer_expires_ns, s.parts[0].duration_ns);
  EXPECT_EQ(s.parts[0].kind, PartKind::TimerIrqLatency);
  EXPECT_EQ(sum(s), s.marker.latency_ns);
  EXPECT_EQ(s.sum_ns, s.marker.latency_ns);
  EXPECT_EQ(s.resolution_ns, 1000);
  // The spinner's share is the window minus the IRQs, to the microsecond.
  EXPECT_GT(spin->duration_ns, s.marker.latency_ns * 9 / 10);
}

TEST(TraceExplain, DeadlinePassedBeforeTheThreadSlept) {
  const Explanation e = explain(parse_trace_text(fixture("spinner-fifo90.txt")));
  const Spike& s = e.spikes.at(0);
  ASSERT_EQ(s.status, Status::Explained) << s.reason;
  EXPECT_TRUE(s.armed_late);
  const Part* spin = find_thread(s, 7991);
  ASSERT_NE(spin, nullptr);
  EXPECT_TRUE(spin->before_sleep);
  EXPECT_EQ(spin->role, Role::HigherOrEqual);
  EXPECT_EQ(sum(s), s.marker.latency_ns);
  EXPECT_NE(rtcell::report::spike_verdict(s, 0).find("before the thread armed its timer"), std::string::npos);
}

TEST(TraceExplain, SilentCpuBeforeTheTimerIrqIsAStallNotABlame) {
  const Explanation e = explain(parse_trace_text(fixture("vcpu-stall.txt")));
  ASSERT_EQ(e.spikes.size(), 1u);
  const Spike& s = e.spikes[0];
  ASSERT_EQ(s.status, Status::Explained) << s.reason;
  EXPECT_EQ(s.parts[0].kind, PartKind::TimerIrqLatency);
  EXPECT_GT(s.parts[0].duration_ns, s.marker.latency_ns * 9 / 10);
  EXPECT_GT(s.silent_ns, 3'000'000);
  // The SCHED_OTHER task that was running is blamed only for what it ran
  // after the wake-up, not for the stall.
  const Part* other = find_thread(s, 8052);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->role, Role::Blocking);
  EXPECT_LT(other->duration_ns, 10'000);
  EXPECT_EQ(sum(s), s.marker.latency_ns);
  const std::string v = rtcell::report::spike_verdict(s, 0);
  EXPECT_NE(v.find("IRQs off or a stalled vCPU"), std::string::npos) << v;
}

TEST(TraceExplain, LostEventsInTheWindowAreReportedNotGuessed) {
  std::string text = fixture("vcpu-stall.txt");
  const size_t at = text.find("      clang-tidy-8052    [001] d.h.. 32589.779332");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "CPU:1 [LOST 7 EVENTS]\n");
  const Explanation e = explain(parse_trace_text(text));
  ASSERT_EQ(e.spikes.size(), 1u);
  EXPECT_EQ(e.spikes[0].status, Status::LostEvents);
  EXPECT_EQ(e.spikes[0].lost_events, 7);
  EXPECT_TRUE(e.spikes[0].parts.empty());
  EXPECT_EQ(e.lost_events, 7);
}

TEST(TraceExplain, MissingTimerStartIsIncomplete) {
  std::string text = fixture("vcpu-stall.txt");
  const size_t at = text.find("expires=32589775517148");
  ASSERT_NE(at, std::string::npos);
  const size_t b = text.rfind('\n', at) + 1;
  text.erase(b, text.find('\n', at) + 1 - b);
  const Explanation e = explain(parse_trace_text(text));
  ASSERT_EQ(e.spikes.size(), 1u);
  EXPECT_EQ(e.spikes[0].status, Status::Incomplete);
  EXPECT_NE(e.spikes[0].reason.find("hrtimer_start"), std::string::npos);
}

TEST(TraceExplain, JsonCarriesEveryPart) {
  const Explanation e = explain(parse_trace_text(fixture("spinner-fifo90.txt")));
  const auto j = rtcell::report::explain_json(e);
  EXPECT_EQ(j["schema"], "rtcell.explain/1");
  ASSERT_EQ(j["spikes"].size(), 2u);
  int64_t total = 0;
  for (const auto& p : j["spikes"][1]["parts"]) total += p["duration_ns"].get<int64_t>();
  EXPECT_EQ(total, j["spikes"][1]["latency_ns"].get<int64_t>());
  EXPECT_EQ(j["spikes"][1]["running_at_expiry"]["comm"], "rtcell-spin");
}

TEST(TraceExplain, NoMarkerNoSpike) {
  const Explanation e = explain(parse_trace_text("# tracer: nop\n"));
  EXPECT_EQ(e.markers, 0);
  EXPECT_NE(rtcell::report::explain_text(e).find("no spike marker"), std::string::npos);
}

TEST(TraceText, MarkerTheLoopWritesIsTheMarkerTheAnalysisReads) {
  char buf[160];
  const size_t n =
      rtcell::measure::format_spike_marker(buf, sizeof buf, 3, 4242, 1, 32589775517148, 32589779374986);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(buf[n - 1], '\n');
  SpikeMarker m;
  ASSERT_TRUE(parse_spike_marker(std::string(buf, n), m));
  EXPECT_EQ(m.thread, 3);
  EXPECT_EQ(m.tid, 4242);
  EXPECT_EQ(m.cpu, 1);
  EXPECT_EQ(m.expected_ns, 32589775517148);
  EXPECT_EQ(m.wake_ns, 32589779374986);
  EXPECT_EQ(m.latency_ns, 3857838);
  // A too-small buffer is cut, never overrun.
  char tiny[8];
  EXPECT_EQ(rtcell::measure::format_spike_marker(tiny, sizeof tiny, 3, 4242, 1, 1, 2), sizeof tiny);
}

TEST(TraceCapture, CpumaskHex) {
  EXPECT_EQ(cpumask_hex(rtcell::CpuSet({1})), "2");
  EXPECT_EQ(cpumask_hex(rtcell::CpuSet({0, 1, 3})), "b");
  EXPECT_EQ(cpumask_hex(rtcell::CpuSet({0, 33})), "2,00000001");
}

// This development VM's kernel records no sched_switch out of the idle task
// on CPU 1 (no `prev_comm=swapper` there at all): the thread's first event
// after its timer (here the marker itself) stands for the switch, the spike
// is still explained to the microsecond, and it says so.
TEST(TraceExplain, UntracedSwitchOutOfIdleIsSaidNotFatal) {
  const Explanation e = explain(parse_trace_text(fixture("idle-switch-untraced.txt")));
  ASSERT_EQ(e.spikes.size(), 1u);
  const Spike& s = e.spikes[0];
  EXPECT_EQ(s.status, Status::Explained) << s.reason;
  EXPECT_TRUE(s.switch_untraced);
  EXPECT_EQ(s.running_pid, 0);
  int64_t sum = 0;
  for (const auto& p : s.parts) sum += p.duration_ns;
  EXPECT_LE(std::llabs(sum - s.marker.latency_ns), 1000) << "parts add up within the trace's 1 us";
}

TEST(TraceKeep, WorstKAcceptsOnlyWhatBeatsTheKthWorstSoFar) {
  rtcell::measure::WorstK w(2);
  EXPECT_TRUE(w.offer(10));
  EXPECT_TRUE(w.offer(5));
  EXPECT_FALSE(w.offer(5)) << "ties the 2nd worst: not worse";
  EXPECT_FALSE(w.offer(3));
  EXPECT_TRUE(w.offer(7));   // replaces 5
  EXPECT_FALSE(w.offer(6));  // now below 7 and 10
  EXPECT_TRUE(w.offer(11));
  rtcell::measure::WorstK all(0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(all.offer(1));
  rtcell::measure::WorstK capped(1000);  // clamped to kMax, still bounded
  int accepted = 0;
  for (int i = 0; i < 200; ++i) accepted += capped.offer(1) ? 1 : 0;
  EXPECT_EQ(accepted, static_cast<int>(rtcell::measure::WorstK::kMax));
}

TEST(TraceKeep, KeepWorstKeepsTheLargestInCaptureOrderAndCountsTheRest) {
  Explanation e = explain(parse_trace_text(fixture("spinner-fifo90.txt")));
  ASSERT_EQ(e.spikes.size(), 2u);
  const int64_t l0 = e.spikes[0].marker.latency_ns;  // 2459339
  const int64_t l1 = e.spikes[1].marker.latency_ns;  // 4462620
  ASSERT_LT(l0, l1);
  Explanation all = e;
  keep_worst(all, 0);
  EXPECT_EQ(all.spikes.size(), 2u);
  keep_worst(all, 5);
  EXPECT_EQ(all.spikes.size(), 2u);
  EXPECT_EQ(all.not_kept, 0);
  keep_worst(e, 1);
  ASSERT_EQ(e.spikes.size(), 1u);
  EXPECT_EQ(e.spikes[0].marker.latency_ns, l1);
  EXPECT_EQ(e.not_kept, 1);
  EXPECT_EQ(e.markers, 2) << "markers still counts every marker in the capture";
  EXPECT_NE(rtcell::report::explain_text(e).find("1 smaller marked spikes not shown"), std::string::npos);
  EXPECT_EQ(rtcell::report::explain_json(e)["not_kept"], 1);
}

// The timerlat tracer's lines as the kernel prints them (trace_output.c,
// trace_timerlat_print; include/trace/events/osnoise.h), added to the
// vCPU-stall capture as if timerlat had run in the same instance (real
// guest captures: timerlat-*.txt).
namespace {
std::string with_timerlat(std::string text) {
  const std::string nop = "# tracer: nop";
  text.replace(text.find(nop), nop.size(), "# tracer: timerlat");
  text +=
      "     timerlat/1-90      [001] d.h1. 32589.772900: #10    context    irq timer_latency      2000 ns\n"
      "     timerlat/1-90      [001] ..... 32589.772910: #10    context thread timer_latency      9000 ns\n"
      "     timerlat/0-89      [000] d.h1. 32589.775520: #11    context    irq timer_latency       700 ns\n"
      "     timerlat/1-90      [001] d.h1. 32589.775600: #11    context    irq timer_latency      3000 ns\n"
      "     timerlat/1-90      [001] d.h.. 32589.771000: softirq_noise:    TIMER:1 start 1.000000000 "
      "duration "
      "4000 ns\n"
      "     timerlat/1-90      [001] d.h.. 32589.776000: irq_noise: local_timer:236 start 1.000000000 "
      "duration "
      "5000 ns\n"
      "     timerlat/0-89      [000] d.Z.. 32589.776100: nmi_noise: start 1.000000000 duration 800 ns\n"
      "     timerlat/1-90      [001] d.... 32589.779300: thread_noise: clang-tidy:8052 start 1.000000000 "
      "duration 3700000 ns\n"
      "     timerlat/1-90      [001] ..... 32589.779400: #11    context thread timer_latency   3850000 ns\n";
  return text;
}
}  // namespace

TEST(TraceText, ParsesTimerlatSamplesAndOsnoiseNoise) {
  const ParsedTrace t = parse_trace_text(with_timerlat(fixture("vcpu-stall.txt")));
  EXPECT_EQ(t.tracer, "timerlat");
  EXPECT_EQ(t.unparsed_lines, 0);
  std::vector<const Event*> samples, noise;
  for (const auto& e : t.events) {
    if (e.kind == Kind::TimerlatSample) samples.push_back(&e);
    if (e.kind == Kind::OsnoiseNoise) noise.push_back(&e);
  }
  ASSERT_EQ(samples.size(), 5u);
  EXPECT_EQ(samples[1]->label, "thread");
  EXPECT_EQ(samples[1]->b_pid, 10);
  EXPECT_EQ(samples[1]->count, 9000);
  EXPECT_EQ(samples[1]->ts_ns, 32589772910000);
  ASSERT_EQ(noise.size(), 4u);
  EXPECT_EQ(noise[0]->name, "softirq_noise");
  EXPECT_EQ(noise[0]->label, "TIMER:1");
  EXPECT_EQ(noise[1]->label, "local_timer:236");
  EXPECT_EQ(noise[1]->count, 5000);
  EXPECT_EQ(noise[2]->label, "");  // nmi_noise names no source
  EXPECT_EQ(noise[3]->label, "clang-tidy:8052");
  EXPECT_EQ(noise[3]->count, 3700000);
}

TEST(TraceExplain, TimerlatSampleNearestTheDeadlineAndTheNoiseInTheSpike) {
  const Explanation e = explain(parse_trace_text(with_timerlat(fixture("vcpu-stall.txt"))));
  EXPECT_EQ(e.tracer, "timerlat");
  ASSERT_EQ(e.spikes.size(), 1u);
  const Spike& s = e.spikes[0];
  // rtcell's own attribution is unchanged by timerlat's lines.
  EXPECT_EQ(s.status, Status::Explained) << s.reason;
  EXPECT_EQ(s.sum_ns, s.marker.latency_ns);
  const TimerlatView& t = s.timerlat;
  ASSERT_TRUE(t.ran);
  // #11 on CPU 1 (CPU 0's #11 is nearer in time but another CPU).
  EXPECT_EQ(t.nearest.seq, 11);
  EXPECT_EQ(t.nearest.irq_latency_ns, 3000);
  EXPECT_EQ(t.nearest.thread_latency_ns, 3850000);
  EXPECT_EQ(t.nearest_distance_ns, 32589775600000 - 32589775517148);
  // The softirq noise ended before the deadline; the NMI was on CPU 0.
  ASSERT_EQ(t.noise.size(), 2u);
  EXPECT_EQ(t.noise[0].kind, "irq_noise");
  EXPECT_EQ(t.noise[1].source, "clang-tidy:8052");
  const std::string text = rtcell::report::explain_text(e);
  EXPECT_NE(text.find("  timerlat: its sample #11 on CPU 1 (82.9 us after the deadline): IRQ latency 3.0 us, "
                      "thread latency 3850.0 us; osnoise in the spike: irq_noise local_timer:236 5.0 us, "
                      "thread_noise clang-tidy:8052 3700.0 us"),
            std::string::npos)
      << text;
  const auto j = rtcell::report::explain_json(e);
  EXPECT_EQ(j["timerlat"], true);
  EXPECT_EQ(j["spikes"][0]["timerlat"]["nearest"]["thread_latency_ns"], 3850000);
  EXPECT_EQ(j["spikes"][0]["timerlat"]["noise"].size(), 2u);
}

TEST(TraceExplain, WithoutTimerlatNoSpikeCarriesItsView) {
  const Explanation e = explain(parse_trace_text(fixture("vcpu-stall.txt")));
  ASSERT_EQ(e.spikes.size(), 1u);
  EXPECT_FALSE(e.spikes[0].timerlat.ran);
  EXPECT_EQ(rtcell::report::explain_text(e).find("timerlat"), std::string::npos);
  EXPECT_FALSE(rtcell::report::explain_json(e)["spikes"][0].contains("timerlat"));
}

// A real capture from the amd64 guest (Debian 6.1 PREEMPT_RT, TCG):
// `rtcell latency -t 1 -a 1 -i 1000 -l 400 --trace --trace-threshold 1
// --trace-keep 1` with timerlat running in the instance, trimmed to the 3 ms
// before the worst spike's deadline and its marker.
TEST(TraceText, RtKernelFlagsColumnHasTheIrqContextOneColumnLater) {
  const ParsedTrace t = parse_trace_text(fixture("guest-amd64-rt-timerlat.txt"));
  EXPECT_EQ(t.tracer, "timerlat");
  EXPECT_EQ(t.unparsed_lines, 0);
  ASSERT_FALSE(t.events.empty());
  // "dn.h1..": need-resched-lazy sits before the hardirq character.
  EXPECT_EQ(t.events[0].name, "reschedule_entry");
  EXPECT_EQ(t.events[0].irq_ctx, 'h');
  EXPECT_TRUE(in_interrupt(t.events[0]));
  int task_ctx = 0;
  for (const auto& e : t.events)
    if (e.kind == Kind::TimerlatSample && e.label == "thread") {
      EXPECT_EQ(e.irq_ctx, '.');
      ++task_ctx;
    }
  EXPECT_EQ(task_ctx, 3);
}

TEST(TraceExplain, RtGuestSpikeWithTimerlatBesideIt) {
  const Explanation e = explain(parse_trace_text(fixture("guest-amd64-rt-timerlat.txt")));
  ASSERT_EQ(e.spikes.size(), 1u);
  const Spike& s = e.spikes[0];
  ASSERT_EQ(s.status, Status::Explained) << s.reason;
  EXPECT_EQ(s.marker.latency_ns, 3640190);
  EXPECT_EQ(s.sum_ns, s.marker.latency_ns);
  EXPECT_EQ(sum(s), s.marker.latency_ns);
  // timerlat's own thread (FIFO 95) ran before rtcell's (FIFO 80).
  const Part* tl = find_thread(s, 142);
  ASSERT_NE(tl, nullptr);
  EXPECT_EQ(tl->name, "timerlat/1");
  EXPECT_EQ(tl->role, Role::HigherOrEqual);
  EXPECT_EQ(tl->duration_ns, 77000);
  // Its verdict on the same stretch: activation #125, whose IRQ came 607.6 us
  // after rtcell's deadline.
  ASSERT_TRUE(s.timerlat.ran);
  EXPECT_EQ(s.timerlat.nearest.seq, 125);
  EXPECT_EQ(s.timerlat.nearest.irq_latency_ns, 1447920);
  EXPECT_EQ(s.timerlat.nearest.thread_latency_ns, 4291130);
  ASSERT_EQ(s.timerlat.noise.size(), 3u);
  EXPECT_EQ(s.timerlat.noise[1].kind, "irq_noise");
  EXPECT_EQ(s.timerlat.noise[1].source, "local_timer:236");
  EXPECT_EQ(s.timerlat.noise[1].duration_ns, 2810799);
}

// guest-arm64-rt-timerlat.txt: the arm64 PREEMPT_RT guest of `make test`
// (Debian 6.1.0-56-rt-arm64 under qemu-system-aarch64, TCG, 2 vCPUs),
// `rtcell latency -t 1 -a 1 -i 1000 -l 400 --trace DIR --trace-threshold 1
// --trace-keep 1` with timerlat in the instance, trimmed to the 3 ms before
// the worst spike's deadline and its marker. arm64 has no x86 irq_vectors:
// the timer interrupt is the arch_timer handler (irq_handler_entry), and the
// explanation must still add up.
TEST(TraceExplain, Arm64RtGuestSpikeIsTheArchTimerAndTimerlatsThread) {
  const ParsedTrace t = parse_trace_text(fixture("guest-arm64-rt-timerlat.txt"));
  EXPECT_EQ(t.tracer, "timerlat");
  EXPECT_EQ(t.unparsed_lines, 0);
  const Explanation e = explain(t);
  ASSERT_EQ(e.spikes.size(), 1u);
  const Spike& s = e.spikes[0];
  ASSERT_EQ(s.status, Status::Explained) << s.reason;
  EXPECT_EQ(s.marker.latency_ns, 1414512);
  EXPECT_EQ(s.sum_ns, s.marker.latency_ns);
  EXPECT_EQ(sum(s), s.marker.latency_ns);
  ASSERT_EQ(s.parts.size(), 5u);
  EXPECT_EQ(s.parts[0].kind, PartKind::TimerIrqLatency);
  EXPECT_EQ(s.parts[0].duration_ns, 18736);
  EXPECT_EQ(s.parts[1].kind, PartKind::Irq);
  EXPECT_EQ(s.parts[1].name, "arch_timer");
  EXPECT_EQ(s.parts[1].count, 7);
  EXPECT_EQ(s.parts[1].duration_ns, 987248);
  const Part* tl = find_thread(s, 135);
  ASSERT_NE(tl, nullptr);
  EXPECT_EQ(tl->name, "timerlat/1");
  EXPECT_EQ(tl->role, Role::HigherOrEqual);
  EXPECT_EQ(tl->duration_ns, 175000);
  const Part* idle = find_thread(s, 0);
  ASSERT_NE(idle, nullptr);
  EXPECT_EQ(idle->role, Role::Idle);
  EXPECT_EQ(s.running_comm, "swapper/1");
  EXPECT_EQ(s.idle_state, 1);
  ASSERT_TRUE(s.timerlat.ran);
  EXPECT_EQ(s.timerlat.nearest.seq, 124);
  EXPECT_EQ(s.timerlat.nearest.irq_latency_ns, 189104);
  EXPECT_EQ(s.timerlat.nearest.thread_latency_ns, 1348336);
}

// lost-events-rt-guest.txt is guest-amd64-rt-timerlat.txt with one line the
// kernel prints when the ring lost events ("CPU:%d [LOST %lu EVENTS]",
// trace_output.c) put inside the spike's window: a real capture read after
// tracing stopped has none, so the line is planted where the 2.7 ms gap is.
TEST(TraceExplain, LostEventsFixtureIsSaidNotGuessed) {
  const Explanation e = explain(parse_trace_text(fixture("lost-events-rt-guest.txt")));
  ASSERT_EQ(e.spikes.size(), 1u);
  const Spike& s = e.spikes[0];
  EXPECT_EQ(s.status, Status::LostEvents);
  EXPECT_EQ(s.lost_events, 41);
  EXPECT_TRUE(s.parts.empty()) << "a window with lost events must not be attributed";
  EXPECT_EQ(e.lost_events, 41);
  const std::string text = rtcell::report::explain_text(e);
  EXPECT_NE(text.find("3640.2 us: not explained: 41 events lost on CPU 1 in the window"), std::string::npos)
      << text;
  EXPECT_NE(text.find("warning: 41 events lost in the capture"), std::string::npos) << text;
  EXPECT_EQ(rtcell::report::explain_json(e)["spikes"][0]["status"], "lost_events");
}
