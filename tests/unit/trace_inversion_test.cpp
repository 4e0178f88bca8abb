// Priority inversion found in recorded event streams. The fixtures are whole
// `rtcell trace record --cpus 1 -- rtcell-pi-demo --mutex plain|pi --cpu 1`
// captures from the 2-vCPU development VM (kernel 6.18, a compiler running
// beside): pi-high (rt 30) waits for a lock that pi-low (rt 10) holds while
// pi-medium (rt 20) spins 2 ms on the same CPU. Variants (a wake-up from an
// IRQ, lost events) are written here line by line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "report/inversion.hpp"
#include "trace/inversion.hpp"
#include "trace/text_parser.hpp"

using namespace rtcell::trace;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(RTCELL_FIXTURES) + "/trace/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A three-thread story on CPU 1, in the text form: high (prio 69) blocks,
// low (89) runs, is preempted by medium (79) for 500 us, and wakes high.
// `wake_flags` is the flags column of high's sched_waking.
std::string story(const std::string& wake_flags, bool lost_inside = false) {
  std::string t =
      "   high-30  [001] d..2. 100.000000: sched_switch: prev_comm=high prev_pid=30 prev_prio=69 "
      "prev_state=S "
      "==> next_comm=low next_pid=10 next_prio=89\n"
      "    low-10  [001] d..2. 100.000100: sched_waking: comm=medium pid=20 prio=79 target_cpu=001\n"
      "    low-10  [001] d..2. 100.000101: sched_switch: prev_comm=low prev_pid=10 prev_prio=89 "
      "prev_state=R+ "
      "==> next_comm=medium next_pid=20 next_prio=79\n";
  if (lost_inside) t += "CPU:1 [LOST 7 EVENTS]\n";
  t += " medium-20  [001] d..2. 100.000601: sched_switch: prev_comm=medium prev_pid=20 prev_prio=79 "
       "prev_state=S ==> next_comm=low next_pid=10 next_prio=89\n"
       "    low-10  [001] " +
       wake_flags +
       " 100.000700: sched_waking: comm=high pid=30 prio=69 target_cpu=001\n"
       "    low-10  [001] d..2. 100.000702: sched_switch: prev_comm=low prev_pid=10 prev_prio=89 "
       "prev_state=R+ "
       "==> next_comm=high next_pid=30 next_prio=69\n";
  return t;
}

}  // namespace

TEST(TraceText, ParsesPiSetprioAndTheIrqContext) {
  const ParsedTrace t = parse_trace_text(
      "  pi-high-5598 [001] d..3. 42457.504478: sched_pi_setprio: comm=pi-low pid=5596 oldprio=89 "
      "newprio=69\n"
      "  pi-medium-5597 [001] d.s3. 42457.351526: sched_waking: comm=as pid=5582 prio=120 target_cpu=000\n"
      "  <idle>-0 [001] dNh2. 42457.351158: sched_wakeup: comm=pi-low pid=5584 prio=89 target_cpu=001\n");
  ASSERT_EQ(t.events.size(), 3u);
  const Event& b = t.events[0];
  EXPECT_EQ(b.kind, Kind::PiSetprio);
  EXPECT_EQ(b.b_comm, "pi-low");
  EXPECT_EQ(b.b_pid, 5596);
  EXPECT_EQ(b.a_prio, 89);
  EXPECT_EQ(b.b_prio, 69);
  EXPECT_EQ(b.irq_ctx, '.');
  EXPECT_FALSE(in_interrupt(b));
  EXPECT_EQ(t.events[1].irq_ctx, 's');
  EXPECT_TRUE(in_interrupt(t.events[1]));
  EXPECT_EQ(t.events[2].irq_ctx, 'h');
  EXPECT_TRUE(in_interrupt(t.events[2]));
}

TEST(TraceInversion, PlainMutexDemoIsAnUnboundedInversionWithTheThreeThreadsNamed) {
  const InversionScan s = find_inversions(parse_trace_text(fixture("pi-plain.txt")));
  ASSERT_EQ(s.inversions.size(), 1u) << rtcell::report::inversion_text(s);
  const Inversion& inv = s.inversions[0];
  EXPECT_EQ(inv.kind, InversionKind::Unbounded);
  EXPECT_EQ(inv.high.comm, "pi-high");
  EXPECT_EQ(inv.high.pid, 5586);
  EXPECT_EQ(inv.high.prio, 69);  // rt 30
  EXPECT_EQ(inv.holder.comm, "pi-low");
  EXPECT_EQ(inv.holder.pid, 5584);
  EXPECT_EQ(inv.holder.prio, 89);  // rt 10
  ASSERT_EQ(inv.middle.size(), 1u);
  EXPECT_EQ(inv.middle[0].task.comm, "pi-medium");
  EXPECT_EQ(inv.middle[0].task.pid, 5585);
  EXPECT_EQ(inv.middle[0].task.prio, 79);  // rt 20
  EXPECT_FALSE(inv.boosted);
  EXPECT_EQ(inv.state, "S");
  EXPECT_EQ(inv.cpu, 1);
  EXPECT_EQ(inv.holder_cpu, 1);
  // From the fixture's lines: high slept at 42457.351038 and ran again at the
  // switch after pi-low's unlock; pi-medium ran from .351163 to its exit.
  EXPECT_EQ(inv.blocked_ns, 42457351038000);
  EXPECT_EQ(inv.waited_ns, inv.running_ns - inv.blocked_ns);
  EXPECT_GE(inv.middle_ns, 2'000'000) << "pi-medium spins 2 ms";
  EXPECT_LE(inv.middle_ns, inv.waited_ns);
  EXPECT_EQ(inv.middle_ns, inv.middle[0].ran_ns);
  EXPECT_EQ(s.lost_events, 0);
}

