// Fixed-priority preemptive scheduling on one CPU (SCHED_FIFO/SCHED_RR).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "rtcell/analysis/supply.hpp"
#include "rtcell/analysis/task.hpp"

namespace rtcell::analysis {

// Worst-case response time of `task` when every task in `higher` may preempt
// it, on `supply`.
//
// Joseph & Pandya 1986 ("Finding response times in a real-time system", The
// Computer Journal 29(5)) give the fixed point R = C + Σ⌈R/T_j⌉C_j; Audsley,
// Burns, Richardson, Tindell & Wellings 1993 ("Applying new scheduling theory
// to static priority pre-emptive scheduling", SEJ 8(5), Eqs. (7)-(9)) add
// blocking B and release jitter J:
//   w = B + C + Σ_j ⌈(w + J_j)/T_j⌉ C_j,   R = w + J.
// For D + J > T a level-i busy period may hold several jobs of the task;
// Tindell, Burns & Wellings 1994 (Real-Time Systems 6(2), Eq. (13)) take
//   w(q) = B + (q+1)C + Σ_j ⌈(w(q) + J_j)/T_j⌉ C_j,  R = max_q w(q) − qT + J
// over q = 0, 1, ... while w(q) + J > (q+1)T.
// On a partial supply the demand must be met by sbf rather than by t (Shin &
// Lee 2003, Theorem 3: task i is schedulable iff ∃t ≤ D_i with
// rbf_i(t) ≤ sbf(t)); the least such t is found by iterating
// w ← sbf⁻¹(demand(w)), which is the classic recurrence when sbf(t) = t.
//
// Returns the response time, or, as soon as it exceeds `limit`, the first
// value found above `limit` (a lower bound of the true one); kInfinity when
// the iteration cannot end (demand outruns supply).
Time response_time(const Task& task, std::span<const Task> higher, const Supply& supply = Supply::dedicated(),
                   Time limit = kInfinity);

struct FpResult {
  bool schedulable = true;
  // Per task, in input order: the response time, or a value above the
  // deadline (at least the true one, kInfinity if unbounded) for a task that
  // misses.
  std::vector<Time> response;
  // Index (input order) of the most urgent task that misses.
  std::optional<size_t> first_miss;
};

// RTA of a whole task set whose priorities are all set. A task is preempted
// by every task of higher priority and, conservatively, by every other task
// of the same priority (FIFO order among equals is not analysed). With
// `exact_miss` a missing task's response is computed past its deadline (up
// to 64·D) to say by how much it misses; otherwise the analysis stops at D.
FpResult fp_analysis(std::span<const Task> tasks, const Supply& supply = Supply::dedicated(),
                     bool exact_miss = false);

// Priority assignments, returned as one priority per task (input order),
// larger = more urgent, distinct, from 1 to n.
// Deadline-monotonic (Leung & Whitehead 1982; with jitter, by D − J): optimal
// for constrained deadlines without blocking.
std::vector<int> deadline_monotonic(std::span<const Task> tasks);
// Rate-monotonic (Liu & Layland 1973): optimal for implicit deadlines.
std::vector<int> rate_monotonic(std::span<const Task> tasks);
// Audsley's optimal priority assignment (Audsley 1991/2001, "On priority
// assignment in fixed priority scheduling", IPL 79(1)): fill the lowest level
// with any task that meets its deadline when all unassigned tasks are above
// it. Optimal for any test where a task's verdict depends only on the set of
// higher-priority tasks, as RTA with jitter and blocking does. nullopt if no
// assignment makes the set schedulable.
std::optional<std::vector<int>> audsley_opa(std::span<const Task> tasks,
                                            const Supply& supply = Supply::dedicated());

// Fewer priority levels than tasks: Linux has 99 SCHED_FIFO/RR levels and a
// cell uses 1 up to its top priority. Both functions return one level per task
// (input order), larger = more urgent, from 1 to at most `levels`; tasks of
// equal level share it, which fp_analysis counts as interference in full
// both ways. nullopt when no assignment of that kind fits in `levels`.
//
// Deadline-monotonic bands: the tasks in DM order (by D − J) are cut into
// contiguous bands, found from the bottom: the lowest band is the longest
// DM suffix whose every task meets its deadline with all the other remaining
// tasks at its level or above; then the same on what is left. This uses the
// fewest bands of any DM-contiguous banding that passes the test (the lowest
// band of such a banding is one of these suffixes, and without it the rest
// still passes, with less interference). Spare levels then split bands, most
// urgent task first, which only takes interference away. n + bands tests.
std::optional<std::vector<int>> deadline_monotonic_levels(std::span<const Task> tasks, int levels,
                                                          const Supply& supply = Supply::dedicated());
// Audsley's assignment over levels (Audsley 2001, applied to a level at a
// time): the lowest level takes every remaining task that meets its deadline
// with all other remaining tasks at its level or above; repeat. A task's
// verdict depends only on the set at or above its level, so a lowest level
// of any passing assignment is a subset of the one taken here, and this uses
// the fewest levels of any assignment (nullopt: more than `levels` needed).
// O(n) tests per level used.
std::optional<std::vector<int>> audsley_levels(std::span<const Task> tasks, int levels,
                                               const Supply& supply = Supply::dedicated());
// `levels` deadline-monotonic bands of near-equal size (the first bands one
// task larger), with no test: what is analysed when neither assignment
// above passes, so that the miss can still be reported.
std::vector<int> deadline_monotonic_bands(std::span<const Task> tasks, int levels);

// Quick sufficient checks for implicit deadlines under rate-monotonic, no
// jitter or blocking. Evaluated in fixed point rounded against passing, so a
// true answer is sound; false means "try the exact test".
// Liu & Layland 1973, Theorem 5: U ≤ n(2^{1/n} − 1).
bool liu_layland_test(std::span<const Task> tasks);
// Bini, Buttazzo & Buttazzo 2003 ("Rate monotonic analysis: the hyperbolic
// bound", IEEE TC 52(7), Theorem 1): Π(U_i + 1) ≤ 2.
bool hyperbolic_test(std::span<const Task> tasks);

}  // namespace rtcell::analysis
