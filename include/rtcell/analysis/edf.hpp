// EDF on one CPU (SCHED_DEADLINE on a CPU of its own, or a cell's EDF
// scheduler on a reserved share).
#pragma once

#include <optional>
#include <span>

#include "rtcell/analysis/supply.hpp"
#include "rtcell/analysis/task.hpp"

namespace rtcell::analysis {

// Processor demand bound function: the most execution that jobs with both
// release and deadline inside a window of length t can need (Baruah, Rosier &
// Howell 1990, "Algorithms and complexity concerning the preemptive
// scheduling of periodic, real-time tasks on one processor", RTS 2(4),
// Lemma 3; with release jitter the deadline moves to D − J, Spuri 1996):
//   dbf(t) = Σ_i max(0, ⌊(t − (D_i − J_i))/T_i⌋ + 1) · C_i.
Time dbf(std::span<const Task> tasks, Time t);

// Blocking in a window of length t: the most time that jobs with later
// deadlines, holding locks, can take from the jobs dbf(t) counts.
//   b(t) = Σ_{i : D_i − J_i ≤ t} B_i.
// Under the stack resource policy a window is blocked at most once, by one
// critical section (Baker 1991, "Stack-based scheduling of realtime
// processes", RTS 3(1)), and b(t) = max B_i suffices (Baruah 2006,
// "Resource sharing in EDF-scheduled systems: a closer look", RTSS: dbf(t) +
// b(t) ≤ t). Linux has no SRP for SCHED_DEADLINE, only inheritance through
// rt_mutex (kernel/locking/rtmutex.c): a window can then be blocked once per
// lock that a later-deadline job held when the window began. Each such lock is
// one some task with D_i − J_i ≤ t waits for, and B_i bounds the sections on
// the locks task i takes (the priority-inheritance bound of Sha, Rajkumar &
// Lehoczky 1990), so the sum over those tasks is the sound term here.
Time edf_blocking(std::span<const Task> tasks, Time t);

// Liu & Layland 1973, Theorem 7: implicit deadlines (D = T, no jitter) are
// EDF-schedulable iff U ≤ 1. nullopt when the set is not implicit-deadline
// or the exact sum cannot be formed.
std::optional<bool> edf_utilization_test(std::span<const Task> tasks);

struct EdfResult {
  bool schedulable = true;
  // The long-run demand rate exceeds the supply rate (U > Θ/Π, or > 1).
  bool over_utilized = false;
  // The verdict could not be decided exactly (utilization equal to the rate
  // on a partial supply with arbitrary deadlines, or a bound beyond 2^63 ns):
  // reported as unschedulable, never as schedulable.
  bool undecided = false;
  // First window length (from a synchronous release) where demand exceeds
  // supply, and by how much.
  std::optional<Time> miss_at;
  Time overload = 0;
  // A task with a deadline at miss_at (index into the input).
  std::optional<size_t> missing_task;
  // edf_blocking(miss_at): the part of `overload` that is blocking.
  Time blocking = 0;
};

// Exact EDF test for constrained and arbitrary deadlines with jitter:
// dbf(t) ≤ sbf(t) for every t up to a bound L; with blocking (B > 0 on some
// task), dbf(t) + edf_blocking(t) ≤ sbf(t), sufficient rather than exact.
//
// Zhang & Burns 2009 ("Schedulability analysis for real-time systems with
// EDF scheduling", IEEE TC 58(9)), Theorem 5 (QPA): walk t downward from the
// largest deadline below L, jumping to h(t) when h(t) < t, else to the next
// deadline below t. With a partial supply the same argument holds with
// sbf⁻¹(h(t)) in place of h(t): every x in [sbf⁻¹(h(t)), t] has
// h(x) ≤ h(t) ≤ sbf(x). That is Shin & Lee 2003, Theorem 1 (dbf ≤ sbf) and
// Easwaran et al. 2007, Theorem 2 for EDP, checked without enumerating
// every deadline. For the dedicated CPU (or a full budget Θ = Π, whose sbf
// is the same), L = min(La, Lb) (Zhang & Burns,
// Theorems 6 and 8: La from U < 1, Lb the synchronous busy period); for a
// partial supply, L is where dbf's linear upper bound U·t + Σ(T−D)U meets
// sbf's linear lower bound (Θ/Π)(t − (Π + Δ − 2Θ)).
EdfResult qpa(std::span<const Task> tasks, const Supply& supply = Supply::dedicated());

}  // namespace rtcell::analysis