TEST(TraceInversion, PiMutexDemoIsBoostedAndBounded) {
  const InversionScan s = find_inversions(parse_trace_text(fixture("pi-boosted.txt")));
  ASSERT_EQ(s.inversions.size(), 1u) << rtcell::report::inversion_text(s);
  const Inversion& inv = s.inversions[0];
  EXPECT_EQ(inv.kind, InversionKind::BoostedBounded);
  EXPECT_EQ(inv.high.comm, "pi-high");
  EXPECT_EQ(inv.high.pid, 5598);
  EXPECT_EQ(inv.holder.comm, "pi-low");
  EXPECT_EQ(inv.holder.pid, 5596);
  EXPECT_EQ(inv.holder.prio, 89) << "the holder's own priority, before the boost";
  EXPECT_TRUE(inv.boosted);
  EXPECT_EQ(inv.boosted_to, 69);
  EXPECT_EQ(inv.boost_ns, 42457504478000);
  EXPECT_TRUE(inv.middle.empty());
  EXPECT_EQ(inv.middle_ns, 0);
  EXPECT_EQ(inv.blocked_ns, 42457504481000);
  EXPECT_EQ(inv.running_ns, 42457504580000);
  EXPECT_EQ(inv.waited_ns, 99'000);
}

TEST(TraceInversion, SyntheticStoryAddsUpTheMiddleRun) {
  const InversionScan s = find_inversions(parse_trace_text(story("d..2.")));
  ASSERT_EQ(s.inversions.size(), 1u);
  const Inversion& inv = s.inversions[0];
  EXPECT_EQ(inv.kind, InversionKind::Unbounded);
  EXPECT_EQ(inv.waited_ns, 702'000);
  EXPECT_EQ(inv.middle_ns, 500'000);
  EXPECT_EQ(inv.woken_ns, 100'000'700'000);
  EXPECT_EQ(s.rt_waits, 1);  // medium's own sleep at the end never ends in the stream
  EXPECT_EQ(s.lower_holder_waits, 1);
}

TEST(TraceInversion, AWakeUpFromAnIrqNamesNoHolder) {
  // The task current during an IRQ did not release anything: no holder, no finding.
  const InversionScan s = find_inversions(parse_trace_text(story("d.h2.")));
  EXPECT_TRUE(s.inversions.empty()) << rtcell::report::inversion_text(s);
  EXPECT_EQ(s.lower_holder_waits, 0);
}

TEST(TraceInversion, LostEventsInsideTheWaitAreNotJudged) {
  const InversionScan s = find_inversions(parse_trace_text(story("d..2.", true)));
  EXPECT_TRUE(s.inversions.empty());
  EXPECT_EQ(s.lost_events, 7);
  EXPECT_EQ(s.dropped_waits, 1);
  EXPECT_NE(rtcell::report::inversion_text(s).find("7 events lost"), std::string::npos);
}

TEST(TraceInversion, TextAndJsonNameTheThreadsAndTheVerdict) {
  const InversionScan plain = find_inversions(parse_trace_text(fixture("pi-plain.txt")));
  const std::string t = rtcell::report::inversion_text(plain);
  EXPECT_NE(t.find("pi-high:5586 (rt 30) waited"), std::string::npos) << t;
  EXPECT_NE(t.find("for pi-low:5584 (rt 10)"), std::string::npos) << t;
  EXPECT_NE(t.find("pi-medium:5585 (rt 20) ran"), std::string::npos) << t;
  EXPECT_NE(t.find("priority inversion, unbounded"), std::string::npos) << t;
  const auto j = rtcell::report::inversion_json(plain);
  EXPECT_EQ(j["schema"], "rtcell.inversion/1");
  ASSERT_EQ(j["inversions"].size(), 1u);
  EXPECT_EQ(j["inversions"][0]["kind"], "inversion");
  EXPECT_EQ(j["inversions"][0]["middle"][0]["policy"], "rt 20");
  EXPECT_EQ(j["inversions"][0]["boosted_to"], nullptr);

  const InversionScan pi = find_inversions(parse_trace_text(fixture("pi-boosted.txt")));
  const std::string tp = rtcell::report::inversion_text(pi);
  EXPECT_NE(tp.find("boosted and bounded"), std::string::npos) << tp;
  EXPECT_EQ(rtcell::report::inversion_json(pi)["inversions"][0]["kind"], "boosted_bounded");
}
