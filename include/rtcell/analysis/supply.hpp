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
#pragma once

#include "rtcell/analysis/time.hpp"

namespace rtcell::analysis {

class Supply {
 public:
  static Supply dedicated() { return Supply(); }
  // Requires 0 <= budget <= deadline <= period, period > 0.
  static Supply periodic(Time period, Time budget) { return edp(period, budget, period); }
  static Supply edp(Time period, Time budget, Time deadline);

  bool is_dedicated() const noexcept { return dedicated_; }
  // A dedicated CPU, or a budget that is the whole period (Θ = Δ = Π): then
  // x = Π + Δ − 2Θ = 0 and sbf(t) = t, the same supply as a dedicated CPU.
  bool is_full() const noexcept { return dedicated_ || (budget_ == period_ && deadline_ == period_); }
  Time period() const noexcept { return period_; }
  Time budget() const noexcept { return budget_; }
  Time deadline() const noexcept { return deadline_; }
  // Long-run rate Θ/Π (1 for a dedicated CPU).
  Ratio rate() const noexcept { return dedicated_ ? Ratio{1, 1} : Ratio{budget_, period_}; }

  // Least supply in any window of length t (t >= 0).
  Time sbf(Time t) const noexcept;
  // Smallest t with sbf(t) >= demand; kInfinity if none (zero budget or
  // overflow). inverse(0) = 0.
  Time inverse(Time demand) const noexcept;

 private:
  Supply() = default;
  bool dedicated_ = true;
  Time period_ = 1;
  Time budget_ = 1;
  Time deadline_ = 1;
};

}  // namespace rtcell::analysis
