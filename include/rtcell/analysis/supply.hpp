// What a CPU (or a share of one) supplies to a cell: the supply bound
// function sbf(t), the least processor time guaranteed in any interval of
// length t, and its pseudo-inverse.
//
// Dedicated CPU: sbf(t) = t.
// Explicit-deadline periodic resource Ω(Π, Θ, Δ) (Easwaran, Anand & Lee 2007,
// "Compositional analysis framework using EDP resource models", RTSS,
// Lemma 1 / Eq. (2)): Θ units within Δ of the start of every period Π.
//   sbf(t) = y·Θ + max(0, t − x − y·Π)  for t ≥ Δ − Θ, else 0,
//   x = Π + Δ − 2Θ,  y = ⌊(t − (Δ − Θ)) / Π⌋.
// With Δ = Π this is Shin & Lee's periodic resource model Γ(Π, Θ) (Shin & Lee
// 2003, "Periodic resource model for compositional real-time guarantees",
// RTSS, Eq. (1)): the longest blackout is 2(Π − Θ).
//
// A cgroup v1 RT group (cpu.rt_runtime_us = Θ per cpu.rt_period_us = Π) is
// NOT Γ(Π, Θ): kernel/sched/rt.c charges a group's runtime only at the
// scheduler tick, on dequeue and on preemption, and its period timer
// replenishes without charging the running task first. So a group overruns
// its budget by up to one tick τ and repays the debt in later periods; with
// Π below the tick the replenishments are lost altogether. Supply::throttled
// is the bound for that accounting, derived in docs/analysis.md ("Budgets
// under tick-granular RT throttling"):
//   sbf(t) = max(0, sbf_Γ(Π, Θ')(t) − τ),  Θ' = min(Θ, Π − τ),
// and sbf(t) = t when Θ ≥ Π (the kernel never throttles such a group).
//
// Linux budgets cap, they do not reserve: a group on a CPU shared with
// groups of higher (or equal) priority receives less. with_interference()
// subtracts what their caps can take (Cap::max_in), charged only in the
// periods where this group is never throttled and beyond its slack there
// (docs/analysis.md, "Cells sharing a CPU").
#pragma once

#include <optional>
#include <vector>

#include "rtcell/analysis/time.hpp"

namespace rtcell::analysis {

// The cap of a throttled group (or of a SCHED_DEADLINE reservation) that may
// preempt a cell: at most `budget` per `period`, charged at `tick`
// granularity (0: exactly). budget >= period: no cap at all.
struct Cap {
  Time period = 1;
  Time budget = 0;
  Time tick = 0;
  // The most CPU time the capped work can take in any window of length t:
  // min(t, usbf_Γ(Π, Θ)(t) + τ), where usbf_Γ is the most a periodic
  // resource supplies in t (its budget at the end of one period and the
  // start of the next) and τ the debt a late charge lets it run ahead.
  Time max_in(Time t) const noexcept;
};

class Supply {
 public:
  static Supply dedicated() { return Supply(); }
  // Requires 0 <= budget <= deadline <= period, period > 0.
  static Supply periodic(Time period, Time budget) { return edp(period, budget, period); }
  static Supply edp(Time period, Time budget, Time deadline);
  // A cgroup v1 RT group under tick-granular accounting (see above). Requires
  // period > 0, budget >= 0, tick >= 0 (0: exact accounting, i.e. Γ(Π, Θ)).
  static Supply throttled(Time period, Time budget, Time tick);

  // The same kind of supply with another budget Θ (for budget searches).
  Supply with_budget(Time budget) const;
  // This supply less what `caps` can take from it on the same CPU. Only for
  // dedicated and throttled supplies.
  Supply with_interference(std::vector<Cap> caps) const;

  // sbf(t) = t: a dedicated CPU, or a group the kernel never throttles, with
  // nothing above it.
  bool is_dedicated() const noexcept;
  // is_dedicated(), or an EDP budget that is the whole period (Θ = Δ = Π):
  // then x = Π + Δ − 2Θ = 0 and sbf(t) = t, the same supply as a dedicated
  // CPU.
  bool is_full() const noexcept;
  bool is_throttled() const noexcept { return kind_ == Kind::Throttled; }
  Time period() const noexcept { return period_; }
  Time budget() const noexcept { return budget_; }
  Time deadline() const noexcept { return deadline_; }
  Time tick() const noexcept { return tick_; }
  const std::vector<Cap>& interference() const noexcept { return interference_; }
  // Long-run rate (1 for a dedicated CPU; Θ'/Π for a throttled group). Not
  // defined with interference: see linear_offset().
  Ratio rate() const noexcept;
  // x with sbf(t) >= rate()·(t − x) for every t: the linear lower bound QPA
  // needs. nullopt with interference (QPA then reports "undecided").
  std::optional<Time> linear_offset() const noexcept;

  // Least supply in any window of length t (t >= 0).
  Time sbf(Time t) const noexcept;
  // Smallest t with sbf(t) >= demand; kInfinity if none (zero budget or
  // overflow). inverse(0) = 0.
  Time inverse(Time demand) const noexcept;

 private:
  enum class Kind { Dedicated, Edp, Throttled };
  Supply() = default;
  // Throttled: Θ' = min(Θ, Π − τ), the budget the bound may count on.
  Time usable_budget() const noexcept;
  // sbf without interference, and its inverse.
  Time own_sbf(Time t) const noexcept;
  Time own_inverse(Time demand) const noexcept;
  // The part of `demand` lost to interference in a window of length t.
  Time interference_loss(Time t) const noexcept;
  Kind kind_ = Kind::Dedicated;
  Time period_ = 1;
  Time budget_ = 1;
  Time deadline_ = 1;
  Time tick_ = 0;
  std::vector<Cap> interference_;
};

}  // namespace rtcell::analysis
