// Supply bound functions (see supply.hpp; the tick-accounting bound and the
// interference term are derived in docs/analysis.md).
#include "rtcell/analysis/supply.hpp"

#include <algorithm>

namespace rtcell::analysis {

namespace {

// Easwaran et al. 2007, Eq. (2): sbf of Ω(Π, Θ, Δ).
Time edp_sbf(Time period, Time budget, Time deadline, Time t) noexcept {
  if (budget <= 0 || t < deadline - budget) return 0;
  Time x = period + deadline - 2 * budget;
  Time y = (t - (deadline - budget)) / period;
  Time rest = t - x - y * period;
  return sat_add(sat_mul(y, budget), rest > 0 ? rest : 0);
}

// Smallest t with edp_sbf(t) >= demand (demand > 0).
Time edp_inverse(Time period, Time budget, Time deadline, Time demand) noexcept {
  if (budget <= 0) return kInfinity;
  // demand = k·Θ + r with 0 < r <= Θ: k whole budgets after the first
  // blackout x, then r into the next one.
  Time k = (demand - 1) / budget;
  Time r = demand - k * budget;
  Wide t = static_cast<Wide>(period) + deadline - 2 * budget + static_cast<Wide>(k) * period + r;
  return saturate(t);
}

// Upper supply of Γ(Π, Θ): the budget at the end of one period followed by
// the next period's at its start, then Θ at the start of every period.
Time periodic_usbf(Time period, Time budget, Time t) noexcept {
  if (t <= budget) return t;
  Time y = (t - budget) / period;
  Time r = t - budget - y * period;
  return sat_add(sat_mul(y + 1, budget), std::min(r, budget));
}

// The fixed-point searches below stop here and answer "no supply" (never a
// false admit): only reachable when the rate left over is a sliver.
constexpr int kMaxIterations = 100'000;

}  // namespace

Time Cap::max_in(Time t) const noexcept {
  if (t <= 0) return 0;
  if (budget >= period) return t;
  return std::min(t, sat_add(periodic_usbf(period, std::max<Time>(budget, 0), t), tick));
}

Supply Supply::edp(Time period, Time budget, Time deadline) {
  Supply s;
  s.kind_ = Kind::Edp;
  s.period_ = period;
  s.budget_ = budget;
  s.deadline_ = deadline;
  return s;
}

Supply Supply::throttled(Time period, Time budget, Time tick) {
  Supply s;
  s.kind_ = Kind::Throttled;
  s.period_ = period;
  s.budget_ = budget;
  s.deadline_ = period;
  s.tick_ = tick;
  return s;
}

Supply Supply::with_budget(Time budget) const {
  Supply s = *this;
  s.budget_ = budget;
  return s;
}

Supply Supply::with_interference(std::vector<Cap> caps) const {
  Supply s = *this;
  s.interference_ = std::move(caps);
  return s;
}

bool Supply::is_dedicated() const noexcept {
  if (!interference_.empty()) return false;
  return kind_ == Kind::Dedicated || (kind_ == Kind::Throttled && budget_ >= period_);
}

bool Supply::is_full() const noexcept {
  if (is_dedicated()) return true;
  return interference_.empty() && kind_ == Kind::Edp && budget_ == period_ && deadline_ == period_;
}

Time Supply::usable_budget() const noexcept {
  if (kind_ != Kind::Throttled) return budget_;
  return std::max<Time>(0, std::min(budget_, period_ - tick_));
}

Ratio Supply::rate() const noexcept {
  if (kind_ == Kind::Dedicated || (kind_ == Kind::Throttled && budget_ >= period_)) return Ratio{1, 1};
  return Ratio{usable_budget(), period_};
}

std::optional<Time> Supply::linear_offset() const noexcept {
  if (!interference_.empty()) return std::nullopt;
  if (is_dedicated()) return 0;
  if (kind_ == Kind::Edp) return period_ + deadline_ - 2 * budget_;
  // max(0, sbf_Γ(Π, Θ')(t) − τ) >= (Θ'/Π)(t − 2(Π − Θ')) − τ
  //                             = (Θ'/Π)(t − 2(Π − Θ') − τΠ/Θ').
  Time theta = usable_budget();
  if (theta <= 0) return std::nullopt;
  Wide x = 2 * static_cast<Wide>(period_ - theta) +
           (static_cast<Wide>(tick_) * period_ + theta - 1) / theta;  // rounded up: a larger x is weaker
  if (x >= kInfinity) return std::nullopt;
  return static_cast<Time>(x);
}

Time Supply::own_sbf(Time t) const noexcept {
  if (t <= 0) return 0;
  switch (kind_) {
    case Kind::Dedicated:
      return t;
    case Kind::Edp:
      return edp_sbf(period_, budget_, deadline_, t);
    case Kind::Throttled: {
      if (budget_ >= period_) return t;  // kernel/sched/rt.c: runtime >= period is never throttled
      Time theta = usable_budget();
      if (theta <= 0) return 0;
      Time s = edp_sbf(period_, theta, period_, t);
      return s > tick_ ? s - tick_ : 0;
    }
  }
  return 0;
}

Time Supply::own_inverse(Time demand) const noexcept {
  if (demand <= 0) return 0;
  switch (kind_) {
    case Kind::Dedicated:
      return demand;
    case Kind::Edp:
      return edp_inverse(period_, budget_, deadline_, demand);
    case Kind::Throttled: {
      if (budget_ >= period_) return demand;
      Time theta = usable_budget();
      if (theta <= 0) return kInfinity;
      Time d = sat_add(demand, tick_);
      return d == kInfinity ? kInfinity : edp_inverse(period_, theta, period_, d);
    }
  }
  return kInfinity;
}

// What higher-priority caps take from this supply in a window of length t
// (docs/analysis.md, "Cells sharing a CPU"). A group the kernel never
// throttles (or a dedicated CPU) loses all of it: I(t) = Σ max_in(t). A
// throttled group loses time only in the periods in which it is never
// throttled, and there only what exceeds its slack σ = Π − Θ' − τ; the
// interference within one period is at most m = min(Π, I(Π)). Concentrating
// I(t) into whole periods of m is the worst case:
//   E = ⌊I/m⌋·max(0, m − σ) + max(0, I mod m − σ).
Time Supply::interference_loss(Time t) const noexcept {
  if (interference_.empty() || t <= 0) return 0;
  Time total = 0;
  for (const auto& c : interference_) total = sat_add(total, c.max_in(t));
  bool never_throttled = kind_ != Kind::Throttled || budget_ >= period_;
  if (never_throttled || total == kInfinity) return total;
  Time per_period = 0;
  for (const auto& c : interference_) per_period = sat_add(per_period, c.max_in(period_));
  per_period = std::min(per_period, period_);
  if (per_period <= 0) return 0;
  Time slack = period_ - usable_budget() - tick_;
  if (slack < 0) slack = 0;
  Time excess = std::max<Time>(0, per_period - slack);
  Time whole = total / per_period;
  Time rest = total % per_period;
  return sat_add(sat_mul(whole, excess), std::max<Time>(0, rest - slack));
}

Time Supply::sbf(Time t) const noexcept {
  if (t <= 0) return 0;
  if (interference_.empty()) return own_sbf(t);
  // The largest demand whose pseudo-inverse lies within t (the monotone
  // envelope of own_sbf − interference_loss).
  Time lo = 0, hi = own_sbf(t);
  while (lo < hi) {
    Time mid = lo + (hi - lo + 1) / 2;
    if (inverse(mid) <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

Time Supply::inverse(Time demand) const noexcept {
  if (demand <= 0) return 0;
  if (interference_.empty()) return own_inverse(demand);
  // Least s with own_sbf(s) − loss(s) >= demand: s ← own⁻¹(demand + loss(s))
  // from below. Both functions are non-decreasing, so the iterates rise to
  // the least fixed point and stop there.
  Time s = own_inverse(demand);
  for (int i = 0; i < kMaxIterations && s != kInfinity; ++i) {
    Time need = sat_add(demand, interference_loss(s));
    Time next = need == kInfinity ? kInfinity : own_inverse(need);
    if (next <= s) return s;
    s = next;
  }
  return kInfinity;
}

}  // namespace rtcell::analysis
